#!/usr/bin/env python3
"""The stock programs: each validates cleanly (no errors, no warnings) on its own and against the virtual
chair, compiles and plots; the plot renders with a real SVG renderer and has the structure an installer
reads (a lane per track, the phase names in order, a minute axis, a legend). Prints TAP."""
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

chairctl, root = os.path.abspath(sys.argv[1]), pathlib.Path(sys.argv[2]).resolve()
programs = sorted((root / "programs").glob("*.yaml"))
config = root / "config" / "sim.yaml"
SVG = "{http://www.w3.org/2000/svg}"
LANES = ["phases", "recline", "roller", "depth", "airbags", "heat", "foot"]
REQUIRED = ["relax", "deep-tissue", "trigger-point", "myofascial", "lumbar-relief", "sciatica", "stretch",
            "neck-shoulders", "quick", "sleep"]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from simlib import Tap  # noqa: E402
tap = Tap()


def run(args, **kw):
    return subprocess.run([chairctl] + args, cwd=root, capture_output=True, timeout=60, **kw)


def whole_set(problems):
    ids = [p.stem for p in programs]
    for r in REQUIRED:
        if r not in ids:
            problems.append(f"missing stock program {r}")
    if len(programs) < 10:
        problems.append(f"only {len(programs)} stock programs")
    res = run(["validate"] + [str(p.relative_to(root)) for p in programs])
    if res.returncode != 0 or res.stderr:
        problems.append(f"chairctl validate programs/*.yaml: exit {res.returncode}: {res.stderr.decode()}")
    text = (root / "programs" / "quick.yaml").read_text()
    if not re.search(r"^duration: 5m$", text, re.M):
        problems.append("quick is not a 5-minute program")
    if not re.search(r"^at-end: stay$", (root / "programs" / "sleep.yaml").read_text(), re.M):
        problems.append("sleep does not stay reclined at its end")


def one_program(path):
    def fn(problems):
        rel = str(path.relative_to(root))
        for extra in ([], ["--config", str(config)]):
            res = run(["validate"] + extra + [rel])
            if res.returncode != 0 or res.stderr:
                problems.append(f"validate {' '.join(extra)}: exit {res.returncode}: {res.stderr.decode()}")
        text = path.read_text()
        names = re.findall(r"^  - name: (.*)$", text, re.M)
        minutes = int(re.search(r"^duration: (\d+)m$", text, re.M).group(1))
        with tempfile.TemporaryDirectory() as tmp:
            svg, png = pathlib.Path(tmp) / "p.svg", pathlib.Path(tmp) / "p.png"
            res = run(["plot", "--config", str(config), rel, "-o", str(svg)])
            if res.returncode != 0:
                problems.append(f"plot: exit {res.returncode}: {res.stderr.decode()}")
                return
            tree = ET.parse(svg).getroot()
            ids = {g.get("id") for g in tree.iter(SVG + "g")}
            for lane in LANES:
                if f"lane-{lane}" not in ids:
                    problems.append(f"no lane-{lane}")
            for g in ("time-axis", "legend", "phase-boundaries"):
                if g not in ids:
                    problems.append(f"no {g}")
            texts = lambda cls: [t.text for t in tree.iter(SVG + "text") if t.get("class") == cls]
            # A name cut to fit its box keeps the whole in its group's <title>.
            full = {id(g.find(SVG + "text")): g.findtext(SVG + "title") for g in tree.iter(SVG + "g")
                    if g.get("class") == "ellipsized"}
            phase_names = [full.get(id(t), t.text) for t in tree.iter(SVG + "text")
                           if t.get("class") == "phase-name"]
            if phase_names != names:
                problems.append(f"phase names {phase_names} != {names}")
            ticks = texts("tick")
            step = 1 if minutes <= 20 else 5
            if ticks != [str(m) for m in range(0, minutes + 1, step)]:
                problems.append(f"time axis ticks {ticks}")
            if "time (minutes)" not in texts("axis-title"):
                problems.append("no axis title in minutes")
            boundaries = [l for l in tree.iter(SVG + "line") if l.get("class") == "boundary"]
            if len(boundaries) != len(names) + 1:
                problems.append(f"{len(boundaries)} phase boundaries for {len(names)} phases")
            used = set()
            for line in tree.iter(SVG + "polyline"):
                if line.get("class") == "roller":
                    used.update(line.get("data-technique").split("+"))
            legend = set(texts("legend-item"))
            for tech in re.findall(r"technique: ([a-z+]+)", text):
                for t in tech.split("+"):
                    if t not in used:
                        problems.append(f"technique {t} not drawn")
                    if t not in legend:
                        problems.append(f"technique {t} not in the legend")
            res = subprocess.run(["rsvg-convert", str(svg), "-o", str(png)], capture_output=True, timeout=60)
            if res.returncode != 0:
                problems.append(f"rsvg-convert: {res.stderr.decode()}")
            else:
                head = png.read_bytes()[:24]
                w, h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
                if head[:8] != b"\x89PNG\r\n\x1a\n" or (w, h) != (int(float(tree.get("width"))), int(float(tree.get("height")))):
                    problems.append(f"rendered picture is {w}x{h}, not the SVG's size")
    return fn


