#!/usr/bin/env bash
# Checks the GitLab (templates/, gitlab/), Jenkins (jenkins/), Buildkite (buildkite/), Azure Pipelines
# (azure/), CircleCI (circleci/) and Bitbucket (bitbucket/) wrappers and install.sh end to end on this machine, against a
# loopback registry with the debug crlogin binary. The tools must be installed already:
#   apt-get install -y --no-install-recommends docker-registry apache2-utils skopeo curl jq git rsync groovy
#   pip install check-jsonschema==0.39.0 pyyaml   (scripts/install-deps.sh does all of this)
#   npm install gitlab-ci-local@4.70.0      (then GCL=node_modules/.bin/gitlab-ci-local, or put it on PATH)
set -euo pipefail
cd "$(dirname "$0")/../.."
export GCL=${GCL:-gitlab-ci-local}
missing=()
for tool in cargo docker-registry htpasswd skopeo docker curl jq git rsync groovy java check-jsonschema "$GCL"; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "run.sh: missing ${missing[*]}: see the install commands at the top of $0" >&2
  exit 1
fi
cargo build --quiet --locked
start=$SECONDS
bash tests/ci-wrappers/gitlab/check.sh 2>&1 | grep -v 'spec:inputs:regex is currently not supported'
echo "gitlab checks: $((SECONDS - start)) s"
start=$SECONDS
bash tests/ci-wrappers/jenkins/check.sh
echo "jenkins checks: $((SECONDS - start)) s"
for ci in buildkite azure circleci bitbucket; do
  start=$SECONDS
  bash "tests/ci-wrappers/$ci/check.sh"
  echo "$ci checks: $((SECONDS - start)) s"
done
start=$SECONDS
bash tests/ci-wrappers/install/check.sh
echo "install.sh checks: $((SECONDS - start)) s"
echo "ci-wrappers: OK"
