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

# The static musl binary (the release asset), for its size, cold start and the action's install.
# build-release.sh rebuilds it only when stale (about 4 minutes from scratch on 2 cores).
target=x86_64-unknown-linux-musl
bash scripts/build-release.sh "$target"
static_bin="$PWD/dist/crlogin-$target"

# The harness itself is built in the test profile, sharing the test suite's build: it only
# starts processes and reads the clock, and it measures the binaries built above. (`cargo bench`
# would build it and its dev-dependencies with the release profile's LTO: minutes, for nothing.)
# It runs in its own process group, so whatever it started stops with it, however it ends.
CRLOGIN_BENCH_BIN="$bin" CRLOGIN_BENCH_STATIC_BIN="$static_bin" \
  setsid cargo test --locked --bench performance &
bench=$!
trap 'kill -TERM -- "-$bench" 2>/dev/null || true' EXIT INT TERM
wait "$bench"

# The action's time to first login from a cold and a warm tool cache (loopback release).
node benches/action-install.js "$static_bin" | tee -a target/bench/results.md
