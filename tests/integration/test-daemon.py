#!/usr/bin/env python3
"""chaird on a private dbus-daemon of type system, driving chair-sim over Modbus (TCP, and RTU through a
socat pty pair). Clients: busctl, GLib's gdbus and python3-dbus. Outcomes are checked in chair-sim's state
(the physical truth), not in chaird's own word."""
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import dbus
import dbus.mainloop.glib
from gi.repository import GLib

sys.path.insert(0, os.path.dirname(__file__))
import simlib  # noqa: E402
from simlib import ChairSim, PtyPair, call_error, wait_for  # noqa: E402

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NAME, PATH, IFACE = "io.chaird.Chair1", "/io/chaird/Chair1", "io.chaird.Chair1"
ERR = "io.chaird.Chair1.Error."
SCALE = 20  # program time runs this much faster (chaird and chair-sim alike)

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)


class SystemBus:
    """A private dbus-daemon of type system that every local user may use."""

    def __init__(self, directory):
        self.socket = os.path.join(directory, "system_bus_socket")
        conf = os.path.join(directory, "bus.conf")
        with open(os.path.join(SRC, "tests/integration/system-bus.conf.in")) as f:
            open(conf, "w").write(f.read().replace("@SOCKET@", self.socket))
        self.proc = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork", "--nopidfile"])
        if not wait_for(lambda: os.path.exists(self.socket), 10):
            raise RuntimeError("dbus-daemon did not come up")
        os.chmod(self.socket, 0o777)
        self.address = f"unix:path={self.socket}"

    def connect(self):
        return dbus.bus.BusConnection(self.address)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Chaird:
    """chaird with its own chair-sim, config and program directories (stock, then a local one)."""

    def __init__(self, directory, bus, rtu=False, extra=(), replace=(), stock=None, scale=SCALE, sim_extra=(),
                 env=None, wrap=()):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        os.chmod(directory, 0o755)
        self.bus = bus
        self.pty = PtyPair(directory) if rtu else None
        self.sim = ChairSim(directory, rtu_device=self.pty.a if rtu else None, time_scale=scale, extra=sim_extra)
        config = open(os.path.join(SRC, "config/sim-rtu.yaml" if rtu else "config/sim.yaml")).read()
        if rtu:
            config = config.replace("/tmp/chair-sim-rtu", self.pty.b)
        else:
            config = config.replace("port: 15020", f"port: {self.sim.port}")
        for old, new in replace:
            config = config.replace(old, new)
        self.config = os.path.join(directory, "chaird.yaml")
        open(self.config, "w").write(config)
        self.local = os.path.join(directory, "programs")
        os.makedirs(self.local, exist_ok=True)
        self.stock_dir = os.path.join(SRC, "programs")
        if stock is not None:  # only these stock programs (and the shared patterns)
            self.stock_dir = os.path.join(directory, "stock")
            shutil.copytree(os.path.join(SRC, "programs/patterns"), os.path.join(self.stock_dir, "patterns"))
            for name in stock:
                shutil.copy(os.path.join(SRC, "programs", name + ".yaml"), self.stock_dir)
        self.notify_path = os.path.join(directory, "notify")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notify.settimeout(15)
        self.scale, self.extra, self.env, self.wrap = scale, extra, env or {}, wrap
        self.log = open(os.path.join(directory, "chaird.log"), "w")
        self._spawn()

    def _spawn(self):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address, NOTIFY_SOCKET=self.notify_path, **self.env)
        env.pop("JOURNAL_STREAM", None)
        self.proc = subprocess.Popen(
            [*self.wrap, os.path.join(simlib.BUILD, "daemon/chaird"), "--config", self.config, "--programs",
             self.stock_dir, "--programs", self.local, "--state-dir", os.path.join(self.dir, "state"),
             "--time-scale", str(self.scale), *self.extra], stdout=self.log, stderr=self.log, env=env)
        self.ready_owned = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            data = self.notify.recv(4096).decode()
            if "READY=1" in data:
                # READY=1 promises the name is owned already.
                self.ready_owned = bool(self.bus.connect().name_has_owner(NAME))
                break
        else:
            raise RuntimeError("chaird sent no READY=1: " + open(self.log.name).read())
        self.conn = self.bus.connect()
        self.obj = self.conn.get_object(NAME, PATH)
        self.chair = dbus.Interface(self.obj, IFACE)
        self.props = dbus.Interface(self.obj, "org.freedesktop.DBus.Properties")

    def restart(self):
        """Starts chaird again on the same chair, config and state directory (after it exited or was killed)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
        self._spawn()

    def notifications(self, seconds):
        """What chaird sent to $NOTIFY_SOCKET during the next seconds (not before), joined."""
        self.notify.setblocking(False)
        try:
            while self.notify.recv(4096):
                pass
        except BlockingIOError:
            pass
        got, end = [], time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.notify.settimeout(left)
            try:
                got.append(self.notify.recv(4096).decode())
            except socket.timeout:
                break
        self.notify.settimeout(15)
        return "\n".join(got)

    def get(self, prop):
        return self.props.Get(IFACE, prop)

    def state(self):
        return str(self.get("State"))

    def settle(self):
        """Back to idle without a fault, between cases."""
        self.chair.Stop()
        self.chair.ResetFault()
        self.props.Set(IFACE, "Locked", False)
        wait_for(lambda: self.state() == "idle", 30, 0.05)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
        self.log.close()
        self.sim.close()
        if self.pty:
            self.pty.close()
        self.notify.close()


def busctl(bus, *args, user=None):
    cmd = ["busctl", f"--address={bus.address}", *args]
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def gdbus(bus, *args):
    return subprocess.run(["gdbus", *args[:1], "--address", bus.address, *args[1:]], capture_output=True, text=True,
                          timeout=30)


def chairctl(bus, *args, user=None):
    cmd = [os.path.join(simlib.BUILD, "tools/chairctl/chairctl"), *args]
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


class Listener:
    """A client of its own that records PropertiesChanged and Finished."""

    def __init__(self, bus):
        self.conn = bus.connect()
        self.changes, self.finished = [], []
        self.conn.add_signal_receiver(self._props, "PropertiesChanged", "org.freedesktop.DBus.Properties", NAME, PATH)
        self.conn.add_signal_receiver(self._finished, "Finished", IFACE, NAME, PATH)
        self.conn.add_signal_receiver(self._added, "InterfacesAdded", "org.freedesktop.DBus.ObjectManager", NAME, PATH)
        self.added = []

    def _props(self, iface, changed, invalidated):
        self.changes.append((time.monotonic(), {str(k): v for k, v in changed.items()}))

    def _finished(self, program, reason):
        self.finished.append((str(program), str(reason)))

    def _added(self, path, ifaces):
        self.added.append(str(path))


def pump(seconds):
    """Runs the GLib loop (which delivers the listeners' signals) for a while."""
    ctx = GLib.MainContext.default()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ctx.iteration(False)
        time.sleep(0.005)


def pump_until(predicate, timeout):
    ctx = GLib.MainContext.default()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        while ctx.iteration(False):
            pass
        if predicate():
            return True
        time.sleep(0.01)
    return False


def sim_all_safe(sim):
    s = sim.state()
    return (not any(m["run"] or any(m["relays"]) for m in s["motors"].values()) and not any(h["commanded"] for h in s["heaters"].values())
            and not s["pump"]["on"] and all(v == "vent" for v in s["valves"].values())
            and s["roller"]["kneading"] == 0 and s["roller"]["tapping"] == 0 and s["foot_rollers"]["speed"] == 0)


# --- cases ---

def test_ready_only_after_the_name_is_owned(p, d):
    if not d.ready_owned:
        p.append("READY=1 came before io.chaird.Chair1 had an owner")


def test_three_clients_read_every_property(p, d, bus):
    want = {"State": "s", "Program": "s", "Phase": "s", "ElapsedUSec": "t", "DurationUSec": "t", "Intensity": "u",
            "Heat": "a{su}", "Temperatures": "a{sd}", "Positions": "a{sd}", "PositionsEstimated": "as",
            "BrokenPrograms": "a(ss)", "Presets": "as", "Recline": "s", "Fault": "s", "FaultMessage": "s",
            "Locked": "b", "Shoulders": "u", "Usage": "a{st}", "Profiles": "as", "Profile": "s",
            "Capabilities": "a{sv}", "Session": "a{sv}"}
    intro = busctl(bus, "introspect", NAME, PATH, IFACE)
    for prop, sig in want.items():
        if not re.search(rf"^\.{prop}\s+property\s+{re.escape(sig)}\s", intro.stdout, re.M):
            p.append(f"busctl introspect: no property {prop} of type {sig}")
    for method, sig in [("Start", "sa{sv}"), ("Stop", "-"), ("Pause", "-"), ("Resume", "-"), ("EmergencyStop", "-"),
                        ("Release", "-"), ("ResetFault", "-"), ("Recline", "s"), ("Jog", "si"),
                        ("SetIntensity", "u"), ("SetHeat", "su"), ("ValidateProgram", "s"),
                        ("InstallProgram", "s"), ("ReloadPrograms", "-"), ("StartManual", "a{sv}"),
                        ("Adjust", "a{sv}"), ("AdjustShoulders", "i"), ("History", "u"),
                        ("SelectProfile", "s"), ("SaveProfile", "sa{sv}"), ("GetProfile", "s"),
                        ("DeleteProfile", "s"), ("SavePosition", "s"), ("DeletePosition", "s")]:
        if not re.search(rf"^\.{method}\s+method\s+{re.escape(sig)}\s", intro.stdout, re.M):
            p.append(f"busctl introspect: no method {method}({sig})")
    r = busctl(bus, "get-property", NAME, PATH, IFACE, "State")
    if r.stdout.strip() != 's "idle"':
        p.append(f"busctl get-property State: {r.stdout!r} {r.stderr!r}")
    g = gdbus(bus, "call", "--dest", NAME, "--object-path", PATH, "--method",
              "org.freedesktop.DBus.Properties.GetAll", IFACE)
    for prop in want:
        if f"'{prop}'" not in g.stdout:
            p.append(f"gdbus GetAll lacks {prop}: {g.stdout[:200]} {g.stderr}")
    props = d.props.GetAll(IFACE)
    if set(props) != set(want):
        p.append(f"python GetAll: {sorted(props)}")
    if set(props["Heat"]) != {"lumbar", "calves"}:
        p.append(f"Heat zones: {dict(props['Heat'])}")
    if not wait_for(lambda: set(d.get("Positions")) == {"backrest", "legrest", "roller"}, 5):
        p.append(f"Positions: {dict(d.get('Positions'))}")
    if list(d.get("BrokenPrograms")) != []:
        p.append(f"BrokenPrograms with only good files: {list(d.get('BrokenPrograms'))}")
    if [str(s) for s in d.get("Presets")] != ["upright", "zero-gravity-1", "zero-gravity-2", "flat"]:
        p.append(f"Presets are not config/sim.yaml's, in its order: {list(d.get('Presets'))}")
    if list(d.get("PositionsEstimated")) != []:  # the virtual chair's board reads every position
        p.append(f"PositionsEstimated: {list(d.get('PositionsEstimated'))}")


def test_one_object_per_program(p, d, bus):
    om = dbus.Interface(d.obj, "org.freedesktop.DBus.ObjectManager")
    objects = om.GetManagedObjects()
    programs = {str(v[IFACE + ".Program"]["Id"]): (str(k), v[IFACE + ".Program"]) for k, v in objects.items()
                if IFACE + ".Program" in v}
    stock = sorted(f[:-5] for f in os.listdir(os.path.join(SRC, "programs")) if f.endswith(".yaml"))
    if sorted(programs) != stock:
        p.append(f"programs {sorted(programs)} != stock {stock}")
    path, props = programs.get("deep-tissue", ("", {}))
    if path != "/io/chaird/Chair1/program/deep_2dtissue":
        p.append(f"deep-tissue's object path: {path}")
    if props and (props["Name"] != "Deep tissue" or props["DurationUSec"] != 20 * 60 * 10**6 or
                  not str(props["Path"]).endswith("programs/deep-tissue.yaml") or not props["Description"]):
        p.append(f"deep-tissue's properties: {dict(props)}")
    r = busctl(bus, "get-property", NAME, "/io/chaird/Chair1/program/quick", IFACE + ".Program", "DurationUSec")
    if r.stdout.strip() != "t 300000000":
        p.append(f"busctl quick DurationUSec: {r.stdout!r} {r.stderr!r}")


def test_bad_arguments_get_typed_errors(p, d, bus):
    big = "x" * (2 * 1024 * 1024)
    c = d.chair
    cases = [
        ("Start unknown program", lambda: c.Start("no-such-program", {}), "NoSuchProgram"),
        # "" is the selected profile's program; with no profile selected there is none.
        ("Start empty id", lambda: c.Start("", {}), "NoSuchProgram"),
        ("Start huge id", lambda: c.Start(big, {}), "InvalidArgument"),
        ("Start duration of the wrong type", lambda: c.Start("quick", {"duration": dbus.UInt32(5)}), "InvalidArgument"),
        ("Start duration too short", lambda: c.Start("quick", {"duration": dbus.UInt64(10**6)}), "InvalidArgument"),
        ("Start duration beyond the cap", lambda: c.Start("quick", {"duration": dbus.UInt64(2 * 3600 * 10**6)}),
         "InvalidArgument"),
        ("Start unknown option", lambda: c.Start("quick", {"speed": dbus.UInt32(1)}), "InvalidArgument"),
        ("Start intensity 9", lambda: c.Start("quick", {"intensity": dbus.UInt32(9)}), "InvalidArgument"),
        ("Start intensity 0", lambda: c.Start("quick", {"intensity": dbus.UInt32(0)}), "InvalidArgument"),
        ("Recline unknown", lambda: c.Recline("sideways"), "NoSuchPreset"),
        ("Recline empty", lambda: c.Recline(""), "InvalidArgument"),
        ("Recline huge", lambda: c.Recline(big), "NoSuchPreset"),
        ("Jog unknown axis", lambda: c.Jog("elbow", 1), "NoSuchAxis"),
        ("Jog axis the chair lacks", lambda: c.Jog("slide", 1), "NoSuchAxis"),
        ("Jog direction 5", lambda: c.Jog("backrest", 5), "InvalidArgument"),
        ("Jog direction 0", lambda: c.Jog("backrest", 0), "InvalidArgument"),
        ("SetHeat unknown zone", lambda: c.SetHeat("feet", dbus.UInt32(1)), "NoSuchZone"),
        ("SetHeat level 4", lambda: c.SetHeat("lumbar", dbus.UInt32(4)), "InvalidArgument"),
        ("SetIntensity 0", lambda: c.SetIntensity(dbus.UInt32(0)), "InvalidArgument"),
        ("SetIntensity 6", lambda: c.SetIntensity(dbus.UInt32(6)), "InvalidArgument"),
        ("ValidateProgram empty", lambda: c.ValidateProgram(""), "InvalidArgument"),
        ("ValidateProgram huge", lambda: c.ValidateProgram(big), "InvalidArgument"),
        ("InstallProgram invalid", lambda: c.InstallProgram("id: broken\nphases: 3\n"), "InvalidProgram"),
        ("InstallProgram without id", lambda: c.InstallProgram(open(os.path.join(SRC, "programs/quick.yaml")).read()),
         "InvalidProgram"),
        ("Pause without a program", lambda: c.Pause(), "NotRunning"),
        ("Resume without a program", lambda: c.Resume(), "NotRunning"),
    ]
    for what, fn, want in cases:
        got = call_error(fn)
        if got != ERR + want:
            p.append(f"{what}: {got}, want {ERR + want}")
    # Wrong types, through three clients: a typed error too.
    for args in [("Start", "s", "quick"), ("SetIntensity", "s", "three"), ("SetHeat", "ss", "lumbar", "hot"),
                 ("Jog", "ss", "backrest", "up"), ("Recline", "u", "1"), ("Stop", "s", "now")]:
        r = busctl(bus, "call", NAME, PATH, IFACE, *args)
        if r.returncode == 0 or "InvalidArgument" not in r.stderr and "takes" not in r.stderr:
            p.append(f"busctl {args}: rc {r.returncode} {r.stderr.strip()}")
    g = gdbus(bus, "call", "--dest", NAME, "--object-path", PATH, "--method", IFACE + ".SetHeat", "'feet'", "1")
    if ERR + "NoSuchZone" not in g.stderr:
        p.append(f"gdbus SetHeat('feet', 1): {g.stderr.strip()}")
    if call_error(lambda: d.conn.call_blocking(NAME, PATH, IFACE, "SetHeat", "uu", (1, 2))) != ERR + "InvalidArgument":
        p.append("python SetHeat(uu) did not get InvalidArgument")
    # Still there, still idle, nothing moved.
    if d.proc.poll() is not None or d.state() != "idle":
        p.append(f"after the bad calls: exit {d.proc.poll()}, state {d.state()}")
    if not sim_all_safe(d.sim):
        p.append("a bad call moved something")


def test_validate_program_reports_line_and_column(p, d, bus):
    good = d.chair.ValidateProgram(open(os.path.join(SRC, "programs/relax.yaml")).read())
    if [x for x in good if x[2] == "error"]:
        p.append(f"relax.yaml has errors: {good}")
    bad = d.chair.ValidateProgram("id: x\nname: X\nphases:\n  - name: A\n    rollr: {}\n")
    errors = [(int(a), int(b), str(c), str(m)) for a, b, c, m in bad if c == "error"]
    if not any(line == 5 and col == 5 and "rollr" in m for line, col, _, m in errors):
        p.append(f"diagnostics: {errors}")


def test_program_runs_to_completion_with_setpoints_in_chair_sim(p, d, bus):
    listener = Listener(bus)
    seen = {"zero_gravity": False, "heating": False, "kneading": False, "airbags": False}
    d.chair.Start("quick", {"duration": dbus.UInt64(2 * 60 * 10**6)})

    def watch():
        s = d.sim.state()
        if abs(s["motors"]["backrest"]["position"] - 0.45) < 0.01 and abs(s["motors"]["legrest"]["position"] - 0.55) < 0.01:
            seen["zero_gravity"] = True
        if s["heaters"]["lumbar"]["commanded"]:
            seen["heating"] = True
        if s["roller"]["kneading"] > 0:
            seen["kneading"] = True
        if s["valves"]["calves"] != "vent" or s["pump"]["on"]:
            seen["airbags"] = True
        return listener.finished
    ok = pump_until(watch, 60)
    if not ok or listener.finished != [("quick", "completed")]:
        p.append(f"Finished: {listener.finished}")
    for k, v in seen.items():
        if not v:
            p.append(f"chair-sim never showed {k} during quick")
    phases = [c["Phase"] for _, c in listener.changes if "Phase" in c and c["Phase"]]
    if phases != ["Warm-up", "Kneading", "Percussion", "Finish"]:
        p.append(f"phases: {phases}")
    elapsed = [t for t, c in listener.changes if "ElapsedUSec" in c]
    if any(b - a < 0.9 for a, b in zip(elapsed, elapsed[1:])):
        p.append("ElapsedUSec was emitted more than once a second")
    if not elapsed:
        p.append("ElapsedUSec never emitted")
    # The end: heat off, air out, rollers parked, back upright.
    if not pump_until(lambda: d.state() == "idle", 60):
        p.append(f"not idle after the end: {d.state()}")
    s = d.sim.state()
    if not sim_all_safe(d.sim) or s["motors"]["backrest"]["position"] > 0.01 or s["motors"]["roller"]["position"] > 0.01:
        p.append(f"after the end: {s}")


def test_signals_reach_two_clients_at_once(p, d, bus):
    a, b = Listener(bus), Listener(bus)
    d.chair.Start("quick", {"duration": dbus.UInt64(60 * 10**6)})
    pump_until(lambda: a.finished and b.finished, 60)
    for n, l in (("first", a), ("second", b)):
        states = [c["State"] for _, c in l.changes if "State" in c]
        if "running" not in states or l.finished != [("quick", "completed")]:
            p.append(f"{n} client: states {states}, finished {l.finished}")


def test_stop_is_graceful_and_open_to_every_user(p, d, bus):
    listener = Listener(bus)
    d.chair.Start("relax", {})
    if not wait_for(lambda: d.state() == "running" and d.sim.state()["heaters"]["lumbar"]["commanded"], 30):
        p.append(f"relax did not start heating: {d.state()}")
    r = busctl(bus, "call", NAME, PATH, IFACE, "Stop", user="nobody")
    if r.returncode != 0:
        p.append(f"nobody could not Stop: {r.stderr.strip()}")
    pump_until(lambda: listener.finished, 5)
    if listener.finished != [("relax", "stopped")]:
        p.append(f"Finished: {listener.finished}")
    if not wait_for(lambda: not d.sim.state()["heaters"]["lumbar"]["commanded"], 1):
        p.append(f"heat still on 1 s after Stop: {d.sim.state()['heaters']}")
    if not wait_for(lambda: d.state() == "idle", 30):
        p.append(f"never idle after Stop: {d.state()}")
    s = d.sim.state()
    if not sim_all_safe(d.sim) or s["motors"]["roller"]["position"] > 0.01 or s["motors"]["backrest"]["position"] > 0.01:
        p.append(f"after Stop: roller {s['motors']['roller']}, backrest {s['motors']['backrest']}")


def test_authorization_reading_and_stopping_open_control_not(p, d, bus):
    r = busctl(bus, "get-property", NAME, PATH, IFACE, "State", user="nobody")
    if r.returncode != 0:
        p.append(f"nobody cannot read: {r.stderr}")
    for args in [("Start", "sa{sv}", "quick", "0"), ("SetHeat", "su", "lumbar", "1"), ("Recline", "s", "flat"),
                 ("ReloadPrograms",), ("SetIntensity", "u", "4")]:
        r = busctl(bus, "call", NAME, PATH, IFACE, *args, user="nobody")
        if r.returncode == 0 or "Controlling the chair needs root" not in r.stderr:
            p.append(f"nobody {args[0]}: rc {r.returncode} {r.stderr.strip()}")
    r = busctl(bus, "set-property", NAME, PATH, IFACE, "Locked", "b", "true", user="nobody")
    if r.returncode == 0:
        p.append("nobody could set the child lock")
    r = chairctl(bus, "start", "quick", user="nobody")
    if r.returncode != 1 or "NotPermitted" not in r.stderr:
        p.append(f"chairctl start as nobody: rc {r.returncode}: {r.stderr.strip()}")
    for method in ("EmergencyStop", "Release", "Stop"):
        r = busctl(bus, "call", NAME, PATH, IFACE, method, user="nobody")
        if r.returncode != 0:
            p.append(f"nobody {method}: {r.stderr.strip()}")
    if d.get("Fault") != "emergency-stop":
        p.append(f"Fault after nobody's EmergencyStop: {d.get('Fault')}")
    r = busctl(bus, "call", NAME, PATH, IFACE, "ResetFault", user="nobody")
    if r.returncode == 0:
        p.append("nobody could reset the fault")
    d.chair.ResetFault()
    if d.get("Fault") != "":
        p.append("root could not reset the fault")


NOBODY_CALLS_TWICE = """
import sys, dbus
chair = dbus.Interface(dbus.bus.BusConnection(sys.argv[1]).get_object(sys.argv[2], sys.argv[3]), sys.argv[2])
for _ in range(2):
    try:
        chair.SetHeat("lumbar", dbus.UInt32(1))
        print("allowed")
    except dbus.exceptions.DBusException as e:
        print(e.get_dbus_name())
"""


def test_remembered_credentials_keep_callers_apart(p, d, bus):
    # chaird looks a caller up once per connection and remembers 16 of them: root's answer must never
    # serve another connection, and more callers than that must not let anyone in or keep root out.
    if call_error(d.chair.SetHeat, "lumbar", dbus.UInt32(1)) is not None:
        p.append("root could not heat")
    for i in range(20):
        r = busctl(bus, "call", NAME, PATH, IFACE, "SetHeat", "su", "lumbar", "2", user="nobody")
        if r.returncode == 0 or "NotPermitted" not in r.stderr and "needs root" not in r.stderr:
            p.append(f"nobody's connection {i} was let in: rc {r.returncode} {r.stderr.strip()}")
            break
    if call_error(d.chair.SetHeat, "lumbar", dbus.UInt32(0)) is not None:
        p.append("root could not heat after 20 other callers")
    r = subprocess.run(["runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c", NOBODY_CALLS_TWICE, bus.address,
                        NAME, PATH], capture_output=True, text=True, timeout=30)
    if r.stdout.split() != [ERR + "NotPermitted"] * 2:
        p.append(f"nobody calling twice on one connection: {r.stdout.split()} {r.stderr.strip()[-200:]}")
    if d.get("Heat")["lumbar"] != 0:
        p.append(f"lumbar heat is {d.get('Heat')['lumbar']}, set by whom?")


def test_control_group_member_may_control_and_the_child_lock_stops_them(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "group"), bus, extra=("--control-group", "nogroup"))
    try:
        r = chairctl(bus, "heat", "lumbar", "1", user="nobody")
        if r.returncode != 0:
            p.append(f"a member of the control group could not heat: {r.stderr.strip()}")
        if not wait_for(lambda: d.sim.state()["heaters"]["lumbar"]["commanded"], 5):
            p.append("SetHeat by a member did not reach the heater")
        r = chairctl(bus, "lock", "on", user="nobody")
        if r.returncode != 0 or d.get("Locked") != True:  # noqa: E712
            p.append(f"a member could not lock: {r.stderr.strip()}")
        r = chairctl(bus, "start", "quick", user="nobody")
        if r.returncode != 1 or "Locked" not in r.stderr:
            p.append(f"locked, a member's start: rc {r.returncode} {r.stderr.strip()}")
        t0 = time.monotonic()  # includes starting chairctl as nobody: an upper bound
        r = chairctl(bus, "stop", user="nobody")
        if r.returncode != 0:
            p.append(f"locked, a member could not stop: {r.stderr.strip()}")
        if not wait_for(lambda: not d.sim.state()["heaters"]["lumbar"]["commanded"], 5, 0.005):
            p.append("Stop did not turn the heat off")
        else:
            print(f"# reaction locked, Stop -> heat off in chair-sim: {(time.monotonic() - t0) * 1000:.0f} ms")
        if call_error(d.chair.Start, "quick", {}) is not None:
            p.append("locked, root could not start")
        d.chair.Stop()
        r = chairctl(bus, "lock", "off", user="nobody")
        if r.returncode != 0 or d.get("Locked") != False:  # noqa: E712
            p.append(f"a member could not unlock: {r.stderr.strip()}")
    finally:
        d.close()


