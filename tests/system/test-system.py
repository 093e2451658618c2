#!/usr/bin/env python3
"""The system tests, run as root inside the VM of tests/system/run: chaird.service as installed, on the
real system bus with the shipped policy, its GPIO lines on the kernel's gpio-sim (config/hil.yaml) and
chair-sim as its Modbus board. What each case checks is read from the outside: gpio-sim's line values,
chair-sim's physical state, systemd's view of the service. TAP output."""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from simlib import SimControl, Tap, call_error, module_cases, run_cases, wait_for  # noqa: E402

import dbus  # noqa: E402

NAME = "io.chaird.Chair1"
PATH = "/io/chaird/Chair1"
ERR = "io.chaird.Chair1.Error."
HEATS = ("HEAT_LUMBAR", "HEAT_CALVES")   # the output lines of config/hil.yaml: the heater relays
RELAYS = {"backrest": ("BACKREST_EXTEND", "BACKREST_RETRACT"), "legrest": ("LEGREST_EXTEND", "LEGREST_RETRACT")}
OUTPUTS = HEATS + RELAYS["backrest"] + RELAYS["legrest"]
REVERSE_DELAY_MS = 300   # the relay pairs' reverse-delay (the default)
# The inputs the tests drive themselves; chair-sim drives the hall sensor and limit switch lines.
TEST_INPUTS = ("ESTOP",)
sim = SimControl("/run/chair-sim.sock")


class Lines:
    """The gpio-sim chip: line offsets by name from configfs, values and pulls through sysfs."""

    def __init__(self):
        self.chip = open("/run/chair-hil-gpio").read().strip()
        bank = "/sys/kernel/config/gpio-sim/chair/gpio-bank0"
        self.offset = {}
        for entry in os.listdir(bank):
            if entry.startswith("line"):
                self.offset[open(f"{bank}/{entry}/name").read().strip()] = int(entry[4:])

    def value(self, name):
        return int(open(f"{self.chip}/sim_gpio{self.offset[name]}/value").read())

    def drive(self, name, high):
        with open(f"{self.chip}/sim_gpio{self.offset[name]}/pull", "w") as f:
            f.write("pull-up" if high else "pull-down")

    def outputs(self, names=OUTPUTS):
        return {n: self.value(n) for n in names}


lines = Lines()


def chair():
    return dbus.Interface(dbus.SystemBus().get_object(NAME, PATH, introspect=False), NAME)


def prop(name):
    obj = dbus.SystemBus().get_object(NAME, PATH, introspect=False)
    return obj.Get(NAME, name, dbus_interface="org.freedesktop.DBus.Properties")


SIGNATURES = {"Get": "ss", "Start": "sa{sv}", "SetHeat": "su", "Recline": "s", "Stop": "", "History": "u",
              "GetProfile": "s", "SelectProfile": "s"}


def call_as(user, method, *args):
    """Calls a method of the chair as another user (a new process and bus connection): returns 'ok' or
    the error's name."""
    interface = "org.freedesktop.DBus.Properties" if method == "Get" else NAME
    code = ("import dbus\n"
            "o = dbus.SystemBus().get_object('io.chaird.Chair1', '/io/chaird/Chair1', introspect=False)\n"
            "try:\n"
            f"    o.get_dbus_method({method!r}, {interface!r})(*{args!r}, signature={SIGNATURES[method]!r})\n"
            "    print('ok')\n"
            "except dbus.exceptions.DBusException as e:\n"
            "    print(e.get_dbus_name())\n")
    out = subprocess.run(["runuser", "-u", user, "--", "python3", "-c", code], capture_output=True, text=True,
                         timeout=30)
    return out.stdout.strip() or out.stderr.strip()


def systemd(*args):
    return subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=60).stdout.strip()


def show(prop_name):
    return systemd("show", "chaird.service", "-p", prop_name, "--value")


def service_up(timeout=60):
    def up():
        if systemd("is-active", "chaird.service") != "active":
            return False
        try:
            return str(prop("State"))
        except dbus.exceptions.DBusException:
            return False
    return wait_for(up, timeout, 0.2)


def moving(state):
    return [m for m, s in state["motors"].items() if s["driven"]]


def board_safe(state, wiring=("board", "gpio")):
    """What is not safe on the board: driven motors (those wired so), energized heaters, the pump."""
    bad = [f"motor {m} driven" for m in moving(state) if state["motors"][m]["wiring"] in wiring]
    bad += [f"heater {h} energized" for h, s in state["heaters"].items() if s["energized"]]
    if state["pump"]["on"]:
        bad.append("pump on")
    return bad


def all_safe(problems, what):
    on = [n for n, v in lines.outputs().items() if v]
    if on:
        problems.append(f"{what}: output lines still active: {on}")
    bad = board_safe(sim.state())
    if bad:
        problems.append(f"{what}: the board is not safe: {bad}")


def settle():
    """Back to a quiet chair between cases: nothing pressed, no fault, nothing on."""
    for name in TEST_INPUTS:
        lines.drive(name, False)
    sim.ok("clear")
    service_up()
    if str(prop("State")) == "fault":
        wait_for(lambda: call_error(chair().ResetFault) is None, 5, 0.2)
    chair().Stop()
    wait_for(lambda: str(prop("State")) == "idle", 60, 0.2)


def test_the_service_reaches_ready(problems):
    state = service_up()
    if state != "idle":
        problems.append(f"chaird.service is not up and idle: {systemd('status', 'chaird.service')}")
        return
    for key, want in (("Type", "notify"), ("WatchdogUSec", "2s"), ("User", "chaird")):
        if show(key) != want:
            problems.append(f"{key} is {show(key)!r}, not {want!r}")
    pid = show("MainPID")
    user = subprocess.run(["ps", "-o", "user=", "-p", pid], capture_output=True, text=True).stdout.strip()
    if user != "chaird":
        problems.append(f"chaird runs as {user!r}, not as its own user")
    # chaird reads the board (an idle chair reads it once, then rests: no heartbeat while idle).
    positions = dict(prop("Positions"))
    if set(positions) != {"backrest", "legrest", "roller"}:
        problems.append(f"chaird has not read the board: Positions {positions}")
    # The stock unit as trixie's systemd rates it, and the unit as it runs here (with the TCP drop-in).
    for what, args in (("stock unit", ["--offline=true", "/usr/lib/systemd/system/chaird.service"]),
                       ("with the Modbus TCP drop-in", ["chaird.service"])):
        out = subprocess.run(["systemd-analyze", "security", "--no-pager", *args], capture_output=True,
                             text=True).stdout
        level = [line for line in out.splitlines() if "Overall exposure level" in line]
        print(f"# {what}: {level[0] if level else out.strip()[-200:]}")
        if what == "stock unit" and (not level or float(level[0].split(":")[1].split()[0]) > 1.5):
            problems.append(f"the stock unit's exposure is above 1.5: {level}")


