#!/usr/bin/python3
"""What a front-end needs, against the real daemon on a private system bus and chair-sim: Capabilities taken
from the config (a chair without foot rollers, the calves heater and the flat preset lists none of them), the
live Session, and a front-end that never polls: a mirror of every property kept from one GetAll and the
signals alone equals a fresh GetAll after each of 300 random commands from two other clients, and the profiles
it rereads on ProfileChanged equal GetProfile's."""
import importlib.util
import os
import random
import re
import signal
import subprocess
import sys
import time

from gi.repository import GLib

sys.path.insert(0, os.path.dirname(__file__))
import simlib  # noqa: E402
from simlib import wait_for  # noqa: E402

_spec = importlib.util.spec_from_file_location("daemon_test", os.path.join(os.path.dirname(__file__), "test-daemon.py"))
dt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dt)
Chaird, SystemBus, call_error, ERR, SRC = dt.Chaird, dt.SystemBus, dt.call_error, dt.ERR, dt.SRC
dbus = dt.dbus

# Sampled readings: their signals come at most once a tick or a second (docs/dbus.md), and Usage none;
# a front-end shows them as they come, so the mirror is not compared on them.
SAMPLED = {"ElapsedUSec", "Positions", "PositionsEstimated", "Temperatures", "Usage"}
STEPS = int(os.environ.get("FRONTEND_STEPS", "300"))


def plain(v):
    if isinstance(v, dbus.Dictionary):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (dbus.Array, dbus.Struct, list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dbus.String):
        return str(v)
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, dbus.Double):
        return float(v)
    return int(v)


def pump(seconds=0.0):
    """Runs the GLib loop: every signal that came is handled."""
    ctx = GLib.MainContext.default()
    end = time.monotonic() + seconds
    while True:
        while ctx.pending():
            ctx.iteration(False)
        if time.monotonic() >= end:
            return
        time.sleep(0.005)


class Mirror:
    """A front-end: GetAll once, then PropertiesChanged and ProfileChanged only."""

    def __init__(self, bus):
        self.conn = bus.connect()
        self.obj = self.conn.get_object(dt.NAME, dt.PATH)
        self.chair = dbus.Interface(self.obj, dt.IFACE)
        self.props = dbus.Interface(self.obj, "org.freedesktop.DBus.Properties")
        self.conn.add_signal_receiver(self.on_changed, "PropertiesChanged", "org.freedesktop.DBus.Properties",
                                      path=dt.PATH)
        self.conn.add_signal_receiver(self.on_profile, "ProfileChanged", dt.IFACE, path=dt.PATH)
        self.state = {k: plain(v) for k, v in self.props.GetAll(dt.IFACE).items()}
        self.profiles = {name: plain(self.chair.GetProfile(name)) for name in self.state["Profiles"]}
        self.signalled = 0

    def on_changed(self, interface, changed, invalidated):
        for k, v in changed.items():
            self.state[str(k)] = plain(v)
        for k in invalidated:
            self.state[str(k)] = plain(self.props.Get(dt.IFACE, k))

    def on_profile(self, name):
        self.signalled += 1
        try:
            self.profiles[str(name)] = plain(self.chair.GetProfile(name))
        except dbus.DBusException as e:
            if e.get_dbus_name() != ERR + "NoSuchProfile":
                raise
            self.profiles.pop(str(name), None)

    def differences(self):
        """What the mirror holds that a fresh GetAll does not, and the profiles likewise."""
        now = {k: plain(v) for k, v in self.props.GetAll(dt.IFACE).items()}
        out = [f"{k}: mirror {self.state.get(k)!r}, GetAll {now[k]!r}" for k in now
               if k not in SAMPLED and self.state.get(k) != now[k]]
        for name in now["Profiles"]:
            fresh = plain(self.chair.GetProfile(name))
            if self.profiles.get(name) != fresh:
                out.append(f"profile {name}: mirror {self.profiles.get(name)}, GetProfile {fresh}")
        for name in set(self.profiles) - set(now["Profiles"]):
            out.append(f"profile {name}: still in the mirror, gone from Profiles")
        return out

    def converges(self, seconds=3.0):
        """The mirror equals a fresh GetAll within seconds (signals of a change still on their way); the last
        differences when it does not."""
        end = time.monotonic() + seconds
        while True:
            pump()
            diff = self.differences()
            pump()
            if not diff or not self.differences():
                return []
            if time.monotonic() > end:
                return diff
            pump(0.05)


