#!/usr/bin/python3
"""Profiles (a person's memory on the chair) against the real daemon on a private system bus and chair-sim over
Modbus TCP: settings saved and read back, the selected profile's intensity, heat and program at Start and its
shoulder offset in use, saved positions reached (also after a restart and after a kill -9 and a reset), a file
broken by hand set aside, the bound, the history's profile, typed errors and who may do what. Positions are
read in chair-sim (where the axes really are), files in the state directory."""
import importlib.util
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
import simlib  # noqa: E402
from simlib import wait_for  # noqa: E402

_spec = importlib.util.spec_from_file_location("daemon_test", os.path.join(os.path.dirname(__file__), "test-daemon.py"))
dt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dt)
Chaird, SystemBus, call_error, ERR = dt.Chaird, dt.SystemBus, dt.call_error, dt.ERR
dbus = dt.dbus

BOUND = 4  # sessions.profiles of the chair here
# chaird calls an axis arrived within 0.5 % of its travel; the board stops within 0.2 %.
NEAR = 0.01


def settings(**kw):
    """SaveProfile's a{sv}: Python names with '_' for '-'."""
    out = {}
    for k, v in kw.items():
        key = k.replace("_", "-")
        if key == "favourites":
            v = dbus.Array(v, signature="s")
        elif key == "heat":
            v = dbus.Dictionary({z: dbus.UInt32(n) for z, n in v.items()}, signature="su")
        elif key == "intensity":
            v = dbus.UInt32(v)
        elif key == "shoulder-offset":
            v = dbus.Int32(v)
        out[key] = v
    return dbus.Dictionary(out, signature="sv")


def plain(v):
    if isinstance(v, dbus.Dictionary):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, dbus.Array):
        return [plain(x) for x in v]
    if isinstance(v, dbus.String):
        return str(v)
    if isinstance(v, dbus.Double):
        return float(v)
    return int(v)


def profile(d, name):
    return plain(d.chair.GetProfile(name))


def axes(d):
    m = d.sim.state()["motors"]
    return {a: m[a]["position"] for a in ("backrest", "legrest")}


def at(d, where):
    now = axes(d)
    return all(abs(now[a] - v) <= NEAR for a, v in where.items())


def idle(d):
    return wait_for(lambda: d.state() == "idle", 60, 0.05)


def profile_file(d, name):
    return os.path.join(d.dir, "state", "profiles", name)


# --- cases ---

def test_a_profile_is_saved_read_back_and_kept_on_the_disk(p, d, bus):
    d.chair.SaveProfile("anna", settings(favourites=["relax", "quick"], intensity=4, heat={"lumbar": 2},
                                         shoulder_offset=20, program="relax"))
    got = profile(d, "anna")
    want = {"favourites": ["relax", "quick"], "intensity": 4, "heat": {"lumbar": 2}, "shoulder-offset": 20,
            "program": "relax", "positions": {}}
    if got != want:
        p.append(f"GetProfile: {got}, want {want}")
    if [str(x) for x in d.get("Profiles")] != ["anna"]:
        p.append(f"Profiles: {list(d.get('Profiles'))}")
    if not wait_for(lambda: os.path.exists(profile_file(d, "anna")), 5):
        p.append("no file for the profile")
    # A second save changes only the keys it gives.
    d.chair.SaveProfile("anna", settings(intensity=2))
    got = profile(d, "anna")
    if got["intensity"] != 2 or got["program"] != "relax" or got["favourites"] != ["relax", "quick"]:
        p.append(f"after a save of intensity alone: {got}")
    d.restart()
    if profile(d, "anna") != got:
        p.append(f"after a restart: {profile(d, 'anna')}, want {got}")