def test_a_local_user_reads_and_stops_but_cannot_start_or_heat(problems):
    settle()
    if call_as("alice", "Get", NAME, "State") != "ok":
        problems.append("alice cannot read State")
    if call_as("alice", "Get", NAME, "Usage") != "ok" or call_as("alice", "History", 10) != "ok":
        problems.append("alice cannot read the usage counters or the history")
    # Reading a profile passes the policy (chaird answers); choosing one does not.
    if call_as("alice", "GetProfile", "nobody-here") != ERR + "NoSuchProfile":
        problems.append(f"alice's GetProfile: {call_as('alice', 'GetProfile', 'nobody-here')}")
    for method, args in (("Stop", ()), ("SetHeat", ("lumbar", 0))):
        got = call_as("alice", method, *args)
        if got != "ok":
            problems.append(f"alice's {method}{args} failed: {got}")
    for method, args, want in (("Start", ("relax", {}), "org.freedesktop.DBus.Error.AccessDenied"),
                               ("Recline", ("flat",), "org.freedesktop.DBus.Error.AccessDenied"),
                               ("SelectProfile", ("anna",), "org.freedesktop.DBus.Error.AccessDenied"),
                               ("SetHeat", ("lumbar", 2), ERR + "NotPermitted")):
        got = call_as("alice", method, *args)
        if got != want:
            problems.append(f"alice's {method}{args}: {got}, not {want}")
    time.sleep(0.5)
    if lines.value("HEAT_LUMBAR") or moving(sim.state()) or str(prop("State")) != "idle":
        problems.append("something moved or heated for alice")


def test_a_member_of_chair_controls_it(problems):
    settle()
    got = call_as("bob", "SetHeat", "lumbar", 1)
    if got != "ok":
        problems.append(f"bob's SetHeat(lumbar, 1): {got}")
    elif not wait_for(lambda: lines.value("HEAT_LUMBAR") == 1, 3):
        problems.append("bob's SetHeat did not switch the lumbar relay on")
    got = call_as("bob", "Start", "relax", {})
    if got != "ok":
        problems.append(f"bob's Start(relax): {got}")
    elif not wait_for(lambda: str(prop("Program")) == "relax" and moving(sim.state()), 10):
        problems.append("bob's program did not run")
    got = call_as("bob", "Stop")
    if got != "ok" or not wait_for(lambda: lines.value("HEAT_LUMBAR") == 0, 3):
        problems.append(f"bob's Stop: {got}, lumbar relay {lines.value('HEAT_LUMBAR')}")


def test_a_heater_relay_line_follows_the_heat_level(problems):
    settle()
    for level in (1, 2, 3, 0, 2):
        chair().SetHeat("lumbar", dbus.UInt32(level))
        want = {"HEAT_LUMBAR": int(level > 0), "HEAT_CALVES": 0}
        if not wait_for(lambda: lines.outputs(HEATS) == want, 3):
            problems.append(f"lumbar level {level}: lines {lines.outputs(HEATS)}, not {want}")
    chair().SetHeat("calves", dbus.UInt32(1))
    if not wait_for(lambda: lines.outputs(HEATS) == {"HEAT_LUMBAR": 1, "HEAT_CALVES": 1}, 3):
        problems.append(f"calves level 1: lines {lines.outputs(HEATS)}")
    chair().Stop()
    if not wait_for(lambda: lines.outputs(HEATS) == {"HEAT_LUMBAR": 0, "HEAT_CALVES": 0}, 3):
        problems.append(f"after Stop: lines {lines.outputs(HEATS)}")


def test_a_limit_switch_stops_its_axis(problems):
    settle()
    chair().Recline("flat")
    if not wait_for(lambda: {"backrest", "legrest"} <= set(moving(sim.state())), 5):
        problems.append(f"Recline(flat) did not drive both axes: {sim.state()['motors']}")
        return
    # The end switch closes early, at a third of the travel: a misadjusted or obstructed end.
    if not wait_for(lambda: sim.state()["motors"]["backrest"]["position"] > 0.3, 20):
        problems.append(f"the backrest does not recline: {sim.state()['motors']['backrest']}")
        return
    lines.drive("BACKREST_FLAT", True)
    t0 = time.monotonic()
    if not wait_for(lambda: "backrest" not in moving(sim.state()), 3, 0.005):
        problems.append("the backrest runs on into its closed end switch")
        return
    print(f"# reaction limit switch (gpio-sim) -> backrest stopped: {(time.monotonic() - t0) * 1000:.0f} ms")
    state = sim.state()
    if state["motors"]["backrest"]["position"] > 0.99:
        problems.append("the backrest reached its end anyway: the switch did not stop it")
    if "legrest" not in moving(state) and state["motors"]["legrest"]["position"] < 0.99:
        problems.append("the legrest stopped too: a switch of the backrest must stop only the backrest")
    if str(prop("Fault")):
        problems.append(f"a limit switch is not a fault, got {prop('Fault')}")
    # Away from the closed switch the axis moves.
    stopped_at = state["motors"]["backrest"]["position"]
    chair().Recline("upright")
    if not wait_for(lambda: sim.state()["motors"]["backrest"]["position"] < stopped_at - 0.05, 5):
        problems.append("the backrest does not move away from its closed end switch: board "
                        f"{sim.state()['motors']['backrest']}, chaird {prop('State')} {dict(prop('Positions'))}")
    lines.drive("BACKREST_FLAT", False)
    chair().Stop()


def test_an_estop_edge_puts_everything_safe_and_latches(problems):
    settle()
    chair().SetHeat("lumbar", dbus.UInt32(2))
    chair().Recline("flat")
    if not wait_for(lambda: lines.value("HEAT_LUMBAR") == 1 and moving(sim.state()), 5):
        problems.append("nothing heated or moved before the e-stop")
        return
    lines.drive("ESTOP", True)
    t0 = time.monotonic()

    def safe():
        return not any(lines.outputs().values()) and not board_safe(sim.state())
    if not wait_for(safe, 3, 0.005):
        all_safe(problems, "3 s after the e-stop edge")
        return
    print(f"# reaction e-stop (gpio-sim edge) -> every output safe: {(time.monotonic() - t0) * 1000:.0f} ms")
    if str(prop("State")) != "fault" or str(prop("Fault")) != "emergency-stop":
        problems.append(f"State {prop('State')}, Fault {prop('Fault')!r}: not latched as emergency-stop")
    for method, args in (("Recline", ("upright",)), ("SetHeat", ("lumbar", dbus.UInt32(1)))):
        got = call_error(getattr(chair(), method), *args)
        if got not in (ERR + "Faulted", ERR + "Interlocked"):
            problems.append(f"{method} while faulted: {got}")
    got = call_error(chair().ResetFault)
    if got != ERR + "Interlocked":
        problems.append(f"ResetFault with the button still pressed: {got}, not Interlocked")
    lines.drive("ESTOP", False)
    time.sleep(0.5)
    if str(prop("State")) != "fault":
        problems.append("releasing the button cleared the fault by itself")
    if not wait_for(lambda: call_error(chair().ResetFault) is None, 3, 0.2):
        problems.append("ResetFault refused after the button was released")
    time.sleep(1)
    all_safe(problems, "after ResetFault")
    if str(prop("State")) != "idle":
        problems.append(f"after ResetFault State is {prop('State')}, not idle")