def test_jog_stops_by_itself_300ms_after_the_last_call(p, d, bus):
    d.chair.Jog("legrest", 1)
    if not wait_for(lambda: d.sim.state()["motors"]["legrest"]["driven"], 2):
        p.append("the legrest did not move")
    if not wait_for(lambda: not d.sim.state()["motors"]["legrest"]["run"], 2):
        p.append("the legrest kept its run output on after the dead-man time")
    a = d.sim.state()["motors"]["legrest"]["position"]
    time.sleep(0.5)
    b = d.sim.state()["motors"]["legrest"]["position"]
    if a != b or not 0 < b < 1:
        p.append(f"legrest after the jog: {a} then {b}")
    r = chairctl(bus, "jog", "legrest", "down", "--time", "1s")
    if r.returncode != 0 or d.sim.state()["motors"]["legrest"]["position"] >= b:
        p.append(f"chairctl jog legrest down: rc {r.returncode} {r.stderr.strip()}, position "
                 f"{d.sim.state()['motors']['legrest']['position']} (was {b})")


def test_a_recline_right_after_jogs_goes_on_to_the_preset(p, d, bus):
    """Eight alternating legrest jogs 0.2 s apart, then Recline flat within the last one's hold time (a person
    letting go of the jog and tapping a preset): the jog's hold-to-move timer ends only its own jog, so the
    board's legrest reaches flat (it used to stop 0.1 s into the recline, chaird still saying flat); and
    Recline names no preset once a Stop cuts a recline short."""
    def resting():
        return d.state() == "idle" and not any(m["run"] for m in d.sim.state()["motors"].values())

    d.chair.Recline("upright")
    wait_for(resting, 10, 0.05)
    for i in range(8):
        d.chair.Jog("legrest", dbus.Int32(1 if i % 2 == 0 else -1))
        time.sleep(0.2)
    if d.get("Recline") != "":
        p.append(f"after the jogs Recline reads {d.get('Recline')!r}")
    d.chair.Recline("flat")
    time.sleep(0.3)
    if not wait_for(resting, 10, 0.05):
        p.append(f"the recline did not come to rest: {d.sim.state()['motors']}")
    motors = d.sim.state()["motors"]
    for axis in ("backrest", "legrest"):
        if abs(motors[axis]["position"] - 1.0) > 0.01:
            p.append(f"Recline(flat) after the jogs: the {axis} stopped at {motors[axis]['position']:.3f}")
    if d.get("Recline") != "flat" or d.get("Fault") != "":
        p.append(f"at flat: Recline {d.get('Recline')!r}, Fault {d.get('Fault')!r}")
    d.chair.Recline("upright")
    time.sleep(0.2)  # on its way: 0.2 s of the legrest's 0.75 s travel at time scale 20
    d.chair.Stop()
    wait_for(resting, 10, 0.05)
    legrest = d.sim.state()["motors"]["legrest"]["position"]
    if not 0.02 < legrest < 0.98 or d.get("Recline") != "":
        p.append(f"a Stop midway (legrest at {legrest:.3f}): Recline reads {d.get('Recline')!r}, not ''")
    d.chair.Recline("upright")
    wait_for(resting, 10, 0.05)


