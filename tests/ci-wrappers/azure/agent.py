"""Runs azure/crlogin.yml's steps as an Azure Pipelines agent would, for the wrapper checks:
expands the template's compile-time expressions (`${{ parameters.X }}`, `${{ if eq/ne(...) }}:`,
`${{ each X in parameters.Y }}:`) with the parameters given, then each bash step in a new bash
with the job's environment, its `env:` (with `$(NAME)` macros from the pipeline's variables, as
the agent maps secrets only when named), the variables earlier steps set with
`##vso[task.setvariable]` (upper-cased as the agent maps them; secret ones never) and
`##vso[task.prependpath]`. A step with `condition: always()` runs after a failure too.
Usage: agent.py TEMPLATE PARAMS_JSON VARIABLES_JSON WORKDIR; prints each step's log to
WORKDIR/step-N.txt and exits non-zero when a step failed."""
import json, os, re, subprocess, sys
import yaml

template, params, variables, work = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
doc = yaml.safe_load(open(template))
for p in doc["parameters"]:
    params.setdefault(p["name"], p.get("default"))
    if p["type"] == "boolean" and isinstance(params[p["name"]], str):
        params[p["name"]] = params[p["name"]].lower() == "true"

def value(expr, scope):
    expr = expr.strip()
    m = re.fullmatch(r"parameters\.(\w+)", expr)
    if m:
        return params[m.group(1)]
    if expr in scope:
        return scope[expr]
    m = re.fullmatch(r"(\w+)\.(key|value)", expr)
    if m and m.group(1) in scope:
        return scope[m.group(1)][0 if m.group(2) == "key" else 1]
    m = re.fullmatch(r"(eq|ne)\(\s*parameters\.(\w+)\s*,\s*'([^']*)'\s*\)", expr)
    if m:
        equal = str(params[m.group(2)]).lower() == m.group(3).lower()
        return equal if m.group(1) == "eq" else not equal
    raise SystemExit(f"agent.py: unsupported expression {expr!r}")

def text(s, scope):
    full = re.fullmatch(r"\$\{\{(.*)\}\}", s.strip()) if isinstance(s, str) else None
    if full:
        return value(full.group(1), scope)
    v = re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(value(m.group(1), scope)), s)
    return v

def expand(node, scope):
    if isinstance(node, list):
        out = []
        for item in node:
            if isinstance(item, dict) and len(item) == 1:
                (k, v), = item.items()
                m = re.fullmatch(r"\$\{\{\s*each (\w+) in parameters\.(\w+)\s*\}\}", k)
                if m:
                    for x in params[m.group(2)]:
                        out.extend(expand(v, {**scope, m.group(1): x}))
                    continue
            out.append(expand(item, scope))
        return out
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            m = re.fullmatch(r"\$\{\{\s*if (.*)\}\}", k)
            if m:
                if value(m.group(1), scope):
                    out.update(expand(v, scope))
                continue
            m = re.fullmatch(r"\$\{\{\s*each (\w+) in (\w+|parameters\.\w+)\s*\}\}", k)
            if m:
                items = value(m.group(2), scope)
                items = list(items.items()) if isinstance(items, dict) else items
                for x in items:
                    out.update(expand(v, {**scope, m.group(1): x}))
                continue
            out[text(k, scope)] = expand(v, scope)
        return out
    if isinstance(node, str):
        return text(node, scope)
    return node

steps = expand(doc["steps"], {})
job_vars = {}          # set by ##vso[task.setvariable], as env
paths = []
failed = False
for n, step in enumerate(steps):
    if failed and step.get("condition") != "always()":
        continue
    env = dict(os.environ)
    env.update({k: v for k, v in variables.items() if not k.startswith("secret:")})
    env.update(job_vars)
    env["PATH"] = ":".join(paths + [env["PATH"]])
    for k, v in (step.get("env") or {}).items():
        v = "" if v is None else str(v)
        if isinstance(step["env"][k], bool):
            v = "True" if step["env"][k] else "False"
        env[k] = re.sub(r"\$\(([\w.]+)\)", lambda m: variables.get(m.group(1), variables.get("secret:" + m.group(1), m.group(0))), v)
    script = step.get("bash")
    if script is None:
        raise SystemExit(f"agent.py: step {n} is not a bash step: {step}")
    run = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script], env=env, capture_output=True, text=True)
    log = run.stdout + run.stderr
    open(f"{work}/step-{n}.txt", "w").write(log)
    for line in log.splitlines():
        m = re.match(r"##vso\[task\.setvariable variable=([^;\]]+)([^\]]*)\](.*)$", line)
        if m and "issecret=true" not in m.group(2).lower() and "isoutput=true" not in m.group(2).lower():
            job_vars[m.group(1).upper().replace(".", "_")] = m.group(3).replace("%3B", ";").replace("%0D", "\r").replace("%0A", "\n").replace("%5D", "]")
        m = re.match(r"##vso\[task\.prependpath\](.*)$", line)
        if m:
            paths.insert(0, m.group(1))
    if run.returncode != 0:
        failed = True
        print(f"step {n} ({step.get('displayName')}) failed: see {work}/step-{n}.txt", file=sys.stderr)
sys.exit(1 if failed else 0)
