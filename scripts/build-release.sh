#!/usr/bin/env bash
# Builds the release binary: fully static x86_64 Linux (musl), LTO, stripped (see Cargo.toml's
# release profile), into dist/ with a SHA-256 file, which the GitHub Action's download checks.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
if ! command -v musl-gcc >/dev/null; then   # ring/aws-lc compile C code with it
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq --no-install-recommends musl-tools >&2
fi
cargo build --release --locked --target "$target"
mkdir -p dist
asset="crlogin-$target"
cp "target/$target/release/crlogin" "dist/$asset"
(cd dist && sha256sum "$asset" > "$asset.sha256")
file "dist/$asset"
echo "$(stat -c %s "dist/$asset") bytes; sha256 $(cut -d' ' -f1 "dist/$asset.sha256")"
