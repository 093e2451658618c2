#!/usr/bin/env python3
"""chairctl's offline verbs as an installer meets them: options named as typed, --help on every verb, JSON
on --json, a picture that is what its name says, pattern files validated on their own, and a line saying
what a valid file was checked against. Prints TAP."""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

chairctl, root = os.path.abspath(sys.argv[1]), pathlib.Path(sys.argv[2]).resolve()
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from simlib import Tap  # noqa: E402
tap = Tap()


def case(fn):
    tap.case(fn.__name__, fn)
    return fn


def run(*args, cwd=root):
    return subprocess.run([chairctl, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def expect(problems, what, got, want):
    if got != want:
        problems.append(f"{what}: {got!r}, expected {want!r}")


@case
def options_are_named_as_typed_and_bad_values_said_once(p):
    r = run("plot", "--duration", "10", "programs/relax.yaml", "-o", "/dev/null")
    expect(p, "plot --duration 10: exit", r.returncode, 2)
    if "invalid --duration '10': a duration needs a unit" not in r.stderr or "-d " in r.stderr:
        p.append(f"plot --duration 10 said: {r.stderr!r}")
    r = run("validate", "--duration", "5m", "programs/relax.yaml")
    expect(p, "validate --duration: exit", r.returncode, 2)
    if "chairctl validate: unknown option '--duration'" not in r.stderr or "-d " in r.stderr:
        p.append(f"validate --duration 5m said: {r.stderr!r}")
    r = run("validate", "--config")
    if "chairctl validate: --config needs a value" not in r.stderr:
        p.append(f"validate --config said: {r.stderr!r}")
    r = run("plot", "-qo", "/dev/null", "programs/relax.yaml")
    if "chairctl plot: unknown option '-q'" not in r.stderr:
        p.append(f"plot -qo said: {r.stderr!r}")


@case
def every_verb_has_help(p):
    text = run("--help").stdout
    verbs = set()
    for line in text.split("\n"):
        m = re.match(r"  (?:chairctl )?([a-z]+)(?: \| ([a-z]+))?(?: \| ([a-z]+))?\b", line)
        if m:
            verbs.update(v for v in m.groups() if v)
    if len(verbs) < 15:
        p.append(f"could not read the verbs of --help: {sorted(verbs)}")
    for verb in sorted(verbs):
        for flag in ("--help", "-h"):
            r = run(verb, flag)
            if r.returncode != 0 or not r.stdout.startswith(f"Usage: chairctl {verb}") or r.stderr:
                p.append(f"chairctl {verb} {flag}: exit {r.returncode}, {r.stdout[:60]!r} {r.stderr[:200]!r}")


@case
def json_validate_is_json(p):
    with tempfile.TemporaryDirectory() as tmp:
        bad = pathlib.Path(tmp) / "bad.yaml"
        bad.write_text("name: X\nduration: 5m\nphases:\n  - {name: a, roller: {technique: kneadng}}\n")
        r = run("--json", "validate", "programs/relax.yaml", str(bad))
        expect(p, "exit", r.returncode, 1)
        expect(p, "stderr", r.stderr, "")
        out = json.loads(r.stdout)
        expect(p, "files", [(f["file"], f["valid"], f["kind"]) for f in out],
               [("programs/relax.yaml", True, "program"), (str(bad), False, "program")])
        # A failure before any file is read still leaves JSON on stdout.
        r = run("--json", "validate", "--patterns", "/nonexistent", "programs/relax.yaml")
        expect(p, "--patterns /nonexistent", (r.returncode, json.loads(r.stdout)), (1, []))
        expect(p, "the diagnostic", [(d["line"], d["column"], d["severity"], d["message"])
                                     for d in out[1]["diagnostics"]],
               [(4, 35, "error", "unknown technique 'kneadng'; did you mean 'kneading'?")])


@case
def plot_refuses_a_picture_it_would_not_write(p):
    with tempfile.TemporaryDirectory() as tmp:
        png = pathlib.Path(tmp) / "relax.png"
        r = run("plot", "programs/relax.yaml", "-o", str(png))
        expect(p, "exit", r.returncode, 2)
        if "the picture is SVG" not in r.stderr or "rsvg-convert" not in r.stderr:
            p.append(f"plot -o x.png said: {r.stderr!r}")
        if png.exists():
            p.append("a .png was written")
        svg = pathlib.Path(tmp) / "relax.SVG"
        r = run("plot", "programs/relax.yaml", "-o", str(svg))
        if r.returncode != 0 or not svg.read_text().startswith("<?xml"):
            p.append(f"plot -o x.SVG: exit {r.returncode}: {r.stderr}")


@case
def a_pattern_file_validates_on_its_own(p):
    r = run("validate", "programs/patterns/kneading.yaml", "programs/patterns/strokes.yaml")
    expect(p, "exit", (r.returncode, r.stderr), (0, ""))
    if not re.fullmatch(r"programs/patterns/kneading.yaml: valid: \d+ patterns\n"
                        r"programs/patterns/strokes.yaml: valid: \d+ patterns\n", r.stdout):
        p.append(f"stdout: {r.stdout!r}")
    with tempfile.TemporaryDirectory() as tmp:
        bad = pathlib.Path(tmp) / "mine.yaml"
        bad.write_text("patterns:\n  knead-up:\n    steps:\n      - {to: start, time: 2s}\n"
                       "      - {to: end, time: 2s, technique: kneadng}\n")
        r = run("validate", str(bad))
        expect(p, "a broken pattern file", (r.returncode, r.stdout, r.stderr),
               (1, "", f"{bad}:5:40: error: unknown technique 'kneadng'; did you mean 'kneading'?\n"))


@case
def a_valid_file_says_what_it_was_checked_against(p):
    r = run("validate", "programs/relax.yaml")
    expect(p, "without a config", (r.returncode, r.stdout, r.stderr),
           (0, "programs/relax.yaml: valid: program 'relax', 4 phases, 15m; checked against the standard "
               "names (--config FILE checks against a chair)\n", ""))
    r = run("validate", "--config", "config/sim.yaml", "programs/quick.yaml")
    expect(p, "with a config", r.stdout,
           "programs/quick.yaml: valid: program 'quick', 4 phases, 5m; checked against the chair of "
           "config/sim.yaml\n")


sys.exit(tap.done())
