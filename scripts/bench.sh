#!/usr/bin/env bash
# The benchmarks in one command: builds the release binaries, then runs benches/performance
# (loopback registries and IAM stand-in only), which prints a markdown table and writes it to
# target/bench/results.md. Figures, not assertions: it fails only when a step fails.
#
# CRLOGIN_BENCH_ROUNDS (default 10) and CRLOGIN_BENCH_RUNS (default 300) set the run counts.
#
# --ci: the run scripts/test.sh makes so that a broken benchmark fails the build, not for its
# figures: it measures the debug binary test.sh already built (no release or static musl build,
# so no static rows), with 1 round and 5 runs unless the variables say otherwise, and writes
# target/bench/ci-results.md. It expects install-deps.sh to have run.
set -euo pipefail
cd "$(dirname "$0")/.."

ci=false
case "${1:-}" in
  --ci) ci=true ;;
  "") ;;
  *) echo "usage: bench.sh [--ci]" >&2; exit 2 ;;
esac

if $ci; then
  export CRLOGIN_BENCH_ROUNDS=${CRLOGIN_BENCH_ROUNDS:-1} CRLOGIN_BENCH_RUNS=${CRLOGIN_BENCH_RUNS:-5}
  export CRLOGIN_BENCH_RESULTS=target/bench/ci-results.md
  cargo build --locked --bin crlogin
  bin="$PWD/target/debug/crlogin"
  static_bin=""
  action_bin=$bin
  action_runs=2
else
  bash scripts/install-deps.sh   # the registry, skopeo, the Helm client, hyperfine

  # The measured binary: what `cargo build --release` makes.
  cargo build --release --locked --bin crlogin
  bin="$PWD/target/release/crlogin"

  # The static musl binary (the release asset), for its size, cold start and the action's install.
  # build-release.sh rebuilds it only when stale (about 4 minutes from scratch on 2 cores).
  target=x86_64-unknown-linux-musl
  bash scripts/build-release.sh "$target"
  static_bin="$PWD/dist/crlogin-$target"
  action_bin=$static_bin
  action_runs=20
fi
results=${CRLOGIN_BENCH_RESULTS:-target/bench/results.md}

# The harness itself is built in the test profile, sharing the test suite's build: it only
# starts processes and reads the clock, and it measures the binaries built above. (`cargo bench`
# would build it and its dev-dependencies with the release profile's LTO: minutes, for nothing.)
# It runs in its own process group, so whatever it started stops with it, however it ends.
# (A variable set only sometimes goes through env: an expansion before a command is not an
# assignment, and bash would run it as the command.)
static_env=()
[ -z "${static_bin:-}" ] || static_env=(CRLOGIN_BENCH_STATIC_BIN="$static_bin")
CRLOGIN_BENCH_BIN="$bin" env "${static_env[@]}" setsid cargo test --locked --bench performance &
bench=$!
trap 'kill -TERM -- "-$bench" 2>/dev/null || true' EXIT INT TERM
wait "$bench"

# The action's time to first login from a cold and a warm tool cache (loopback release).
node benches/action-install.js "$action_bin" "$action_runs" | tee -a "$results"