def test_the_selected_profile_applies_at_start_and_its_offset_at_once(p, d, bus):
    d.chair.SaveProfile("anna", settings(intensity=5, heat={"calves": 3}, shoulder_offset=20, program="quick"))
    before = int(d.get("Shoulders"))
    d.chair.SelectProfile("anna")
    if str(d.get("Profile")) != "anna":
        p.append(f"Profile: {d.get('Profile')}")
    if int(d.get("Shoulders")) != before + 20:
        p.append(f"Shoulders {int(d.get('Shoulders'))} after selecting an offset of 20 (before {before})")
    d.chair.Start("", {})  # the profile's program, intensity and heat
    if not wait_for(lambda: d.state() in ("scanning", "running"), 30):
        p.append(f"Start with the profile's program: {d.state()}")
    if str(d.get("Program")) != "quick" or int(d.get("Intensity")) != 5:
        p.append(f"Program {d.get('Program')}, Intensity {int(d.get('Intensity'))}: want quick at 5")
    if not wait_for(lambda: int(d.get("Heat").get("calves", 0)) == 3, 10):
        p.append(f"Heat {plain(d.get('Heat'))}: want calves at 3")
    d.chair.Stop()
    if not idle(d):  # the roller parks where the scan began: the chair is still again, not left "homing"
        p.append(f"after a Stop during the scan: {d.state()}, not idle")
    # An option given wins over the profile.
    d.chair.Start("relax", {"intensity": dbus.UInt32(2)})
    if str(d.get("Program")) != "relax" or int(d.get("Intensity")) != 2:
        p.append(f"Start relax at 2: {d.get('Program')} {int(d.get('Intensity'))}")
    d.chair.Stop()
    if not idle(d):
        p.append(f"after the second Stop: {d.state()}, not idle")
    h = d.chair.History(dbus.UInt32(2))
    if [str(r["profile"]) for r in h] != ["anna", "anna"]:
        p.append(f"the history's profile: {[str(r['profile']) for r in h]}")
    # The scans found the shoulders afresh; the offset is still on top of them until none is selected.
    with_offset = int(d.get("Shoulders"))
    d.chair.SelectProfile("")
    if str(d.get("Profile")) != "" or int(d.get("Shoulders")) != with_offset - 20:
        p.append(f"no profile: Profile {str(d.get('Profile'))!r}, Shoulders {int(d.get('Shoulders'))}, "
                 f"{with_offset} with the offset of 20")
    if call_error(d.chair.Start, "", {}) != ERR + "NoSuchProgram":
        p.append("Start('') without a profile was not NoSuchProgram")
    # Saving other settings of the selected profile keeps a nudge of this session; a new offset is in use at once.
    found = int(d.get("Shoulders"))
    d.chair.SelectProfile("anna")
    d.chair.AdjustShoulders(dbus.Int32(10))
    if int(d.get("Shoulders")) != found + 30:
        p.append(f"Shoulders {int(d.get('Shoulders'))} after the offset of 20 and a nudge of 10 (found {found})")
    d.chair.SaveProfile("anna", settings(intensity=3))
    if int(d.get("Shoulders")) != found + 30:
        p.append(f"a save of the intensity moved the shoulders: {int(d.get('Shoulders'))}, want {found + 30}")
    d.chair.SaveProfile("anna", settings(shoulder_offset=-10))
    if int(d.get("Shoulders")) != found - 10:
        p.append(f"a save of the offset -10: Shoulders {int(d.get('Shoulders'))}, want {found - 10}")
    d.chair.SelectProfile("")


def test_a_saved_position_is_reached_also_after_a_restart_and_a_kill_9(p, d, bus):
    d.chair.SaveProfile("ben", settings())
    d.chair.SelectProfile("ben")
    d.chair.Recline("zero-gravity-1")
    if not wait_for(lambda: idle(d) and d.sim.state()["motors"]["backrest"]["position"] > 0.1, 60):
        p.append("the zero-gravity recline did not happen")
    d.chair.SavePosition("reading")
    where = profile(d, "ben")["positions"]["reading"]
    if set(where) != {"backrest", "legrest"} or not at(d, where):
        p.append(f"saved {where}, the chair is at {axes(d)}")
    d.chair.Recline("upright")
    idle(d)
    d.chair.Recline("reading")
    if not wait_for(lambda: idle(d) and at(d, where), 60):
        p.append(f"Recline('reading'): at {axes(d)}, want {where}")
    # After a restart the profile stays selected? No: a restart selects none (a person is chosen at the chair).
    d.chair.Recline("upright")
    idle(d)
    d.restart()
    d.chair.SelectProfile("ben")
    d.chair.Recline("reading")
    if not wait_for(lambda: idle(d) and at(d, where), 60):
        p.append(f"after a restart: at {axes(d)}, want {where}")
    d.chair.Recline("upright")
    idle(d)
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.restart()
    d.chair.SelectProfile("ben")
    if call_error(d.chair.Recline, "reading") != ERR + "Faulted":
        p.append("after a kill -9 the chair moved before a reset")
    d.chair.ResetFault()
    d.chair.Recline("reading")
    if not wait_for(lambda: idle(d) and at(d, where), 60):
        p.append(f"after a kill -9 and a reset: at {axes(d)}, want {where}")
    d.chair.DeletePosition("reading")
    if call_error(d.chair.Recline, "reading") != ERR + "NoSuchPreset":
        p.append("a deleted position still drove the recline")
    d.chair.Recline("upright")
    idle(d)


