#!/usr/bin/env bash
# Lays out a release directory as the release job publishes it, from binaries built here:
# crlogin-TARGET[.exe] + .sha256 for each TARGET=BIN, SHA256SUMS (build-release.sh --sums),
# crlogin-release.json (release-manifest.sh VERSION BASE_URL) and install.sh. The wrapper tests
# serve OUT from a loopback HTTP server (tests/release/serve.py) as their "release".
#   tests/release/make-release.sh OUT VERSION BASE_URL TARGET=BIN...
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$1 version=$2 base_url=$3; shift 3
mkdir -p "$out"
for pair in "$@"; do
  asset="crlogin-${pair%%=*}"; case $asset in *windows*) asset="$asset.exe" ;; esac   # as build-release.sh names it
  cp "${pair#*=}" "$out/$asset"
  chmod 755 "$out/$asset"
  (cd "$out" && sha256sum "$asset" > "$asset.sha256")
done
DIST_DIR=$out bash "$repo/scripts/build-release.sh" --sums >/dev/null
DIST_DIR=$out bash "$repo/scripts/release-manifest.sh" "$version" "$base_url" > "$out/crlogin-release.json"
if [ -f "$repo/install.sh" ]; then cp "$repo/install.sh" "$out/install.sh"; fi