def roller(**kw):
    """StartManual's options with a roller a{sv}."""
    return dbus.Dictionary({"roller": dbus.Dictionary(kw, signature="sv")}, signature="sv")


def commands(rng, caps):
    """One random command: (name, callable on a chair interface)."""
    zones, presets, axes = caps["heat-zones"], caps["presets"], caps["axes"]
    u32, i32 = dbus.UInt32, dbus.Int32
    opts = lambda **kw: dbus.Dictionary({k.replace("_", "-"): v for k, v in kw.items()}, signature="sv")  # noqa
    choices = [
        ("start", lambda c: c.Start(rng.choice(["quick", "relax", "stretch"]), opts(intensity=u32(rng.randint(1, 5))))),
        ("manual", lambda c: c.StartManual(opts(roller=opts(technique=rng.choice(caps["techniques"]),
                                                            area=rng.choice(caps["areas"]),
                                                            speed=u32(rng.randint(1, 6)))))),
        ("adjust", lambda c: c.Adjust(opts(speed=u32(rng.randint(1, 6)), width=rng.choice(caps["widths"])))),
        ("adjust-area", lambda c: c.Adjust(opts(area=rng.choice(caps["areas"])))),
        ("adjust-reset", lambda c: c.Adjust(opts(reset=True))),
        ("shoulders", lambda c: c.AdjustShoulders(i32(rng.choice([-10, 10])))),
        ("intensity", lambda c: c.SetIntensity(u32(rng.randint(1, 5)))),
        ("heat", lambda c: c.SetHeat(rng.choice(zones), u32(rng.randint(0, 3)))),
        ("recline", lambda c: c.Recline(rng.choice(presets))),
        ("jog", lambda c: c.Jog(rng.choice(axes), i32(rng.choice([-1, 1])))),
        ("save-profile", lambda c: c.SaveProfile(rng.choice(["anna", "ben", "cleo"]),
                                                 opts(intensity=u32(rng.randint(1, 5))))),
        ("select-profile", lambda c: c.SelectProfile(rng.choice(["", "anna", "ben", "cleo"]))),
        ("delete-profile", lambda c: c.DeleteProfile(rng.choice(["anna", "ben", "cleo"]))),
        ("save-position", lambda c: c.SavePosition(rng.choice(["reading", "nap"]))),
        ("delete-position", lambda c: c.DeletePosition(rng.choice(["reading", "nap"]))),
        ("lock", lambda c: c.Set(dt.IFACE, "Locked", dbus.Boolean(rng.random() < 0.5),
                                 dbus_interface="org.freedesktop.DBus.Properties")),
        ("pause", lambda c: c.Pause()),
        ("resume", lambda c: c.Resume()),
        ("stop", lambda c: c.Stop()),
        ("estop", lambda c: c.EmergencyStop()),
        ("reset", lambda c: c.ResetFault()),
    ]
    return rng.choice(choices)