def test_a_profile_broken_by_hand_is_set_aside(p, d, bus):
    d.chair.SaveProfile("good", settings(intensity=3))
    wait_for(lambda: os.path.exists(profile_file(d, "good")), 5)
    d.proc.terminate()
    d.proc.wait()
    with open(profile_file(d, "bad"), "w") as f:
        f.write("# chaird profile 1\nintensity 3\nvolume 11\n")
    d.restart()
    names = [str(x) for x in d.get("Profiles")]
    if "bad" in names or "good" not in names:
        p.append(f"Profiles after a broken file: {names}")
    if not os.path.exists(profile_file(d, "bad") + ".broken") or os.path.exists(profile_file(d, "bad")):
        p.append(f"the broken file was not set aside: {os.listdir(os.path.dirname(profile_file(d, 'bad')))}")
    log = open(d.log.name).read()
    if "bad:3: unknown key 'volume'" not in log:
        p.append("the journal does not name the file, line and fault")


def test_the_bound_and_delete(p, d, bus):
    for name in [str(x) for x in d.get("Profiles")]:
        d.chair.DeleteProfile(name)
    for i in range(BOUND):
        d.chair.SaveProfile(f"p{i}", settings())
    if call_error(d.chair.SaveProfile, "one-more", settings()) != ERR + "LimitReached":
        p.append(f"a profile past the bound of {BOUND} was taken")
    d.chair.SelectProfile("p0")
    d.chair.DeleteProfile("p0")
    if str(d.get("Profile")) != "" or "p0" in [str(x) for x in d.get("Profiles")]:
        p.append(f"after deleting the selected profile: {d.get('Profile')!r} {list(d.get('Profiles'))}")
    if not wait_for(lambda: not os.path.exists(profile_file(d, "p0")), 5):
        p.append("the deleted profile's file is still there")
    d.chair.SaveProfile("one-more", settings())
    for name in [str(x) for x in d.get("Profiles")]:
        d.chair.DeleteProfile(name)