def test_pause_freezes_time_and_resume_goes_on(p, d, bus):
    d.chair.Start("quick", {})
    if not wait_for(lambda: d.get("Phase") == "Kneading" and d.sim.state()["roller"]["kneading"] > 0, 30):
        p.append("quick never reached its kneading")
    d.chair.Pause()
    if d.state() != "paused":
        p.append(f"state after Pause: {d.state()}")
    if not wait_for(lambda: d.sim.state()["roller"]["kneading"] == 0 and not d.sim.state()["motors"]["roller"]["run"], 2):
        p.append(f"the roller did not stop on Pause: {d.sim.state()['roller']}")
    e1 = int(d.get("ElapsedUSec"))
    time.sleep(1.0)
    e2 = int(d.get("ElapsedUSec"))
    if e1 != e2:
        p.append(f"elapsed moved while paused: {e1} -> {e2}")
    d.chair.Resume()
    time.sleep(0.5)
    e3 = int(d.get("ElapsedUSec"))
    if not (d.state() == "running" and e3 > e2 and e3 - e2 < SCALE * 2 * 10**6):
        p.append(f"after Resume: {d.state()}, elapsed {e2} -> {e3}")
    if not wait_for(lambda: d.sim.state()["roller"]["kneading"] > 0, 5):
        p.append("kneading did not resume")


