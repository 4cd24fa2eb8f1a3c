#!/usr/bin/env python3
"""Static checks of the two GitLab templates, and files for the schema check.
- templates/crlogin.yml is a component: a `spec: inputs:` header, `---`, then the jobs; both parse.
- Both define `.crlogin`, and share one shell: the component's before_script/after_script are the
  plain file's with the inputs block in front.
- Writes OUT/*.yml: the component's header and body, and each template with its hidden jobs made
  real jobs (the schema does not look inside hidden jobs).
Usage: templates.py REPO OUT"""
import os, sys, yaml

repo, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
header, body = open(os.path.join(repo, "templates/crlogin.yml")).read().split("\n---\n", 1)
spec = yaml.safe_load(header)
assert list(spec) == ["spec"] and spec["spec"]["inputs"], "the component header must be spec: inputs:"
component = yaml.safe_load(body)
plain_text = open(os.path.join(repo, "gitlab/crlogin.gitlab-ci.yml")).read()
plain = yaml.safe_load(plain_text)
assert list(component) == [".crlogin"] and list(plain) == [".crlogin"], "each template defines only .crlogin"
c, p = component[".crlogin"], plain[".crlogin"]
for key in ("before_script", "after_script"):
    assert c[key][1:] == p[key], f"{key}: the component and the plain include differ"
assert "inputs." in c["before_script"][0] and "inputs." not in "".join(p["before_script"] + p["after_script"])
for name in spec["spec"]["inputs"]:
    assert f"$[[ inputs.{name} ]]" in body, f"input {name} is not used"

def visible(jobs):
    return {name.lstrip("."): {**job, "script": ["true"]} for name, job in jobs.items()}

for name, text in (("component-header", header), ("component-body", body), ("plain", plain_text)):
    open(os.path.join(out, f"{name}.yml"), "w").write(text)
for name, jobs in (("component-visible", component), ("plain-visible", plain)):
    open(os.path.join(out, f"{name}.yml"), "w").write(yaml.safe_dump(visible(jobs), sort_keys=False))
print("templates: component header and body parse; both share one shell; every input is used")

# The binary both templates download by default is this source's release, from the canonical repository.
import re
cargo = open(os.path.join(repo, "Cargo.toml")).read()
version = re.search(r'^version = "([^"]+)"', cargo, re.M).group(1)
repository = re.search(r'^repository = "([^"]+)"', cargo, re.M).group(1)
assert spec["spec"]["inputs"]["version"]["default"] == version, "the component's default version is not Cargo.toml's"
for text in (body, plain_text):
    assert f"CRLOGIN_VERSION:-{version}" in text, f"a template's default CRLOGIN_VERSION is not {version}"
    assert f"{repository}/releases/download/v$crlogin_version/" in text, f"a template's default release is not {repository}'s"
print(f"templates: default version {version} and release {repository} match Cargo.toml")
