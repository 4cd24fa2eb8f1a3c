#!/usr/bin/env bash
# Installs what scripts/build-release.sh needs to cross-build the static Linux assets on any Linux
# x86_64 machine (this one, GitHub's ubuntu runners), with pinned versions:
#   rustup  the musl targets' standard libraries
#   PyPI    zig (the C compiler, linker and musl libc for every target, in one wheel) and
#           cargo-zigbuild (runs cargo with zig as each target's C compiler and linker), in
#           target/release-tools-venv
# Why zig: aws-lc and ring compile C for the target, so every target needs a C cross toolchain
# and a musl libc for it. Debian's gcc-aarch64-linux-gnu is a glibc toolchain (a musl one is not
# packaged), musl-tools only targets the host, and zig is one pinned, registry-installable download
# that covers x86_64 and aarch64 musl alike (and macOS, for the other assets).
# Idempotent. Prints the venv's bin directory on the last line of stdout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ZIGLANG_VERSION=0.17.0
CARGO_ZIGBUILD_VERSION=0.24.0

for target in "$@"; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target" >&2
done

venv="$PWD/target/release-tools-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
pins=("ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION")
if ! "$venv/bin/python" - "${pins[@]}" <<'PY' 2>/dev/null; then
import importlib.metadata as m, sys
sys.exit(any(m.version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))
PY
  echo "install-release-tools: pip install ${pins[*]} (target/release-tools-venv)" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" >&2
fi
echo "$venv/bin"
