# Shared by the wrapper checks: a loopback registry (CNCF distribution, htpasswd auth) with one
# random canary password per user, and a leak check. Source it; needs $work (a scratch dir).
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
registry_pid=""

canary() { printf 'canary-%s' "$(head -c 18 /dev/urandom | base64 | tr -dc A-Za-z0-9)"; }

# start_registry USER=PASSWORD...: sets $port; stop with stop_registry.
start_registry() {
  local pair
  : > "$work/htpasswd"
  for pair in "$@"; do
    printf '%s' "${pair#*=}" | htpasswd -iBn "${pair%%=*}" >> "$work/htpasswd" 2>/dev/null
  done
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat > "$work/registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $work/registry-data}}
http: {addr: 127.0.0.1:$port}
auth: {htpasswd: {realm: test, path: $work/htpasswd}}
YAML
  docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
  registry_pid=$!
  local i
  for i in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && return 0
    sleep 0.1
  done
  echo "the registry did not start; see $work/registry.log" >&2
  return 1
}

stop_registry() {
  if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  registry_pid=""
}

# no_leak USER=PASSWORD... -- PATH...: fails if a password, or base64(user:password), is in any file.
no_leak() {
  local pats=() pair
  while [ "$1" != -- ]; do
    pair=$1; shift
    pats+=(-e "${pair#*=}" -e "$(printf '%s' "$pair" | sed 's/=/:/' | tr -d '\n' | base64 -w0)")
  done
  shift
  local rc=0
  grep -rlF "${pats[@]}" "$@" || rc=$?
  case $rc in
    0) echo "FAIL: a canary secret leaked into the files above" >&2; return 1 ;;
    1) return 0 ;;
    *) echo "FAIL: the leak check could not read every file" >&2; return 1 ;;
  esac
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# start_release DIR TARGET=BIN...: a loopback "release" of the binaries (tests/release/make-release.sh)
# served from DIR; sets $release_url (its base URL). ${release_url}tampered/ has the same SHA256SUMS
# but an x86_64 asset that would touch $work/tampered-ran if anything ran it. Stop with stop_release.
release_pid=""
start_release() {
  local dir=$1; shift
  mkdir -p "$dir"
  exec {release_fd}< <(exec python3 "$repo/tests/release/serve.py" "$dir")
  release_pid=$!
  local rport; read -r rport <&"$release_fd" || { echo "the release server did not start" >&2; return 1; }
  release_url="http://127.0.0.1:$rport/"
  local version; version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)
  bash "$repo/tests/release/make-release.sh" "$dir" "$version" "$release_url" "$@"
  mkdir -p "$dir/tampered"
  cp "$dir/SHA256SUMS" "$dir/tampered/"
  printf '#!/bin/sh\ntouch "%s/tampered-ran"\n' "$work" > "$dir/tampered/crlogin-x86_64-unknown-linux-musl"
}

# path_without DIR NAME...: links every executable on PATH but NAME... into DIR (first one wins),
# for a PATH that lacks those tools and has all the others.
path_without() {
  local dir=$1 d f name; shift
  mkdir -p "$dir"
  IFS=: read -ra path_dirs <<<"$PATH"
  for d in "${path_dirs[@]}"; do
    for f in "$d"/*; do
      name=${f##*/}
      case " $* " in *" $name "*) continue ;; esac
      [ -x "$f" ] && [ ! -e "$dir/$name" ] && ln -s "$f" "$dir/$name"
    done
  done
  return 0
}

stop_release() {
  if [ -n "$release_pid" ]; then kill "$release_pid" 2>/dev/null || true; fi
  release_pid=""
}

# same_install FILE...: each FILE carries buildkite/lib/install.sh (the download-and-verify
# function every wrapper of issue 22 shares) unchanged between its crlogin-install markers, or is
# that file.
same_install() {
  local f
  for f in "$@"; do
    python3 - "$repo/buildkite/lib/install.sh" "$f" <<'PY' || fail "$f: its crlogin-install block is not buildkite/lib/install.sh"
import sys
canon, text = open(sys.argv[1]).read(), open(sys.argv[2]).read()
if text == canon:
    sys.exit(0)
lines = text.splitlines(keepends=True)
begin = next(i for i, l in enumerate(lines) if "# --- crlogin-install: begin" in l)
end = next(i for i, l in enumerate(lines) if "# --- crlogin-install: end ---" in l)
indent = len(lines[begin]) - len(lines[begin].lstrip())
block = "".join(l[indent:] if l.strip() else l.lstrip(" ") for l in lines[begin + 1:end])
sys.exit(0 if block == canon else 1)
PY
  done
  echo "ok: the crlogin-install block of $* is buildkite/lib/install.sh"
}


# refused_nothing_written LOG DIR...: LOG (a login with a wrong password, verified by default)
# says the registry refused and that nothing was written, has no "logged in" line, and no DIR
# holds a crlogin directory (the downloaded binary aside), a config.json or an auth.json.
refused_nothing_written() {
  local log=$1; shift
  grep -q "did not accept the login: the registry rejected the credential (HTTP 401" "$log" || { cat "$log"; fail "wrong password: no clear error"; }
  grep -q "nothing was written" "$log" || { cat "$log"; fail "wrong password: the error does not say nothing was written"; }
  ! grep -q "logged in to" "$log" || { cat "$log"; fail "wrong password: a 'logged in' line"; }
  local written
  written=$(find "$@" \( -name '*crlogin-*' ! -name '*crlogin-bin*' ! -name '*.bin' -o -name config.json -o -name auth.json \) -print 2>/dev/null || true)
  [ -z "$written" ] || fail "wrong password: written anyway: $written"
}
