#!/usr/bin/env bash
# Azure Pipelines template checks: azure/crlogin.yml against check-jsonschema's vendored Azure
# Pipelines schema (and a broken copy refused); then agent.py runs its steps as the agent would,
# with a loopback release to download and verify, a secret variable named in secretVariables, and
# a step between that pushes with skopeo and reads with the docker CLI; the final always() step
# must undo the login. No canary may appear in any log (but the agent's setsecret lines) or file.
# Needs: check-jsonschema (with its python and pyyaml), docker-registry, htpasswd, skopeo, docker, curl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
. "$here/../lib.sh"
trap 'stop_registry; stop_release; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$repo"
py="$(dirname "$(command -v check-jsonschema)")/python"

echo "== schema: vendor.azure-pipelines =="
check-jsonschema --builtin-schema vendor.azure-pipelines --data-transform azure-pipelines azure/crlogin.yml
sed 's/^  condition: always()/  conditon: always()/' azure/crlogin.yml > "$work/broken.yml"
if check-jsonschema --builtin-schema vendor.azure-pipelines --data-transform azure-pipelines "$work/broken.yml" >/dev/null; then
  fail "the schema accepts a misspelled step key"
fi
grep -q '^  condition: always()$' azure/crlogin.yml || fail "the cleanup step does not always run"
same_install azure/crlogin.yml

! command -v crlogin >/dev/null || fail "crlogin is on PATH; the template must download it here"
python3 scripts/make-oci-image.py "$work/image" v1
u=az-user p=$(canary)
wrong=$(canary)  # a wrong password, which must not leak either
start_registry "$u=$p"
start_release "$work/release" "x86_64-unknown-linux-musl=$repo/target/debug/crlogin"
version=$(target/debug/crlogin --version | cut -d' ' -f2)
"$py" -c 'import sys, yaml; d = yaml.safe_load(open("azure/crlogin.yml")); sys.exit(next(p["default"] for p in d["parameters"] if p["name"] == "version") != sys.argv[1])' "$version" || fail "the template's default version is not $version (Cargo.toml)"
mkdir -p "$work/agent/_temp" "$work/home" "$work/tmp"

# agent NAME PARAMS_JSON [PASSWORD]: the template's steps, with the user's step between.
agent() {
  local name=$1 params=$2 password=${3:-$p}
  mkdir -p "$work/$name"
  env -i PATH="$PATH" HOME="$work/home" TMPDIR="$work/tmp" LANG=C.UTF-8 \
    TF_BUILD=True AGENT_TEMPDIRECTORY="$work/agent/_temp" \
    "$py" "$here/agent.py" azure/crlogin.yml "$params" \
    "{\"DCR_REGISTRY\": \"http://127.0.0.1:$port/\", \"DCR_USERNAME\": \"$u\", \"secret:DCR_PASSWORD\": \"$password\"}" "$work/$name"
}
user_step='[{"bash": "skopeo copy --dest-tls-verify=false --authfile \"$DOCKER_CONFIG/config.json\" oci:'"$work/image"':v1 docker://'"127.0.0.1:$port"'/team/app:v1 && docker manifest inspect --insecure '"127.0.0.1:$port"'/team/app:v1 && echo \"used $DOCKER_CONFIG\""}]'

echo "== login, the user's step, cleanup =="
agent run "{\"version\": \"$version\", \"releaseUrl\": \"$release_url\", \"tools\": \"docker\", \"secretVariables\": [\"DCR_PASSWORD\"], \"steps\": $user_step}" \
  || { cat "$work"/run/step-*.txt; fail "the template's steps"; }
grep -qF "##vso[task.setsecret]$p" "$work/run/step-0.txt" || fail "the password is not masked"
grep -q '^##\[group\]crlogin login' "$work/run/step-0.txt" || fail "the report is not a group"
grep -q "verified 127.0.0.1:$port" "$work/run/step-0.txt" || { cat "$work/run/step-0.txt"; fail "the registry (a URL) was not verified by default"; }
config=$(sed -n 's/^used //p' "$work/run/step-1.txt")
case $config in "$work/agent/_temp/crlogin-"*) ;; *) fail "DOCKER_CONFIG is not in the agent's temp directory: $config" ;; esac
[ ! -e "$config" ] || fail "the cleanup step left $config"
[ ! -e "$work/agent/_temp/crlogin-bin" ] || fail "the cleanup step left the downloaded binary"

echo "== a wrong password fails the login step with nothing written; parameter verify: false writes it =="
params="{\"version\": \"$version\", \"releaseUrl\": \"$release_url\", \"tools\": \"docker\", \"secretVariables\": [\"DCR_PASSWORD\"]"
keep='[{"bash": "jq -e .auths \"$DOCKER_CONFIG/config.json\" > /dev/null && cp -r \"$DOCKER_CONFIG\" '"$work"'/unverified-config"}]'
if agent wrong "$params, \"steps\": $user_step}" "$wrong"; then fail "a wrong password passed"; fi
grep -q "parameter \`verify: true\`" "$work/wrong/step-0.txt" || { cat "$work/wrong/step-0.txt"; fail "the refusal does not name parameter verify"; }
[ ! -e "$work/wrong/step-1.txt" ] || fail "wrong password: the user's step ran"
refused_nothing_written "$work/wrong/step-0.txt" "$work/agent" "$work/home" "$work/tmp"
agent unverified "$params, \"verify\": false, \"steps\": $keep}" "$wrong" || { cat "$work"/unverified/step-*.txt; fail "parameter verify: false"; }
! grep -q "verified " "$work/unverified/step-0.txt" || { cat "$work/unverified/step-0.txt"; fail "parameter verify: false still verified"; }
jq -e --arg h "127.0.0.1:$port" '.auths[$h]' "$work/unverified-config/config.json" >/dev/null || fail "parameter verify: false did not write the login"
rm -rf "$work/unverified-config"

echo "== errors name the template's parameters; a tampered download is never run =="
if agent bad "{\"version\": \"$version\", \"releaseUrl\": \"$release_url\", \"tools\": \"dockr\", \"secretVariables\": [\"DCR_PASSWORD\"]}"; then fail "bad tools accepted"; fi
grep -q "parameter \`tools\`" "$work/bad/step-0.txt" || { cat "$work/bad/step-0.txt"; fail "the error does not name parameter tools"; }
if agent tampered "{\"version\": \"$version\", \"releaseUrl\": \"${release_url}tampered/\"}"; then fail "a tampered download was accepted"; fi
grep -q "does not match its SHA-256" "$work/tampered/step-0.txt" || { cat "$work/tampered/step-0.txt"; fail "no SHA-256 error"; }
[ ! -e "$work/tampered-ran" ] || fail "the tampered binary ran"

echo "== no canary in any log (the setsecret lines aside) or file left behind =="
for f in "$work"/{run,wrong,unverified,bad,tampered}/step-*.txt; do grep -v '^##vso\[task.setsecret\]' "$f" > "$f.scan" || true; rm "$f"; done
no_leak "$u=$p" "$u=$wrong" -- "$work"/{run,wrong,unverified,bad,tampered} "$work/agent" "$work/home" "$work/tmp"
echo "azure: OK"