def test_live_intensity_and_heat_apply_at_once(p, d, bus):
    d.chair.Start("quick", {})
    # quick's Kneading phase works at depth 3 all through: intensity 3 is that, each step one level more or less.
    if not wait_for(lambda: d.get("Phase") == "Kneading" and d.sim.state()["roller"]["depth"] == 3, 30):
        p.append(f"quick's kneading is not at depth 3: {d.sim.state()['roller']}")
    for intensity, depth in [(4, 4), (1, 1), (5, 5)]:
        d.chair.SetIntensity(dbus.UInt32(intensity))
        if not wait_for(lambda: d.sim.state()["roller"]["depth"] == depth, 1):
            p.append(f"depth at intensity {intensity}: {d.sim.state()['roller']['depth']}, want {depth}")
    if d.get("Intensity") != 5:
        p.append(f"Intensity: {d.get('Intensity')}")
    d.chair.SetHeat("calves", dbus.UInt32(3))
    if not wait_for(lambda: d.sim.state()["heaters"]["calves"]["commanded"], 1):
        p.append("calves heat did not come on at once")
    if d.get("Heat")["calves"] != 3:
        p.append(f"Heat: {dict(d.get('Heat'))}")
    d.chair.SetIntensity(dbus.UInt32(3))


def test_session_cap_ends_a_program_with_timeout(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "cap"), bus, replace=[("session-cap: 30m", "session-cap: 5m")],
               stock=["quick"])
    try:
        listener = Listener(bus)
        d.chair.Start("quick", {})  # 5 minutes: exactly the cap, so only a pause can reach it
        t0 = time.monotonic()
        wait_for(lambda: d.state() == "running", 30)
        d.chair.Pause()
        pump_until(lambda: listener.finished, 5 * 60 / SCALE + 5)
        late = (time.monotonic() - t0) - 5 * 60 / SCALE
        print(f"# reaction session cap (5 min of chair time at scale {SCALE}) -> ended: {late * 1000:.0f} ms "
              "after the cap, counted from the Start call")
        if listener.finished != [("quick", "timeout")]:
            p.append(f"Finished: {listener.finished}")
        if call_error(d.chair.Start, "quick", {"duration": dbus.UInt64(6 * 60 * 10**6)}) != ERR + "InvalidArgument":
            p.append("a duration longer than the cap was accepted")
    finally:
        d.close()


