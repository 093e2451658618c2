#!/usr/bin/python3
"""Relay-pair motors against the real daemon, without a GPIO chip: the virtual chair's backrest and legrest
on the board's relay coils (chair-sim moves them, with coasting and hall pulses), the legrest with its
pulse-count input register, the backrest timed by travel-time. Everything is checked in chair-sim's state,
which watches every coil write: never both relays of a pair on, the reverse delay between directions, where
the motors really are. At real time (time scale 1): the loop is closed on real pulses."""
import importlib.util
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import simlib  # noqa: E402
from simlib import wait_for  # noqa: E402

_spec = importlib.util.spec_from_file_location("daemon_test", os.path.join(os.path.dirname(__file__), "test-daemon.py"))
dt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dt)
Chaird, SystemBus, call_error, sim_all_safe, ERR = dt.Chaird, dt.SystemBus, dt.call_error, dt.sim_all_safe, dt.ERR
dbus = dt.dbus

# config/sim.yaml's two board axes, as relay pairs on the board's coils (docs/reference-board.md).
BOARD_AXES = """    backrest:
      target: {holding: 10, scale: 0.001}      # permille on the board, 0.0-1.0 here
      run: {coil: 0}
      position: {input: 10, scale: 0.001}
      current: {input: 20, scale: 0.001}       # mA on the board, amperes here
      limit-start: {discrete: 1}
      limit-end: {discrete: 2}
      max-current: 3.0
    legrest:
      target: {holding: 11, scale: 0.001}
      run: {coil: 1}
      position: {input: 11, scale: 0.001}
      current: {input: 21, scale: 0.001}
      limit-start: {discrete: 3}
      limit-end: {discrete: 4}
      max-current: 3.0
"""
RELAY_AXES = """    backrest:
      extend: {coil: 17}
      retract: {coil: 18}
      travel-time: 20s
      current: {input: 20, scale: 0.001}
      limit-start: {discrete: 1}
      limit-end: {discrete: 2}
      max-current: 3.0
    legrest:
      extend: {coil: 19}
      retract: {coil: 20}
      pulses: {input: 46}
      pulses-per-travel: 300
      current: {input: 21, scale: 0.001}
      limit-start: {discrete: 3}
      limit-end: {discrete: 4}
      max-current: 3.0
"""
# chaird counts the reverse delay from when the board answered the other relay's off (chair-sim stamps a
# coil's change when the request arrives, before it answers): the board sees at least the whole delay.
REVERSE_DELAY_MS = 300


def relay_chair(directory, bus):
    # These cases run at real time for minutes, beside the other suites' loaded ones (test-safety's busy
    # cores): the board gets more room for a late heartbeat, which is not what they test.
    return Chaird(directory, bus, scale=1, replace=[(BOARD_AXES, RELAY_AXES),
                                                    ("heartbeat-timeout: 500ms", "heartbeat-timeout: 2s")])


def motors(d):
    return d.sim.state()["motors"]


def estimated(d):
    return sorted(str(m) for m in d.get("PositionsEstimated"))


def idle(d):
    return d.state() == "idle" and not any(m["driven"] or any(m["relays"]) for m in motors(d).values())


def recline(p, d, preset, want, timeout=45):
    """Reclines to preset and waits until chaird and the board are both at rest there."""
    d.chair.Recline(preset)
    time.sleep(0.3)
    if not wait_for(lambda: idle(d), timeout, 0.1):
        p.append(f"Recline({preset}) did not come to rest within {timeout} s: {motors(d)}")
        return False
    for axis, target in want.items():
        at = motors(d)[axis]["position"]
        # The legrest counts pulses (a third of a percent each), read every poll; the backrest is timed by
        # chaird's own clock from when it switched the relay. Beside the other suites' busy cores a poll or
        # a coil write can come half a second late: 0.06 of the travel (at rest they agree within 0.01).
        if abs(at - target) > 0.06:
            p.append(f"Recline({preset}): the {axis} is at {at:.4f}, not {target}")
    return True


def no_overlap(p, d, what):
    for name in ("backrest", "legrest"):
        m = motors(d)[name]
        if m["overlaps"]:
            p.append(f"{what}: both relays of the {name} were on {m['overlaps']} times")
        if 0 <= m["min_reverse_gap_ms"] < REVERSE_DELAY_MS:
            p.append(f"{what}: the {name} reversed {m['min_reverse_gap_ms']} ms after the other relay opened")


