#!/bin/sh
# The orb's login command. CircleCI runs it with bash; it keeps to POSIX sh.
set -eu
{ set +x; } 2>/dev/null
# --- crlogin-install: begin (the same text as buildkite/lib/install.sh) ---
# crlogin_install DIR WORDS: crlogin on PATH: the one already there, else the release binary of
# CRLOGIN_VERSION (default 0.1.0) for this machine, downloaded from CRLOGIN_RELEASE_URL (default
# the GitHub release) into DIR and checked against the release's SHA256SUMS before it is run.
# WORDS names the wrapper's own version and release-url settings, for its errors. POSIX sh; the
# same text is in every wrapper of issue 22 (tests/ci-wrappers/lib.sh checks the copies agree).
crlogin_install() {
  if command -v crlogin >/dev/null 2>&1; then return 0; fi
  crlogin_v=${CRLOGIN_VERSION:-0.1.0}; crlogin_v=${crlogin_v#v}
  case $crlogin_v in
    [0-9]*.[0-9]*.[0-9]*) case $crlogin_v in *[!0-9A-Za-z.+-]*) crlogin_v=bad ;; esac ;;
    *) crlogin_v=bad ;;
  esac
  if [ "$crlogin_v" = bad ]; then echo "crlogin: error: the crlogin version must be X.Y.Z: fix $2" >&2; return 1; fi
  crlogin_u=${CRLOGIN_RELEASE_URL:-https://github.com/crlogin/crlogin/releases/download/v$crlogin_v/}
  crlogin_u=${crlogin_u%/}
  # The URL's host, parsed (http://127.0.0.1:1@evil/ is host evil): https, or http to this
  # machine; a plain host and a numeric port, no user:password@. Redirects stay on https.
  crlogin_h=${crlogin_u#*://}; crlogin_h=${crlogin_h%%[/?#]*}
  case $crlogin_u in https://*) crlogin_s=https ;; http://*) crlogin_s=http ;; *) crlogin_s= ;; esac
  case $crlogin_h in
    ""|*[!A-Za-z0-9.:\[\]-]*) crlogin_s= ;;
    127.0.0.1|localhost|\[::1\]) ;;
    127.0.0.1:*|localhost:*|\[::1\]:*) case ${crlogin_h##*:} in ""|*[!0-9]*) crlogin_s= ;; esac ;;
    *) [ "$crlogin_s" = https ] || crlogin_s= ;;
  esac
  if [ -z "$crlogin_s" ]; then
    echo "crlogin: error: the release URL must be https:// (or http on loopback) with a plain host and no user:password@: fix $2" >&2; return 1
  fi
  case $(uname -s)-$(uname -m) in
    Linux-x86_64|Linux-amd64) crlogin_a=crlogin-x86_64-unknown-linux-musl ;;
    Linux-aarch64|Linux-arm64) crlogin_a=crlogin-aarch64-unknown-linux-musl ;;
    Darwin-x86_64) crlogin_a=crlogin-x86_64-apple-darwin ;;
    Darwin-arm64) crlogin_a=crlogin-aarch64-apple-darwin ;;
    *) echo "crlogin: error: no crlogin release binary for $(uname -s) $(uname -m) (there are Linux and macOS, x86_64 and arm64): use an image with crlogin" >&2; return 1 ;;
  esac
  if command -v curl >/dev/null 2>&1; then crlogin_get() { curl -fsSL --retry 3 --proto "=$crlogin_s" --proto-redir =https -o "$2" "$1"; }
  elif command -v wget >/dev/null 2>&1; then crlogin_get() { wget -q -O "$2" "$1"; }
  else echo "crlogin: error: crlogin is not installed, and neither curl nor wget is there to download it: use an image with crlogin, curl or wget" >&2; return 1
  fi
  if command -v sha256sum >/dev/null 2>&1; then crlogin_sum() { sha256sum "$1" | cut -d' ' -f1; }
  else crlogin_sum() { shasum -a 256 "$1" | cut -d' ' -f1; }
  fi
  mkdir -p "$1" || return 1
  if ! crlogin_get "$crlogin_u/SHA256SUMS" "$1/SHA256SUMS" || ! crlogin_get "$crlogin_u/$crlogin_a" "$1/download"; then
    rm -f "$1/SHA256SUMS" "$1/download"
    echo "crlogin: error: cannot download crlogin $crlogin_v from $crlogin_u/ (the error above): check $2; behind a proxy set HTTPS_PROXY" >&2
    return 1
  fi
  crlogin_want=$(awk -v f="$crlogin_a" '$2 == f || $2 == "*" f { print $1 }' "$1/SHA256SUMS")
  if [ -z "$crlogin_want" ] || [ "$(crlogin_sum "$1/download")" != "$crlogin_want" ]; then
    rm -f "$1/SHA256SUMS" "$1/download"
    echo "crlogin: error: the downloaded $crlogin_a does not match its SHA-256 in $crlogin_u/SHA256SUMS; not running it" >&2
    return 1
  fi
  chmod 755 "$1/download" && mv "$1/download" "$1/crlogin" && rm -f "$1/SHA256SUMS"
  set -- "$1" "$2" $("$1/crlogin" --version)
  if [ "${4:-}" != "$crlogin_v" ]; then
    rm -f "$1/crlogin"
    echo "crlogin: error: the download is crlogin ${4:-(unknown)}, not $crlogin_v: check $2" >&2
    return 1
  fi
  PATH="$1:$PATH"; export PATH
}

