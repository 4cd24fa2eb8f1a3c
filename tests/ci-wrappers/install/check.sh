#!/usr/bin/env bash
# install.sh checks: from a loopback release (tests/release/make-release.sh, the debug binary as
# this machine's asset) it installs a verified crlogin that then logs skopeo in to a loopback
# registry, with curl and with only wget, and with no cargo on PATH; it refuses a tampered asset,
# a 404, a version other than asked, and bad options, leaving nothing installed or run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
. "$here/../lib.sh"
trap 'stop_registry; stop_release; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cd "$repo"

# install.sh and the Jenkins step download from Cargo.toml's repository by default.
repository=$(sed -n 's/^repository = "\(.*\)"/\1/p' Cargo.toml)
grep -qx "repository=$repository" install.sh || fail "install.sh's repository is not $repository"
grep -qF "$repository/releases/download/v\$v/" jenkins/vars/crlogin.groovy || fail "the Jenkins step's release is not $repository's"

start_release "$work/release" "x86_64-unknown-linux-musl=$repo/target/debug/crlogin"
version=$(target/debug/crlogin --version | cut -d' ' -f2)
python3 scripts/make-oci-image.py "$work/image" v1
u=installer p=$(canary)
start_registry "$u=$p"
# Tools for a PATH without cargo, curl or wget (sh, coreutils, skopeo...), plus one with wget only.
path_without "$work/tools" curl wget cargo rustc rustup crlogin
mkdir -p "$work/wget"
mkdir -p "$work/curl" && ln -s "$(command -v curl)" "$work/curl/curl" && ln -s "$(command -v wget)" "$work/wget/wget"

# run NAME PATH ARGS...: install.sh under sh (dash here) with a clean environment.
run() {
  local name=$1 path=$2; shift 2
  mkdir -p "$work/tmp"
  env -i PATH="$path" HOME="$work/home-$name" TMPDIR="$work/tmp" sh "$repo/install.sh" "$@" > "$work/out-$name.txt" 2>&1
}
expect_fail() {   # expect_fail NAME MESSAGE PATH ARGS...
  local name=$1 message=$2; shift 2
  if run "$name" "$@"; then cat "$work/out-$name.txt"; fail "install.sh $name: succeeded"; fi
  grep -qF "crlogin install: error: $message" "$work/out-$name.txt" || { cat "$work/out-$name.txt"; fail "install.sh $name: no error '$message'"; }
  [ ! -e "$work/bin-$name/crlogin" ] || fail "install.sh $name: installed anyway"
  echo "ok: $name: $message"
}

run curl "$work/curl:$work/tools" --version "$version" --dir "$work/bin-curl" --base-url "$release_url" ||
  { cat "$work/out-curl.txt"; fail "install.sh with curl"; }
grep -q "installed crlogin $version .* to $work/bin-curl/crlogin" "$work/out-curl.txt" || { cat "$work/out-curl.txt"; fail "no report"; }
cmp "$work/bin-curl/crlogin" target/debug/crlogin
# The installed binary logs in, and skopeo pushes with the file it wrote.
env -i PATH="$work/bin-curl:$work/tools" HOME="$work/home-curl" DCR_USERNAME="$u" DCR_PASSWORD="$p" DCR_REGISTRY="127.0.0.1:$port" \
  sh -c 'crlogin login --for podman --verify && skopeo copy -q --dest-tls-verify=false "oci:$0:v1" "docker://$DCR_REGISTRY/install/hello:v1"' "$work/image" \
  > "$work/out-login.txt" 2>&1 || { cat "$work/out-login.txt"; fail "login with the installed binary"; }
echo "ok: curl: installed, logged in, pushed"
run wget "$work/wget:$work/tools" --dir "$work/bin-wget" --base-url "$release_url" || { cat "$work/out-wget.txt"; fail "install.sh with wget"; }
echo "ok: wget: installed"

expect_fail tampered "crlogin-x86_64-unknown-linux-musl from ${release_url}tampered does not match its SHA-256 in SHA256SUMS" \
  "$work/curl:$work/tools" --dir "$work/bin-tampered" --base-url "${release_url}tampered/"
[ ! -e "$work/tampered-ran" ] || fail "the tampered download was run"
expect_fail 404 "cannot download ${release_url}missing/SHA256SUMS (the error above): check --version and --base-url" \
  "$work/curl:$work/tools" --dir "$work/bin-404" --base-url "${release_url}missing/"
expect_fail version "the download is crlogin $version" "$work/curl:$work/tools" --version 9.9.9 --dir "$work/bin-version" --base-url "$release_url"
expect_fail nofetch "neither curl nor wget is installed" "$work/tools" --dir "$work/bin-nofetch" --base-url "$release_url"
must_https="--base-url must be an https URL (or http on loopback) with a plain host and no user:password@, not"
expect_fail plainhttp "$must_https http://example.invalid/" "$work/curl:$work/tools" --base-url http://example.invalid/
# userinfo_in_base_url_cannot_send_the_download_off_loopback: the host of these is example.invalid.
i=0
for url in 'http://127.0.0.1:1@example.invalid/' 'http://localhost:1@example.invalid/' 'http://[::1]:1@example.invalid/' \
    'https://user:pw@example.invalid/' 'http://127.0.0.1:80x/' 'http://127.0.0.1%2f@example.invalid/' 'HTTP://example.invalid/'; do
  i=$((i + 1))
  expect_fail "userinfo$i" "$must_https $url" "$work/curl:$work/tools" --dir "$work/bin-userinfo$i" --base-url "$url"
done
# redirect_to_plain_http_is_not_followed: a loopback mirror's redirect to http is refused (curl
# --proto-redir =https), so SHA256SUMS never comes over plain http from elsewhere.
expect_fail redirect "cannot download ${release_url}redirect-http/SHA256SUMS" \
  "$work/curl:$work/tools" --dir "$work/bin-redirect" --base-url "${release_url}redirect-http/"
expect_fail option "unknown option --prefix" "$work/curl:$work/tools" --prefix /opt
[ -z "$(ls -A "$work/tmp")" ] || fail "install.sh left files in TMPDIR: $(ls -A "$work/tmp")"
no_leak "$u=$p" -- "$work"/out-*.txt
echo "install.sh: OK"
