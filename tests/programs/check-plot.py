#!/usr/bin/env python3
"""chairctl plot draws what the chair does: the roller travels at its speed and then holds, the recline
moves at its axes' pace, labels fit their boxes (or are cut with the full text in a <title>), lanes for
tracks the chair lacks are grey and say so, airbag rows follow the config, and speed, width and airbag
intensity are on the picture. Every picture must render with rsvg-convert. Prints TAP."""
import os
import pathlib
import re
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

chairctl, root = os.path.abspath(sys.argv[1]), pathlib.Path(sys.argv[2]).resolve()
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from simlib import Tap  # noqa: E402
tap = Tap()

SVG = "{http://www.w3.org/2000/svg}"
CHAIR = "tests/programs/plot/chair-plot.yaml"
MOVES = "tests/programs/plot/moves.yaml"
# The plot's chair: 1000mm of roller track in 10s, a backrest of 16s end to end, presets upright 0,
# zero-gravity-1 0.25 and flat 1.0, airbag zones in this order.
CHAIR_ROLLER_MM_PER_SEC = 1000 / 10
CHAIR_AIRBAG_ORDER = ["shoulders", "calves", "arms"]
NOMINAL_ROLLER_MM_PER_SEC = 150
NOMINAL_RECLINE_SEC = 20
RIGHT_EDGE = 1170  # the lanes' right end
tmp = tempfile.TemporaryDirectory()
pictures = {}


def case(fn):
    tap.case(fn.__name__, fn)
    return fn


def plot(program, config=None):
    """The picture's XML tree and its file, drawn once per program and config."""
    key = (program, config)
    if key not in pictures:
        out = os.path.join(tmp.name, f"{len(pictures)}.svg")
        args = ["plot", program, "-o", out] + (["--config", config] if config else [])
        r = subprocess.run([chairctl, *args], cwd=root, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f"chairctl {' '.join(args)}: exit {r.returncode}: {r.stderr}")
        pictures[key] = (ET.parse(out), out)
    return pictures[key]


def render(path, png, export_id=None):
    """Renders with rsvg-convert; returns the PNG's width and height."""
    args = ["rsvg-convert", path, "-o", png] + (["-i", export_id] if export_id else [])
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"rsvg-convert {path}: exit {r.returncode}: {r.stderr}")
    with open(png, "rb") as f:
        head = f.read(24)
    return struct.unpack(">II", head[16:24])


def by_class(tree, cls):
    return [e for e in tree.iter() if cls in (e.get("class") or "").split()]


def text_of(e):
    return "".join(e.itertext())


def points(e):
    return [tuple(float(v) for v in p.split(",")) for p in e.get("points").split()]


def near(a, b, tolerance):
    return abs(a - b) <= tolerance * abs(b)


def roller_scales(tree):
    g = by_class(tree, "roller-path")[0]
    return (float(g.get("data-speed-mm-per-sec")), float(g.get("data-usec-per-px")),
            float(g.get("data-mm-per-px")))


def check_travel(p, tree, want_mm_per_sec, what):
    """Each roller step: a slope at the speed (unless the step ends first), then a flat hold."""
    speed, usec_per_px, mm_per_px = roller_scales(tree)
    if not near(speed, want_mm_per_sec, 0.001):
        p.append(f"{what}: the roller's speed is {speed} mm/s, expected {want_mm_per_sec}")
    slopes = 0
    for e in by_class(tree, "roller"):
        (x0, y0), (xt, yt), (x1, y1) = points(e)
        if yt != y1:
            p.append(f"{what}: a step does not hold after its travel: {e.get('points')}")
        if y0 == yt or xt >= x1:
            continue  # no travel, or a step too short for its way: no full slope to measure
        slopes += 1
        got = abs(yt - y0) * mm_per_px / ((xt - x0) * usec_per_px / 1e6)
        if not near(got, want_mm_per_sec, 0.03):
            p.append(f"{what}: travel at {got:.1f} mm/s ({e.get('points')}), expected {want_mm_per_sec}")
    if slopes == 0:
        p.append(f"{what}: no travel drawn")


@case
def every_picture_renders(p):
    programs = sorted(str(f.relative_to(root)) for f in (root / "programs").glob("*.yaml")) + [MOVES]
    for program in programs:
        for config in (None, "config/sim.yaml", CHAIR):
            if config == CHAIR and program != MOVES:
                continue
            try:
                _, path = plot(program, config)
                w, h = render(path, os.path.join(tmp.name, "all.png"))
                if w != 1200 or h < 400:
                    p.append(f"{program} ({config}): rendered {w}x{h}")
            except AssertionError as e:
                p.append(str(e))