def broken_programs(d):
    return {os.path.basename(str(path)): str(msg) for path, msg in d.get("BrokenPrograms")}


def test_a_broken_file_is_left_out_listed_and_keeps_its_last_good_program(p, d, bus):
    listener = Listener(bus)
    om = dbus.Interface(d.obj, "org.freedesktop.DBus.ObjectManager")
    before = set(str(k) for k in om.GetManagedObjects())
    quick = open(os.path.join(SRC, "programs/quick.yaml")).read()
    local = lambda name: os.path.join(d.local, name)  # noqa: E731
    open(local("mine.yaml"), "w").write("id: mine\n" + quick)
    d.chair.ReloadPrograms()
    # A new broken file, a broken override of a stock program, a good new one, and a good one broken by an
    # edit: the good ones load, the broken ones are listed, nothing else changes.
    open(local("broken.yaml"), "w").write("name: Broken\nphases:\n  - name: A\n    duration: soon\n")
    open(local("relax.yaml"), "w").write("id: relax\nname: My relax\nphases: 3\n")
    open(local("fresh.yml"), "w").write("id: fresh\n" + quick)
    open(local("mine.yaml"), "w").write("id: mine\nname: Mine\nphases:\n  - name: A\n    roller: {technique: knead}\n")
    err = call_error(d.chair.ReloadPrograms)
    if err != ERR + "InvalidProgram":
        p.append(f"ReloadPrograms with broken files: {err}, not InvalidProgram")
    objects = set(str(k) for k in om.GetManagedObjects())
    prefix = "/io/chaird/Chair1/program/"
    if objects != before | {prefix + "fresh", prefix + "mine"}:
        p.append(f"programs after the reload: added {objects - before}, gone {before - objects}")
    if not pump_until(lambda: prefix + "fresh" in listener.added, 5):
        p.append("no InterfacesAdded for the good new file")
    relax = d.conn.get_object(NAME, prefix + "relax").Get(NAME + ".Program", "Path",
                                                          dbus_interface="org.freedesktop.DBus.Properties")
    if not str(relax).startswith(d.stock_dir):
        p.append(f"a broken override hid the stock relax: its path is {relax}")
    mine = d.conn.get_object(NAME, prefix + "mine").Get(NAME + ".Program", "Name",
                                                        dbus_interface="org.freedesktop.DBus.Properties")
    if str(mine) != "Quick":
        p.append(f"the last good version of mine should stay, got name {mine!r}")
    broken = broken_programs(d)
    if set(broken) != {"broken.yaml", "relax.yaml", "mine.yaml"}:
        p.append(f"BrokenPrograms: {broken}")
    elif "broken.yaml:4:15: error:" not in broken["broken.yaml"] or "mine.yaml:5:" not in broken["mine.yaml"]:
        p.append(f"BrokenPrograms does not give each file's first error at its place: {broken}")
    # A valid file (named after the broken one) with the id of its last good program: the valid one wins.
    open(local("mine.yml"), "w").write("id: mine\n" + quick.replace("name: Quick", "name: Mine fixed"))
    call_error(d.chair.ReloadPrograms)
    mine = d.conn.get_object(NAME, prefix + "mine").Get(NAME + ".Program", "Name",
                                                        dbus_interface="org.freedesktop.DBus.Properties")
    if str(mine) != "Mine fixed" or "mine.yml" in broken_programs(d):
        p.append(f"a fixed copy lost to a broken file's old program: {mine!r}, {broken_programs(d)}")
    # Other files' errors are no failure of an install.
    got = call_error(d.chair.InstallProgram, "id: installed\n" + quick)
    if got is not None:
        p.append(f"InstallProgram beside broken files: {got}")
    for name in ("broken.yaml", "relax.yaml", "mine.yaml", "fresh.yml", "mine.yml", "installed.yaml"):
        os.unlink(local(name))
    text = open(os.path.join(SRC, "programs/quick.yaml")).read()
    open(local("hup.yaml"), "w").write("id: hup\n" + text)
    d.proc.send_signal(signal.SIGHUP)
    if not pump_until(lambda: prefix + "hup" in listener.added, 5):
        p.append(f"SIGHUP: no InterfacesAdded for hup ({listener.added})")
    os.unlink(local("hup.yaml"))
    d.chair.ReloadPrograms()
    if broken_programs(d) or set(str(k) for k in om.GetManagedObjects()) != before:
        p.append(f"after the files were fixed: BrokenPrograms {broken_programs(d)}")
    if d.proc.poll() is not None:
        p.append("chaird died")


def test_chaird_starts_with_a_broken_program_file(p, d, bus):
    """An installer's typo does not take the chair down: chaird starts with every valid program."""
    path = os.path.join(d.local, "typo.yaml")
    open(path, "w").write("name: Typo\nphases:\n  - name: A\n    rollr: {}\n")
    try:
        d.restart()  # raises when chaird does not come up: the case fails with that
        if d.state() != "idle":
            p.append(f"chaird with a broken program file is {d.state()}")
        if list(broken_programs(d)) != ["typo.yaml"]:
            p.append(f"BrokenPrograms: {broken_programs(d)}")
        if call_error(d.chair.Start, "quick", {}) is not None:
            p.append("a valid program cannot start beside a broken file")
        d.chair.Stop()
    finally:
        os.unlink(path)
        if d.proc.poll() is None:
            d.chair.ReloadPrograms()


def test_install_program_validates_then_writes(p, d, bus):
    text = "id: my-quick\n" + open(os.path.join(SRC, "programs/quick.yaml")).read()
    d.chair.InstallProgram(text)
    path = os.path.join(d.local, "my-quick.yaml")
    if not os.path.exists(path) or open(path).read() != text:
        p.append("the installed file is missing or differs")
    if [f for f in os.listdir(d.local) if "tmp" in f]:
        p.append(f"temporary files left: {os.listdir(d.local)}")
    r = busctl(bus, "get-property", NAME, "/io/chaird/Chair1/program/my_2dquick", IFACE + ".Program", "Name")
    if r.stdout.strip() != 's "Quick"':
        p.append(f"the installed program's object: {r.stdout!r} {r.stderr!r}")
    bad = "id: bad-one\nname: Bad\nphases: []\n"
    if call_error(d.chair.InstallProgram, bad) != ERR + "InvalidProgram" or os.path.exists(os.path.join(d.local, "bad-one.yaml")):
        p.append("an invalid program was installed")
    r = chairctl(bus, "install", os.path.join(SRC, "programs/quick.yaml"))
    if r.returncode != 1 or "id" not in r.stderr:
        p.append(f"chairctl install without id: rc {r.returncode} {r.stderr.strip()}")
    os.unlink(path)
    d.chair.ReloadPrograms()