def test_capabilities_come_from_the_config(p, tmp, bus):
    config = open(os.path.join(SRC, "config/sim.yaml")).read()
    flat = re.search(r"^    flat:.*\n", config, re.M).group(0)
    calves = re.search(r"^  calves:\n(    .*\n)+", config[config.index("heaters:"):], re.M).group(0)
    foot = re.search(r"^foot-rollers:\n(  .*\n)+", config, re.M).group(0)
    d = Chaird(os.path.join(tmp, "lesser"), bus, replace=((flat, ""), (calves, ""), (foot, "")))
    try:
        caps = plain(d.get("Capabilities"))
        if "flat" in caps["presets"] or caps["presets"] != ["upright", "zero-gravity-1", "zero-gravity-2"]:
            p.append(f"presets: {caps['presets']}")
        if caps["heat-zones"] != ["lumbar"]:
            p.append(f"heat-zones: {caps['heat-zones']}")
        if caps["foot-roller-levels"] != 0:
            p.append(f"foot-roller-levels without foot rollers: {caps['foot-roller-levels']}")
    finally:
        d.close()
    if True:  # one chaird on the bus at a time
        full = Chaird(os.path.join(tmp, "full"), bus)
        try:
            caps = plain(full.get("Capabilities"))
            want = {"presets": ["upright", "zero-gravity-1", "zero-gravity-2", "flat"],
                    "heat-zones": ["lumbar", "calves"], "foot-roller-levels": 6, "heat-levels": 3,
                    "axes": ["backrest", "legrest"], "intensity": [1, 5], "speed": [1, 6],
                    "airbag-zones": ["shoulders", "arms", "hips", "calves", "feet"],
                    "airbag-patterns": ["wave", "alternate", "pulse", "hold"],
                    "widths": ["narrow", "medium", "wide"], "session-cap": 30 * 60 * 10**6,
                    "manual-duration": 15 * 60 * 10**6, "profiles-max": 16, "positions-max": 16}
            for k, v in want.items():
                if caps.get(k) != v:
                    p.append(f"the virtual chair's {k}: {caps.get(k)!r}, want {v!r}")
            for k in ("techniques", "areas"):
                if not caps.get(k) or "kneading" not in caps["techniques"] or "back" not in caps["areas"]:
                    p.append(f"{k}: {caps.get(k)}")
            # Every value a front-end offers from them is taken: a manual session of each technique and area.
            for t in caps["techniques"]:
                e = call_error(full.chair.StartManual, roller(technique=t))
                if e is not None:
                    p.append(f"StartManual technique {t} from Capabilities: {e}")
                full.chair.Stop()
                wait_for(lambda: full.state() == "idle", 30, 0.05)
        finally:
            full.close()


def test_the_session_shows_what_runs(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "session"), bus)
    try:
        if plain(d.get("Session")) != {}:
            p.append(f"Session when idle: {plain(d.get('Session'))}")
        d.chair.Start("relax", {})
        wait_for(lambda: "phase" in plain(d.get("Session")), 30)
        s = plain(d.get("Session"))
        if s.get("kind") != "program" or s.get("program") != "relax":
            p.append(f"Session: {s}")
        names = [n for n, _ in s.get("phases", [])]
        starts = [t for _, t in s.get("phases", [])]
        if not names or starts[0] != 0 or starts != sorted(starts):
            p.append(f"phases: {s.get('phases')}")
        if "roller" not in s.get("settings", {}):
            p.append(f"settings without the roller: {s.get('settings')}")
        left = s.get("ends-at", 0) / 1e6 - time.time()
        if not 0 < left <= int(d.get("DurationUSec")) / 1e6 / dt.SCALE + 5:
            p.append(f"ends-at is {left:.1f} s away")
        d.chair.Adjust(dbus.Dictionary({"speed": dbus.UInt32(6), "width": "narrow"}, signature="sv"))
        s = plain(d.get("Session"))
        if s.get("adjustments") != {"speed": 6, "width": "narrow"}:
            p.append(f"adjustments: {s.get('adjustments')}")
        works = s.get("settings", {}).get("roller", {})
        if works.get("speed") != 6 or works.get("width") != "narrow":
            p.append(f"the roller in settings after Adjust: {works}")
        d.chair.Pause()
        s = plain(d.get("Session"))
        if "ends-at" in s or not s.get("remaining-usec"):
            p.append(f"paused: {s}")
        d.chair.Stop()
        wait_for(lambda: d.state() == "idle", 60, 0.05)
        d.chair.StartManual(roller(technique="tapping", area="lumbar"))
        s = plain(d.get("Session"))
        if s.get("kind") != "manual" or s.get("program") != "manual":
            p.append(f"manual: {s}")
        d.chair.Stop()
        wait_for(lambda: d.state() == "idle", 60, 0.05)
        if plain(d.get("Session")) != {}:
            p.append(f"Session after the end: {plain(d.get('Session'))}")
    finally:
        d.close()


