#!/usr/bin/env bash
# Jenkins wrapper checks: Harness.groovy loads jenkins/vars/crlogin.groovy with stub steps, checks
# the exact sh scripts and the environment each runs with, and runs them with the real crlogin
# against a loopback registry; then no canary may appear in any output or file left behind.
# Needs: groovy (Debian package, Java 17), docker-registry, htpasswd, skopeo, curl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
. "$here/../lib.sh"
trap 'stop_registry; stop_release; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$repo"

mkdir -p "$work/bin" "$work/home"
cp target/debug/crlogin "$work/bin/"
python3 scripts/make-oci-image.py "$work/image" v1
u_dcr=jenkins p_dcr=$(canary) p_iam=$(canary) p_wrong=$(canary)
start_registry "$u_dcr=$p_dcr" "iam=$p_iam"
start_release "$work/release" "x86_64-unknown-linux-musl=$repo/target/debug/crlogin"
! command -v crlogin >/dev/null || fail "crlogin is on PATH; the version: checks need it not to be"
: "${JAVA_HOME:=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}"
export JAVA_HOME
if ! env -i PATH="$PATH" JAVA_HOME="$JAVA_HOME" HOME="$work/home" LANG=C.UTF-8 \
  REPO="$repo" WORK="$work" REGISTRY="127.0.0.1:$port" IMAGE="oci:$work/image:v1" CRLOGIN_PATH="$work/bin" \
  RELEASE_URL="$release_url" VERSION="$(target/debug/crlogin --version | cut -d' ' -f2)" NO_CRLOGIN_PATH="$PATH" \
  U_DCR="$u_dcr" P_DCR="$p_dcr" P_IAM="$p_iam" P_WRONG="$p_wrong" \
  groovy "$here/Harness.groovy" 2>&1 | tee "$work/harness.txt"; then
  cat "$work/transcript.txt" 2>/dev/null; fail "the Jenkins harness"
fi

echo "== no canary in any output or file left behind; nothing left under \${WORKSPACE}@tmp =="
left=$(find "$work/ws@tmp" -mindepth 1 2>/dev/null)
[ -z "$left" ] || fail "left behind: $left"
no_leak "$u_dcr=$p_dcr" "iam=$p_iam" "$u_dcr=$p_wrong" -- "$work/harness.txt" "$work/transcript.txt" "$work/ws" "$work/home"
echo "checked $(cat "$work/harness.txt" "$work/transcript.txt" | wc -l) lines of output"
echo "jenkins: OK"