def test_a_stuck_heater_relay_latches_output_mismatch(problems):
    """Output verification on GPIO: config/hil.yaml wires each heater relay's monitoring contact back to an
    input (HEAT_LUMBAR_SENSE), which chair-sim makes follow the relay line. While it follows, heat on and
    off is no fault. Welded (the contact stays closed), heat off latches output-mismatch with every line
    off; the reset is refused while it sticks and accepted once it follows again. A relay that never
    closes latches it too, and its reset needs no repair: the line is off now, as the contact says."""
    settle()
    chair().SetHeat("lumbar", dbus.UInt32(1))
    if not wait_for(lambda: lines.value("HEAT_LUMBAR") == 1 and lines.value("HEAT_LUMBAR_SENSE") == 1, 3):
        problems.append(f"the contact does not follow its relay: {lines.outputs(('HEAT_LUMBAR', 'HEAT_LUMBAR_SENSE'))}")
        return
    chair().SetHeat("lumbar", dbus.UInt32(0))
    chair().SetHeat("lumbar", dbus.UInt32(2))
    time.sleep(1.5)  # past hil.yaml's feedback-delay (1s): a contact that follows is no fault
    if str(prop("Fault")):
        problems.append(f"a relay whose contact follows latched {prop('Fault')!r}")
        return
    chair().Recline("flat")
    wait_for(lambda: moving(sim.state()), 5)
    sim.ok("stick line HEAT_LUMBAR 1")
    t0 = time.monotonic()
    chair().SetHeat("lumbar", dbus.UInt32(0))
    if not wait_for(lambda: str(prop("Fault")) == "output-mismatch", 5, 0.02):
        problems.append(f"heat off to a welded relay: no output-mismatch within 5 s, Fault {prop('Fault')!r}")
        sim.ok("clear")
        return
    print(f"# reaction heat off to a welded GPIO relay -> output-mismatch latched: "
          f"{(time.monotonic() - t0) * 1000:.0f} ms (feedback-delay 1s)")
    if "heaters.lumbar" not in str(prop("FaultMessage")):
        problems.append(f"the fault does not name the lumbar relay: {prop('FaultMessage')!r}")
    wait_for(lambda: not any(lines.outputs().values()) and not board_safe(sim.state()), 3, 0.02)
    all_safe(problems, "a welded heater relay")
    if lines.value("HEAT_LUMBAR_SENSE") != 1:
        problems.append("the welded relay's contact let go by itself")
    for method, args in (("Recline", ("upright",)), ("SetHeat", ("calves", dbus.UInt32(1)))):
        got = call_error(getattr(chair(), method), *args)
        if got not in (ERR + "Faulted", ERR + "Interlocked"):
            problems.append(f"{method} while output-mismatch is latched: {got}")
    got = call_error(chair().ResetFault)
    if got != ERR + "Interlocked":
        problems.append(f"ResetFault with the relay still welded: {got}, not Interlocked")
    sim.ok("clear")
    if not wait_for(lambda: lines.value("HEAT_LUMBAR_SENSE") == 0, 3):
        problems.append("the freed relay's contact does not open")
    if not wait_for(lambda: call_error(chair().ResetFault) is None, 5, 0.2):
        problems.append(f"ResetFault refused once the relay follows again: {call_error(chair().ResetFault)}")
    if str(prop("State")) != "idle":
        problems.append(f"after ResetFault State is {prop('State')}, not idle")

    # A relay that never closes: heat on is written, the contact stays open.
    sim.ok("stick line HEAT_CALVES 0")
    chair().SetHeat("calves", dbus.UInt32(1))
    if not wait_for(lambda: str(prop("Fault")) == "output-mismatch", 5, 0.02):
        problems.append(f"heat on to a relay that does not close: no output-mismatch, Fault {prop('Fault')!r}")
    else:
        wait_for(lambda: not any(lines.outputs().values()), 3, 0.02)
        all_safe(problems, "a heater relay that does not close")
        if not wait_for(lambda: call_error(chair().ResetFault) is None, 5, 0.2):
            problems.append("ResetFault refused with the open relay's line off (line and contact agree)")
    sim.ok("clear")
    chair().Stop()


def test_systemctl_stop_leaves_every_line_safe(problems):
    settle()
    chair().SetHeat("lumbar", dbus.UInt32(2))
    chair().SetHeat("calves", dbus.UInt32(2))
    chair().Recline("flat")
    if not wait_for(lambda: all(lines.outputs(HEATS).values()) and moving(sim.state()), 5):
        problems.append(f"nothing on before the stop: {lines.outputs()}")
    subprocess.run(["systemctl", "stop", "chaird.service"], timeout=60)
    all_safe(problems, "after systemctl stop")
    if "code=exited ; status=0 " not in show("ExecStopPost"):
        problems.append(f"ExecStopPost (chaird --safe-state) did not succeed: {show('ExecStopPost')}")
    time.sleep(1)
    all_safe(problems, "1 s after systemctl stop")
    # D-Bus activation: the first call to the name starts the service again.
    try:
        state = str(prop("State"))
    except dbus.exceptions.DBusException as e:
        problems.append(f"a call to the stopped service did not activate it: {e}")
        subprocess.run(["systemctl", "start", "chaird.service"], timeout=60)
        state = service_up()
    if systemd("is-active", "chaird.service") != "active":
        problems.append("D-Bus activation did not start chaird.service")
    if state != "idle" or str(prop("Fault")):
        problems.append(f"a clean stop is no interruption: restarted as {state}/{prop('Fault')!r}")