@case
def roller_travels_at_the_configured_speed_then_holds(p):
    check_travel(p, plot(MOVES, CHAIR)[0], CHAIR_ROLLER_MM_PER_SEC, "with the plot's chair")
    check_travel(p, plot(MOVES)[0], NOMINAL_ROLLER_MM_PER_SEC, "without a config")
    check_travel(p, plot("programs/quick.yaml")[0], NOMINAL_ROLLER_MM_PER_SEC, "quick.yaml")


@case
def a_spot_is_a_hold(p):
    tree = plot(MOVES, CHAIR)[0]
    shiatsu = [e for e in by_class(tree, "roller") if e.get("data-technique") == "shiatsu"]
    if not shiatsu:
        p.append("no shiatsu step drawn")
        return
    # After the travel to the spot, every point of the phase is at one height.
    heights = {y for e in shiatsu for (_, y) in points(e)[1:]}
    if len(heights) != 1:
        p.append(f"the shiatsu spot moves: heights {sorted(heights)}")
    spans = sum(points(e)[2][0] - points(e)[1][0] for e in shiatsu)
    if spans < 200:
        p.append(f"the spot holds for only {spans:.0f} px of its 1-minute phase")


@case
def combined_techniques_are_drawn_as_both(p):
    tree = plot(MOVES, CHAIR)[0]
    combined = [e for e in by_class(tree, "roller") if e.get("data-technique") == "kneading+tapping"]
    second = by_class(tree, "roller-combined")
    if not combined or len(second) != len(combined):
        p.append(f"{len(combined)} kneading+tapping steps, {len(second)} second marks")
        return
    for a, b in zip(combined, second):
        if b.get("data-technique") != "tapping" or a.get("points") != b.get("points"):
            p.append(f"the second mark {b.attrib} does not follow {a.attrib}")
        if a.get("stroke") == b.get("stroke") or not b.get("stroke-dasharray"):
            p.append("the second technique is not told apart (same colour or not dashed)")
    labels = [text_of(e) for e in by_class(tree, "roller-setting")]
    if not any("kneading+tapping" in t for t in labels):
        p.append(f"no label names both techniques: {labels}")


@case
def at_end_stay_is_labelled(p):
    ends = [text_of(e) for e in by_class(plot(MOVES, CHAIR)[0], "recline-end")]
    if ends != ["at-end: stay"]:
        p.append(f"at-end: stay program's end label: {ends}")
    ends = [text_of(e) for e in by_class(plot("programs/quick.yaml")[0], "recline-end")]
    if ends != ["at the end: upright"]:
        p.append(f"quick.yaml's end label: {ends}")


@case
def labels_fit_their_boxes(p):
    for program, config in ((MOVES, CHAIR), (MOVES, None), ("programs/sciatica.yaml", None)):
        tree, path = plot(program, config)
        # The long phase name is cut with an ellipsis, and its title keeps the whole.
        if program == MOVES:
            full = "A warm-up whose name is much too long to fit in its short box on the phases lane"
            cut = [g for g in by_class(tree, "ellipsized") if g.findtext(SVG + "title") == full]
            if len(cut) != 1:
                p.append(f"{program}: no ellipsized phase name with the full title")
            else:
                shown = text_of(cut[0].find(SVG + "text"))
                if not shown.endswith("\u2026") or not full.startswith(shown[:-1]) or len(shown) >= len(full):
                    p.append(f"{program}: the cut phase name reads {shown!r}")
        # Every fitted text, measured as rendered, stays inside its box and the lanes.
        fitted = [e for e in tree.iter(SVG + "text") if e.get("data-fit")]
        for i, e in enumerate(fitted):
            e.set("id", f"fit-{i}")
        marked = os.path.join(tmp.name, "marked.svg")
        tree.write(marked)
        for i, e in enumerate(fitted):
            w, _ = render(marked, os.path.join(tmp.name, "one.png"), f"fit-{i}")
            box, x = float(e.get("data-fit")), float(e.get("x"))
            if w > box + 1 or (x > 220 and x + w > RIGHT_EDGE + 1):
                p.append(f"{program}: {text_of(e)!r} is {w}px wide in a box of {box:.0f}px at x={x}")
        if len(fitted) < 5:
            p.append(f"{program}: only {len(fitted)} fitted labels")


