#!/usr/bin/env bash
# Prints the release manifest (JSON) for VERSION from dist/SHA256SUMS: where each asset is
# (BASE_URL, the directory the release's files are served from) and its SHA-256, keyed by the
# platform names the wrappers use (the GitHub runner's RUNNER_OS-RUNNER_ARCH, e.g. Linux-ARM64).
# The release job runs it with its own repository's download URL and publishes the output as the
# asset crlogin-release.json; tests run it with a loopback URL serving dist/.
# DIST_DIR (default dist) is the directory with SHA256SUMS.
#   scripts/release-manifest.sh 0.1.0 https://github.com/OWNER/crlogin/releases/download/v0.1.0/
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# = 2 ] || { echo "usage: $0 VERSION BASE_URL" >&2; exit 2; }
# Each asset's platform: one line per asset (see build-release.sh's matrix).
platforms='
crlogin-x86_64-unknown-linux-musl    Linux-X64
crlogin-aarch64-unknown-linux-musl   Linux-ARM64
'
exec python3 - "$1" "$2" "${DIST_DIR:-dist}/SHA256SUMS" "$platforms" <<'PY'
import json, re, sys
version, base_url, sums_file, platforms = sys.argv[1:]
if not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", version):
    sys.exit(f"release-manifest: VERSION must be X.Y.Z, not {version!r}")
if not re.match(r"https?://[^/\s]+", base_url) or any(c.isspace() for c in base_url):
    sys.exit(f"release-manifest: BASE_URL must be an http(s) URL, not {base_url!r}")
platform_of = dict(line.split() for line in platforms.strip().splitlines())
sha256 = {}
for line in open(sums_file):
    m = re.fullmatch(r"([0-9a-f]{64}) [ *](\S+)\n?", line)
    if not m:
        sys.exit(f"release-manifest: {sums_file}: not a sha256sum line: {line!r}")
    sha256[m.group(2)] = m.group(1)
assets = {platform_of[name]: name for name in sha256 if name in platform_of}
if not assets:
    sys.exit(f"release-manifest: {sums_file} lists none of {', '.join(platform_of)}")
manifest = {
    "version": version,
    "base_url": base_url if base_url.endswith("/") else base_url + "/",
    "assets": dict(sorted(assets.items())),
    "sha256": dict(sorted(sha256.items())),
}
print(json.dumps(manifest, indent=2))
PY