def test_a_hung_chaird_is_restarted_by_the_watchdog_and_reports_interrupted(problems):
    settle()
    sim.ok("clear")  # the board's latched trip of the idle chair, so that a new one shows
    chair().Start("relax", dbus.Dictionary({}, signature="sv"))
    chair().SetHeat("lumbar", dbus.UInt32(2))
    if not wait_for(lambda: lines.value("HEAT_LUMBAR") == 1 and moving(sim.state()), 10):
        problems.append(f"the program did not run before the hang: lumbar relay {lines.value('HEAT_LUMBAR')}, "
                        f"moving {moving(sim.state())}, State {prop('State')}, Program {prop('Program')!r}, "
                        f"Fault {prop('Fault')!r} {prop('FaultMessage')!r}")
    if sim.state()["watchdog_latched"]:
        problems.append("the board's watchdog tripped while chaird was running")
    pid, restarts = show("MainPID"), int(show("NRestarts"))
    os.kill(int(pid), 19)  # SIGSTOP: the process hangs, nothing of it runs
    t0 = time.monotonic()
    # The board's own watchdog trips (whatever the program happened to be driving at that moment). The
    # latched trip, since systemd's kill may come first and ExecStopPost's heartbeat
    # would end the live one before this loop sees it on a busy vCPU.
    if not wait_for(lambda: sim.state()["watchdog_latched"], 4, 0.01):
        problems.append("the board's watchdog did not trip on the missing heartbeat")
    else:
        print(f"# reaction hang -> board's watchdog tripped (seen): {(time.monotonic() - t0) * 1000:.0f} ms")
    # The board's own motors; the relay lines stay as the hung chaird left them until systemd ends it.
    if board_safe(sim.state(), ("board",)):
        problems.append(f"the board is not safe after its watchdog tripped: {board_safe(sim.state(), ('board',))}")
    if not wait_for(lambda: not any(lines.outputs().values()), 30, 0.01):
        problems.append(f"relay lines stayed on for 30 s of a hung chaird: {lines.outputs()}")
    else:
        print(f"# reaction hang -> relay line off (watchdog {show('WatchdogUSec')}): "
              f"{(time.monotonic() - t0) * 1000:.0f} ms")
    if not wait_for(lambda: show("MainPID") not in ("0", pid) and service_up(1), 60, 0.2):
        problems.append(f"systemd did not restart chaird: {systemd('status', 'chaird.service')}")
        return
    print(f"# hang -> restarted and ready: {(time.monotonic() - t0) * 1000:.0f} ms")
    if int(show("NRestarts")) != restarts + 1:
        problems.append(f"NRestarts went from {restarts} to {show('NRestarts')}")
    journal = subprocess.run(["journalctl", "-b", "-u", "chaird.service", "--no-pager"], capture_output=True,
                             text=True).stdout
    if "atchdog timeout" not in journal:
        problems.append("the journal does not say the watchdog ended chaird")
    if str(prop("State")) != "fault" or str(prop("Fault")) != "interrupted":
        problems.append(f"restarted as {prop('State')}/{prop('Fault')!r}, not fault/interrupted")
    elif "relax" not in str(prop("FaultMessage")):
        problems.append(f"the fault does not name what ran: {prop('FaultMessage')!r}")
    time.sleep(1)
    all_safe(problems, "after the restart")
    got = call_error(chair().Start, "relax", dbus.Dictionary({}, signature="sv"))
    if got != ERR + "Faulted":
        problems.append(f"Start before ResetFault: {got}, not Faulted")
    if call_error(chair().ResetFault) is not None:
        problems.append("ResetFault refused after the restart")


# --- the recline on relay pairs (chair-sim's GPIO motors) ---

def relays_open():
    return not any(lines.outputs(RELAYS["backrest"] + RELAYS["legrest"]).values())


def at_rest():
    m = sim.state()["motors"]
    return (relays_open() and not m["backrest"]["driven"] and not m["legrest"]["driven"]
            and str(prop("State")) in ("idle", "running", "fault"))


def settled():
    """At rest, and still at rest, not moved, a second later (not a moment between two moves)."""
    if not at_rest():
        return False
    before = {a: sim.state()["motors"][a]["position"] for a in RELAYS}
    time.sleep(1)
    return at_rest() and before == {a: sim.state()["motors"][a]["position"] for a in RELAYS}


def estimated():
    return sorted(str(m) for m in prop("PositionsEstimated"))


class Sampler:
    """Reads the relay lines' values from gpio-sim as fast as it can, in a thread, with the time of each
    sample: what the lines really did, whatever chaird says."""

    def __init__(self):
        self.samples, self.running = [], True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        names = RELAYS["backrest"] + RELAYS["legrest"]
        while self.running:
            before = time.monotonic()
            values = lines.outputs(names)
            self.samples.append((before, values, time.monotonic()))  # read between the two times

    def stop(self):
        self.running = False
        self.thread.join()
        return self.samples


def check_pairs(problems, samples, what):
    """No sample shows both lines of a pair active, and no reversal is provably quicker than reverse-delay:
    for each one, the upper bound of its gap (the end of the first sample with the new line active, less the
    start of the last sample with the old one active) must be at least the delay. Returns the shortest such
    bound."""
    worst = max((b[2] - a[0] for a, b in zip(samples, samples[1:])), default=0) * 1000
    shortest = None
    for axis, (extend, retract) in RELAYS.items():
        last_on, last_on_at = None, None
        for t, v, t_end in samples:
            if v[extend] and v[retract]:
                problems.append(f"{what}: both relay lines of the {axis} active at {t:.3f}")
                return shortest
            on = extend if v[extend] else retract if v[retract] else None
            if on is None:
                continue
            if last_on is not None and on != last_on:
                bound = (t_end - last_on_at) * 1000
                shortest = bound if shortest is None else min(shortest, bound)
                if bound < REVERSE_DELAY_MS:
                    problems.append(f"{what}: the {axis} reversed within {bound:.0f} ms of the other line")
            last_on, last_on_at = on, t
    print(f"# {what}: {len(samples)} samples of the relay lines, at most {worst:.1f} ms apart; shortest "
          f"reversal (upper bound) {shortest if shortest is None else round(shortest)} ms "
          f"(reverse-delay {REVERSE_DELAY_MS})")
    return shortest


def test_every_stock_program_runs_on_the_relay_recline(problems):
    settle()
    wait_for(at_rest, 60, 0.2)
    sampler = Sampler()
    try:
        stock = "/usr/share/chaird/programs"
        for program in sorted(f[:-5] for f in os.listdir(stock) if f.endswith(".yaml")):
            try:
                chair().Start(program, dbus.Dictionary({}, signature="sv"))
            except dbus.exceptions.DBusException as e:
                problems.append(f"{program}: Start failed: {e.get_dbus_name()}: {e}")
                continue
            # The recline reaches the program's first position (zero-gravity-1 in every stock program:
            # chair-sim's motors at rest there, relays open) while the program runs on, with no fault.
            if not wait_for(lambda: str(prop("State")) == "running" and settled(), 45, 0.2):
                problems.append(f"{program}: the recline did not come to rest within 45 s: State "
                                f"{prop('State')}, {sim.state()['motors']}")
            time.sleep(1)
            positions = {str(k): float(v) for k, v in prop("Positions").items()}
            motors = sim.state()["motors"]
            for axis, want in (("backrest", 0.45), ("legrest", 0.55)):
                if abs(motors[axis]["position"] - want) > 0.03:
                    problems.append(f"{program}: the {axis} rests at {motors[axis]['position']:.3f}, not {want}")
            for axis in RELAYS:
                if abs(positions[axis] - motors[axis]["position"]) > 0.03:
                    problems.append(f"{program}: chaird has the {axis} at {positions[axis]:.3f}, "
                                    f"chair-sim at {motors[axis]['position']:.3f}")
            if str(prop("State")) != "running" or str(prop("Fault")):
                problems.append(f"{program}: State {prop('State')}, Fault {prop('Fault')!r} "
                                f"{prop('FaultMessage')!r}")
            print(f"# {program}: backrest {motors['backrest']['position']:.3f}, legrest "
                  f"{motors['legrest']['position']:.3f}, PositionsEstimated {estimated()}")
            chair().Stop()
            wait_for(lambda: str(prop("State")) == "idle", 30, 0.2)
    finally:
        check_pairs(problems, sampler.stop(), "every stock program")
    for axis in RELAYS:
        m = sim.state()["motors"][axis]
        print(f"# chair-sim's own record of the {axis}'s relays: {m['overlaps']} overlaps, shortest reversal "
              f"{m['min_reverse_gap_ms']} ms (sampled every 20 ms)")
        if m["overlaps"]:
            problems.append(f"chair-sim saw both relays of the {axis} on")


