#!/usr/bin/env bash
# Checks crlogin for the macOS targets on this Linux machine: `cargo-zigbuild clippy` with zig
# (PyPI's ziglang, pinned) as the C compiler, which aws-lc's build script needs for a macOS
# target and Debian does not have. It compiles everything and lints it; it does not link (a
# macOS link needs Apple's SDK frameworks), so the binaries are built and tested by the release
# workflow's macOS jobs. Not part of scripts/test.sh: a cold run takes about 10 minutes here.
#   scripts/apple-check.sh [TARGET...]   (default: aarch64-apple-darwin x86_64-apple-darwin)
set -euo pipefail
cd "$(dirname "$0")/.."

ZIGLANG_VERSION=0.15.2
CARGO_ZIGBUILD_VERSION=0.24.0
targets=("$@"); ((${#targets[@]})) || targets=(aarch64-apple-darwin x86_64-apple-darwin)

venv="$PWD/target/apple-tools-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "ziglang==$ZIGLANG_VERSION" "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION" >&2
export PATH="$venv/bin:$PATH"
for t in "${targets[@]}"; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t" >&2
  cargo-zigbuild clippy --locked --target "$t" --all-targets -- -D warnings
  echo "apple-check: $t: clippy clean"
done
