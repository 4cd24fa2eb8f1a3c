#!/usr/bin/env bash
# Builds crlogin's release assets into dist/: for each TARGET (default: the Linux ones) a single
# static executable dist/crlogin-TARGET with dist/crlogin-TARGET.sha256, then dist/SHA256SUMS over
# every asset in dist/. The release workflow (.github/workflows/release.yml) calls it, one target
# per job, and `--sums` once the jobs' assets are gathered.
#   scripts/build-release.sh [TARGET...]   build (release profile: LTO, stripped; Cargo.toml)
#   scripts/build-release.sh --sums        only check every dist/*.sha256 and rewrite SHA256SUMS
# DIST_DIR (default dist) is where they go. Honours CARGO_TARGET_DIR (and any target-dir cargo is
# configured with). SOURCE_DATE_EPOCH
# defaults to the commit's time, and paths are remapped, so a rebuild gives the same bytes.
# Runs on Linux, on macOS (bash 3.2) and in Git Bash on Windows, each building its own targets:
# the zigbuild rows need the tools of install-release-tools.sh (Linux only), the cargo rows only
# rustup's target and the platform's C compiler (aws-lc's C code: Xcode's clang on macOS, MSVC on
# windows-msvc, mingw-w64 on windows-gnu). On windows-msvc the C runtime is linked statically
# (+crt-static), so the .exe needs no Visual C++ runtime DLL; aws-lc's NASM-assembled objects come
# from NASM on PATH, or from the crate's prebuilt ones when AWS_LC_SYS_PREBUILT_NASM=1 (the
# release workflow sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/portable.sh
[ -n "$py" ] || { echo "build-release: needs python3 on PATH (it reads cargo metadata)" >&2; exit 1; }

# The build matrix: one line per target. A new asset (macOS, Windows) is one line here, one entry
# in release.yml's matrix and one in release-manifest.sh's platform map.
# STATIC-CHECK: static = `file` says statically linked; crt = no C runtime DLL imported (the
# import table names DLLs in ASCII: vcruntime140.dll, api-ms-win-crt-*.dll of the UCRT).
#   TARGET                       BUILDER   STATIC-CHECK
matrix='
x86_64-unknown-linux-musl      zigbuild  static
aarch64-unknown-linux-musl     zigbuild  static
x86_64-pc-windows-gnu          cargo     -
x86_64-pc-windows-msvc         cargo     crt
x86_64-apple-darwin            cargo     -
aarch64-apple-darwin           cargo     -
'
default_targets=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)

dist=${DIST_DIR:-dist}

row() { awk -v t="$1" '$1 == t' <<<"$matrix"; }

# Rewrites dist/SHA256SUMS from the per-asset files, after checking each against its asset.
write_sums() {
  (cd "$dist" && shopt -s nullglob && sums=(crlogin-*.sha256) &&
    { ((${#sums[@]})) || { echo "build-release: no $dist/crlogin-*.sha256" >&2; exit 1; }; } &&
    sha256sum_check "${sums[@]}" && cat "${sums[@]}" | LC_ALL=C sort -k2 > SHA256SUMS)
  echo "$dist/SHA256SUMS:"; sed 's/^/  /' "$dist/SHA256SUMS"
}

if [ "${1:-}" = --sums ]; then write_sums; exit 0; fi
targets=("$@"); ((${#targets[@]})) || targets=("${default_targets[@]}")
for t in "${targets[@]}"; do
  [ -n "$(row "$t")" ] || { echo "build-release: unknown target $t; known: $(awk 'NF {printf "%s ", $1}' <<<"$matrix")" >&2; exit 2; }
done

if grep -qw zigbuild <<<"$(for t in "${targets[@]}"; do row "$t"; done)"; then
  tools=$(bash scripts/install-release-tools.sh "${targets[@]}" | tail -n1)
  export PATH="$tools:$PATH"
else
  for t in "${targets[@]}"; do
    rustup target list --installed | grep -qx "$t" || rustup target add "$t" >&2
  done
fi
target_dir=$(cargo metadata --format-version 1 --no-deps | "$py" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' | tr -d '\r')
[ -z "$windows" ] || target_dir=$(cygpath -u "$target_dir")
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
# No build machine's paths in the binary (panic locations name source files), in rustc's own
# spelling of them (C:\... on Windows).
cargo_home=${CARGO_HOME:-$HOME/.cargo}
export RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$(native "$PWD")=crlogin --remap-path-prefix=$(native "$cargo_home")=cargo"
rustflags=$RUSTFLAGS

mkdir -p "$dist"
for t in "${targets[@]}"; do
  read -r _ builder check <<<"$(row "$t")"
  start=$SECONDS
  RUSTFLAGS=$rustflags
  case $t in *-windows-msvc) RUSTFLAGS="$RUSTFLAGS -C target-feature=+crt-static" ;; esac
  case $builder in
    zigbuild) cargo zigbuild --release --locked --target "$t" ;;
    cargo) cargo build --release --locked --target "$t" ;;
  esac
  bin=crlogin; case $t in *windows*) bin=crlogin.exe ;; esac
  asset="crlogin-$t"; case $t in *windows*) asset="$asset.exe" ;; esac
  cp "$target_dir/$t/release/$bin" "$dist/$asset.tmp" && mv "$dist/$asset.tmp" "$dist/$asset"
  (cd "$dist" && sha256sum_of "$asset" > "$asset.sha256")
  kind="(no file command to describe it)"
  if command -v file >/dev/null 2>&1; then kind=$(file -b "$dist/$asset"); fi
  if [ "$check" = static ] && ! grep -q 'statically linked\|static-pie linked' <<<"$kind"; then
    echo "build-release: $dist/$asset is not statically linked: $kind" >&2; exit 1
  fi
  if [ "$check" = crt ] && LC_ALL=C grep -qaiE 'vcruntime[0-9]+\.dll|api-ms-win-crt-[a-z0-9-]+\.dll' "$dist/$asset"; then
    echo "build-release: $dist/$asset imports the C runtime from a DLL: build it with -C target-feature=+crt-static" >&2; exit 1
  fi
  echo "$dist/$asset: $(wc -c < "$dist/$asset" | tr -d ' ') bytes, sha256 $(cut -d' ' -f1 "$dist/$asset.sha256"), built in $((SECONDS - start)) s"
  echo "  $kind"
done
write_sums
