#!/usr/bin/env bash
# crlogin's main job, end to end on this machine: start a loopback registry (CNCF distribution,
# htpasswd auth) with a random password, log in from DCR_* environment secrets the way a CI job
# would, push and pull an image with skopeo (and docker and helm where present), log out, and
# prove the password never reached this demo's output.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

bash scripts/install-deps.sh --demo   # the registry, htpasswd and skopeo: nothing else
cargo build --quiet --locked
crlogin="$repo/target/debug/crlogin"

work=$(mktemp -d)
log="$work/demo.log"
registry_pid=""
cleanup() {
  if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '%s' "$password" | htpasswd -iBn demo > "$work/htpasswd" 2>/dev/null
cat > "$work/registry.yml" <<YAML
version: 0.1
log: {level: info}
storage: {filesystem: {rootdirectory: $work/data}}
http: {addr: 127.0.0.1:$port}
auth: {htpasswd: {realm: demo, path: $work/htpasswd}}
YAML
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
registry_pid=$!
# Wait for the registry's own "listening on" line (bounded: 10 s).
grep -q -m1 "listening on" <(timeout 10 tail -n +1 -f "$work/registry.log") \
  || { echo "demo: the registry did not start; see $work/registry.log" >&2; exit 1; }

run() { echo "\$ $*" | tee -a "$log"; "$@" 2>&1 | tee -a "$log"; }

echo "== a loopback registry on 127.0.0.1:$port, user demo, a random password =="
export HOME="$work/home" TMPDIR="$work"   # keep the demo away from your own ~/.docker and /tmp
export DCR_USERNAME=demo DCR_PASSWORD="$password" DCR_REGISTRY="127.0.0.1:$port/demo"

echo "== crlogin login --isolated --verify (DCR_* read from the environment) =="
eval "$("$crlogin" login --isolated --verify 2> >(tee -a "$log" >&2) | tee -a "$log")"

echo "== push and pull with skopeo, which reads \$REGISTRY_AUTH_FILE =="
python3 scripts/make-oci-image.py "$work/image" v1
run skopeo copy --quiet --dest-tls-verify=false "oci:$work/image:v1" "docker://127.0.0.1:$port/demo/hello:v1"
run skopeo copy --quiet --src-tls-verify=false "docker://127.0.0.1:$port/demo/hello:v1" "oci:$work/pulled:v1"
run skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$port/demo/hello:v1"

if command -v docker >/dev/null; then
  echo "== docker reads \$DOCKER_CONFIG/config.json (client only; loopback is insecure-allowed) =="
  run docker manifest inspect --insecure "127.0.0.1:$port/demo/hello:v1"
fi

helm_py="$repo/target/helm-venv/bin/python"
if [ -x "$helm_py" ]; then
  echo "== helm (Helm 4 via helm-sdkpy) reads \$HELM_REGISTRY_CONFIG =="
  mkdir -p "$work/chart/templates"
  printf 'apiVersion: v2\nname: hello\nversion: 0.1.0\n' > "$work/chart/Chart.yaml"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hello}\n' > "$work/chart/templates/cm.yaml"
  run "$helm_py" tests/clients/helm_client.py push "$work/chart" "oci://127.0.0.1:$port/charts" --plain-http
  run "$helm_py" tests/clients/helm_client.py pull "oci://127.0.0.1:$port/charts/hello" 0.1.0 "$work/charts" --plain-http
fi

echo "== crlogin logout removes exactly what login wrote =="
run "$crlogin" logout
if skopeo inspect --tls-verify=false "docker://127.0.0.1:$port/demo/hello:v1" >/dev/null 2>&1; then
  echo "demo: FAILED: the registry still accepts us after logout" >&2; exit 1
fi
echo "after logout, skopeo is refused, as it should be"

echo "== leak check =="
b64=$(printf 'demo:%s' "$password" | base64 -w0)
if grep -qF -e "$password" -e "$b64" "$log"; then
  echo "demo: FAILED: the password appeared in the output" >&2; exit 1
fi
echo "the password appears 0 times in this demo's output ($(wc -l < "$log") lines checked)"
echo "demo: OK"
