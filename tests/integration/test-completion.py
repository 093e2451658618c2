#!/usr/bin/python3
"""chairctl's bash completion (tools/chairctl/chairctl.bash), driven as bash drives it: bash-completion
loaded, the function called with COMP_WORDS and COMP_CWORD set as for a Tab at the end of a line. The names
come from a real chaird (with chair-sim) on a private system bus; without chaird they are quietly none."""
import contextlib
import importlib.util
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import simlib  # noqa: E402

_spec = importlib.util.spec_from_file_location("daemon_test", os.path.join(os.path.dirname(__file__), "test-daemon.py"))
dt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dt)
Chaird, SystemBus, dbus = dt.Chaird, dt.SystemBus, dt.dbus

COMPLETION = os.path.join(dt.SRC, "tools/chairctl/chairctl.bash")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def chairctl_dir():
    return os.path.join(simlib.BUILD, "tools/chairctl")


def complete(line, bus_address, cwd=None):
    """The words bash would offer for a Tab at the end of line, and what the completion wrote to stderr."""
    script = f"""
source {BASH_COMPLETION}
source {COMPLETION}
COMP_LINE=$1
COMP_POINT=${{#COMP_LINE}}
read -r -a COMP_WORDS <<<"$COMP_LINE"
[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
_chairctl chairctl "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD - 1]}}"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = dict(os.environ, PATH=chairctl_dir() + ":" + os.environ["PATH"], DBUS_SYSTEM_BUS_ADDRESS=bus_address)
    r = subprocess.run(["bash", "-c", script, "bash", line], capture_output=True, text=True, env=env, cwd=cwd,
                       timeout=60)
    return sorted(w for w in r.stdout.split("\n") if w), r.stderr


def help_verbs():
    """Every verb chairctl's --help names."""
    text = subprocess.run([os.path.join(chairctl_dir(), "chairctl"), "--help"], capture_output=True,
                          text=True).stdout
    verbs = set()
    for line in text.split("\n"):
        m = re.match(r"  (?:chairctl )?([a-z]+)(?: \| ([a-z]+))?(?: \| ([a-z]+))?\b", line)
        if m:
            verbs.update(v for v in m.groups() if v)
    return verbs


def check(p, what, got, want):
    if got != want:
        p.append(f"{what}: offered {got}, expected {want}")


def test_it_is_registered_for_chairctl(p, tmp, bus, chaird):
    r = subprocess.run(["bash", "-c", f"source {BASH_COMPLETION}; source {COMPLETION}; complete -p chairctl"],
                       capture_output=True, text=True)
    check(p, "complete -p", r.stdout.strip(), "complete -F _chairctl chairctl")


def test_every_verb_of_the_help_and_only_those(p, tmp, bus, chaird):
    verbs = help_verbs()
    if len(verbs) < 15:
        p.append(f"could not read the verbs of --help: {verbs}")
    got, _ = complete("chairctl ", bus.address)
    check(p, "verbs", got, sorted(verbs))
    got, _ = complete("chairctl --json -H pi@chair re", bus.address)
    check(p, "verbs after options", got, sorted(v for v in verbs if v.startswith("re")))
    for line in ["chairctl --host pi@chair re", "chairctl --host=pi@chair re"]:
        got, _ = complete(line, bus.address)
        check(p, line, got, sorted(v for v in verbs if v.startswith("re")))
    got, _ = complete("chairctl --j", bus.address)
    check(p, "global options", got, ["--json"])


def test_program_ids_come_from_the_running_chaird(p, tmp, bus, chaird):
    objects = dbus.Interface(chaird.obj, "org.freedesktop.DBus.ObjectManager").GetManagedObjects()
    ids = sorted(str(v[dt.IFACE + ".Program"]["Id"]) for v in objects.values() if dt.IFACE + ".Program" in v)
    if "relax" not in ids:
        p.append(f"chaird offers no relax: {ids}")
    got, _ = complete("chairctl start ", bus.address)
    check(p, "start", got, ids)
    got, _ = complete("chairctl start --follow --duration 10m re", bus.address)
    check(p, "start after options", got, [i for i in ids if i.startswith("re")])
    got, _ = complete("chairctl start relax --", bus.address)
    check(p, "start's options", got, ["--duration", "--follow", "--help", "--intensity"])


