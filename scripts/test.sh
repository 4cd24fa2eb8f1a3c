#!/usr/bin/env bash
# Runs every check crlogin has: installs the test dependencies, then format, lints and the whole
# test suite (unit tests and end-to-end tests against a real registry and real clients).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
