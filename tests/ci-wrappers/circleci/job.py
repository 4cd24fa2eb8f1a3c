"""Runs one command of the packed orb (circleci/orb.yml) as CircleCI runs a job's steps, for the
wrapper checks: `<< parameters.X >>` filled from the parameters given or the command's defaults
(booleans as CircleCI renders them: true/false), then each `run` step with `/bin/bash -eo
pipefail -c COMMAND` in the job's environment plus the step's `environment:` (bash sources
$BASH_ENV itself, as it does on CircleCI). Usage: job.py ORB COMMAND PARAMS_JSON; exits with the
first failing step's status."""
import json, os, re, subprocess, sys
import yaml

orb, name, given = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
command = yaml.safe_load(open(orb))["commands"][name]
params = {k: given.get(k, v.get("default")) for k, v in command["parameters"].items()}
unknown = set(given) - set(params)
if unknown:
    sys.exit(f"job.py: {name} has no parameter {sorted(unknown)}")

def render(value):
    def one(m):
        v = params[m.group(1)]
        return str(v).lower() if isinstance(v, bool) else str(v)
    return re.sub(r"<<\s*parameters\.([\w-]+)\s*>>", one, str(value))

for step in command["steps"]:
    run = step["run"]
    env = dict(os.environ)
    env.update({k: render(v) for k, v in (run.get("environment") or {}).items()})
    status = subprocess.run(["/bin/bash", "-eo", "pipefail", "-c", render(run["command"])], env=env).returncode
    if status:
        sys.exit(status)