def test_reversals_and_alternating_jogs_never_overlap_on_the_lines(problems):
    settle()
    wait_for(at_rest, 60, 0.2)
    sampler = Sampler()
    try:
        chair().Recline("flat")
        time.sleep(2.5)
        chair().Recline("upright")  # a reversal mid-move
        time.sleep(1.5)
        for i in range(24):  # jogs each way in turn, some quicker than the reverse delay
            chair().Jog("legrest" if i % 3 else "backrest", dbus.Int32(1 if i % 2 else -1))
            time.sleep(0.05 + 0.07 * (i % 5))
        chair().Stop()
        wait_for(relays_open, 3, 0.05)
    finally:
        shortest = check_pairs(problems, sampler.stop(), "a reversal and alternating jogs")
    if shortest is None:
        problems.append("no reversal was seen on the lines")
    for axis in RELAYS:
        if sim.state()["motors"][axis]["overlaps"]:
            problems.append(f"chair-sim saw both relays of the {axis} on: {sim.state()['motors'][axis]}")


def test_a_recline_right_after_jogs_reaches_the_preset_on_the_lines(problems):
    """Issue 29's finding, read on the lines: eight alternating legrest jogs 0.2 s apart, then Recline flat
    within the last one's hold time (a person letting go of the jog and tapping a preset). The last jog's
    hold-to-move timer used to open the legrest's extend line 0.1 s after it went active, for good, at 0.19 of
    its travel, while chaird said State idle and Recline "flat". It ends only its own jog now: the line stays
    active until the legrest is out at flat. Then a Stop midway leaves Recline naming no preset."""
    settle()
    chair().Recline("upright")
    wait_for(lambda: str(prop("State")) == "idle" and settled(), 60, 0.2)
    sampler = Sampler()
    try:
        for i in range(8):
            chair().Jog("legrest", dbus.Int32(1 if i % 2 == 0 else -1))
            time.sleep(0.2)
        recline_at = time.monotonic()
        chair().Recline("flat")
        if not wait_for(lambda: str(prop("State")) == "idle" and settled(), 60, 0.2):
            problems.append(f"Recline(flat) after the jogs did not come to rest: {sim.state()['motors']}")
    finally:
        samples = sampler.stop()
        check_pairs(problems, samples, "jogs, then a recline")
    extend = [t for t, v, _ in samples if t >= recline_at and v["LEGREST_EXTEND"]]
    active = extend[-1] - extend[0] if extend else 0.0
    print(f"# the legrest's extend line was active for {active:.2f} s after Recline(flat)")
    if active < 5:  # chair-sim's legrest takes 15 s for its travel
        problems.append(f"the legrest's extend line was active for only {active:.2f} s after Recline(flat)")
    motors = sim.state()["motors"]
    positions = {str(k): float(v) for k, v in prop("Positions").items()}
    for axis in RELAYS:
        if abs(motors[axis]["position"] - 1.0) > 0.03 or abs(positions[axis] - 1.0) > 0.03:
            problems.append(f"Recline(flat) after the jogs: the {axis} rests at {motors[axis]['position']:.3f} "
                            f"(chaird says {positions[axis]:.3f})")
    if str(prop("Recline")) != "flat" or str(prop("Fault")):
        problems.append(f"at flat: Recline {str(prop('Recline'))!r}, Fault {str(prop('Fault'))!r}")
    chair().Recline("upright")
    time.sleep(2)
    chair().Stop()
    wait_for(lambda: str(prop("State")) == "idle" and at_rest(), 10, 0.2)
    legrest = sim.state()["motors"]["legrest"]["position"]
    if not 0.05 < legrest < 0.95 or str(prop("Recline")) != "":
        problems.append(f"a Stop midway (legrest at {legrest:.3f}): Recline reads {str(prop('Recline'))!r}, not ''")
    chair().Recline("upright")
    wait_for(lambda: str(prop("State")) == "idle" and settled(), 60, 0.2)


def first_direction(axis, timeout):
    """The first relay line of axis to go active within timeout: 'extend', 'retract' or None."""
    extend, retract = RELAYS[axis]
    got = wait_for(lambda: lines.value(extend) or 2 * lines.value(retract), timeout, 0.01)
    return {1: "extend", 2: "retract", 3: "both"}.get(got)


def test_a_clean_restart_knows_the_recline_a_kill_homes_it(problems):
    settle()
    chair().Recline("zero-gravity-1")
    wait_for(lambda: str(prop("State")) == "idle" and settled(), 45, 0.2)
    systemd("restart", "chaird.service")
    if service_up() != "idle" or str(prop("Fault")):
        problems.append(f"a clean restart came up {prop('State')}/{prop('Fault')!r}")
    if estimated() != ["backrest"]:
        problems.append(f"after a clean restart PositionsEstimated is {estimated()}: only the timed backrest "
                        "is an estimate")
    chair().Recline("zero-gravity-2")  # further out: no homing means both extend at once
    for axis in RELAYS:
        got = first_direction(axis, 5)
        if got != "extend":
            problems.append(f"after a clean restart the {axis} went {got} first, not straight out")
    wait_for(lambda: str(prop("State")) == "idle" and settled(), 45, 0.2)
    # Killed while the recline moves (killed while idle, the motors stood still and their saved positions
    # stand): the kernel releases the relay lines, the motors stop somewhere chaird cannot know.
    chair().Recline("flat")
    wait_for(lambda: all(lines.value(RELAYS[a][0]) for a in RELAYS), 5, 0.01)
    time.sleep(1.5)
    pid = show("MainPID")
    systemd("kill", "-s", "KILL", "chaird.service")
    wait_for(relays_open, 5, 0.01)
    wait_for(lambda: not any(sim.state()["motors"][a]["driven"] or sim.state()["motors"][a]["velocity"]
                             for a in RELAYS), 5, 0.05)
    before = {a: sim.state()["motors"][a]["position"] for a in RELAYS}
    if not wait_for(lambda: show("MainPID") not in ("0", pid) and service_up(1), 60, 0.2):
        problems.append(f"systemd did not restart chaird after the kill: {systemd('status', 'chaird.service')}")
        return
    if str(prop("Fault")) != "interrupted":
        problems.append(f"after a kill chaird came up with Fault {prop('Fault')!r}, not interrupted")
    wait_for(lambda: call_error(chair().ResetFault) is None, 5, 0.2)
    if estimated() != ["backrest", "legrest"]:
        problems.append(f"after a kill PositionsEstimated is {estimated()}, not both axes")
    chair().Recline("flat")  # further out still, yet homing drives back to the start switches first
    for axis in RELAYS:
        got = first_direction(axis, 5)
        if got != "retract":
            problems.append(f"after a kill the {axis} went {got} first: it did not home")
    if not wait_for(lambda: all(sim.state()["motors"][a]["position"] < before[a] - 0.1 for a in RELAYS), 10):
        problems.append(f"after a kill the recline did not drive back: {before} -> {sim.state()['motors']}")
    if not wait_for(lambda: sim.state()["motors"]["legrest"]["position"] == 0 and lines.value("LEGREST_EXTEND"), 30):
        problems.append(f"the legrest did not home and go on out: {sim.state()['motors']['legrest']}")
    elif "legrest" in estimated():
        problems.append("the legrest is homed, yet PositionsEstimated still lists it")
    chair().Stop()


