#!/usr/bin/env bash
# crlogin's Windows build, tested on this Linux machine under Wine (Debian's wine64):
#   1. the unit tests, cross-compiled for x86_64-pc-windows-gnu (Debian's mingw-w64 compiles
#      aws-lc's C code) and run by Wine as cargo's target runner;
#   2. a CLI smoke of crlogin.exe (default: the dev build; or the EXE given, such as
#      dist/crlogin-x86_64-pc-windows-gnu.exe): --version; `login` from DCR_* secrets writing
#      %USERPROFILE%\.docker\config.json in Wine's profile, which skopeo on the Linux side then
#      uses to push to a loopback registry (the registry accepting it is the proof); `configure-helper`
#      putting docker-credential-crlogin.exe beside it (a hard link); and that .exe answering
#      `get` for a Nebius host as the credential helper. Every output is checked for the canaries.
# One Wine prefix per run (target/wine-prefix, reused while its Wine version is unchanged).
#   scripts/windows-test.sh [EXE]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
target=x86_64-pc-windows-gnu
wine=/usr/lib/wine/wine64   # Debian's wine64 puts no `wine` on PATH
start=$SECONDS
say() { echo "windows-test: $* [$((SECONDS - start)) s]"; }
fail() { echo "windows-test: FAILED: $*" >&2; exit 1; }   # (lib.sh's, once sourced, says FAIL:)

rustup target list --installed | grep -qx "$target" || rustup target add "$target" >&2

# The Wine prefix, made once. Wine 8 has no bcryptprimitives.dll, whose ProcessPrng Rust's std
# calls for random bytes: scripts/wine/bcryptprimitives.c stands in for it (tests only).
export WINEPREFIX="$repo/target/wine-prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
stamp="$WINEPREFIX/.crlogin-prefix"
if [ "$(cat "$stamp" 2>/dev/null)" != "$($wine --version)" ]; then
  rm -rf "$WINEPREFIX"
  $wine wineboot --init >/dev/null 2>&1 || fail "wineboot could not create $WINEPREFIX"
  # wineboot returns before its wineserver has written the registry files out.
  /usr/lib/wine/wineserver -w
  x86_64-w64-mingw32-gcc -O2 -shared -Wl,--kill-at -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
    scripts/wine/bcryptprimitives.c -ladvapi32
  $wine --version > "$stamp"
  say "made the Wine prefix $WINEPREFIX"
fi

say "unit tests (cargo test --lib, run by Wine)"
# The property tests run their full case count natively; here a few cases show they hold on
# Windows too (the OS-specific code is in the example-based tests of src/os).
PROPTEST_CASES=${PROPTEST_CASES:-16} CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$wine \
  cargo test --quiet --locked --target "$target" --lib

exe=${1:-}
if [ -z "$exe" ]; then
  cargo build --quiet --locked --target "$target"
  target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  exe="$target_dir/$target/debug/crlogin.exe"
fi
[ -f "$exe" ] || fail "no $exe"
say "CLI smoke of $exe"

work=$(mktemp -d)
. tests/ci-wrappers/lib.sh   # start_registry, stop_registry, canary, no_leak
trap 'stop_registry; rm -rf "$work"' EXIT
out="$work/out.log"

# A Windows program's view: a clean environment, and Wine's own %USERPROFILE% and %TEMP%.
profile="$WINEPREFIX/drive_c/users/$(id -un)"
run_win() { env -i PATH=/usr/bin:/bin HOME="$HOME" WINEPREFIX="$WINEPREFIX" WINEDEBUG=-all \
  WINEDLLOVERRIDES="mscoree,mshtml=" "$@"; }
cp "$exe" "$work/crlogin.exe"

version=$(run_win "$wine" "$work/crlogin.exe" --version | tr -d '\r')
grep -Eq '^crlogin [0-9]+\.[0-9]+\.[0-9]+' <<<"$version" || fail "--version printed: $version"
say "--version: $version"

password=$(canary)
start_registry "smoke=$password"

config="$profile/.docker/config.json"
rm -f "$config"
run_win DCR_USERNAME=smoke DCR_PASSWORD="$password" DCR_REGISTRY="127.0.0.1:$port" \
  "$wine" "$work/crlogin.exe" login --for docker >> "$out" 2>&1 || { cat "$out"; fail "login failed"; }
[ -f "$config" ] || { cat "$out"; fail "login wrote no %USERPROFILE%\\.docker\\config.json ($config)"; }
grep -qF 'C:\users\'"$(id -un)"'\.docker\config.json' "$out" || { cat "$out"; fail "the report does not name the Windows path"; }
python3 scripts/make-oci-image.py "$work/image" v1
skopeo copy --quiet --dest-tls-verify=false --dest-authfile "$config" \
  "oci:$work/image:v1" "docker://127.0.0.1:$port/smoke/hello:v1" >> "$out" 2>&1 \
  || { cat "$out"; fail "the registry refused the login crlogin.exe wrote"; }
say "login: skopeo --authfile %USERPROFILE%\\.docker\\config.json pushed to 127.0.0.1:$port"

# configure-helper links docker-credential-crlogin.exe next to crlogin.exe; clients then run it.
run_win "$wine" "$work/crlogin.exe" configure-helper --for docker >> "$out" 2>&1 || { cat "$out"; fail "configure-helper failed"; }
helper="$work/docker-credential-crlogin.exe"
[ -f "$helper" ] || { cat "$out"; fail "configure-helper made no $helper"; }
cmp -s "$helper" "$work/crlogin.exe" || fail "$helper is not crlogin.exe"
token="v1.$(canary)"
answer=$(printf 'https://cr.eu-north1.nebius.cloud' | run_win NEBIUS_IAM_TOKEN="$token" \
  "$wine" "$helper" get 2>> "$out" | tr -d '\r')
python3 - "$answer" "$token" <<'PY' || fail "the helper's get answer is wrong"
import json, sys
got = json.loads(sys.argv[1])
assert got["Secret"] == sys.argv[2] and got["Username"] and got["ServerURL"].endswith("nebius.cloud"), got
PY
say "docker-credential-crlogin.exe get answered for cr.eu-north1.nebius.cloud"

echo "$version" >> "$out"
no_leak "smoke=$password" "iam=$token" -- "$out" || fail "a canary reached crlogin.exe's output"
rm -f "$config"
say "passed"
