#!/usr/bin/env python3
"""Packs the orb's sources (src/) into orb.yml as `circleci orb pack` does: @orb.yml, then each
src/commands/NAME.yml under commands.NAME, with every `<<include(PATH)>>` replaced by the text of
src/PATH. `pack.py --check` fails when orb.yml is not the packed sources."""
import pathlib, re, sys
import yaml

here = pathlib.Path(__file__).resolve().parent
src = here / "src"

def included(value):
    if isinstance(value, dict):
        return {k: included(v) for k, v in value.items()}
    if isinstance(value, list):
        return [included(v) for v in value]
    if isinstance(value, str):
        m = re.fullmatch(r"<<include\(([^)]+)\)>>", value.strip())
        if m:
            return (src / m.group(1)).read_text()
    return value

class Literal(str):
    pass

def literal(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

def pack():
    orb = yaml.safe_load((src / "@orb.yml").read_text())
    commands = {}
    for path in sorted((src / "commands").glob("*.yml")):
        commands[path.stem] = included(yaml.safe_load(path.read_text()))
    orb["commands"] = commands
    dumper = yaml.SafeDumper
    dumper.add_representer(str, literal)
    header = "# Packed from src/ by circleci/pack.py (as `circleci orb pack src`): edit src/, then run it.\n"
    return header + yaml.dump(orb, Dumper=dumper, sort_keys=False, width=1000)

if __name__ == "__main__":
    text = pack()
    target = here / "orb.yml"
    if sys.argv[1:] == ["--check"]:
        if target.read_text() != text:
            sys.exit("circleci/orb.yml is not circleci/src packed: run python3 circleci/pack.py")
    else:
        target.write_text(text)
