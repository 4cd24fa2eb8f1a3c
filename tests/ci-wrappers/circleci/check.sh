#!/usr/bin/env bash
# CircleCI orb checks: orb.yml is src/ packed, and valid against check-jsonschema's vendored
# CircleCI schema (a broken copy refused); then job.py runs the login command as CircleCI would,
# with a loopback release to download and verify and the secret named by a parameter; a later
# step (bash sourcing $BASH_ENV) pushes with skopeo and reads with the docker CLI; logout undoes
# the login. No canary may appear in any output or file left behind.
# Needs: check-jsonschema (with its python and pyyaml), docker-registry, htpasswd, skopeo, docker, curl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
. "$here/../lib.sh"
trap 'stop_registry; stop_release; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$repo"
py="$(dirname "$(command -v check-jsonschema)")/python"

echo "== orb.yml is src/ packed; schema: vendor.circle-ci =="
"$py" circleci/pack.py --check
check-jsonschema --builtin-schema vendor.circle-ci circleci/orb.yml
sed 's/^  logout:$/  logout:\n    step: 1/' circleci/orb.yml > "$work/broken.yml"
if check-jsonschema --builtin-schema vendor.circle-ci "$work/broken.yml" >/dev/null; then fail "the schema accepts an unknown key in a command"; fi
same_install circleci/src/scripts/login.sh

! command -v crlogin >/dev/null || fail "crlogin is on PATH; the orb must download it here"
python3 scripts/make-oci-image.py "$work/image" v1
u=cc-user p=$(canary)
wrong=$(canary)  # a wrong password, which must not leak either
start_registry "$u=$p"
start_release "$work/release" "x86_64-unknown-linux-musl=$repo/target/debug/crlogin"
version=$(target/debug/crlogin --version | cut -d' ' -f2)
"$py" -c 'import sys, yaml; d = yaml.safe_load(open("circleci/orb.yml")); sys.exit(d["commands"]["login"]["parameters"]["version"]["default"] != sys.argv[1])' "$version" || fail "the orb's default version is not $version (Cargo.toml)"
mkdir -p "$work/home" "$work/tmp"

# job NAME COMMAND PARAMS_JSON [VAR=value...]: one step of the job, in the job's environment
# ($BASH_ENV carries over between steps, as on CircleCI).
job() {
  local name=$1 command=$2 params=$3; shift 3
  env -i PATH="$PATH" HOME="$work/home" TMPDIR="$work/tmp" LANG=C.UTF-8 \
    CIRCLECI=true CIRCLE_WORKFLOW_JOB_ID=5f0c-job BASH_ENV="$work/bash_env" \
    MY_REGISTRY_REGISTRY="http://127.0.0.1:$port/" MY_REGISTRY_USERNAME="$u" MY_REGISTRY_PASSWORD="$p" "$@" \
    "$py" "$here/job.py" circleci/orb.yml "$command" "$params" > "$work/out-$name.txt" 2>&1
}
later_step() {
  env -i PATH="$PATH" HOME="$work/home" TMPDIR="$work/tmp" LANG=C.UTF-8 CIRCLECI=true BASH_ENV="$work/bash_env" \
    /bin/bash -eo pipefail -c "$1" > "$work/out-later.txt" 2>&1
}
: > "$work/bash_env"

echo "== login, a later step, logout =="
# The login comes from variables named by a prefix (from-env): the secret is never a parameter.
job login login "{\"version\": \"$version\", \"release-url\": \"$release_url\", \"tools\": \"docker\", \"from-env\": \"MY_REGISTRY\"}" \
  || { cat "$work/out-login.txt"; fail "the login command"; }
grep -q "^export DOCKER_CONFIG=" "$work/bash_env" || fail "DOCKER_CONFIG is not in \$BASH_ENV"
grep -q "verified 127.0.0.1:$port" "$work/out-login.txt" || { cat "$work/out-login.txt"; fail "the registry (a URL) was not verified by default"; }
later_step 'skopeo copy --dest-tls-verify=false --authfile "$DOCKER_CONFIG/config.json" oci:'"$work/image"':v1 docker://'"127.0.0.1:$port"'/team/app:v1 && docker manifest inspect --insecure '"127.0.0.1:$port"'/team/app:v1 && echo "used $DOCKER_CONFIG"' \
  || { cat "$work/out-later.txt"; fail "a later step could not use the login"; }
