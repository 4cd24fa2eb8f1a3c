#!/usr/bin/env bash
# Buildkite plugin checks: the example pipeline against check-jsonschema's vendored Buildkite
# schema, plugin.yml's configuration as a JSON schema that accepts the example's options and
# refuses unknown ones; then the hooks run under bash as the agent runs them (each hook in a new
# bash with the environment the previous ones exported), with a buildkite-agent stand-in that
# records `redactor add`, a loopback release to download and verify, and a loopback registry that
# skopeo and the docker CLI reach with what the hooks wrote. No canary may appear anywhere after.
# Needs: check-jsonschema (with its python), docker-registry, htpasswd, skopeo, docker, curl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
. "$here/../lib.sh"
trap 'stop_registry; stop_release; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$repo"
py="$(dirname "$(command -v check-jsonschema)")/python"

echo "== schema: vendor.buildkite, and plugin.yml's configuration =="
check-jsonschema --builtin-schema vendor.buildkite buildkite/example-pipeline.yml
"$py" - "$work" <<'PY'
import json, sys, yaml
work = sys.argv[1]
plugin = yaml.safe_load(open("buildkite/plugin.yml"))
json.dump(plugin["configuration"], open(f"{work}/schema.json", "w"))
steps = yaml.safe_load(open("buildkite/example-pipeline.yml"))["steps"]
for i, step in enumerate(steps):
    for entry in step["plugins"]:
        (name, options), = entry.items()
        assert name.startswith("crlogin/crlogin#"), name
        json.dump(options, open(f"{work}/options-{i}.json", "w"))
json.dump({"regions": "eu-north1", "registry": "typo"}, open(f"{work}/bad-options.json", "w"))
PY
check-jsonschema --check-metaschema "$work/schema.json"
check-jsonschema --schemafile "$work/schema.json" "$work"/options-*.json
if check-jsonschema --schemafile "$work/schema.json" "$work/bad-options.json" >/dev/null; then fail "the plugin schema accepts an unknown option"; fi
same_install buildkite/lib/install.sh

mkdir -p "$work/agent" "$work/home" "$work/tmp" "$work/builds/acme"
cat > "$work/agent/buildkite-agent" <<SH
#!/bin/sh
[ "\$1 \$2 \$3 \$4" = "redactor add --format json" ] || { echo "unexpected: \$*" >&2; exit 2; }
[ -n "\$BUILDKITE_AGENT_ACCESS_TOKEN" ] || exit 1
cat >> "$work/redacted"; echo >> "$work/redacted"
SH
chmod 755 "$work/agent/buildkite-agent"
! command -v crlogin >/dev/null || fail "crlogin is on PATH; the plugin must download it here"
python3 scripts/make-oci-image.py "$work/image" v1
u=bk-user p=$(canary)
wrong=$(canary)  # a wrong password, which must not leak either
start_registry "$u=$p"
start_release "$work/release" "x86_64-unknown-linux-musl=$repo/target/debug/crlogin"
version=$(target/debug/crlogin --version | cut -d' ' -f2)
grep -qF "crlogin_v=\${CRLOGIN_VERSION:-$version}" buildkite/lib/install.sh || fail "the wrappers' default version is not $version (Cargo.toml)"
grep -qF "crlogin/crlogin#v$version" buildkite/example-pipeline.yml || fail "the example pipeline does not use v$version"

# agent_run NAME SCRIPT [OPTIONS...]: SCRIPT in a new bash with the job's environment, the
# plugin's OPTIONS (NAME=value) and what earlier hooks exported ($work/env-NAME.in); what it
# exports is kept for the next one.
job_env=(PATH="$work/agent:$PATH" HOME="$work/home" TMPDIR="$work/tmp" LANG=C.UTF-8
  BUILDKITE=true BUILDKITE_JOB_ID=0190a1b2-job BUILDKITE_AGENT_ACCESS_TOKEN=agent-access-token
  BUILDKITE_BUILD_CHECKOUT_PATH="$work/builds/acme/app"
  DCR_REGISTRY="http://127.0.0.1:$port/" DCR_USERNAME="$u" DCR_PASSWORD="$p")
: > "$work/exported"
agent_run() {
  local name=$1 script=$2; shift 2
  env -i "${job_env[@]}" "$@" bash -c '. "$1"; set -euo pipefail; eval "$2"; export -p > "$1.next"' \
    _ "$work/exported" "$script" > "$work/out-$name.txt" 2>&1
  local rc=$?
  [ -f "$work/exported.next" ] && mv "$work/exported.next" "$work/exported"
  return $rc
}
options=(BUILDKITE_PLUGIN_CRLOGIN_VERSION="$version" BUILDKITE_PLUGIN_CRLOGIN_RELEASE_URL="$release_url"
  BUILDKITE_PLUGIN_CRLOGIN_TOOLS_0=docker)