def test_relay_axes_reach_presets_and_say_which_positions_are_estimates(p, tmp, bus):
    d = relay_chair(os.path.join(tmp, "presets"), bus)
    try:
        # Both stand at their start, where the closed start switches say so: only the timed backrest's
        # position is an estimate (always, since time drifts).
        if estimated(d) != ["backrest"]:
            p.append(f"at their closed start switches, PositionsEstimated is {estimated(d)}")
        recline(p, d, "zero-gravity-1", {"backrest": 0.45, "legrest": 0.55})
        if estimated(d) != ["backrest"]:
            p.append(f"the legrest counts pulses from its start switch: PositionsEstimated {estimated(d)}")
        positions = {str(k): float(v) for k, v in d.get("Positions").items()}
        for axis in ("backrest", "legrest"):
            if abs(positions[axis] - motors(d)[axis]["position"]) > 0.02:
                p.append(f"chaird says the {axis} is at {positions[axis]:.3f}, the board {motors(d)[axis]}")
        recline(p, d, "flat", {"backrest": 1.0, "legrest": 1.0})
        recline(p, d, "upright", {"backrest": 0.0, "legrest": 0.0})
        no_overlap(p, d, "presets")
    finally:
        d.close()


def test_reversals_and_alternating_jogs_never_overlap_and_wait_the_delay(p, tmp, bus):
    d = relay_chair(os.path.join(tmp, "reversal"), bus)
    try:
        d.chair.Recline("flat")
        time.sleep(2)
        d.chair.Recline("upright")  # a reversal mid-move
        time.sleep(1.5)
        if motors(d)["legrest"]["direction"] != -1:
            p.append(f"the legrest did not reverse: {motors(d)['legrest']}")
        for i in range(30):  # jogs each way in turn, some faster than the reverse delay
            d.chair.Jog("legrest" if i % 3 else "backrest", dbus.Int32(1 if i % 2 else -1))
            time.sleep(0.05 + 0.07 * (i % 5))
        d.chair.Stop()
        wait_for(lambda: idle(d), 5)
        no_overlap(p, d, "reversals and jogs")
        gaps = [motors(d)[n]["min_reverse_gap_ms"] for n in ("backrest", "legrest")]
        if min(gaps) < 0:
            p.append(f"the case never reversed a motor: gaps {gaps}")
        print(f"# shortest reversal seen by the board: {min(gaps):.1f} ms (reverse-delay {REVERSE_DELAY_MS} ms)")
    finally:
        d.close()


def test_a_recline_right_after_jogs_goes_on_to_the_preset(p, tmp, bus):
    """Issue 29's finding: eight alternating legrest jogs 0.2 s apart, then Recline flat within the last one's
    hold time (a person letting go of the jog and tapping a preset). The last jog's hold-to-move timer used to
    open the legrest's extend relay 0.1 s after it closed, for good, at a fifth of its travel, while chaird
    said Recline "flat". It ends only its own jog: both axes reach flat in chair-sim. A Stop midway then
    leaves Recline naming no preset."""
    d = relay_chair(os.path.join(tmp, "jog-recline"), bus)
    try:
        for i in range(8):
            d.chair.Jog("legrest", dbus.Int32(1 if i % 2 == 0 else -1))
            time.sleep(0.2)
        if d.get("Recline") != "":
            p.append(f"after the jogs Recline reads {d.get('Recline')!r}")
        if recline(p, d, "flat", {"backrest": 1.0, "legrest": 1.0}):
            if d.get("Recline") != "flat" or d.get("Fault") != "":
                p.append(f"at flat: Recline {d.get('Recline')!r}, Fault {d.get('Fault')!r}")
        d.chair.Recline("upright")
        time.sleep(2)
        d.chair.Stop()
        wait_for(lambda: idle(d), 5, 0.1)
        legrest = motors(d)["legrest"]["position"]
        if not 0.05 < legrest < 0.95 or d.get("Recline") != "":
            p.append(f"a Stop midway (legrest at {legrest:.3f}): Recline reads {d.get('Recline')!r}, not ''")
        no_overlap(p, d, "jogs, then a recline")
    finally:
        d.close()


