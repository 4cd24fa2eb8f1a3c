#!/usr/bin/env bash
# The aarch64 release asset, built here (scripts/build-release.sh) and run under qemu-user: it must
# be statically linked, report its version and target, log in to a loopback registry (--verify)
# with skopeo pushing and pulling through the file it wrote; then the container image made from it
# (scripts/make-release-image.py, no daemon) is pushed to that registry with skopeo, pulled back,
# and its config and layer must hold that executable static binary, which reports its version.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
. "$here/../ci-wrappers/lib.sh"
trap 'stop_registry; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$repo"
target=aarch64-unknown-linux-musl
asset="dist/crlogin-$target"
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64) || fail "no qemu-aarch64: apt-get install qemu-user-static"

start=$SECONDS
bash scripts/build-release.sh "$target"
echo "build: $((SECONDS - start)) s"
file -b "$asset" | grep -q 'ARM aarch64.*statically linked' || fail "$asset: $(file -b "$asset")"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
"$qemu" "$asset" --version | grep -qE "^crlogin $version \\(([0-9a-f]{7} [0-9-]{10}, )?$target\\)$" ||
  fail "--version under qemu: $("$qemu" "$asset" --version)"
echo "ok: $asset is static and reports $("$qemu" "$asset" --version)"

python3 scripts/make-oci-image.py "$work/hello" v1
u=arm p=$(canary)
start_registry "$u=$p"
reg=127.0.0.1:$port
mkdir -p "$work/home"
run_arm() {   # the aarch64 binary under qemu, with only the DCR_* secrets and a scratch HOME
  env -i PATH="$PATH" HOME="$work/home" DCR_USERNAME="$u" DCR_PASSWORD="$p" DCR_REGISTRY="$reg" "$qemu" "$asset" "$@"
}
run_arm login --verify --for docker,podman > "$work/login.txt" 2>&1 || { cat "$work/login.txt"; fail "login under qemu"; }
auth=$work/home/.config/containers/auth.json
[ -f "$auth" ] || auth=$(find "$work/home" -name auth.json | head -n1)
skopeo copy -q --authfile "$auth" --dest-tls-verify=false "oci:$work/hello:v1" "docker://$reg/arm/hello:v1"
skopeo copy -q --authfile "$work/home/.docker/config.json" --src-tls-verify=false "docker://$reg/arm/hello:v1" "oci:$work/pulled-hello:v1"
echo "ok: login --verify under qemu; skopeo pushed and pulled with the files it wrote"

# The image: arm64 is the asset; amd64 is dist's x86_64 asset when built, else this machine's binary.
amd64=dist/crlogin-x86_64-unknown-linux-musl; [ -f "$amd64" ] || amd64=target/debug/crlogin
python3 scripts/make-release-image.py "$work/image" "$version" "arm64=$asset" "amd64=$amd64"
skopeo copy -q --all --authfile "$auth" --dest-tls-verify=false "oci:$work/image:$version" "docker://$reg/crlogin:$version"
skopeo inspect --raw --authfile "$auth" --tls-verify=false "docker://$reg/crlogin:$version" > "$work/index.json"
python3 - "$work/index.json" <<'PY'
import json, sys
index = json.load(open(sys.argv[1]))
platforms = sorted(m["platform"]["architecture"] for m in index["manifests"])
assert platforms == ["amd64", "arm64"], platforms
PY
skopeo copy -q --override-arch arm64 --authfile "$auth" --src-tls-verify=false "docker://$reg/crlogin:$version" "dir:$work/pulled"
python3 - "$work/pulled" "$work/rootfs" <<'PY'
import json, os, sys, tarfile
pulled, rootfs = sys.argv[1:]
manifest = json.load(open(os.path.join(pulled, "manifest.json")))
config = json.load(open(os.path.join(pulled, manifest["config"]["digest"].split(":")[1])))
assert config["architecture"] == "arm64" and config["os"] == "linux", config
assert config["config"]["Entrypoint"] == ["/crlogin"], config["config"]
(layer,) = manifest["layers"]
with tarfile.open(os.path.join(pulled, layer["digest"].split(":")[1])) as tar:
    names = sorted(m.name for m in tar.getmembers() if m.isfile())
    assert names == ["crlogin", "etc/ssl/certs/ca-certificates.crt"], names
    assert tar.getmember("crlogin").mode == 0o755
    tar.extractall(rootfs, filter="data")
PY
cmp "$work/rootfs/crlogin" "$asset" || fail "the image's /crlogin is not the asset"
file -b "$work/rootfs/crlogin" | grep -q 'statically linked' || fail "the image's /crlogin is not static"
[ -x "$work/rootfs/crlogin" ] || fail "the image's /crlogin is not executable"
"$qemu" "$work/rootfs/crlogin" --version | grep -q "^crlogin $version " || fail "the image's /crlogin does not report $version"
echo "ok: image $reg/crlogin:$version (amd64, arm64): config and layer hold the static /crlogin, which reports $version"
run_arm logout --for docker,podman > "$work/logout.txt" 2>&1 || { cat "$work/logout.txt"; fail "logout under qemu"; }
no_leak "$u=$p" -- "$work/login.txt" "$work/logout.txt"
echo "aarch64 e2e: OK"