def hazard(problems, fault, provoke, clear, timeout, what):
    """Provokes a hazard, expects it latched with every relay line open and chair-sim's motors unpowered,
    then clears the cause and resets."""
    t0 = provoke()
    if not wait_for(lambda: str(prop("Fault")) == fault, timeout, 0.02):
        problems.append(f"{what}: no fault {fault} within {timeout} s: Fault {prop('Fault')!r}, "
                        f"{sim.state()['motors']}")
    else:
        print(f"# reaction {what} -> {fault} latched: {(time.monotonic() - t0) * 1000:.0f} ms")
        # Every relay line opens (after an obstacle's back-off: the reverse delay and 500 ms of driving).
        wait_for(lambda: not any(lines.outputs().values()), 3, 0.02)
        time.sleep(0.3)
        state = sim.state()
        on = [n for n, v in lines.outputs().items() if v]
        if on:
            problems.append(f"{what}: output lines still active after the {fault} trip: {on}")
        powered = [a for a in RELAYS if any(state["motors"][a]["relays"])]
        if powered:
            problems.append(f"{what}: chair-sim's {powered} still see a relay on")
        got = call_error(chair().Recline, "upright")
        if got != ERR + "Faulted":
            problems.append(f"{what}: Recline while latched: {got}")
    clear()
    if not wait_for(lambda: call_error(chair().ResetFault) is None, 10, 0.2):
        problems.append(f"{what}: ResetFault refused after the cause was cleared: {call_error(chair().ResetFault)}")


def drive_out(axis):
    """Sends the recline flat and returns when a relay line of axis is active (its time): out, or back first
    to its start switch when its position is unknown."""
    chair().Recline("flat")
    wait_for(lambda: any(lines.outputs(RELAYS[axis]).values()), 30, 0.01)
    return time.monotonic()


def test_each_relay_hazard_latches_with_the_recline_safe(problems):
    settle()
    chair().Recline("upright")
    wait_for(lambda: str(prop("State")) == "idle" and at_rest(), 60, 0.2)
    time.sleep(2)  # idle: no control tick; the hall line's edges still reach chaird

    def welded():
        sim.ok("fault legrest welded")
        return time.monotonic()
    hazard(problems, "motor-unbidden", welded, lambda: sim.ok("clear"), 5, "a welded relay (idle)")

    def hall_broken():
        sim.ok("fault legrest hall-broken")
        return drive_out("legrest")
    hazard(problems, "no-progress", hall_broken, lambda: sim.ok("clear"), 6, "a broken hall sensor")

    def stalled():
        sim.ok("fault legrest stall")
        return drive_out("legrest")
    hazard(problems, "no-progress", stalled, lambda: sim.ok("clear"), 6, "a stalled legrest")

    def limits():
        sim.ok("fault backrest limits-closed")
        return time.monotonic()
    hazard(problems, "limit-switches", limits, lambda: sim.ok("clear"), 5, "both backrest switches closed")

    def overcurrent():
        drive_out("backrest")
        time.sleep(1)
        sim.ok("fault backrest overcurrent")
        return time.monotonic()
    hazard(problems, "obstacle", overcurrent, lambda: sim.ok("clear"), 5, "an obstacle on the backrest")

    # The timed backrest has no pulses: stalled, only its run time tells (it drives on to its end switch).
    def stall_timed():
        sim.ok("fault backrest stall")
        return drive_out("backrest")
    hazard(problems, "run-time", stall_timed, lambda: sim.ok("clear"), 40, "a stalled timed backrest")
    chair().Recline("upright")
    wait_for(lambda: str(prop("State")) == "idle" and at_rest(), 60, 0.2)