@case
def missing_tracks_are_grey_and_say_so(p):
    tree = plot(MOVES, CHAIR)[0]
    lanes = {g.get("id"): g for g in by_class(tree, "lane")}
    for lane, missing in (("lane-heat", True), ("lane-foot", True), ("lane-roller", False),
                          ("lane-airbags", False), ("lane-recline", False)):
        g = lanes.get(lane)
        if g is None:
            p.append(f"no {lane}")
            continue
        grey = "fill:#d9d9d9" in (by_class(g, "lane-bg")[0].get("style") or "")
        note = [text_of(e) for e in by_class(g, "lane-missing-note")]
        is_missing = "lane-missing" in g.get("class").split()
        if (is_missing, grey, bool(note)) != (missing, missing, missing):
            p.append(f"{lane}: marked missing {is_missing}, grey {grey}, note {note}; expected {missing}")
        if missing and not any("not on this chair" in n for n in note):
            p.append(f"{lane}: the note says {note}")
        if missing and len(list(g)) != 3:
            p.append(f"{lane}: a missing track still draws {len(list(g)) - 3} things")
    if by_class(plot(MOVES)[0], "lane-missing"):
        p.append("without a config, a lane is marked missing")


@case
def airbag_rows_follow_the_config(p):
    for config, want in ((CHAIR, CHAIR_AIRBAG_ORDER), (None, ["arms", "shoulders", "calves"])):
        tree = plot(MOVES, config)[0]
        lane = [g for g in by_class(tree, "lane") if g.get("id") == "lane-airbags"][0]
        names = [text_of(e) for e in by_class(lane, "zone-name")]
        if names != want:
            p.append(f"airbag rows with {config}: {names}, expected {want}")
        row_y = {}
        for r in by_class(lane, "airbag"):
            row_y.setdefault(r.get("data-zone"), set()).add(float(r.get("y")))
        ys = [row_y.get(z, {None}) for z in want]
        if any(len(y) != 1 for y in ys) or [next(iter(y)) for y in ys] != sorted(next(iter(y)) for y in ys):
            p.append(f"airbag bars with {config} are not in their rows: {row_y}")


@case
def recline_moves_take_the_axes_travel_time(p):
    # upright -> zero-gravity-1: 0.25 of 16s; then flat: 0.75 of 16s. Without a config: the nominal 20s.
    for config, want in ((CHAIR, [4.0, 12.0]), (None, [NOMINAL_RECLINE_SEC] * 2)):
        tree = plot(MOVES, config)[0]
        _, usec_per_px, _ = roller_scales(tree)
        got = []
        for e in by_class(tree, "recline-move"):
            xs = [x for x, _ in points(e)]
            got.append((max(xs) - min(xs)) * usec_per_px / 1e6)
        if len(got) != len(want) or any(not near(g, w, 0.02) for g, w in zip(got, want)):
            p.append(f"recline moves with {config}: {[round(g, 2) for g in got]}s, expected {want}")


@case
def speed_width_and_intensity_show(p):
    tree = plot(MOVES, CHAIR)[0]
    settings = [text_of(e) for e in by_class(tree, "roller-setting")]
    for want in ("shiatsu, speed 4, narrow", "kneading+tapping, speed 3, medium"):
        if want not in settings:
            p.append(f"no roller label {want!r}: {settings}")
    for e in by_class(tree, "roller"):
        want = {"swedish": ("2", "wide"), "shiatsu": ("4", "narrow"), "kneading+tapping": ("3", "medium")}
        if (e.get("data-speed"), e.get("data-width")) != want[e.get("data-technique")]:
            p.append(f"roller step {e.get('data-technique')}: speed {e.get('data-speed')}, "
                     f"width {e.get('data-width')}")
    want = {"shoulders": 4, "arms": 4, "calves": 1}
    for r in by_class(tree, "airbag"):
        i = want[r.get("data-zone")]
        if int(r.get("data-intensity")) != i or not near(float(r.get("fill-opacity")), 0.2 * i, 0.01):
            p.append(f"airbag {r.get('data-zone')}: intensity {r.get('data-intensity')}, "
                     f"opacity {r.get('fill-opacity')}, expected {i}")
    numbers = {text_of(e) for e in by_class(tree, "airbag-intensity")}
    if numbers != {"4", "1"}:
        p.append(f"airbag intensities written: {sorted(numbers)}")


sys.exit(tap.done())