# crlogin_map NAME VARIABLE: exports NAME with the value of the variable named VARIABLE (when
# that is set and not NAME itself), read by name so the secret is never in the script's text.
crlogin_map() {
  case $2 in ""|"$1") return 0 ;; [0-9]*|*[!A-Za-z0-9_]*) echo "crlogin: error: '$2' is not a variable name" >&2; return 1 ;; esac
  eval "[ -z \"\${$2+x}\" ] || export $1=\"\${$2}\""
}
# --- crlogin-install: end ---
CRLOGIN_BIN_DIR="${TMPDIR:-/tmp}/crlogin-bin-${CIRCLE_WORKFLOW_JOB_ID:-${CIRCLE_BUILD_NUM:-job}}"
crlogin_install "$CRLOGIN_BIN_DIR" "the parameters version and release-url"
# Later steps find the downloaded crlogin (for logout) through $BASH_ENV.
if [ -x "$CRLOGIN_BIN_DIR/crlogin" ] && [ -n "${BASH_ENV:-}" ]; then
  printf 'export PATH=%s:"$PATH"\n' "'$CRLOGIN_BIN_DIR'" >> "$BASH_ENV"
fi
(
  export CRLOGIN_WRAPPER=circleci-orb
  crlogin_map NEBIUS_STATIC_KEY "$PARAM_STATIC_KEY_VARIABLE"
  crlogin_map NEBIUS_IAM_TOKEN "$PARAM_IAM_TOKEN_VARIABLE"
  crlogin_map NEBIUS_SA_CREDENTIALS "$PARAM_SA_CREDENTIALS_VARIABLE"
  [ -z "$PARAM_REGIONS" ] || export NEBIUS_REGIONS="$PARAM_REGIONS"
  [ -z "$PARAM_REGISTRIES" ] || export CRLOGIN_REGISTRIES="$PARAM_REGISTRIES"
  [ -z "$PARAM_TOOLS" ] || export CRLOGIN_FOR="$PARAM_TOOLS"
  [ -z "$PARAM_AUTH" ] || export CRLOGIN_AUTH="$PARAM_AUTH"
  [ -z "$PARAM_SERVICE_ACCOUNT_ID" ] || export NEBIUS_SERVICE_ACCOUNT_ID="$PARAM_SERVICE_ACCOUNT_ID"
  [ -z "$PARAM_AUDIENCE" ] || export NEBIUS_OIDC_AUDIENCE="$PARAM_AUDIENCE"
  [ -z "$PARAM_FROM_ENV" ] || export CRLOGIN_FROM_ENV="$PARAM_FROM_ENV"
  # Each registry is asked before anything is written, unless parameter verify is false.
  case $PARAM_VERIFY in false|0) export CRLOGIN_VERIFY=false ;; *) export CRLOGIN_VERIFY=true ;; esac
  unset CRLOGIN_ISOLATED
  # crlogin appends DOCKER_CONFIG (and the others) to $BASH_ENV itself; stdout is only paths.
  if [ "$PARAM_ISOLATED" = true ] || [ "$PARAM_ISOLATED" = 1 ]; then crlogin login --isolated; else crlogin login; fi
)
