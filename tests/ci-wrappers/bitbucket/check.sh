#!/usr/bin/env bash
# Bitbucket Pipelines step checks: bitbucket/bitbucket-pipelines.yml against check-jsonschema's
# vendored Bitbucket schema (a broken copy refused); then the step's crlogin script runs under sh as
# Bitbucket runs a step (one shell for the script, a new one for after-script), with a loopback
# release to download and verify, followed by skopeo and the docker CLI using the login; the
# after-script must undo it. No canary may appear in any output or file left behind.
# Needs: check-jsonschema (with its python and pyyaml), docker-registry, htpasswd, skopeo, docker, curl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
. "$here/../lib.sh"
trap 'stop_registry; stop_release; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$repo"
py="$(dirname "$(command -v check-jsonschema)")/python"

echo "== schema: vendor.bitbucket-pipelines =="
check-jsonschema --builtin-schema vendor.bitbucket-pipelines bitbucket/bitbucket-pipelines.yml
sed 's/^        oidc: true$/        oidc: yes-please/' bitbucket/bitbucket-pipelines.yml > "$work/broken.yml"
if check-jsonschema --builtin-schema vendor.bitbucket-pipelines "$work/broken.yml" >/dev/null; then fail "the schema accepts oidc: yes-please"; fi
same_install bitbucket/bitbucket-pipelines.yml
"$py" - "$work" <<'PY'
import sys, yaml
step = yaml.safe_load(open("bitbucket/bitbucket-pipelines.yml"))["definitions"]["steps"][0]["step"]
open(f"{sys.argv[1]}/login.sh", "w").write(step["script"][0])
open(f"{sys.argv[1]}/cleanup.sh", "w").write(step["after-script"][0])
PY

! command -v crlogin >/dev/null || fail "crlogin is on PATH; the step must download it here"
python3 scripts/make-oci-image.py "$work/image" v1
u=bb-user p=$(canary)
wrong=$(canary)  # a wrong password, which must not leak either
start_registry "$u=$p"
start_release "$work/release" "x86_64-unknown-linux-musl=$repo/target/debug/crlogin"
version=$(target/debug/crlogin --version | cut -d' ' -f2)
mkdir -p "$work/home" "$work/tmp" "$work/build"

# step NAME SCRIPT [VAR=value...]: SCRIPT under sh with the step's environment.
step() {
  local name=$1 script=$2; shift 2
  env -i PATH="$PATH" HOME="$work/home" TMPDIR="$work/tmp" LANG=C.UTF-8 \
    BITBUCKET_BUILD_NUMBER=42 BITBUCKET_CLONE_DIR="$work/build" BITBUCKET_STEP_UUID='{5f0c}' \
    CRLOGIN_VERSION="$version" CRLOGIN_RELEASE_URL="$release_url" CRLOGIN_FOR=docker \
    DCR_REGISTRY="http://127.0.0.1:$port/" DCR_USERNAME="$u" DCR_PASSWORD="$p" "$@" \
    sh -ec "$script" > "$work/out-$name.txt" 2>&1
}

echo "== the step's script (crlogin, then the user's commands), then after-script =="
step script "$(cat "$work/login.sh")
skopeo copy --dest-tls-verify=false --authfile \"\$DOCKER_CONFIG/config.json\" oci:$work/image:v1 docker://127.0.0.1:$port/team/app:v1
docker manifest inspect --insecure 127.0.0.1:$port/team/app:v1
echo \"used \$DOCKER_CONFIG\"" || { cat "$work/out-script.txt"; fail "the step's script"; }
config=$(sed -n 's/^used //p' "$work/out-script.txt")
[ "$config" = "$work/build.crlogin-42" ] || fail "DOCKER_CONFIG is not the step's directory: $config"
grep -q "verified 127.0.0.1:$port" "$work/out-script.txt" || { cat "$work/out-script.txt"; fail "the registry (a URL) was not verified by default"; }
step after-script "$(cat "$work/cleanup.sh")" || { cat "$work/out-after-script.txt"; fail "after-script"; }
[ ! -e "$config" ] && [ ! -e "$config.bin" ] || fail "after-script left $config"

echo "== a wrong password fails the step with nothing written; CRLOGIN_VERIFY=false writes it =="
if step wrong "$(cat "$work/login.sh")
echo the script ran after a refused login" DCR_PASSWORD="$wrong"; then cat "$work/out-wrong.txt"; fail "a wrong password passed"; fi
grep -q "CRLOGIN_VERIFY=true" "$work/out-wrong.txt" || { cat "$work/out-wrong.txt"; fail "the refusal does not name CRLOGIN_VERIFY"; }
! grep -q "the script ran after a refused login" "$work/out-wrong.txt" || fail "wrong password: the script ran"
refused_nothing_written "$work/out-wrong.txt" "$work/build" "$work/home" "$work/tmp"
[ ! -e "$work/build.crlogin-42" ] || fail "wrong password: $work/build.crlogin-42 was made"
step unverified "$(cat "$work/login.sh")
jq -e --arg h 127.0.0.1:$port '.auths[\$h]' \"\$DOCKER_CONFIG/config.json\" > /dev/null" DCR_PASSWORD="$wrong" CRLOGIN_VERIFY=false \
  || { cat "$work/out-unverified.txt"; fail "CRLOGIN_VERIFY=false did not write the login"; }
! grep -q "verified " "$work/out-unverified.txt" || { cat "$work/out-unverified.txt"; fail "CRLOGIN_VERIFY=false still verified"; }
step after-unverified "$(cat "$work/cleanup.sh")" || { cat "$work/out-after-unverified.txt"; fail "after-script"; }
[ ! -e "$work/build.crlogin-42" ] || fail "after-script left $work/build.crlogin-42"

echo "== errors name the step's variables; a tampered download is never run =="
if step bad "$(cat "$work/login.sh")" CRLOGIN_FOR=dockr; then fail "bad CRLOGIN_FOR accepted"; fi
grep -q "CRLOGIN_FOR" "$work/out-bad.txt" || { cat "$work/out-bad.txt"; fail "the error does not name CRLOGIN_FOR"; }
rm -rf "$work/build.crlogin-42" "$work/build.crlogin-42.bin"
if step tampered "$(cat "$work/login.sh")" CRLOGIN_RELEASE_URL="${release_url}tampered/"; then fail "a tampered download was accepted"; fi
grep -q "does not match its SHA-256" "$work/out-tampered.txt" || { cat "$work/out-tampered.txt"; fail "no SHA-256 error"; }
[ ! -e "$work/tampered-ran" ] || fail "the tampered binary ran"

echo "== no canary in any output or file left behind =="
no_leak "$u=$p" "$u=$wrong" -- "$work"/out-*.txt "$work/home" "$work/tmp" "$work"/build*
echo "bitbucket: OK"
