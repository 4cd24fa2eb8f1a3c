#!/usr/bin/env bash
# The release asset's smoke test, as a user meets it: install it with the installer, then run it.
# The release workflow runs it on each build job's own OS (Linux, macOS, Windows in Git Bash);
# scripts/test.sh runs it here on Linux with the debug build (--binary).
#   scripts/release-smoke.sh ASSET_DIR     ASSET_DIR has one crlogin-TARGET[.exe] and SHA256SUMS
#   scripts/release-smoke.sh --binary BIN  BIN (such as target/debug/crlogin) as this machine's asset
# Steps:
#   1. serves a copy of the assets on 127.0.0.1 (tests/release/serve.py prints its port once bound)
#   2. installs with install.sh --base-url (Unix) or install.ps1 -BaseUrl (Windows: with pwsh and,
#      when present, Windows PowerShell 5.1), asking for this checkout's version; and checks a
#      tampered asset is refused and leaves nothing installed (and never runs)
#   3. the installed binary: --version; `login --for docker` from canary DCR_* secrets writes the
#      auths entry into a scratch HOME's docker config; configure-helper makes
#      docker-credential-crlogin[.exe], which answers `get` for a Nebius host with the canary
#      NEBIUS_IAM_TOKEN; no canary is in any output but that answer.
# Portable: bash 3.2 (macOS), Git Bash (Windows), python3 (or python) on PATH; no sleeps (the
# server's readiness is a line it prints).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
start=$SECONDS
say() { echo "release-smoke: $* [$((SECONDS - start)) s]"; }
fail() { echo "release-smoke: FAILED: $*" >&2; exit 1; }

. "$repo/scripts/portable.sh"   # windows, exe, py, native, sha256sum_of
[ -n "$py" ] || fail "no python3 (or python) 3.8+ on PATH"

work=$(mktemp -d "${TMPDIR:-/tmp}/crlogin-smoke.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    "$py" -c 'import os, signal, sys; os.kill(int(sys.argv[1]), signal.SIGTERM)' "$server_pid" 2>/dev/null || true
  fi
  # (On Windows the server may hold its log open a moment longer: a temp dir left is harmless.)
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
release="$work/release"
mkdir -p "$release/tampered"

if [ "${1:-}" = --binary ]; then
  [ $# -eq 2 ] && [ -f "$2" ] || fail "usage: release-smoke.sh --binary BIN (an existing file)"
  # This machine's asset name, as install.sh and install.ps1 ask for it.
  platform=$(uname -s)-$(uname -m); [ -z "$windows" ] || platform=Windows-$(uname -m)
  case $platform in
    Linux-x86_64) asset=crlogin-x86_64-unknown-linux-musl ;;
    Linux-aarch64) asset=crlogin-aarch64-unknown-linux-musl ;;
    Darwin-x86_64) asset=crlogin-x86_64-apple-darwin ;;
    Darwin-arm64) asset=crlogin-aarch64-apple-darwin ;;
    Windows-x86_64) asset=crlogin-x86_64-pc-windows-msvc.exe ;;
    *) fail "no release asset for $platform" ;;
  esac
  cp "$2" "$release/$asset"
  (cd "$release" && sha256sum_of "$asset" > SHA256SUMS)
else
  [ $# -eq 1 ] && [ -f "$1/SHA256SUMS" ] || fail "usage: release-smoke.sh ASSET_DIR (with SHA256SUMS) | --binary BIN"
  assets=()
  for f in "$1"/crlogin-*; do case $f in *.sha256 | *.json) ;; *) [ -f "$f" ] && assets+=("$f") ;; esac; done
  [ ${#assets[@]} -eq 1 ] || fail "$1 must hold exactly one crlogin-TARGET asset, not ${#assets[@]}"
  asset=$(basename "${assets[0]}")
  cp "${assets[0]}" "$1/SHA256SUMS" "$release/"
fi
grep -q " \*\{0,1\}$asset\$" "$release/SHA256SUMS" || fail "SHA256SUMS has no line for $asset"
# The tampered release: the same SHA256SUMS, an asset that would leave a mark if anything ran it.
cp "$release/SHA256SUMS" "$release/tampered/"
printf '#!/bin/sh\ntouch "%s/tampered-ran"\n' "$work" > "$release/tampered/$asset"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)

# 1. The server. It prints its port once bound: `read` blocks on that line (up to 10 s), so
#    nothing waits longer than the server needs. Then its pid, which stops it (bash 3.2 gives no
#    `$!` for a process substitution; Python's os.kill also takes a Windows pid).
exec 3< <("$py" "$repo/tests/release/serve.py" "$(native "$release")" 2> "$work/server.log")
IFS= read -r -t 10 port <&3 && IFS= read -r -t 10 server_pid <&3 ||
  { cat "$work/server.log" >&2; fail "the asset server printed no port within 10 s"; }
port=${port%$'\r'} server_pid=${server_pid%$'\r'}
for n in "$port" "$server_pid"; do
  case $n in *[!0-9]* | "") fail "the asset server printed '$port' and '$server_pid', not its port and pid" ;; esac
done
base="http://127.0.0.1:$port/"
say "serving $asset at $base"

# 2. The installers. install_with NAME DIR BASE_URL: installs (stdout+stderr in $work/NAME.log).
installers=(install.sh)
if [ -n "$windows" ]; then
  installers=(pwsh)
  if command -v powershell >/dev/null 2>&1; then installers+=(powershell); fi
