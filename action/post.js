'use strict';
// Post step (always runs): `crlogin cleanup` undoes what this job's login wrote, read from the
// state the binary left in $GITHUB_STATE (STATE_crlogin_state).
const { baseEnv, boolInput, log, runCrlogin, runStep } = require('./launcher');

async function run() {
  if (!boolInput('logout', true)) {
    log('logout is false: leaving the credentials in place');
    return 0;
  }
  const bin = process.env.STATE_crlogin_bin;
  if (!bin) {
    log('nothing to clean up: the main step never started crlogin');
    return 0;
  }
  return runCrlogin(bin, 'cleanup', baseEnv());
}

module.exports = { run };
if (require.main === module) runStep(run);