def test_a_slow_disk_does_not_hold_up_the_running_chair(p, d, bus):
    """InstallProgram's fsync, made to take 1.5 s by strace (as on a tired SD card), happens off the loop: a
    running program goes on, the board keeps its heartbeat (its timeout is 500 ms), another install meanwhile
    is Busy, and the reply comes once the file is on the disk."""
    text = "id: slow-disk\n" + open(os.path.join(SRC, "programs/quick.yaml")).read()
    path = os.path.join(d.local, "slow-disk.yaml")
    d.chair.Start("quick", {})
    tracer = installer = None
    try:
        if not wait_for(lambda: d.state() == "running" and not sim_all_safe(d.sim), 30):
            p.append(f"quick did not start moving: {d.state()} {d.sim.state()}")
            return
        d.sim.ok("clear")  # the board's watchdog latch starts clean
        tracer = subprocess.Popen(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync",
                                   "-e", "inject=fsync:delay_enter=1500000:when=1", "-p", str(d.proc.pid)],
                                  stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # attached to every thread (strace -qq says nothing when it is)
        if tracer.poll() is not None:
            p.append(f"strace could not attach: {tracer.stderr.read().strip()}")
            return
        t0 = time.monotonic()
        installer = subprocess.Popen(["busctl", f"--address={bus.address}", "--timeout=30", "call", NAME, PATH,
                                      IFACE, "InstallProgram", "s", text], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        if not wait_for(lambda: any(".tmp" in f for f in os.listdir(d.local)), 1, 0.01):
            p.append("no temporary file appeared: the install is not writing")
        other = "id: slow-disk-2\n" + open(os.path.join(SRC, "programs/quick.yaml")).read()
        if call_error(d.chair.InstallProgram, other) != ERR + "Busy":
            p.append("a second install while the first writes was not refused with Busy")
        out, err = installer.communicate(timeout=30)
        took = time.monotonic() - t0
        if installer.returncode != 0:
            p.append(f"InstallProgram failed: {err.strip()}")
        if took < 1.4:
            p.append(f"the reply came after {took:.2f} s: the slow fsync was not waited for (or not slowed)")
        if not os.path.exists(path) or open(path).read() != text:
            p.append("the installed file is missing or differs")
        if d.sim.state()["watchdog_latched"]:
            p.append("the board's watchdog tripped while the program was being written")
        if d.get("Fault") != "" or d.state() != "running":
            p.append(f"the running program did not go on: State {d.state()}, Fault {d.get('Fault')!r}")
        objects = dbus.Interface(d.obj, "org.freedesktop.DBus.ObjectManager").GetManagedObjects()
        if "/io/chaird/Chair1/program/slow_2ddisk" not in objects:
            p.append("the installed program was not loaded")
    finally:
        for proc in (installer, tracer):
            if proc and proc.poll() is None:
                proc.terminate()
            if proc:
                proc.communicate()
        d.chair.Stop()
        wait_for(lambda: d.state() in ("idle", "fault"), 30)
        if d.get("Fault"):
            d.sim.ok("clear")
            d.chair.ResetFault()
        for f in os.listdir(d.local):
            if f.startswith("slow-disk"):
                os.unlink(os.path.join(d.local, f))
        d.chair.ReloadPrograms()


def test_emergency_stop_latches_and_reset_clears(p, d, bus):
    listener = Listener(bus)
    d.chair.Start("quick", {})
    wait_for(lambda: d.state() == "running", 30)
    d.chair.EmergencyStop()
    if not wait_for(lambda: sim_all_safe(d.sim), 1):
        p.append(f"not safe after EmergencyStop: {d.sim.state()}")
    pump_until(lambda: listener.finished, 2)
    if listener.finished != [("quick", "emergency-stop")] or d.state() != "fault":
        p.append(f"finished {listener.finished}, state {d.state()}")
    if call_error(d.chair.Start, "quick", {}) != ERR + "Faulted" or call_error(d.chair.Recline, "flat") != ERR + "Faulted":
        p.append("commands were not refused while faulted")
    time.sleep(0.5)
    if not sim_all_safe(d.sim):
        p.append("something moved again by itself while faulted")
    d.chair.ResetFault()
    if d.state() != "idle" or d.get("Fault") != "":
        p.append(f"after ResetFault: {d.state()} {d.get('Fault')}")


def test_chairctl_status_list_json_and_errors(p, d, bus):
    positions = {str(k): float(v) for k, v in d.get("Positions").items()}
    r = chairctl(bus, "--json", "status")
    if r.returncode != 0 or '"State":"idle"' not in r.stdout:
        p.append(f"chairctl --json status: {r.stdout} {r.stderr}")
    # chaird's properties as D-Bus has them, in a fixed order: whole numbers stay whole, doubles stay doubles
    # (24.0, not 24) and exact (not rounded to six digits).
    st = json.loads(r.stdout or "{}")
    if list(st) != ["State", "Program", "Phase", "ElapsedUSec", "DurationUSec", "Intensity", "Recline", "Heat",
                    "Temperatures", "Positions", "Fault", "FaultMessage", "Locked", "Profile", "Shoulders",
                    "Session"]:
        p.append(f"chairctl --json status keys: {list(st)}")
    if st.get("Heat") != {str(k): int(v) for k, v in d.get("Heat").items()} or \
            not all(type(v) is int for v in st["Heat"].values()):
        p.append(f"chairctl --json status Heat: {st.get('Heat')}")
    if not st.get("Temperatures") or not all(type(v) is float for v in st["Temperatures"].values()):
        p.append(f"chairctl --json status Temperatures: {st.get('Temperatures')}")
    if positions == {str(k): float(v) for k, v in d.get("Positions").items()} and st.get("Positions") != positions:
        p.append(f"chairctl --json status Positions: {st.get('Positions')}, D-Bus {positions}")
    r = chairctl(bus, "--json", "list")
    if r.returncode != 0 or '"Id":"relax"' not in r.stdout:
        p.append(f"chairctl --json list: {r.stdout[:200]} {r.stderr}")
    for program in json.loads(r.stdout or "[]"):
        if list(program) != ["Id", "Name", "Description", "DurationUSec", "Path"]:
            p.append(f"chairctl --json list: {program}")
    r = chairctl(bus, "start", "nope")
    if r.returncode != 1 or r.stderr.strip() != "chairctl: No program 'nope' (NoSuchProgram)":
        p.append(f"chairctl start nope: rc {r.returncode}: {r.stderr!r}")
    r = chairctl(bus, "heat", "lumbar", "9")
    if r.returncode != 1 or "InvalidArgument" not in r.stderr:
        p.append(f"chairctl heat lumbar 9: rc {r.returncode} {r.stderr!r}")
    r = subprocess.run([os.path.join(simlib.BUILD, "tools/chairctl/chairctl"), "status"], capture_output=True,
                       text=True, env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent"))
    if r.returncode != 3:
        p.append(f"chairctl without a bus: rc {r.returncode}")
    # A bus that lets chairctl in (the SASL exchange answered) and then drops the connection before the call
    # is answered (a bus restarting, a dropped ssh link): "not reachable" too.
    sock = socket.socket(socket.AF_UNIX)
    path = os.path.join(d.dir, "dropping-bus")
    sock.bind(path)
    sock.listen(4)

    def drop():
        for _ in range(2):
            c, _ = sock.accept()
            rest = b""
            while True:
                data = c.recv(4096)
                if not data:
                    break
                *lines, rest = (rest + data).split(b"\r\n")
                for line in (x.lstrip(b"\0") for x in lines):
                    if line.startswith(b"AUTH") or line.startswith(b"DATA"):
                        c.sendall(b"OK 0123456789abcdef0123456789abcdef\r\n")
                    elif line.startswith(b"NEGOTIATE_UNIX_FD"):
                        c.sendall(b"AGREE_UNIX_FD\r\n")
                if any(x.lstrip(b"\0") == b"BEGIN" for x in lines):
                    break
            c.close()

    t = threading.Thread(target=drop, daemon=True)
    t.start()
    for verb in (["status"], ["stop"]):
        r = subprocess.run([os.path.join(simlib.BUILD, "tools/chairctl/chairctl"), *verb], capture_output=True,
                           text=True, env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=" + path), timeout=30)
        if r.returncode != 3 or "connection was lost" not in r.stderr:
            p.append(f"chairctl {verb[0]} on a bus that drops the connection: rc {r.returncode} {r.stderr!r}")
    t.join(5)
    sock.close()
    r = chairctl(bus, "start", "quick", "--duration", "1m", "--follow")
    if r.returncode != 0 or "quick: completed" not in r.stdout or "Kneading" not in r.stdout:
        p.append(f"chairctl start --follow: rc {r.returncode}: {r.stdout[-300:]} {r.stderr}")


def test_sigterm_leaves_every_output_safe(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "term"), bus)
    try:
        d.chair.Start("quick", {})
        if not wait_for(lambda: d.sim.state()["heaters"]["lumbar"]["commanded"] and
                        any(m["run"] for m in d.sim.state()["motors"].values()), 30):
            p.append(f"quick was not heating and moving before the signal: {d.sim.state()}")
        d.proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        if wait_for(lambda: sim_all_safe(d.sim), 10, 0.005):
            print(f"# reaction SIGTERM -> every output safe in chair-sim: {(time.monotonic() - t0) * 1000:.0f} ms")
        rc = d.proc.wait(timeout=10)
        if rc != 0:
            p.append(f"exit status {rc}")
        if not sim_all_safe(d.sim):
            p.append(f"outputs after SIGTERM: {d.sim.state()}")
    finally:
        d.close()


def test_a_board_up_for_weeks_answers_at_once(p, tmp, bus):
    # A board computer up for 30 days: a time namespace moves chaird's CLOCK_MONOTONIC on (unshare execs chaird
    # itself, so signals reach it). The control tick starts at once and must not run the 26 million ticks
    # since the clock's 0 back to back: they went before D-Bus, and held every call back for minutes while
    # the chair was active, as it is after a kill -9 (fault interrupted) or during a program.
    d = Chaird(os.path.join(tmp, "uptime"), bus, wrap=("unshare", "--time", "--monotonic", str(30 * 86400)))
    try:
        offsets = open(f"/proc/{d.proc.pid}/timens_offsets").read()
        if f"monotonic {30 * 86400} 0" not in " ".join(offsets.split()):
            p.append(f"chaird's clock was not moved on: {offsets!r}")
        if d.state() != "idle":  # a D-Bus call: with the ticks run back to back, it timed out
            p.append(f"state after the start: {d.state()}")
        d.chair.Start("relax", {})
        if not wait_for(lambda: d.state() in ("scanning", "running"), 15):
            p.append(f"relax did not start: {d.state()}")
        d.proc.kill()
        d.proc.wait(timeout=15)
        d.restart()
        if str(d.get("Fault")) != "interrupted":
            p.append(f"after a kill -9: fault {d.get('Fault')!r}")
        d.chair.ResetFault()
        if not wait_for(lambda: d.state() == "idle", 30):
            p.append(f"not idle after the reset: {d.state()} {d.get('Fault')!r}")
    finally:
        d.close()


def test_body_scan_finds_the_shoulders(p, tmp, bus):
    # In real time: at a time scale the roller covers too much track between two polls to place them.
    d = Chaird(os.path.join(tmp, "scan"), bus, scale=1, sim_extra=("--shoulder", "200"))
    try:
        d.chair.Start("quick", {})
        if not wait_for(lambda: d.state() == "running", 15):
            p.append(f"the scan did not end: {d.state()}")
        found = re.findall(r"Body scan: shoulders at (\d+) mm", open(d.log.name).read())
        # The roller runs at 150 mm/s and its position is read every 100 ms: 15 mm a poll. The margin allows
        # for polls delayed on a loaded machine; the scan that ignored the body read the top, 60 mm.
        if len(found) != 1 or abs(int(found[0]) - 200) > 45:
            p.append(f"shoulders found at {found}, expected 200 mm")
        d.chair.Stop()
    finally:
        d.close()


def test_a_program_over_modbus_rtu(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "rtu"), bus, rtu=True)
    try:
        listener = Listener(bus)
        d.chair.Start("quick", {"duration": dbus.UInt64(60 * 10**6)})
        heated = wait_for(lambda: d.sim.state()["heaters"]["lumbar"]["commanded"], 30)
        pump_until(lambda: listener.finished, 60)
        if not heated or listener.finished != [("quick", "completed")]:
            p.append(f"over RTU: heated {heated}, finished {listener.finished}")
    finally:
        d.close()


def test_release_vents_every_bag_stops_the_rollers_and_opens_the_legrest(p, d, bus):
    listener = Listener(bus)
    d.chair.Start("quick", {})
    # quick's Kneading phase runs an airbag wave over calves and feet with the roller kneading.
    if not wait_for(lambda: any(v != "vent" for v in d.sim.state()["valves"].values()), 40):
        p.append("no airbag ever filled")
    before = d.sim.state()["motors"]["legrest"]["position"]
    # The time includes starting busctl as nobody: an upper bound.
    t0 = time.monotonic()
    r = busctl(bus, "call", NAME, PATH, IFACE, "Release", user="nobody")
    if r.returncode != 0:
        p.append(f"nobody could not Release: {r.stderr.strip()}")

    def released(s):
        return (all(v == "vent" for v in s["valves"].values()) and not s["pump"]["on"] and s["roller"]["kneading"] == 0
                and s["roller"]["tapping"] == 0 and not s["motors"]["roller"]["run"])
    if not wait_for(lambda: released(d.sim.state()), 1, 0.005):
        p.append(f"1 s after Release: {d.sim.state()}")
    else:
        print(f"# reaction Release -> every bag venting, pump and rollers off: {(time.monotonic() - t0) * 1000:.0f} ms")
    if before < 0.999:
        if wait_for(lambda: d.sim.state()["motors"]["legrest"]["run"] and
                    d.sim.state()["motors"]["legrest"]["target"] >= 0.999, 1, 0.005):
            print(f"# reaction Release -> legrest opening: {(time.monotonic() - t0) * 1000:.0f} ms")
        else:
            p.append(f"1 s after Release the legrest is not driven open: {d.sim.state()['motors']['legrest']}")
    if not wait_for(lambda: d.sim.state()["motors"]["legrest"]["position"] > before + 0.05 or
                    d.sim.state()["motors"]["legrest"]["position"] >= 0.999, 5):
        p.append(f"the legrest did not open: {d.sim.state()['motors']['legrest']} (was {before})")
    pump_until(lambda: listener.finished, 2)
    if listener.finished != [("quick", "stopped")] or d.get("Recline") != "":
        p.append(f"Finished {listener.finished}, Recline {d.get('Recline')!r}")


def test_emergency_stop_button_latches_until_released_and_reset(p, d, bus):
    listener = Listener(bus)
    d.chair.Start("quick", {})
    if not wait_for(lambda: d.sim.state()["heaters"]["lumbar"]["commanded"], 30):
        p.append("quick did not start heating")
    d.sim.ok("estop press")
    if not wait_for(lambda: sim_all_safe(d.sim), 1):
        p.append(f"1 s after the button: {d.sim.state()}")
    pump_until(lambda: listener.finished, 2)
    if listener.finished != [("quick", "emergency-stop")] or d.get("Fault") != "emergency-stop":
        p.append(f"Finished {listener.finished}, Fault {d.get('Fault')!r}")
    if call_error(d.chair.ResetFault) != ERR + "Interlocked":
        p.append("ResetFault succeeded while the button was still pressed")
    d.sim.ok("estop release")
    if not wait_for(lambda: call_error(d.chair.ResetFault) is None, 2):
        p.append("ResetFault kept failing after the button was released")
    if d.state() != "idle" or not sim_all_safe(d.sim):
        p.append(f"after the reset: {d.state()}, {d.sim.state()}")


def test_a_board_silent_longer_than_comm_loss_is_a_fault(p, d, bus):
    listener = Listener(bus)
    d.chair.Start("quick", {})
    if not wait_for(lambda: d.state() == "running", 30):
        p.append("quick did not start")
    d.sim.ok("comm drop 3000")
    t0 = time.monotonic()
    # Lost after the driver's timeout and retries (about 0.3 s), a fault after safety.comm-loss (1 s) more.
    if not pump_until(lambda: listener.finished, 3):
        p.append("no fault within 3 s of the board going silent")
    else:
        print(f"# reaction board silent -> fault comm-lost (comm-loss 1s): {(time.monotonic() - t0) * 1000:.0f} ms")
    if listener.finished != [("quick", "fault")] or d.get("Fault") != "comm-lost":
        p.append(f"Finished {listener.finished}, Fault {d.get('Fault')!r}")
    if call_error(d.chair.ResetFault) != ERR + "Interlocked":
        p.append("ResetFault succeeded while the board was still silent")
    # The board's own watchdog held it safe meanwhile; once it answers, chaird's safe state is written again.
    if not wait_for(lambda: call_error(d.chair.ResetFault) is None, 6):
        p.append("ResetFault kept failing after the board came back")
    if not sim_all_safe(d.sim):
        p.append(f"after the board came back: {d.sim.state()}")


def context_switches(pid):
    """Voluntary and involuntary, of every thread: each is a wakeup."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        for line in open(f"/proc/{pid}/task/{task}/status"):
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                total += int(line.split()[1])
    return total


def idle_switches(d, seconds):
    """Context switches of chaird in seconds of idle, after the linger."""
    if not wait_for(lambda: d.state() == "idle", 30):
        return None
    time.sleep(1.5)  # the linger after falling idle
    a = context_switches(d.proc.pid)
    time.sleep(seconds)
    return context_switches(d.proc.pid) - a


def test_idle_chaird_wakes_up_only_to_watch_its_heat(p, d):
    """An idle chaird has no tick and no polling. The virtual chair has heaters: it is read every
    safety.heat-idle-read (5 s), for an element that heats by itself, and for nothing else: in 10 s two
    reads (8 to 12 context switches each), where a 100 ms tick would make hundreds."""
    n = idle_switches(d, 10)
    if n is None or not 1 <= n <= 40:
        p.append(f"{n} context switches in 10 s of idle with heaters (State {d.state()})")


def test_an_idle_chair_without_heaters_wakes_up_for_nothing(p, tmp, bus):
    """Without heaters (and without relay-pair motors counted on a board) an idle chaird has no tick, no
    polling, no timers: its threads do not run at all."""
    text = open(os.path.join(SRC, "config/sim.yaml")).read()
    heaters = text[text.index("heaters:\n"):text.index("foot-rollers:")]
    d = Chaird(os.path.join(tmp, "noheat"), bus, replace=[(heaters, "")])
    try:
        n = idle_switches(d, 3)
        if n is None or n > 2:  # a stray preemption at most; a 100 ms tick would be about 60
            p.append(f"{n} context switches in 3 s of idle (State {d.state()})")
    finally:
        d.close()


def test_safe_state_mode_writes_every_output_safe_and_fails_on_a_dead_board(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "safe"), bus)
    try:
        d.chair.Start("quick", {})
        if not wait_for(lambda: d.sim.state()["heaters"]["lumbar"]["commanded"], 30):
            p.append("quick did not start heating")
        d.proc.send_signal(signal.SIGKILL)  # no chance to clean up; --safe-state must
        d.proc.wait(timeout=10)
        chaird = os.path.join(simlib.BUILD, "daemon/chaird")
        r = subprocess.run([chaird, "--safe-state", "--config", d.config], capture_output=True, text=True, timeout=30)
        if r.returncode != 0 or not sim_all_safe(d.sim):
            p.append(f"--safe-state: rc {r.returncode} {r.stderr.strip()}; chair-sim {d.sim.state()}")
        dead = os.path.join(tmp, "safe", "dead.yaml")
        open(dead, "w").write(open(d.config).read().replace(f"port: {d.sim.port}", f"port: {simlib.free_tcp_port()}"))
        start = time.monotonic()
        r = subprocess.run([chaird, "--safe-state", "--config", dead], capture_output=True, text=True, timeout=30)
        if r.returncode != 1 or "could not be written" not in r.stderr or time.monotonic() - start > 10:
            p.append(f"--safe-state on a dead board: rc {r.returncode} {r.stderr.strip()}")
    finally:
        d.close()


@contextlib.contextmanager
def private_bus(tmp):
    """A private system bus in tmp, for the suites' cases; closed at the end."""
    os.chmod(tmp, 0o755)  # nobody must reach the bus socket
    bus = SystemBus(tmp)
    try:
        yield bus
    finally:
        bus.close()


def run_on_chaird(tap, bus, directory, cases, settle=True, **kw):
    """Runs cases, (name, fn) pairs, each as fn(problems, d, bus) against one chaird d in directory on bus (kw
    as Chaird takes them), settling it between cases unless settle is False; closes it at the end."""
    with contextlib.closing(Chaird(directory, bus, **kw)) as d:
        simlib.run_cases(tap, cases, d, bus, chaird=d if settle else None)


def cases(tap, tmp):
    with private_bus(tmp) as bus:
        run_cases(tap, tmp, bus)


def run_cases(tap, tmp, bus):
    d = Chaird(os.path.join(tmp, "main"), bus)
    try:
        simlib.run_cases(tap, [
            ("ready_only_after_the_name_is_owned", lambda p: test_ready_only_after_the_name_is_owned(p, d)),
            ("three_clients_read_every_property", lambda p: test_three_clients_read_every_property(p, d, bus)),
            ("one_object_per_program", lambda p: test_one_object_per_program(p, d, bus)),
            ("bad_arguments_get_typed_errors", lambda p: test_bad_arguments_get_typed_errors(p, d, bus)),
            ("validate_program_reports_line_and_column",
             lambda p: test_validate_program_reports_line_and_column(p, d, bus)),
            ("program_runs_to_completion_with_setpoints_in_chair_sim",
             lambda p: test_program_runs_to_completion_with_setpoints_in_chair_sim(p, d, bus)),
            ("signals_reach_two_clients_at_once", lambda p: test_signals_reach_two_clients_at_once(p, d, bus)),
            ("stop_is_graceful_and_open_to_every_user", lambda p: test_stop_is_graceful_and_open_to_every_user(p, d, bus)),
            ("authorization_reading_and_stopping_open_control_not",
             lambda p: test_authorization_reading_and_stopping_open_control_not(p, d, bus)),
            ("remembered_credentials_keep_callers_apart",
             lambda p: test_remembered_credentials_keep_callers_apart(p, d, bus)),
            ("jog_stops_by_itself_300ms_after_the_last_call",
             lambda p: test_jog_stops_by_itself_300ms_after_the_last_call(p, d, bus)),
            ("a_recline_right_after_jogs_goes_on_to_the_preset",
             lambda p: test_a_recline_right_after_jogs_goes_on_to_the_preset(p, d, bus)),
            ("pause_freezes_time_and_resume_goes_on", lambda p: test_pause_freezes_time_and_resume_goes_on(p, d, bus)),
            ("live_intensity_and_heat_apply_at_once", lambda p: test_live_intensity_and_heat_apply_at_once(p, d, bus)),
            ("a_broken_file_is_left_out_listed_and_keeps_its_last_good_program",
             lambda p: test_a_broken_file_is_left_out_listed_and_keeps_its_last_good_program(p, d, bus)),
            ("chaird_starts_with_a_broken_program_file",
             lambda p: test_chaird_starts_with_a_broken_program_file(p, d, bus)),
            ("install_program_validates_then_writes", lambda p: test_install_program_validates_then_writes(p, d, bus)),
            ("a_slow_disk_does_not_hold_up_the_running_chair",
             lambda p: test_a_slow_disk_does_not_hold_up_the_running_chair(p, d, bus)),
            ("emergency_stop_latches_and_reset_clears", lambda p: test_emergency_stop_latches_and_reset_clears(p, d, bus)),
            ("chairctl_status_list_json_and_errors", lambda p: test_chairctl_status_list_json_and_errors(p, d, bus)),
            ("release_vents_every_bag_stops_the_rollers_and_opens_the_legrest",
             lambda p: test_release_vents_every_bag_stops_the_rollers_and_opens_the_legrest(p, d, bus)),
            ("emergency_stop_button_latches_until_released_and_reset",
             lambda p: test_emergency_stop_button_latches_until_released_and_reset(p, d, bus)),
            ("a_board_silent_longer_than_comm_loss_is_a_fault",
             lambda p: test_a_board_silent_longer_than_comm_loss_is_a_fault(p, d, bus)),
            ("idle_chaird_wakes_up_only_to_watch_its_heat",
             lambda p: test_idle_chaird_wakes_up_only_to_watch_its_heat(p, d)),
        ], chaird=d)
    finally:
        d.close()
    tap.case("control_group_member_may_control_and_the_child_lock_stops_them",
             lambda p: test_control_group_member_may_control_and_the_child_lock_stops_them(p, tmp, bus))
    tap.case("an_idle_chair_without_heaters_wakes_up_for_nothing",
             lambda p: test_an_idle_chair_without_heaters_wakes_up_for_nothing(p, tmp, bus))
    tap.case("session_cap_ends_a_program_with_timeout", lambda p: test_session_cap_ends_a_program_with_timeout(p, tmp, bus))
    tap.case("safe_state_mode_writes_every_output_safe_and_fails_on_a_dead_board",
             lambda p: test_safe_state_mode_writes_every_output_safe_and_fails_on_a_dead_board(p, tmp, bus))
    tap.case("sigterm_leaves_every_output_safe", lambda p: test_sigterm_leaves_every_output_safe(p, tmp, bus))
    tap.case("a_program_over_modbus_rtu", lambda p: test_a_program_over_modbus_rtu(p, tmp, bus))
    tap.case("body_scan_finds_the_shoulders", lambda p: test_body_scan_finds_the_shoulders(p, tmp, bus))
    tap.case("a_board_up_for_weeks_answers_at_once", lambda p: test_a_board_up_for_weeks_answers_at_once(p, tmp, bus))


if __name__ == "__main__":
    simlib.main(cases, sys.argv[1])