def smaller_chairs(problems):
    """Every stock program runs on a smaller chair: the virtual chair with only a lumbar heater and two airbag
    zones. What it lacks is skipped with a warning, never an error (issue 18)."""
    text = config.read_text()
    for line in ("    hips: {inflate: {coil: 6}, hold: {coil: 11}, pressure: {input: 42, scale: 0.1}}\n",
                 "    calves: {inflate: {coil: 7}, hold: {coil: 12}, pressure: {input: 43, scale: 0.1}}\n",
                 "    feet: {inflate: {coil: 8}, hold: {coil: 13}, pressure: {input: 44, scale: 0.1}}\n",
                 "  calves:\n    levels: [40, 45, 50]\n    output: {coil: 15}\n"
                 "    sensor: {input: 31, scale: 0.1, signed: true}\n"):
        if line not in text:
            problems.append(f"config/sim.yaml changed: no {line!r} to take out")
        text = text.replace(line, "")
    with tempfile.TemporaryDirectory() as tmp:
        small = pathlib.Path(tmp) / "small.yaml"
        small.write_text(text)
        for path in programs:
            res = run(["validate", "--config", str(small), str(path.relative_to(root))])
            out = res.stdout.decode() + res.stderr.decode()
            if res.returncode != 0 or ": error:" in out:
                problems.append(f"{path.name} on a chair with a lumbar heater and two airbag zones: {out.strip()}")


def docs_example(problems):
    """The worked example of docs/programs.md is a valid program: the docs stay true to the format."""
    doc = (root / "docs" / "programs.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", doc, re.S)
    example = next((b for b in blocks if "phases:" in b), None)
    if example is None:
        problems.append("docs/programs.md has no worked example")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "evening.yaml"
        path.write_text(example)
        res = run(["validate", "--config", str(config), "--patterns", str(root / "programs" / "patterns"), str(path)])
        if res.returncode != 0 or res.stderr:
            problems.append(f"the worked example does not validate cleanly: {res.stderr.decode()}")
        res = run(["plot", "--patterns", str(root / "programs" / "patterns"), str(path), "-o", str(path) + ".svg"])
        if res.returncode != 0:
            problems.append(f"the worked example does not plot: {res.stderr.decode()}")


tap.case("the stock set is complete and validates as a whole", whole_set)
tap.case("the worked example in docs/programs.md validates and plots", docs_example)
tap.case("every stock program runs on a chair with a lumbar heater and two airbag zones", smaller_chairs)
for p in programs:
    tap.case(f"{p.stem} validates, compiles and plots", one_program(p))

sys.exit(tap.done())