def test_a_clean_restart_knows_where_it_is_a_kill_homes(p, tmp, bus):
    d = relay_chair(os.path.join(tmp, "restart"), bus)
    try:
        recline(p, d, "zero-gravity-1", {"backrest": 0.45, "legrest": 0.55})
        d.restart()  # SIGTERM: a clean stop saves the positions
        if estimated(d) != ["backrest"]:
            p.append(f"after a clean restart PositionsEstimated is {estimated(d)}, not the timed backrest only")
        d.chair.Recline("zero-gravity-2")
        seen = set()
        wait_for(lambda: seen.update(m["direction"] for m in motors(d).values()) or idle(d), 30, 0.05)
        if -1 in seen:
            p.append("after a clean restart a motor drove back toward its start: it homed")
        recline(p, d, "zero-gravity-2", {"backrest": 0.65, "legrest": 0.75})
        # Killed while the recline moves (killed idle, the saved positions rightly stand). The board's
        # watchdog opens the relays when the heartbeat stops.
        d.chair.Recline("flat")
        wait_for(lambda: all(motors(d)[n]["relays"][0] for n in ("backrest", "legrest")), 5)
        time.sleep(1)
        d.proc.kill()
        d.proc.wait()
        wait_for(lambda: not any(m["driven"] or m["velocity"] for m in motors(d).values()), 5)
        d.restart()
        if d.get("Fault") != "interrupted":
            p.append(f"a kill mid-session restarts as {d.get('Fault')!r}, not interrupted")
        d.chair.ResetFault()
        if estimated(d) != ["backrest", "legrest"]:
            p.append(f"after a kill PositionsEstimated is {estimated(d)}, not both")
        before = {n: motors(d)[n]["position"] for n in ("backrest", "legrest")}
        d.chair.Recline("flat")  # out, but homing first drives both back to their start switches
        if not wait_for(lambda: all(motors(d)[n]["position"] < before[n] - 0.05 for n in before), 10, 0.05):
            p.append(f"after a kill the motors did not home first: {before} -> {motors(d)}")
        d.chair.Stop()
        wait_for(lambda: idle(d), 5)
        no_overlap(p, d, "restarts")
    finally:
        d.close()


def expect_latched_safe(p, d, fault, timeout):
    if not wait_for(lambda: d.get("Fault") == fault, timeout, 0.05):
        p.append(f"no fault {fault} within {timeout} s: Fault {d.get('Fault')!r} ({d.get('FaultMessage')}), "
                 f"board {motors(d)}")
        return False
    time.sleep(0.5)
    if not sim_all_safe(d.sim):
        p.append(f"{fault}: the board is not safe: {motors(d)}")
    if call_error(d.chair.Recline, "flat") != ERR + "Faulted":
        p.append(f"{fault}: Recline was not refused while latched")
    return True


def test_relay_hazards_latch_with_every_relay_open(p, tmp, bus):
    d = relay_chair(os.path.join(tmp, "hazards"), bus)
    try:
        recline(p, d, "zero-gravity-1", {"backrest": 0.45, "legrest": 0.55})
        # A welded extend relay: the legrest runs with both relays open, and pulses. The chair has been idle
        # for longer than its linger (chaird no longer polls the board): the idle guard reads the counter.
        time.sleep(3)
        d.sim.ok("fault legrest welded")
        t0 = time.monotonic()
        if expect_latched_safe(p, d, "motor-unbidden", 3):
            print(f"# reaction welded relay -> motor-unbidden latched: {(time.monotonic() - t0) * 1000:.0f} ms")
        d.sim.ok("clear")
        wait_for(lambda: motors(d)["legrest"]["velocity"] == 0, 2)
        if not wait_for(lambda: call_error(d.chair.ResetFault) is None, 5, 0.2):
            p.append(f"ResetFault refused after the weld was cleared: {call_error(d.chair.ResetFault)}")
        recline(p, d, "upright", {"legrest": 0.0})
        # A hall sensor that gives no pulses while the legrest moves: no progress (safety.no-progress 2 s).
        d.sim.ok("fault legrest hall-broken")
        d.chair.Recline("zero-gravity-1")
        t0 = time.monotonic()
        if expect_latched_safe(p, d, "no-progress", 5):
            print(f"# reaction hall-broken -> no-progress latched: {(time.monotonic() - t0) * 1000:.0f} ms "
                  "(safety.no-progress 2 s)")
        d.sim.ok("clear")
        d.chair.ResetFault()
        # Both limit switches of the legrest closed: a shorted harness.
        d.sim.ok("fault legrest limits-closed")
        expect_latched_safe(p, d, "limit-switches", 3)
        d.sim.ok("clear")
        d.chair.ResetFault()
        # An obstacle: the backrest's current (read from the board) jumps while its relay drives it out.
        recline(p, d, "upright", {"backrest": 0.0, "legrest": 0.0})
        d.chair.Recline("flat")
        if not wait_for(lambda: motors(d)["backrest"]["relays"][0], 3):
            p.append(f"Recline(flat) did not drive the backrest out: {motors(d)['backrest']}")
        d.sim.ok("fault backrest overcurrent")
        t0 = time.monotonic()
        if expect_latched_safe(p, d, "obstacle", 5):
            print(f"# reaction overcurrent -> obstacle latched, backed off: {(time.monotonic() - t0) * 1000:.0f} ms")
        d.sim.ok("clear")
        no_overlap(p, d, "hazards")
    finally:
        d.close()


def cases(tap, tmp):
    with dt.private_bus(tmp) as bus:
        simlib.run_cases(tap, simlib.module_cases(globals()), tmp, bus)


if __name__ == "__main__":
    simlib.main(cases, sys.argv[1])