fi
install_with() {
  local name=$1 dir=$2 url=$3
  case $name in
    install.sh) sh "$repo/install.sh" --base-url "$url" --dir "$dir" --version "$version" ;;
    # No MSYS argv conversion: the paths are native already, and the URL must stay as it is.
    *) MSYS2_ARG_CONV_EXCL='*' "$name" -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "$(native "$repo/install.ps1")" \
      -BaseUrl "$url" -Dir "$(native "$dir")" -Version "$version" ;;
  esac > "$work/$name.log" 2>&1
}
for name in "${installers[@]}"; do
  dir="$work/bin-$name"
  install_with "$name" "$dir" "$base" || { cat "$work/$name.log" >&2; fail "$name did not install $asset"; }
  cmp -s "$dir/crlogin$exe" "$release/$asset" || { cat "$work/$name.log" >&2; fail "$name left no $asset as $dir/crlogin$exe"; }
  grep -q "^installed crlogin $version (" "$work/$name.log" || { cat "$work/$name.log" >&2; fail "$name did not say what it installed"; }
  say "$name installed crlogin $version to $dir"

  bad="$work/bad-$name"
  if install_with "$name" "$bad" "${base}tampered/"; then cat "$work/$name.log" >&2; fail "$name installed a tampered $asset"; fi
  grep -q "does not match its SHA-256" "$work/$name.log" || { cat "$work/$name.log" >&2; fail "$name refused the tampered asset without saying why"; }
  [ -z "$(ls -A "$bad" 2>/dev/null)" ] || fail "$name left files in $bad after refusing the tampered asset: $(ls -A "$bad")"
  [ ! -e "$work/tampered-ran" ] || fail "$name ran the tampered asset"
  say "$name refused the tampered asset, nothing installed"
done
crlogin="$work/bin-${installers[0]}/crlogin$exe"

# 3. The installed binary, in a scratch home (docker's config: ~/.docker, %USERPROFILE%\.docker).
home="$work/home"
mkdir -p "$home"
out="$work/out.log"
# Every per-user directory crlogin may use, on each OS, is under it.
scratch=(HOME="$home" USERPROFILE="$(native "$home")" XDG_CONFIG_HOME="$(native "$home/.config")"
  XDG_CACHE_HOME="$(native "$home/.cache")" APPDATA="$(native "$home/AppData/Roaming")"
  LOCALAPPDATA="$(native "$home/AppData/Local")")
run() {
  env -u DOCKER_CONFIG -u DCR_USERNAME -u DCR_PASSWORD -u DCR_REGISTRY -u NEBIUS_IAM_TOKEN "${scratch[@]}" "$@"
}
reported=$(run "$crlogin" --version 2>> "$out" | tr -d '\r')
case $reported in "crlogin $version ("*")") ;; *) fail "--version printed: $reported" ;; esac
say "--version: $reported"

canary() { "$py" -c 'import secrets; print("canary-" + secrets.token_hex(12))' | tr -d '\r'; }   # no CR (Windows)
password=$(canary)
run DCR_USERNAME=smoke DCR_PASSWORD="$password" DCR_REGISTRY=127.0.0.1:5000 "$crlogin" login --for docker >> "$out" 2>&1 ||
  { cat "$out" >&2; fail "login failed"; }
"$py" - "$(native "$home/.docker/config.json")" "smoke:$password" <<'PY' || { cat "$out" >&2; fail "login wrote no auths entry for 127.0.0.1:5000"; }
import base64, json, sys
auth = json.load(open(sys.argv[1]))["auths"]["127.0.0.1:5000"]["auth"]
assert base64.b64decode(auth).decode() == sys.argv[2], "the auths entry holds another credential"
PY
say "login --for docker wrote the auths entry into $home/.docker/config.json"

run "$crlogin" configure-helper --for docker --bin-dir "$(native "$work/helper-bin")" >> "$out" 2>&1 ||
  { cat "$out" >&2; fail "configure-helper failed"; }
helper="$work/helper-bin/docker-credential-crlogin$exe"
[ -f "$helper" ] || { cat "$out" >&2; fail "configure-helper made no $helper"; }
token="v1.$(canary)"
answer=$(echo https://cr.eu-north1.nebius.cloud | run NEBIUS_IAM_TOKEN="$token" "$helper" get 2>> "$out" | tr -d '\r') ||
  { cat "$out" >&2; fail "docker-credential-crlogin get failed"; }
ANSWER=$answer "$py" - "$token" <<'PY' || fail "docker-credential-crlogin get answered something else"
import json, os, sys
got = json.loads(os.environ["ANSWER"])
assert got["Secret"] == sys.argv[1] and got["ServerURL"] == "https://cr.eu-north1.nebius.cloud", "wrong answer"
PY
say "docker-credential-crlogin$exe get answered for cr.eu-north1.nebius.cloud"

# No canary (nor base64 of user:password) in any output but the helper's answer.
encoded=$(printf 'smoke:%s' "$password" | "$py" -c 'import base64, sys; print(base64.b64encode(sys.stdin.buffer.read()).decode())' | tr -d '\r')
for f in "$out" "$work"/*.log; do
  if grep -qF -e "$password" -e "$token" -e "$encoded" "$f"; then fail "a canary secret reached $(basename "$f")"; fi
done
say "passed (no canary in any output)"
