'use strict';
// Main step: find the binary, remember it for the post step, run `crlogin login`.
const { loginEnv, resolveBinary, runCrlogin, runStep, saveState } = require('./launcher');

async function run() {
  const env = loginEnv(); // checks the inputs before anything is downloaded or built
  const bin = await resolveBinary();
  // Saved before login runs, so the post step cleans up after a login that failed halfway.
  saveState('crlogin_bin', bin);
  return runCrlogin(bin, 'login', env);
}

// Exported for tools that import the entrypoint and call run() (e.g. @github/local-action).
module.exports = { run };
if (require.main === module) runStep(run);
