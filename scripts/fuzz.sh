#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets/) for SECONDS each (default 30) on the stable
# toolchain: installs the pinned cargo-fuzz under target/cargo-fuzz if missing, builds without a
# sanitizer (ASan needs nightly), then fuzzes each target from its committed seeds
# (fuzz/corpus/<target>, read only) plus what earlier runs found (fuzz/target/corpus/<target>,
# not committed, where the seeds that need a private key get one made by openssl). Touches only files under fuzz/ and target/, and no network beyond the install.
# Fails, listing them, if any target left a crash input under fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS]  (seconds per target, default 30)" >&2
  exit 2
fi
cargo_fuzz_version=0.13.2
root="$PWD/target/cargo-fuzz"
if ! "$root/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $cargo_fuzz_version"; then
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version" --root "$root"
fi
export PATH="$root/bin:$PATH"

cargo fuzz build --sanitizer none
targets=$(cargo fuzz list)

# Seeds holding @PRIVATE_KEY_PEM@ get a key made now, so that the fuzzer starts from a working
# credentials JSON while no private key is committed.
key=$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null |
  python3 -c 'import json, sys; print(json.dumps(sys.stdin.read())[1:-1])')
for seed in fuzz/corpus/*/*; do
  if grep -q '@PRIVATE_KEY_PEM@' "$seed"; then
    grown="fuzz/target/corpus/$(basename "$(dirname "$seed")")"
    mkdir -p "$grown"
    KEY="$key" python3 -c 'import os, sys; sys.stdout.write(open(sys.argv[1]).read().replace("@PRIVATE_KEY_PEM@", os.environ["KEY"]))' "$seed" > "$grown/keyed-$(basename "$seed")"
  fi
done
failed=()
for target in $targets; do
  grown="fuzz/target/corpus/$target"
  mkdir -p "$grown" "fuzz/artifacts/$target"
  echo "==== fuzz $target for $seconds s ===="
  # Exits non-zero on a crash, a leak of memory past the limit or a timeout; the input is saved.
  if ! cargo fuzz run --sanitizer none "$target" "$grown" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1; then
    failed+=("$target")
  fi
done

artifacts=$(find fuzz/artifacts -type f)
if ((${#failed[@]})) || [[ -n $artifacts ]]; then
  echo "fuzzing failed${failed[*]:+: ${failed[*]}}" >&2
  [[ -z $artifacts ]] || printf 'crash input: %s\n' $artifacts >&2
  echo "replay one with: PATH=$root/bin:\$PATH cargo fuzz run --sanitizer none TARGET ARTIFACT" >&2
  exit 1
fi
echo "fuzzing: no crash in ${seconds} s per target"