config=$(sed -n 's/^used //p' "$work/out-later.txt")
[ -d "$config" ] || fail "no DOCKER_CONFIG directory"
env -i PATH="$PATH" HOME="$work/home" TMPDIR="$work/tmp" CIRCLECI=true CIRCLE_WORKFLOW_JOB_ID=5f0c-job BASH_ENV="$work/bash_env" \
  "$py" "$here/job.py" circleci/orb.yml logout '{}' > "$work/out-logout.txt" 2>&1 || { cat "$work/out-logout.txt"; fail "logout"; }
[ ! -e "$config" ] || { cat "$work/out-logout.txt"; fail "logout left $config"; }
[ ! -e "$work/tmp/crlogin-bin-5f0c-job" ] || fail "logout left the downloaded binary"

echo "== a wrong password fails the login step with nothing written; parameter verify: false writes it =="
: > "$work/bash_env"
params="{\"version\": \"$version\", \"release-url\": \"$release_url\", \"tools\": \"docker\", \"from-env\": \"MY_REGISTRY\""
if job wrong login "$params}" MY_REGISTRY_PASSWORD="$wrong"; then cat "$work/out-wrong.txt"; fail "a wrong password passed"; fi
grep -q "parameter \`verify: true\`" "$work/out-wrong.txt" || { cat "$work/out-wrong.txt"; fail "the refusal does not name parameter verify"; }
! grep -q "DOCKER_CONFIG" "$work/bash_env" || fail "wrong password: DOCKER_CONFIG in \$BASH_ENV"
refused_nothing_written "$work/out-wrong.txt" "$work/home" "$work/tmp"
job unverified login "$params, \"verify\": false}" MY_REGISTRY_PASSWORD="$wrong" || { cat "$work/out-unverified.txt"; fail "parameter verify: false"; }
! grep -q "verified " "$work/out-unverified.txt" || { cat "$work/out-unverified.txt"; fail "parameter verify: false still verified"; }
config=$(bash -c '. "$1"; printf %s "$DOCKER_CONFIG"' _ "$work/bash_env")
jq -e --arg h "127.0.0.1:$port" '.auths[$h]' "$config/config.json" >/dev/null || fail "parameter verify: false did not write the login"
env -i PATH="$PATH" HOME="$work/home" TMPDIR="$work/tmp" CIRCLECI=true CIRCLE_WORKFLOW_JOB_ID=5f0c-job BASH_ENV="$work/bash_env" \
  "$py" "$here/job.py" circleci/orb.yml logout '{}' > "$work/out-logout-unverified.txt" 2>&1 || { cat "$work/out-logout-unverified.txt"; fail "logout after verify: false"; }
[ ! -e "$config" ] || fail "logout left $config"

echo "== errors name the orb's parameters; a tampered download is never run =="
: > "$work/bash_env"
if job bad login "{\"version\": \"$version\", \"release-url\": \"$release_url\", \"tools\": \"dockr\", \"from-env\": \"MY_REGISTRY\"}"; then fail "bad tools accepted"; fi
grep -q "parameter \`tools\`" "$work/out-bad.txt" || { cat "$work/out-bad.txt"; fail "the error does not name parameter tools"; }
: > "$work/bash_env"
if job tampered login "{\"version\": \"$version\", \"release-url\": \"${release_url}tampered/\"}"; then fail "a tampered download was accepted"; fi
grep -q "does not match its SHA-256" "$work/out-tampered.txt" || { cat "$work/out-tampered.txt"; fail "no SHA-256 error"; }
[ ! -e "$work/tampered-ran" ] || fail "the tampered binary ran"

echo "== no canary in any output or file left behind =="
no_leak "$u=$p" "$u=$wrong" -- "$work"/out-*.txt "$work/bash_env" "$work/home" "$work/tmp"
echo "circleci: OK"