def test_bad_arguments_get_typed_errors_and_changes_need_the_control_group(p, d, bus):
    d.chair.SaveProfile("cleo", settings())
    bad = [
        ("SelectProfile", ("nobody-here",), "NoSuchProfile"),
        ("SelectProfile", ("Bad Name",), "InvalidArgument"),
        ("GetProfile", ("nobody-here",), "NoSuchProfile"),
        ("GetProfile", ("",), "InvalidArgument"),
        ("DeleteProfile", ("nobody-here",), "NoSuchProfile"),
        ("SaveProfile", ("-dash", settings()), "InvalidArgument"),
        ("SaveProfile", ("x" * 65, settings()), "InvalidArgument"),
        ("SaveProfile", ("cleo", settings(intensity=6)), "InvalidArgument"),
        ("SaveProfile", ("cleo", settings(heat={"sauna": 1})), "NoSuchZone"),
        ("SaveProfile", ("cleo", settings(heat={"lumbar": 4})), "InvalidArgument"),
        ("SaveProfile", ("cleo", settings(program="no-such")), "NoSuchProgram"),
        ("SaveProfile", ("cleo", settings(favourites=["relax", "relax"])), "InvalidArgument"),
        ("SaveProfile", ("cleo", settings(shoulder_offset=5000)), "InvalidArgument"),
        # One range, the chair's shoulder range (sim.yaml: 60 to 300 mm), for SaveProfile and the files alike.
        ("SaveProfile", ("cleo", settings(shoulder_offset=-241)), "InvalidArgument"),
        ("SaveProfile", ("cleo", dbus.Dictionary({"volume": dbus.UInt32(3)}, signature="sv")), "InvalidArgument"),
        ("SaveProfile", ("cleo", dbus.Dictionary({"intensity": "high"}, signature="sv")), "InvalidArgument"),
        ("SavePosition", ("nap",), "NoSuchProfile"),  # none selected
        ("DeletePosition", ("nap",), "NoSuchProfile"),
        ("Recline", ("nap",), "NoSuchPreset"),
    ]
    d.chair.SelectProfile("")
    for method, args, error in bad:
        got = call_error(getattr(d.chair, method), *args)
        if got != ERR + error:
            p.append(f"{method}{str(args)[:70]}: {got}, want {error}")
    try:
        d.chair.SaveProfile("cleo", settings(shoulder_offset=241))
        p.append("a shoulder offset of 241 mm was kept")
    except dbus.DBusException as e:
        if "shoulder-offset: 241 is out of range (-240 to 240 mm" not in e.get_dbus_message():
            p.append(f"the error does not name the key and the range: {e.get_dbus_message()}")
    d.chair.SelectProfile("cleo")
    for method, args, error in [("SavePosition", ("upright",), "InvalidArgument"),
                                ("SavePosition", ("Nap",), "InvalidArgument"),
                                ("DeletePosition", ("nap",), "NoSuchPreset")]:
        got = call_error(getattr(d.chair, method), *args)
        if got != ERR + error:
            p.append(f"with cleo: {method}{args}: {got}, want {error}")
    if profile(d, "cleo") != {"favourites": [], "intensity": 0, "heat": {}, "shoulder-offset": 0, "program": "",
                              "positions": {}}:
        p.append(f"bad calls changed the profile: {profile(d, 'cleo')}")
    r = dt.busctl(bus, "call", dt.NAME, dt.PATH, dt.IFACE, "SaveProfile", "s", "cleo")
    if "takes (" not in r.stderr:
        p.append(f"SaveProfile with signature s: {r.returncode} {r.stderr.strip()}")
    # Reading is open; every change needs the control group.
    r = dt.busctl(bus, "call", dt.NAME, dt.PATH, dt.IFACE, "GetProfile", "s", "cleo", user="nobody")
    if r.returncode != 0:
        p.append(f"GetProfile as nobody: {r.returncode} {r.stderr.strip()}")
    for method, args in [("SelectProfile", ["s", "cleo"]), ("SaveProfile", ["sa{sv}", "cleo", "0"]),
                         ("DeleteProfile", ["s", "cleo"]), ("SavePosition", ["s", "nap"]),
                         ("DeletePosition", ["s", "nap"])]:
        r = dt.busctl(bus, "call", dt.NAME, dt.PATH, dt.IFACE, method, *args, user="nobody")
        if "needs root or membership of group" not in r.stderr:
            p.append(f"{method} as nobody: {r.returncode} {r.stderr.strip()}")
    d.chair.SelectProfile("")