def test_a_front_end_never_needs_to_poll(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "mirror"), bus)
    try:
        mirror = Mirror(bus)
        clients = []
        for _ in range(2):
            conn = bus.connect()
            obj = conn.get_object(dt.NAME, dt.PATH)
            clients.append(dbus.Interface(obj, dt.IFACE))
        caps = mirror.state["Capabilities"]
        seed = int(os.environ.get("FRONTEND_SEED", random.randrange(1 << 30)))
        print(f"# seed {seed} (FRONTEND_SEED to repeat), {STEPS} commands")
        rng = random.Random(seed)
        tally = {}
        for step in range(STEPS):
            name, fn = commands(rng, caps)
            client = clients[step % 2]
            try:
                fn(client)
                tally[name] = tally.get(name, [0, 0])
                tally[name][0] += 1
            except dbus.DBusException as e:
                if not e.get_dbus_name().startswith(ERR):
                    p.append(f"step {step} {name}: not a typed error: {e.get_dbus_name()} {e.get_dbus_message()}")
                tally[name] = tally.get(name, [0, 0])
                tally[name][1] += 1
            diff = mirror.converges()
            if diff:
                p.append(f"step {step} ({name}): the mirror differs: {diff[:3]}")
                break
            if d.proc.poll() is not None:
                p.append(f"chaird exited at step {step}")
                break
        print("# commands (taken, refused): " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(tally.items())))
        print(f"# ProfileChanged signals: {mirror.signalled}")
        if mirror.signalled == 0:
            p.append("no ProfileChanged came")
    finally:
        d.close()


def canonical(interface):
    """An interface's members as comparable tuples: kind, name, type or arguments, access, annotations."""
    out = []
    for el in interface:
        args = tuple((a.get("type"), a.get("name"), a.get("direction")) for a in el.findall("arg"))
        notes = tuple((a.get("name"), a.get("value")) for a in el.findall("annotation"))
        out.append((el.tag, el.get("name"), el.get("type"), el.get("access"), args, notes))
    return out


def test_the_documented_xml_is_the_live_introspection(p, tmp, bus):
    import xml.etree.ElementTree as ET
    text = open(os.path.join(SRC, "docs/dbus.md")).read()
    start = text.index("```xml\n") + len("```xml\n")
    documented = ET.fromstring("<doc>" + text[start:text.index("```", start)] + "</doc>")
    d = Chaird(os.path.join(tmp, "xml"), bus)
    try:
        for path, name in ((dt.PATH, dt.IFACE), (dt.PATH + "/program/quick", dt.IFACE + ".Program")):
            live = ET.fromstring(dt.busctl(bus, "--xml-interface", "introspect", dt.NAME, path).stdout)
            want = [i for i in live.findall("interface") if i.get("name") == name]
            doc = [i for i in documented.findall("interface") if i.get("name") == name]
            if not want or not doc:
                p.append(f"{name}: live {bool(want)}, documented {bool(doc)}")
                continue
            live_members, doc_members = canonical(want[0]), canonical(doc[0])
            for m in live_members:
                if m not in doc_members:
                    p.append(f"{name}: live but not in docs/dbus.md: {m[:2]}")
            for m in doc_members:
                if m not in live_members:
                    p.append(f"{name}: in docs/dbus.md but not live: {m[:2]}")
    finally:
        d.close()