def test_presets_zones_and_axes_come_from_the_running_chaird(p, tmp, bus, chaird):
    presets = sorted(str(s) for s in chaird.props.Get(dt.IFACE, "Presets"))
    zones = sorted(str(s) for s in chaird.props.Get(dt.IFACE, "Heat"))
    axes = sorted(str(s) for s in chaird.props.Get(dt.IFACE, "Positions") if s != "roller")
    if "zero-gravity-1" not in presets or "lumbar" not in zones or "backrest" not in axes:
        p.append(f"unexpected chair: presets {presets}, zones {zones}, axes {axes}")
    check(p, "recline", complete("chairctl recline ", bus.address)[0], presets)
    check(p, "heat", complete("chairctl heat ", bus.address)[0], zones)
    check(p, "heat level", complete("chairctl heat lumbar ", bus.address)[0], ["0", "1", "2", "3"])
    check(p, "jog", complete("chairctl jog ", bus.address)[0], axes)
    check(p, "jog direction", complete("chairctl jog backrest ", bus.address)[0], ["down", "up"])
    check(p, "names", complete("chairctl names ", bus.address)[0],
          ["airbag-patterns", "airbag-zones", "areas", "axes", "presets", "profiles", "programs", "techniques",
           "widths", "zones"])
    check(p, "profile", complete("chairctl profile ", bus.address)[0], ["delete", "list", "save", "select", "show"])
    chaird.chair.SaveProfile("anna", dt.dbus.Dictionary({}, signature="sv"))
    check(p, "profile select", complete("chairctl profile select ", bus.address)[0], ["anna"])
    chaird.chair.DeleteProfile("anna")
    check(p, "position", complete("chairctl position ", bus.address)[0], ["delete", "save"])
    check(p, "lock", complete("chairctl lock ", bus.address)[0], ["off", "on"])


def test_names_verb_prints_one_name_per_line_or_json(p, tmp, bus, chaird):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
    chairctl = os.path.join(chairctl_dir(), "chairctl")
    presets = [str(s) for s in chaird.props.Get(dt.IFACE, "Presets")]
    out = subprocess.run([chairctl, "names", "presets"], capture_output=True, text=True, env=env).stdout
    check(p, "names presets", out.split("\n")[:-1], presets)
    out = subprocess.run([chairctl, "--json", "names", "presets"], capture_output=True, text=True, env=env).stdout
    check(p, "--json names presets", json.loads(out), presets)
    r = subprocess.run([chairctl, "names", "colours"], capture_output=True, text=True, env=env)
    check(p, "names colours", (r.returncode, "programs, presets, zones, axes" in r.stderr), (2, True))


def test_without_chaird_nothing_is_offered_and_nothing_printed(p, tmp, bus, chaird):
    os.makedirs(os.path.join(tmp, "empty"), exist_ok=True)
    empty = SystemBus(os.path.join(tmp, "empty"))  # a system bus where no chaird runs
    try:
        for line in ["chairctl start ", "chairctl recline ", "chairctl heat ", "chairctl jog "]:
            for address in [empty.address, "unix:path=" + os.path.join(tmp, "no-bus-here")]:
                got, err = complete(line, address)
                check(p, f"{line} on {address}", (got, err), ([], ""))
        check(p, "verbs need no chaird", len(complete("chairctl ", empty.address)[0]), len(help_verbs()))
    finally:
        empty.close()


def test_files_for_validate_plot_and_install(p, tmp, bus, chaird):
    d = os.path.join(tmp, "files")
    os.makedirs(os.path.join(d, "patterns"))
    for name in ["a.yaml", "b.yml", "notes.txt", "c.svg"]:
        open(os.path.join(d, name), "w").close()
    for line in ["chairctl validate ", "chairctl validate a.yaml ", "chairctl plot ", "chairctl install "]:
        got, _ = complete(line, bus.address, cwd=d)
        check(p, line, got, ["a.yaml", "b.yml", "patterns"])
    check(p, "plot -o", complete("chairctl plot a.yaml -o ", bus.address, cwd=d)[0], ["c.svg", "patterns"])
    check(p, "plot --output", complete("chairctl plot --output ", bus.address, cwd=d)[0], ["c.svg", "patterns"])
    check(p, "plot -d 5m FILE", complete("chairctl plot -d 5m ", bus.address, cwd=d)[0],
          ["a.yaml", "b.yml", "patterns"])
    check(p, "--patterns", complete("chairctl validate --patterns ", bus.address, cwd=d)[0], ["patterns"])


def cases(tap, tmp):
    with dt.private_bus(tmp) as bus, contextlib.closing(Chaird(os.path.join(tmp, "chair"), bus)) as chaird:
        simlib.run_cases(tap, simlib.module_cases(globals()), tmp, bus, chaird)


if __name__ == "__main__":
    simlib.main(cases, sys.argv[1])
