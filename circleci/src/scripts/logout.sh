#!/bin/sh
# The orb's logout command: `cleanup` undoes an isolated login from the state in its directory
# (DOCKER_CONFIG, from $BASH_ENV); `logout` the entries a login into the home directory added.
set -u
{ set +x; } 2>/dev/null
if command -v crlogin >/dev/null 2>&1; then
  if [ "$PARAM_ISOLATED" = true ] || [ "$PARAM_ISOLATED" = 1 ]; then
    [ -z "${DOCKER_CONFIG:-}" ] || CRLOGIN_WRAPPER=circleci-orb crlogin cleanup || true
  else
    [ -z "${PARAM_REGIONS:-}" ] || export NEBIUS_REGIONS="$PARAM_REGIONS"
    [ -z "${PARAM_REGISTRIES:-}" ] || export CRLOGIN_REGISTRIES="$PARAM_REGISTRIES"
    [ -z "${PARAM_TOOLS:-}" ] || export CRLOGIN_FOR="$PARAM_TOOLS"
    CRLOGIN_WRAPPER=circleci-orb crlogin logout || true
  fi
fi
rm -rf "${TMPDIR:-/tmp}/crlogin-bin-${CIRCLE_WORKFLOW_JOB_ID:-${CIRCLE_BUILD_NUM:-job}}"