def test_the_child_lock_survives_a_restart_and_a_kill(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "lock"), bus)
    try:
        d.props.Set(dt.IFACE, "Locked", True)
        if not wait_for(lambda: os.path.exists(os.path.join(d.dir, "state", "locked")), 5):
            p.append("no file keeps the lock")
        d.restart()
        if d.get("Locked") != True:  # noqa: E712
            p.append("a restart unlocked the chair")
        d.proc.send_signal(signal.SIGKILL)  # as a power cut: the file was synced before
        d.proc.wait()
        d.restart()
        if d.get("Locked") != True:  # noqa: E712
            p.append("a kill -9 unlocked the chair")
        d.props.Set(dt.IFACE, "Locked", False)
        wait_for(lambda: open(os.path.join(d.dir, "state", "locked")).read() == "off\n", 5)
        d.restart()
        if d.get("Locked") != False:  # noqa: E712
            p.append("unlocked, a restart locked the chair")
    finally:
        d.close()


def test_a_profiles_intensity_is_its_sessions_only(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "intensity"), bus)
    try:
        d.chair.SetIntensity(dbus.UInt32(2))
        d.chair.SaveProfile("anna", dbus.Dictionary({"intensity": dbus.UInt32(5)}, signature="sv"))
        d.chair.SelectProfile("anna")
        d.chair.Start("quick", {})
        if int(d.get("Intensity")) != 5:
            p.append(f"the session with anna's profile runs at {int(d.get('Intensity'))}, want 5")
        d.chair.Stop()
        wait_for(lambda: d.state() == "idle", 60, 0.05)
        d.chair.SelectProfile("")
        if int(d.get("Intensity")) != 2:
            p.append(f"after anna's session the chair is at {int(d.get('Intensity'))}, want its own 2")
        # A person who sets the intensity during the session keeps it.
        d.chair.SelectProfile("anna")
        d.chair.Start("quick", {})
        d.chair.SetIntensity(dbus.UInt32(4))
        d.chair.Stop()
        wait_for(lambda: d.state() == "idle", 60, 0.05)
        if int(d.get("Intensity")) != 4:
            p.append(f"an intensity set during the session was undone: {int(d.get('Intensity'))}")
    finally:
        d.close()


def test_a_session_cut_by_a_kill_is_recorded_and_counted(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "cut"), bus)
    try:
        d.chair.SaveProfile("ben", dbus.Dictionary({}, signature="sv"))
        d.chair.SelectProfile("ben")
        sessions = int(plain(d.get("Usage")).get("sessions", 0))
        d.chair.Start("relax", {})
        wait_for(lambda: d.state() == "running", 30)
        session = os.path.join(d.dir, "state", "session")
        if not wait_for(lambda: "relax" in open(session).read(), 5):
            p.append("the session's progress is not on the disk")
        elapsed = int(d.get("ElapsedUSec"))
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        d.restart()
        h = [plain(r) for r in d.chair.History(dbus.UInt32(3))]
        cut = [r for r in h if r.get("program") == "relax"]
        if not cut:
            p.append(f"the cut session is not in the history: {h}")
        else:
            r = cut[0]
            if r.get("profile") != "ben" or r.get("reason") != "interrupted" or r.get("fault") != "interrupted":
                p.append(f"the cut session's record: {r}")
            if not 0 <= int(r.get("duration", 0)) <= elapsed + 5 * 10**6:
                p.append(f"the cut session ran {r}, more than the {elapsed} usec before the kill")
        if len([r for r in h if r.get("fault") == "interrupted"]) != 1:
            p.append(f"not one record of the interruption: {h}")
        if int(plain(d.get("Usage")).get("sessions", 0)) != sessions + 1:
            p.append(f"Usage sessions {plain(d.get('Usage')).get('sessions')}, want {sessions + 1}")
        d.chair.ResetFault()
        d.restart()  # recorded once: a later start does not add it again
        if len([r for r in d.chair.History(dbus.UInt32(5)) if str(r.get("program")) == "relax"]) != 1:
            p.append("the cut session was recorded twice")
    finally:
        d.close()