echo "== environment hook: downloads, verifies, logs in, exports DOCKER_CONFIG =="
agent_run environment ". buildkite/hooks/environment" "${options[@]}" || { cat "$work/out-environment.txt"; fail "the environment hook"; }
grep -q '^--- crlogin login' "$work/out-environment.txt" || fail "the report is not a log group"
grep -q "verified 127.0.0.1:$port" "$work/out-environment.txt" || { cat "$work/out-environment.txt"; fail "the registry (a URL) was not verified by default"; }
grep -qF "\"$p\"" "$work/redacted" || fail "the password was not given to buildkite-agent redactor add"
config=$(bash -c '. "$1"; printf %s "$DOCKER_CONFIG"' _ "$work/exported")
case $config in "$work/builds/acme/app.tmp/crlogin-"*) ;; *) fail "DOCKER_CONFIG is not a per-job directory next to the checkout: $config" ;; esac

echo "== the command: skopeo pushes and the docker CLI reads with the exported DOCKER_CONFIG =="
agent_run command 'skopeo copy --dest-tls-verify=false --authfile "$DOCKER_CONFIG/config.json" "oci:'"$work/image"':v1" "docker://'"127.0.0.1:$port"'/team/app:v1" && docker manifest inspect --insecure '"127.0.0.1:$port"'/team/app:v1' \
  || { cat "$work/out-command.txt"; fail "the job's command could not use the login"; }

echo "== pre-exit hook: removes the login and the downloaded binary =="
agent_run pre-exit ". buildkite/hooks/pre-exit" "${options[@]}" || { cat "$work/out-pre-exit.txt"; fail "the pre-exit hook"; }
[ ! -e "$config" ] || fail "pre-exit left $config"
[ ! -e "$work/tmp/crlogin-bin-0190a1b2-job" ] || fail "pre-exit left the downloaded binary"

echo "== a wrong password fails the environment hook with nothing written; option verify: false writes it =="
: > "$work/exported"
if agent_run wrong ". buildkite/hooks/environment" "${options[@]}" DCR_PASSWORD="$wrong"; then cat "$work/out-wrong.txt"; fail "a wrong password passed"; fi
grep -q "option \`verify: true\`" "$work/out-wrong.txt" || { cat "$work/out-wrong.txt"; fail "the refusal does not name option verify"; }
refused_nothing_written "$work/out-wrong.txt" "$work/builds" "$work/home" "$work/tmp"
agent_run unverified ". buildkite/hooks/environment" "${options[@]}" DCR_PASSWORD="$wrong" BUILDKITE_PLUGIN_CRLOGIN_VERIFY=false \
  || { cat "$work/out-unverified.txt"; fail "option verify: false"; }
! grep -q "verified " "$work/out-unverified.txt" || { cat "$work/out-unverified.txt"; fail "option verify: false still verified"; }
config=$(bash -c '. "$1"; printf %s "$DOCKER_CONFIG"' _ "$work/exported")
jq -e --arg h "127.0.0.1:$port" '.auths[$h]' "$config/config.json" >/dev/null || fail "option verify: false did not write the login"
agent_run pre-exit-unverified ". buildkite/hooks/pre-exit" "${options[@]}" || { cat "$work/out-pre-exit-unverified.txt"; fail "pre-exit after verify: false"; }
[ ! -e "$config" ] || fail "pre-exit left $config"

echo "== errors name the plugin's options; a tampered download is never run =="
: > "$work/exported"
if agent_run bad-tools ". buildkite/hooks/environment" "${options[@]}" BUILDKITE_PLUGIN_CRLOGIN_TOOLS_0=dockr; then fail "a bad tools option was accepted"; fi
grep -q "option \`tools\`" "$work/out-bad-tools.txt" || { cat "$work/out-bad-tools.txt"; fail "the error does not name option tools"; }
: > "$work/exported"
if agent_run tampered ". buildkite/hooks/environment" "${options[@]}" BUILDKITE_PLUGIN_CRLOGIN_RELEASE_URL="${release_url}tampered/"; then fail "a tampered download was accepted"; fi
grep -q "does not match its SHA-256" "$work/out-tampered.txt" || { cat "$work/out-tampered.txt"; fail "no SHA-256 error"; }
[ ! -e "$work/tampered-ran" ] || fail "the tampered binary ran"
# userinfo_in_release_url_cannot_send_the_download_off_loopback (the block every issue-22 wrapper
# shares), and a redirect to plain http is not followed.
: > "$work/exported"
if agent_run userinfo ". buildkite/hooks/environment" "${options[@]}" BUILDKITE_PLUGIN_CRLOGIN_RELEASE_URL="http://127.0.0.1:1@example.invalid/"; then fail "a release URL with userinfo was accepted"; fi
grep -qF "the release URL must be https:// (or http on loopback) with a plain host and no user:password@" "$work/out-userinfo.txt" || { cat "$work/out-userinfo.txt"; fail "no clear error for userinfo"; }
: > "$work/exported"
if agent_run redirect ". buildkite/hooks/environment" "${options[@]}" BUILDKITE_PLUGIN_CRLOGIN_RELEASE_URL="${release_url}redirect-http/"; then fail "a redirect to plain http was followed"; fi
grep -qF "cannot download crlogin $version from ${release_url}redirect-http/" "$work/out-redirect.txt" || { cat "$work/out-redirect.txt"; fail "no clear error for a redirect to http"; }

echo "== no canary in any output or file left behind =="
no_leak "$u=$p" "$u=$wrong" -- "$work"/out-*.txt "$work/exported" "$work/builds" "$work/home" "$work/tmp"
echo "buildkite: OK"