def test_man_pages_and_tab_completion_work_on_the_installed_system(problems):
    settle()
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    for page, words in [("chairctl", "chairctl - control a massage chair"), ("chaird", "the massage chair"),
                        ("chaird.yaml", "the hardware config"), ("chaird.program", "the massage program format"),
                        ("chair-sim", "a virtual massage chair")]:
        r = subprocess.run(["man", "-P", "cat", page], capture_output=True, text=True, env=env, timeout=60)
        if r.returncode != 0 or words not in " ".join(r.stdout.split()):  # man justifies: spaces vary
            problems.append(f"man {page}: exit {r.returncode}: {r.stdout[:200]!r} {r.stderr[:200]!r}")
    # Tab after "chairctl recline " in an interactive-like bash: the presets of the running chaird.
    script = ("source /usr/share/bash-completion/bash_completion\n"
              "COMP_LINE='chairctl recline '; COMP_POINT=${#COMP_LINE}\n"
              "COMP_WORDS=(chairctl recline ''); COMP_CWORD=2\n"
              "_completion_loader chairctl\n"
              "complete -p chairctl\n"
              "_chairctl chairctl '' recline\n"
              "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    lines = r.stdout.split("\n")
    presets = sorted(str(s) for s in prop("Presets"))
    if lines[0] != "complete -F _chairctl chairctl":
        problems.append(f"the completion is not found by bash-completion: {r.stdout[:200]!r} {r.stderr[:300]!r}")
    elif sorted(w for w in lines[1:] if w) != presets or "flat" not in presets:
        problems.append(f"Tab after 'chairctl recline ' offered {lines[1:]}, chaird's presets are {presets}")


def test_the_mqtt_bridge_is_hardened_waits_for_its_config_and_harms_nothing(problems):
    settle()
    import re
    r = subprocess.run(["systemd-analyze", "security", "--no-pager", "chaird-mqtt.service"], capture_output=True,
                       text=True, timeout=120)
    m = re.search(r"Overall exposure level for chaird-mqtt.service: (\d+\.\d+)", r.stdout)
    if not m or float(m.group(1)) > 2.0:
        problems.append(f"exposure: {m.group(0) if m else r.stdout[-300:] + r.stderr[-300:]}")
    groups = subprocess.run(["id", "-nG", "chaird-mqtt"], capture_output=True, text=True).stdout.split()
    if "chair" not in groups:
        problems.append(f"chaird-mqtt's groups: {groups}")
    # Without /etc/chaird/mqtt.yaml it does not start (nothing goes on the network unasked).
    if systemd("is-active", "chaird-mqtt.service") == "active":
        problems.append("chaird-mqtt runs without a config")
    # With a broker that is not there: it runs as its user in group chair, retries, and the chair is untouched.
    with open("/etc/chaird/mqtt.yaml", "w") as f:
        f.write("broker: mqtt://127.0.0.1:1883\nchair-id: vm\n")
    try:
        systemd("start", "chaird-mqtt.service")
        if not wait_for(lambda: systemd("is-active", "chaird-mqtt.service") == "active", 30):
            problems.append("chaird-mqtt.service did not start: " + systemd("status", "chaird-mqtt.service"))
            return
        pid = systemd("show", "chaird-mqtt.service", "-p", "MainPID", "--value")
        status = open(f"/proc/{pid}/status").read()
        uid = re.search(r"^Uid:\s+(\d+)", status, re.M).group(1)
        gids = re.search(r"^Groups:\s*(.*)$", status, re.M).group(1).split()
        import grp
        import pwd
        if pwd.getpwuid(int(uid)).pw_name != "chaird-mqtt" or str(grp.getgrnam("chair").gr_gid) not in gids:
            problems.append(f"runs as uid {uid} with groups {gids}")
        if not wait_for(lambda: "retrying" in subprocess.run(["journalctl", "-u", "chaird-mqtt.service", "-o", "cat"],
                                                              capture_output=True, text=True).stdout, 20):
            problems.append("no retry in the journal")
        subprocess.run(["systemctl", "kill", "-s", "KILL", "chaird-mqtt.service"], timeout=30)
        time.sleep(1)
        if str(prop("State")) != "idle" or str(prop("Fault")):
            problems.append(f"the chair after the bridge was killed: {prop('State')} {prop('Fault')!r}")
    finally:
        systemd("stop", "chaird-mqtt.service")
        os.remove("/etc/chaird/mqtt.yaml")



def ws_frame(payload):
    """A client's WebSocket text frame: masked, as RFC 6455 wants from a client."""
    data = payload.encode()
    mask = os.urandom(4)
    head = bytes([0x81])
    if len(data) < 126:
        head += bytes([0x80 | len(data)])
    else:
        head += bytes([0x80 | 126]) + len(data).to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def ws_read(sock, buffer):
    """One text message from the server (unmasked, unfragmented): (text, rest of the buffer)."""
    def need(n):
        nonlocal buffer
        while len(buffer) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            buffer += chunk
    need(2)
    length, at = buffer[1] & 0x7f, 2
    if length == 126:
        need(4)
        length, at = int.from_bytes(buffer[2:4], "big"), 4
    elif length == 127:
        need(10)
        length, at = int.from_bytes(buffer[2:10], "big"), 10
    need(at + length)
    if buffer[0] & 0x0f != 1:
        raise ValueError(f"not a text frame: opcode {buffer[0] & 0x0f}")
    return buffer[at:at + length].decode(), buffer[at + length:]


def web_sockets(pid):
    """The TCP sockets of a process: (local address, port, state) for each, read from /proc/net/tcp{,6}."""
    import ipaddress
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for line in open(f"/proc/net/{table}").read().split("\n")[1:]:
            f = line.split()
            if len(f) > 9 and f[9] in inodes:
                raw, port = f[1].split(":")
                packed = bytes.fromhex(raw)
                # /proc prints the address as 32-bit words in the host's (little-endian) order.
                packed = b"".join(packed[i:i + 4][::-1] for i in range(0, len(packed), 4))
                state = {"0A": "LISTEN", "01": "ESTABLISHED"}.get(f[3], f[3]) if table.startswith("tcp") else "udp"
                found.append((str(ipaddress.ip_address(packed)), int(port, 16), state))
    return found


def test_the_web_page_is_hardened_and_serves_only_localhost(problems):
    settle()
    import base64
    import grp
    import hashlib
    import json
    import pwd
    import re
    import socket
    import urllib.request
    r = subprocess.run(["systemd-analyze", "security", "--no-pager", "chaird-web.service"], capture_output=True,
                       text=True, timeout=120)
    m = re.search(r"Overall exposure level for chaird-web.service: (\d+\.\d+)", r.stdout)
    if not m or float(m.group(1)) > 2.0:
        problems.append(f"exposure: {m.group(0) if m else r.stdout[-300:] + r.stderr[-300:]}")
    # The package enabled it (the page on localhost harms nothing) and not the kiosk (the screen is the maker's).
    enabled = {u: systemd("is-enabled", u) for u in ("chaird-web.service", "chaird-kiosk.service")}
    if enabled != {"chaird-web.service": "enabled", "chaird-kiosk.service": "disabled"}:
        problems.append(f"enabled by the package: {enabled}")
    if not wait_for(lambda: systemd("is-active", "chaird-web.service") == "active", 60):
        problems.append("chaird-web.service is not running: " + systemd("status", "chaird-web.service"))
        return
    pid = systemd("show", "chaird-web.service", "-p", "MainPID", "--value")
    status = open(f"/proc/{pid}/status").read()
    uid = re.search(r"^Uid:\s+(\d+)", status, re.M).group(1)
    gids = re.search(r"^Groups:\s*(.*)$", status, re.M).group(1).split()
    caps = re.search(r"^CapEff:\s+(\w+)", status, re.M).group(1)
    if pwd.getpwuid(int(uid)).pw_name != "chaird-web" or str(grp.getgrnam("chair").gr_gid) not in gids:
        problems.append(f"runs as uid {uid} with groups {gids}")
    if int(caps, 16):
        problems.append(f"has capabilities: {caps}")
    # Its state directory: its own, mode 0700, and it is told where.
    st = os.stat("/var/lib/chaird-web")
    if pwd.getpwuid(st.st_uid).pw_name != "chaird-web" or st.st_mode & 0o777 != 0o700:
        problems.append(f"/var/lib/chaird-web: uid {st.st_uid} mode {oct(st.st_mode & 0o777)}")
    environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    if b"STATE_DIRECTORY=/var/lib/chaird-web" not in environ:
        problems.append(f"no STATE_DIRECTORY in its environment: {environ}")
    # Listening on 127.0.0.1:8700 and nothing else (no other port, no UDP, no other address).
    listening = [s for s in web_sockets(pid) if s[2] in ("LISTEN", "udp")]
    if listening != [("127.0.0.1", 8700, "LISTEN")]:
        problems.append(f"chaird-web listens on {listening}")
    # The page, as the package installed it.
    with urllib.request.urlopen("http://127.0.0.1:8700/", timeout=30) as response:
        page = response.read()
        kind = response.headers.get("Content-Type", "")
    if page != open("/usr/share/chaird/web/index.html", "rb").read() or not kind.startswith("text/html"):
        problems.append(f"GET / gave {kind!r}: {page[:200]!r}")
    # /api: the WebSocket handshake, the chair's state, and a command that reaches the chair's heater relay.
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", 8700), timeout=30) as sock:
        sock.sendall((f"GET /api HTTP/1.1\r\nHost: 127.0.0.1:8700\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Sec-WebSocket-Protocol: chaird\r\n\r\n").encode())
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buffer += chunk
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        if not head.startswith(b"HTTP/1.1 101") or b"Sec-WebSocket-Accept: " + accept not in head:
            problems.append(f"the WebSocket handshake: {head[:400]!r}")
            return
        messages = []

        def got(kind, check=lambda m: True):
            nonlocal buffer
            while True:
                for m in messages:
                    if m.get("type") == kind and check(m):
                        return m
                text, buffer = ws_read(sock, buffer)
                messages.append(json.loads(text))
        state = got("state")["state"]
        if state.get("State") != "idle":
            problems.append(f"the state on connect: {json.dumps(state)[:300]}")
        sock.sendall(ws_frame(json.dumps({"command": "heat", "zone": "lumbar", "level": 2, "id": 7})))
        reply = got("reply", lambda m: m.get("id") == 7)
        if not reply.get("ok") or not wait_for(lambda: lines.value("HEAT_LUMBAR"), 10):
            problems.append(f"heat through /api: {reply}, HEAT_LUMBAR {lines.value('HEAT_LUMBAR')}")
        sock.sendall(ws_frame(json.dumps({"command": "heat", "zone": "lumbar", "level": 0, "id": 8})))
        got("reply", lambda m: m.get("id") == 8)
    if not wait_for(lambda: not lines.value("HEAT_LUMBAR"), 10):
        problems.append("the heater stayed on after heat 0 through /api")
    # The example config as /etc/chaird/web.yaml: it is valid, and its address is the default's.
    import shutil
    shutil.copy("/usr/share/chaird/config/web.yaml", "/etc/chaird/web.yaml")
    try:
        systemd("restart", "chaird-web.service")
        pid = systemd("show", "chaird-web.service", "-p", "MainPID", "--value")
        if systemd("is-active", "chaird-web.service") != "active" or pid == "0":
            problems.append("chaird-web does not run on the example config: " + systemd("status", "chaird-web.service"))
        elif [s for s in web_sockets(pid) if s[2] in ("LISTEN", "udp")] != [("127.0.0.1", 8700, "LISTEN")]:
            problems.append(f"on the example config it listens on {web_sockets(pid)}")
    finally:
        os.remove("/etc/chaird/web.yaml")
        systemd("restart", "chaird-web.service")

# --- the package: these run last, as they remove chaird and install it again ---

DEBS = "/usr/src/chaird-debs"


def apt(*args):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(["apt-get", "-y", "--no-install-recommends", *args], capture_output=True, text=True,
                          env=env, cwd=DEBS, timeout=300)


def deb(package):
    return "./" + next(f for f in sorted(os.listdir(DEBS)) if f.startswith(package + "_") and f.endswith(".deb"))


def sha256(path):
    return subprocess.run(["sha256sum", path], capture_output=True, text=True).stdout.split(" ")[0]


def test_reinstalling_the_package_keeps_a_changed_conffile(problems):
    settle()
    # The bench's config (config/hil.yaml) replaced the package's /etc/chaird/chaird.yaml: an installer's edit.
    conffiles = subprocess.run(["dpkg-query", "-W", "-f", "${Conffiles}", "chaird"], capture_output=True,
                               text=True).stdout
    if "/etc/chaird/chaird.yaml" not in conffiles:
        problems.append(f"/etc/chaird/chaird.yaml is not a conffile of chaird: {conffiles!r}")
    before = sha256("/etc/chaird/chaird.yaml")
    pid = show("MainPID")
    r = apt("install", "--reinstall", deb("chaird"))
    if r.returncode:
        problems.append(f"apt install --reinstall failed: {r.stdout[-2000:]} {r.stderr[-2000:]}")
    if sha256("/etc/chaird/chaird.yaml") != before:
        problems.append("the reinstall replaced the installer's /etc/chaird/chaird.yaml")
    if not service_up() or show("MainPID") == pid:
        problems.append(f"chaird was not restarted by the reinstall (MainPID {pid} -> {show('MainPID')})")
    elif "HEAT_LUMBAR" not in open("/etc/chaird/chaird.yaml").read() or str(prop("State")) != "idle":
        problems.append(f"chaird does not run on the kept config: {prop('State')}")


def test_purge_stops_chaird_with_every_line_safe_and_leaves_no_file(problems):
    settle()
    files = [f for f in subprocess.run(["dpkg", "-L", "chaird"], capture_output=True, text=True).stdout.split("\n")
             if f and not os.path.isdir(f)]
    if "/usr/sbin/chaird" not in files:
        problems.append(f"dpkg -L chaird lists no /usr/sbin/chaird: {files[:10]}")
    # The chair busy: heat on, the recline moving, a program installed by the installer.
    chair().SetHeat("lumbar", dbus.UInt32(2))
    chair().Recline("flat")
    program = "id: my-quick\n" + open("/usr/share/chaird/programs/quick.yaml").read()
    chair().InstallProgram(program)
    if not wait_for(lambda: lines.value("HEAT_LUMBAR") and moving(sim.state()), 5):
        problems.append(f"nothing on before the purge: {lines.outputs()}")
    r = apt("purge", "chaird")
    if r.returncode:
        problems.append(f"apt purge chaird failed: {r.stdout[-2000:]} {r.stderr[-2000:]}")
    if systemd("is-active", "chaird.service") == "active":
        problems.append("chaird.service still runs after the purge")
    all_safe(problems, "after apt purge chaird")
    left = [f for f in files if os.path.lexists(f)]
    left += [d for d in ("/etc/chaird", "/var/lib/chaird", "/etc/systemd/system/multi-user.target.wants/chaird.service")
             if os.path.lexists(d)]
    if left:
        problems.append(f"left behind by the purge: {left}")
    status = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Status}", "chaird"], capture_output=True,
                            text=True).stdout
    if status not in ("", "not-installed"):
        problems.append(f"dpkg still knows chaird as {status!r}")
    time.sleep(1)
    all_safe(problems, "1 s after the purge")