def test_the_small_things_a_front_end_meets(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "small"), bus)
    try:
        for method, args in (("SetHeat", ("", dbus.UInt32(1))), ("Recline", ("",))):
            e = call_error(getattr(d.chair, method), *args)
            if e != ERR + "InvalidArgument":
                p.append(f"{method} with an empty name: {e}, want InvalidArgument as docs/dbus.md says")
        try:
            d.chair.StartManual(dbus.Dictionary({"foot-rollers": dbus.UInt32(9)}, signature="sv"))
            p.append("foot-rollers 9 was taken")
        except dbus.DBusException as e:
            if "0 to 6" not in e.get_dbus_message():
                p.append(f"foot-rollers 9: {e.get_dbus_message()!r} does not give the range 0 to 6")
        e = call_error(d.props.Set, dt.IFACE, "Locked", dbus.String("yes"))
        if e != ERR + "InvalidArgument":
            p.append(f"Locked set to a string: {e}, want InvalidArgument")
        ctl = lambda *a: dt.chairctl(bus, *a)  # noqa: E731
        r = ctl("profile", "save", "anna", "--intensity", "4")
        if r.returncode != 0 or "anna" not in r.stdout:
            p.append(f"profile save says nothing: {r.stdout!r} {r.stderr!r}")
        ctl("profile", "select", "anna")
        r = ctl("manual", "--technique", "kneading", "--area", "back")
        if r.returncode != 0 or not r.stdout.strip():
            p.append(f"manual says nothing: {r.stdout!r} {r.stderr!r}")
        r = ctl("adjust", "--speed", "5")
        if r.returncode != 0 or not r.stdout.strip():
            p.append(f"adjust says nothing: {r.stdout!r} {r.stderr!r}")
        r = ctl("status")
        for words in ("Profile:      anna", "Shoulders:", "left)", "Adjustments:  speed 5"):
            if words not in r.stdout:
                p.append(f"status lacks {words!r}: {r.stdout}")
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
        mon = subprocess.Popen([os.path.join(simlib.BUILD, "tools/chairctl/chairctl"), "monitor"],
                               stdout=subprocess.PIPE, text=True, env=env)
        time.sleep(2.5)
        d.chair.Stop()
        time.sleep(0.5)
        mon.terminate()
        out = mon.communicate(timeout=10)[0]
        elapsed = [x for x in out.splitlines() if x.startswith("ElapsedUSec=")]
        if not elapsed or any(re.fullmatch(r"ElapsedUSec=\d{4,}", x) for x in elapsed):
            p.append(f"monitor's times: {elapsed[:3]}")
        if not any(x.startswith("Session=") for x in out.splitlines()):
            p.append("monitor does not show the Session")
    finally:
        d.close()


def cases(tap, tmp):
    with dt.private_bus(tmp) as bus:
        simlib.run_cases(tap, [
            ("capabilities_come_from_the_config", test_capabilities_come_from_the_config),
            ("the_session_shows_what_runs", test_the_session_shows_what_runs),
            ("a_front_end_never_needs_to_poll", test_a_front_end_never_needs_to_poll),
            ("the_documented_xml_is_the_live_introspection", test_the_documented_xml_is_the_live_introspection),
            ("the_child_lock_survives_a_restart_and_a_kill", test_the_child_lock_survives_a_restart_and_a_kill),
            ("a_profiles_intensity_is_its_sessions_only", test_a_profiles_intensity_is_its_sessions_only),
            ("a_session_cut_by_a_kill_is_recorded_and_counted", test_a_session_cut_by_a_kill_is_recorded_and_counted),
            ("the_small_things_a_front_end_meets", test_the_small_things_a_front_end_meets),
        ], tmp, bus)


if __name__ == "__main__":
    simlib.main(cases, sys.argv[1])
