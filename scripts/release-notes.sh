#!/usr/bin/env bash
# Prints CHANGELOG.md's section for VERSION (`## [VERSION] - date` up to the next `## [`), the
# release notes of tag vVERSION; fails when there is none, or when Cargo.toml is another version.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: $0 VERSION}
cargo_version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
[ "$version" = "$cargo_version" ] || { echo "release-notes: the tag is v$version but Cargo.toml says $cargo_version" >&2; exit 1; }
notes=$(awk -v v="$version" '
  index($0, "## [" v "]") == 1 { on = 1; next }
  on && /^## \[/ { exit }
  on { print }' CHANGELOG.md)
[ -n "${notes//[[:space:]]/}" ] || { echo "release-notes: CHANGELOG.md has no section ## [$version]: rename [Unreleased] to [$version] - YYYY-MM-DD" >&2; exit 1; }
printf '%s\n' "$notes"