def test_a_fresh_install_starts_on_the_virtual_chair(problems):
    r = apt("install", deb("chaird"))
    if r.returncode:
        problems.append(f"apt install failed: {r.stdout[-2000:]} {r.stderr[-2000:]}")
        return
    if sha256("/etc/chaird/chaird.yaml") != sha256("/usr/share/chaird/config/sim.yaml"):
        problems.append("the fresh /etc/chaird/chaird.yaml is not the virtual chair's config")
    if not service_up():
        problems.append(f"chaird.service did not start on install: {systemd('status', 'chaird.service')}")
        return
    # The virtual chair of the chair-sim package answers it (its drop-in lets chaird reach localhost).
    if not wait_for(lambda: str(prop("State")) == "idle" and not str(prop("Fault")), 60, 0.2):
        problems.append(f"not idle and fault-free on chair-sim: {prop('State')} {prop('Fault')!r}")
    if systemd("is-enabled", "chaird.service") != "enabled":
        problems.append("the install did not enable chaird.service")
    programs = subprocess.run(["chairctl", "names", "programs"], capture_output=True, text=True).stdout.split()
    if "relax" not in programs or "my-quick" in programs:
        problems.append(f"the fresh install's programs (the purged installer's one must be gone): {programs}")


def main():
    tap = Tap()
    run_cases(tap, module_cases(globals()))
    sys.exit(tap.done())


if __name__ == "__main__":
    main()