def test_chairctl_profile_and_position(p, d, bus):
    def ctl(*args):
        return dt.chairctl(bus, *args)

    for name in [str(x) for x in d.get("Profiles")]:
        d.chair.DeleteProfile(name)
    r = ctl("profile", "save", "dora", "--intensity", "4", "--heat", "lumbar=1", "--favourite", "relax",
            "--favourite", "quick", "--shoulder-offset", "-10", "--program", "quick")
    if r.returncode != 0:
        p.append(f"profile save: {r.returncode} {r.stderr.strip()}")
    r = ctl("--json", "profile", "show", "dora")
    try:
        got = json.loads(r.stdout)
    except ValueError:
        got = None
    want = {"intensity": 4, "program": "quick", "shoulder-offset": -10, "favourites": ["relax", "quick"],
            "heat": {"lumbar": 1}, "positions": {}}
    if got != want:
        p.append(f"--json profile show: {r.stdout!r}, want {want}")
    r = ctl("profile", "show", "dora")
    if r.returncode != 0 or "Intensity:       4" not in r.stdout or "lumbar=1" not in r.stdout:
        p.append(f"profile show: {r.stdout!r}")
    ctl("profile", "select", "dora")
    r = ctl("--json", "profile")
    if r.returncode != 0 or json.loads(r.stdout or "{}") != {"profiles": ["dora"], "selected": "dora"}:
        p.append(f"--json profile: {r.stdout!r}")
    r = ctl("profile", "list")
    if "* dora" not in r.stdout:
        p.append(f"profile list: {r.stdout!r}")
    d.chair.Recline("zero-gravity-1")
    idle(d)
    r = ctl("position", "save", "nap")
    if r.returncode != 0 or "nap" not in profile(d, "dora")["positions"]:
        p.append(f"position save: {r.returncode} {r.stderr.strip()}")
    where = profile(d, "dora")["positions"].get("nap", {})
    ctl("recline", "upright")
    idle(d)
    r = ctl("recline", "nap")
    if r.returncode != 0 or not wait_for(lambda: idle(d) and at(d, where), 60):
        p.append(f"chairctl recline nap: {r.returncode} {r.stderr.strip()}, at {axes(d)}")
    r = ctl("start", "--duration", "1m")  # the profile's program
    if r.returncode != 0 or str(d.get("Program")) != "quick" or int(d.get("Intensity")) != 4:
        p.append(f"chairctl start: {r.returncode} {r.stderr.strip()} {d.get('Program')} {int(d.get('Intensity'))}")
    d.chair.Stop()
    if not idle(d):
        p.append(f"after chairctl start and a Stop: {d.state()}, not idle")
    for args, status, says in [(("profile", "show", "nobody-here"), 1, "NoSuchProfile"),
                               (("profile", "save"), 2, "one profile name"),
                               (("profile", "save", "dora", "--intensity", "9"), 1, "InvalidArgument"),
                               (("profile", "save", "dora", "--heat", "lumbar"), 2, "ZONE=LEVEL"),
                               (("profile", "frobnicate"), 2, "profile takes"),
                               (("position", "save"), 2, "position takes"),
                               (("position", "delete", "nowhere"), 1, "NoSuchPreset")]:
        r = ctl(*args)
        if r.returncode != status or says not in r.stderr:
            p.append(f"chairctl {' '.join(args)}: {r.returncode} {r.stderr.strip()}, want {status} and '{says}'")
    ctl("profile", "delete", "dora")
    if [str(x) for x in d.get("Profiles")]:
        p.append(f"profile delete: {list(d.get('Profiles'))}")
    ctl("recline", "upright")
    idle(d)


def cases(tap, tmp):
    with dt.private_bus(tmp) as bus:
        dt.run_on_chaird(tap, bus, os.path.join(tmp, "profiles"), [
            ("a_profile_is_saved_read_back_and_kept_on_the_disk",
             test_a_profile_is_saved_read_back_and_kept_on_the_disk),
            ("the_selected_profile_applies_at_start_and_its_offset_at_once",
             test_the_selected_profile_applies_at_start_and_its_offset_at_once),
            ("a_saved_position_is_reached_also_after_a_restart_and_a_kill_9",
             test_a_saved_position_is_reached_also_after_a_restart_and_a_kill_9),
            ("a_profile_broken_by_hand_is_set_aside", test_a_profile_broken_by_hand_is_set_aside),
            ("the_bound_and_delete", test_the_bound_and_delete),
            ("bad_arguments_get_typed_errors_and_changes_need_the_control_group",
             test_bad_arguments_get_typed_errors_and_changes_need_the_control_group),
            ("chairctl_profile_and_position", test_chairctl_profile_and_position),
        ], replace=(("buses:", f"sessions:\n  profiles: {BOUND}\nbuses:"),))


if __name__ == "__main__":
    simlib.main(cases, sys.argv[1])
