#!/usr/bin/env bash
# The benchmarks in one command: builds the release binaries, then runs benches/performance
# (loopback registries and IAM stand-in only), which prints a markdown table and writes it to
# target/bench/results.md. Figures, not assertions: it fails only when a step fails.
#
# CRLOGIN_BENCH_ROUNDS (default 10) and CRLOGIN_BENCH_RUNS (default 300) set the run counts.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh   # the registry, skopeo, the Helm client, hyperfine

# The measured binary: what `cargo build --release` makes.
cargo build --release --locked --bin crlogin
bin="$PWD/target/release/crlogin"

# The static musl binary, for its size and cold start. Rebuilt by cargo only when stale where the
# musl toolchain is installed; else an existing dist/ build is reused; else build-release.sh
# (about 4 minutes from scratch on 2 cores) installs the toolchain and builds it.
target=x86_64-unknown-linux-musl
static_bin="$PWD/target/$target/release/crlogin"
if rustup target list --installed 2>/dev/null | grep -qx "$target" && command -v musl-gcc >/dev/null; then
  cargo build --release --locked --target "$target" --bin crlogin
elif [ -x "dist/crlogin-$target" ]; then
  static_bin="$PWD/dist/crlogin-$target"
  echo "bench.sh: reusing $static_bin, built $(date -r "$static_bin" '+%F %T')" >&2
else
  bash scripts/build-release.sh
fi

# The harness itself is built in the test profile, sharing the test suite's build: it only
# starts processes and reads the clock, and it measures the binaries built above. (`cargo bench`
# would build it and its dev-dependencies with the release profile's LTO: minutes, for nothing.)
# It runs in its own process group, so whatever it started stops with it, however it ends.
CRLOGIN_BENCH_BIN="$bin" CRLOGIN_BENCH_STATIC_BIN="$static_bin" \
  setsid cargo test --locked --bench performance &
bench=$!
trap 'kill -TERM -- "-$bench" 2>/dev/null || true' EXIT INT TERM
wait "$bench"
