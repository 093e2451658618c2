#!/usr/bin/python3
"""The JSON Schemas of `chairctl schema`, checked with an independent validator (Debian's
python3-jsonschema): every stock program and pattern file, every shipped config and every whole program
and config in the docs is valid under them, and the broken programs of tests/programs/bad/ whose fault is
structural (an unknown key, a wrong type, a value out of range, a missing key) are refused by them too, as
are such faults in a config. Prints TAP."""
import json
import os
import pathlib
import re
import subprocess
import sys

import jsonschema
import yaml

chairctl, root = os.path.abspath(sys.argv[1]), pathlib.Path(sys.argv[2]).resolve()
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from simlib import Tap  # noqa: E402
tap = Tap()
# The broken programs whose fault a schema can see: the rest are about meaning (timing, the chair, names a
# chair may define) or YAML itself (a key that is not text cannot even become JSON).
STRUCTURAL = ["01-unknown-top-key", "02-unknown-phase-key", "04-phases-not-a-list", "05-name-is-a-list",
              "06-speed-out-of-range", "07-depth-zero", "08-intensity-not-a-number", "09-quoted-number",
              "14-unknown-landmark", "15-heat-level-too-high", "17-negative-duration",
              "18-duration-without-unit", "19-duration-units-out-of-order", "29-unknown-technique",
              "32-unknown-width", "33-missing-name", "34-no-phases", "35-invalid-id", "49-null-value",
              "52-id-kept-for-manual-mode"]


class TextLoader(yaml.SafeLoader):
    """YAML as chaird reads it: only true and false are booleans ("off" and "no" are words)."""


TextLoader.yaml_implicit_resolvers = {
    k: [(tag, regexp) for tag, regexp in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
TextLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))


def as_json(text):
    """The YAML text as the JSON an editor's schema checker sees: keys as text."""
    def keys_as_text(v):
        if isinstance(v, dict):
            return {str(k): keys_as_text(x) for k, x in v.items()}
        if isinstance(v, list):
            return [keys_as_text(x) for x in v]
        return v
    return keys_as_text(yaml.load(text, Loader=TextLoader))


def schema(kind):
    r = subprocess.run([chairctl, "schema", kind], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"chairctl schema {kind}: exit {r.returncode}: {r.stderr}")
    s = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


def errors(validator, doc):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def docs_programs():
    """Every whole program written in the docs and man pages: a YAML block with name: and phases:."""
    found = []
    for path in [root / "docs" / "programs.md", root / "README.md", root / "man" / "chaird.program.5.scd"]:
        for block in re.findall(r"```(?:yaml)?\n(.*?)```", path.read_text(), re.S):
            if re.search(r"^name:", block, re.M) and re.search(r"^phases:", block, re.M):
                found.append((path.name, block))
    return found


def docs_configs():
    """Every whole hardware config written in the docs and man pages: a YAML block with buses: and inputs:."""
    found = []
    for path in [root / "docs" / "config.md", root / "man" / "chaird.yaml.5.scd"]:
        for block in re.findall(r"```(?:yaml)?\n(.*?)```", path.read_text(), re.S):
            if re.search(r"^buses:", block, re.M) and re.search(r"^inputs:", block, re.M) and \
                    isinstance(as_json(block).get("buses"), dict):  # not the outline of the sections
                found.append((path.name, block))
    return found


def configs_are_valid(problems):
    config = schema("config")
    # mqtt.yaml and web.yaml are the bridges' configs, not a chair's (chaird-mqtt and chaird-web check them).
    configs = sorted(p for p in (root / "config").glob("*.yaml") if p.name not in ("mqtt.yaml", "web.yaml"))
    docs = docs_configs()
    if len(configs) < 5 or len(docs) < 1:
        problems.append(f"too few configs: {len(configs)} shipped, {len(docs)} in the docs")
    for path in configs:
        problems += [f"config/{path.name}: {e}" for e in errors(config, as_json(path.read_text()))]
    for name, block in docs:
        problems += [f"{name}: {e}" for e in errors(config, as_json(block))]
    # A structural fault in a config is refused: an unknown key, a wrong type, a value out of range.
    good = as_json((root / "config" / "sim.yaml").read_text())
    for what, change in [("an unknown key", lambda c: c["safety"].update({"sesion-cap": "30m"})),
                         ("a wrong type", lambda c: c["buses"]["board"].update({"port": "15020"})),
                         ("out of range", lambda c: c["buses"]["board"].update({"unit": 300})),
                         ("a step that must lie above 0 at 0", lambda c: c["safety"].update({"heat-min-gain": 0})),
                         ("a rate that must lie above 0 at 0", lambda c: c["safety"].update({"heat-min-fall": 0})),
                         ("a rate out of range", lambda c: c["safety"].update({"heat-min-fall": 21})),
                         ("an io with an unknown key", lambda c: c["inputs"]["emergency-stop"].update({"coill": 1})),
                         ("a missing key", lambda c: c.pop("inputs"))]:
        bad = json.loads(json.dumps(good))
        change(bad)
        if not errors(config, bad):
            problems.append(f"the config schema takes {what}")


def stock_and_docs_are_valid(problems):
    program, pattern = schema("program"), schema("pattern")
    programs = sorted((root / "programs").glob("*.yaml"))
    patterns = sorted((root / "programs" / "patterns").glob("*.yaml"))
    docs = docs_programs()
    if len(programs) < 10 or len(patterns) < 2 or len(docs) < 1:
        problems.append(f"too few files: {len(programs)} programs, {len(patterns)} patterns, {len(docs)} docs")
    for path in programs:
        problems += [f"{path.name}: {e}" for e in errors(program, as_json(path.read_text()))]
    for path in patterns:
        problems += [f"patterns/{path.name}: {e}" for e in errors(pattern, as_json(path.read_text()))]
    for name, block in docs:
        problems += [f"{name}: {e}" for e in errors(program, as_json(block))]


def structural_faults_are_refused(problems):
    program = schema("program")
    for stem in STRUCTURAL:
        path = root / "tests" / "programs" / "bad" / f"{stem}.yaml"
        if not errors(program, as_json(path.read_text())):
            problems.append(f"{stem}: the schema takes it")
    # And what chairctl refuses for meaning alone, the schema may take: the list above is not everything.
    good = as_json((root / "programs" / "relax.yaml").read_text())
    if errors(program, good):
        problems.append("relax.yaml refused")


tap.case("the_stock_programs_patterns_and_docs_examples_are_valid", stock_and_docs_are_valid)
tap.case("structural_faults_of_the_broken_programs_are_refused", structural_faults_are_refused)
tap.case("the_shipped_and_documented_configs_are_valid_and_faults_refused", configs_are_valid)
sys.exit(tap.done())
