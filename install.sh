#!/bin/sh
# Installs the crlogin release binary for this machine, verified against the release's SHA256SUMS:
#   curl -fsSL https://github.com/crlogin/crlogin/releases/latest/download/install.sh | sh
#   curl -fsSL .../install.sh | sh -s -- --version 0.1.0 --dir ~/.local/bin
#   sh install.sh --base-url https://mirror.example/crlogin/v0.1.0/    (a mirror: that release's files)
# Options: --version V (default: the latest release), --dir D (default /usr/local/bin as root,
# else ~/.local/bin), --base-url URL (the directory with SHA256SUMS and crlogin-TARGET; default
# the GitHub release of V). Needs curl or wget, and sha256sum or shasum. Nothing unverified is run
# or left behind; the binary is moved into D only after its SHA-256 matched.
set -eu

repository=https://github.com/crlogin/crlogin
version="" dir="" base_url=""

die() { echo "crlogin install: error: $*" >&2; exit 1; }
need_value() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }

while [ $# -gt 0 ]; do
  case $1 in
    --version) need_value "$@"; version=${2#v}; shift 2 ;;
    --dir) need_value "$@"; dir=$2; shift 2 ;;
    --base-url) need_value "$@"; base_url=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (use --version V, --dir D, --base-url URL)" ;;
  esac
done
case $version in
  ""|[0-9]*.[0-9]*.[0-9]*) ;;
  *) die "--version must be X.Y.Z, not $version" ;;
esac
case $version in *[!0-9A-Za-z.+-]*) die "--version must be X.Y.Z, not $version" ;; esac
if [ -z "$base_url" ]; then
  if [ -n "$version" ]; then base_url="$repository/releases/download/v$version/"
  else base_url="$repository/releases/latest/download/"; fi
fi
# The URL's host, parsed, not matched as text: http://127.0.0.1:1@evil/ is host evil. So: https,
# or http to this machine; a host of host characters and a numeric port; no user:password@.
url_ok() {
  case $1 in https://*) scheme=https ;; http://*) scheme=http ;; *) return 1 ;; esac
  host=${1#*://}; host=${host%%[/?#]*}
  case $host in ""|*[!A-Za-z0-9.:\[\]-]*) return 1 ;; esac
  case $host in
    127.0.0.1|localhost|\[::1\]) ;;
    127.0.0.1:*|localhost:*|\[::1\]:*) case ${host##*:} in ""|*[!0-9]*) return 1 ;; esac ;;
    *) [ "$scheme" = https ] || return 1 ;;
  esac
}
url_ok "$base_url" || die "--base-url must be an https URL (or http on loopback) with a plain host and no user:password@, not $base_url"
base_url=${base_url%/}
if [ -z "$dir" ]; then
  if [ "$(id -u)" = 0 ]; then dir=/usr/local/bin; else dir="$HOME/.local/bin"; fi
fi

case $(uname -s)-$(uname -m) in
  Linux-x86_64|Linux-amd64) asset=crlogin-x86_64-unknown-linux-musl ;;
  Linux-aarch64|Linux-arm64) asset=crlogin-aarch64-unknown-linux-musl ;;
  Darwin-x86_64) asset=crlogin-x86_64-apple-darwin ;;
  Darwin-arm64) asset=crlogin-aarch64-apple-darwin ;;
  *) die "no crlogin release binary for $(uname -s) $(uname -m); there are: Linux x86_64, Linux aarch64, macOS x86_64, macOS arm64 (on Windows use install.ps1; or build it: cargo install crlogin --locked)" ;;
esac

# Redirects stay on https (GitHub's go to its https download host).
if command -v curl >/dev/null 2>&1; then fetch() { curl -fsSL --retry 3 --proto "=$scheme" --proto-redir =https -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then fetch() { wget -q -O "$2" "$1"; }
else die "neither curl nor wget is installed: install one of them"; fi
if command -v sha256sum >/dev/null 2>&1; then sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else die "neither sha256sum nor shasum is installed: install coreutils (or perl's shasum)"; fi

mkdir -p "$dir" || die "cannot create $dir: pass --dir D"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crlogin-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

fetch "$base_url/SHA256SUMS" "$tmp/SHA256SUMS" ||
  die "cannot download $base_url/SHA256SUMS (the error above): check --version and --base-url; behind a proxy set HTTPS_PROXY"
want=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1 }' "$tmp/SHA256SUMS")
case $want in
  ????????????????????????????????????????????????????????????????) ;;
  *) die "$base_url/SHA256SUMS has no SHA-256 for $asset" ;;
esac
fetch "$base_url/$asset" "$tmp/$asset" ||
  die "cannot download $base_url/$asset (the error above): check --version and --base-url; behind a proxy set HTTPS_PROXY"
got=$(sha256 "$tmp/$asset")
[ "$got" = "$want" ] || die "$asset from $base_url does not match its SHA-256 in SHA256SUMS (expected $want, got $got): not installed"

chmod 755 "$tmp/$asset"
reported=$("$tmp/$asset" --version) || die "the downloaded $asset does not run on this machine"
set -- $reported
if [ -n "$version" ] && [ "${2:-}" != "$version" ]; then die "the download is $reported, not crlogin $version: not installed"; fi
# Same filesystem as DIR, then one rename: a concurrent user never runs half a file.
cp "$tmp/$asset" "$dir/.crlogin.$$" && mv -f "$dir/.crlogin.$$" "$dir/crlogin" ||
  { rm -f "$dir/.crlogin.$$"; die "cannot write $dir/crlogin: pass --dir D, or run as a user who can"; }
echo "installed $reported to $dir/crlogin"
case ":$PATH:" in *":$dir:"*) ;; *) echo "note: $dir is not on PATH" >&2 ;; esac
