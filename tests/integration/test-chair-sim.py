#!/usr/bin/env python3
"""chair-sim, the virtual chair, seen from outside: mbpoll (an independent Modbus master) reads and writes
its registers over TCP and over RTU through a socat pty pair, exactly at the addresses
docs/reference-board.md documents, and every injected fault shows in its `state` output. Prints TAP.

Usage: test-chair-sim.py BUILD_DIR"""
import os
import sys
import time

from simlib import ChairSim, PtyPair, main, mbpoll, run_cases, wait_for

# Addresses from docs/reference-board.md.
COIL_RUN_BACKREST, COIL_RUN_ROLLER, COIL_PUMP, COIL_INFLATE_SHOULDERS, COIL_HOLD_SHOULDERS = 0, 2, 3, 4, 9
COIL_HEATER_LUMBAR, COIL_FAULT_CLEAR = 14, 16
DI_ESTOP, DI_BACKREST_EXTENDED, DI_BODY, DI_HEARTBEAT_OK = 0, 2, 7, 8
HR_HEARTBEAT, HR_TARGET_BACKREST, HR_TARGET_ROLLER, HR_KNEADING = 0, 10, 12, 13
IR_STATUS, IR_FAULTS, IR_VERSION, IR_POS_BACKREST, IR_POS_ROLLER, IR_CURRENT_BACKREST = 0, 1, 2, 10, 12, 20
IR_TEMP_LUMBAR, IR_PRESSURE_SHOULDERS = 30, 40
COIL_EXTEND_LEGREST, COIL_RETRACT_LEGREST, DI_LEGREST_RETRACTED, IR_PULSES_LEGREST = 19, 20, 3, 46
LEGREST_PULSES_PER_TRAVEL = 300


def board_io(port):
    """write(problems, table, address, *values) and read(table, address, count) on the board at port."""
    def write(problems, table, address, *values):
        ok, _, out = mbpoll(port, table, address, values)
        if not ok:
            problems.append(f"writing {table} {address} failed: {out.strip()}")

    def read(table, address, count=1):
        ok, values, out = mbpoll(port, table, address, count=count)
        if not ok:
            raise RuntimeError(f"reading {table} {address} failed: {out.strip()}")
        return values
    return write, read


def named(prefix, fns):
    """Cases named by the prefix and their function's name in words ("tcp: board reports its version")."""
    return [(prefix + fn.__name__.replace("_", " "), fn) for fn in fns]


def relay_cases(tap, tmp):
    """A motor on the board's relay coils, whose loop the host closes: at real time, to see it coast."""
    os.makedirs(tmp + "/relay", exist_ok=True)
    sim = ChairSim(tmp + "/relay", time_scale=1)
    port = sim.port
    write, read = board_io(port)

    def legrest():
        return sim.state()["motors"]["legrest"]

    def at_rest():
        return wait_for(lambda: legrest()["velocity"] == 0 and not legrest()["driven"], 2)

    def a_relay_coil_drives_the_motor_which_pulses_and_coasts(problems):
        before = legrest()
        write(problems, "coil", COIL_EXTEND_LEGREST, 1)
        if not wait_for(lambda: legrest()["driven"] and legrest()["direction"] == 1, 1):
            problems.append(f"the extend coil does not drive the legrest: {legrest()}")
        time.sleep(1.5)
        write(problems, "coil", COIL_EXTEND_LEGREST, 0)
        at_off = legrest()
        at_rest()
        st = legrest()
        moved = st["position"] - before["position"]
        pulses = st["pulses"] - before["pulses"]
        if not 0.07 < moved < 0.14:
            problems.append(f"1.5 s of a 15 s travel moved the legrest by {moved:.4f}")
        if abs(pulses - moved * LEGREST_PULSES_PER_TRAVEL) > 1.01:
            problems.append(f"{pulses} pulses for {moved:.4f} of the travel, not {LEGREST_PULSES_PER_TRAVEL} a travel")
        if read("input", IR_PULSES_LEGREST) != [st["pulses"] & 0xFFFF]:
            problems.append(f"input register {IR_PULSES_LEGREST} does not hold the pulse count {st['pulses']}")
        coast = st["position"] - at_off["position"]
        if not 0.002 < coast < 0.012 or not 1 <= st["pulses"] - at_off["pulses"] <= 4:
            problems.append(f"after its relay opened the legrest coasted {coast:.4f} "
                            f"({st['pulses'] - at_off['pulses']} pulses), not a pulse or two")
        if st["direction"] != 0 or st["current_a"] != 0:
            problems.append(f"with both relays open the legrest is still powered: {st}")

    def the_board_records_overlaps_and_reversal_gaps(problems):
        overlaps = legrest()["overlaps"]
        write(problems, "coil", COIL_EXTEND_LEGREST, 1, 1)  # both relays, one write
        time.sleep(0.1)
        st = legrest()
        if st["overlaps"] != overlaps + 1 or st["direction"] != 0 or st["driven"]:
            problems.append(f"both relays on: expected one overlap, braked: {st}")
        write(problems, "coil", COIL_EXTEND_LEGREST, 0, 0)
        write(problems, "coil", COIL_EXTEND_LEGREST, 1)
        time.sleep(0.2)
        write(problems, "coil", COIL_EXTEND_LEGREST, 0)
        time.sleep(0.4)
        write(problems, "coil", COIL_RETRACT_LEGREST, 1)
        gap = legrest()["min_reverse_gap_ms"]
        if not 380 <= gap <= 1500:
            problems.append(f"a reversal 0.4 s after the extend relay opened: the gap reads {gap} ms")
        write(problems, "coil", COIL_EXTEND_LEGREST, 1, 0)  # straight from retract to extend
        if legrest()["min_reverse_gap_ms"] != 0:
            problems.append(f"a reversal in one write is a gap of 0, not {legrest()['min_reverse_gap_ms']} ms")
        write(problems, "coil", COIL_EXTEND_LEGREST, 0, 0)
        at_rest()

    def the_retract_relay_runs_it_into_its_start_limit(problems):
        write(problems, "coil", COIL_RETRACT_LEGREST, 1)
        if not wait_for(lambda: legrest()["position"] == 0 and not legrest()["driven"], 10):
            problems.append(f"the legrest did not run back to its end stop: {legrest()}")
        if read("discrete", DI_LEGREST_RETRACTED) != [1]:
            problems.append("the legrest's start limit switch is not closed at its end")
        if legrest()["direction"] != -1:
            problems.append(f"the relay is still on, but state does not show it: {legrest()}")
        write(problems, "coil", COIL_RETRACT_LEGREST, 0)
        at_rest()

    def relay_motor_faults_show_in_state(problems):
        before = legrest()
        sim.ok("fault legrest welded")
        if not wait_for(lambda: legrest()["pulses"] >= before["pulses"] + 3, 2):
            problems.append(f"a welded relay does not drive the legrest with both coils off: {legrest()}")
        st = legrest()
        if st["direction"] != 1 or st["position"] <= before["position"] or st["fault"] != "welded":
            problems.append(f"welded: expected it driven toward extend: {st}")
        sim.ok("fault legrest hall-broken")
        at_rest()
        before = legrest()
        write(problems, "coil", COIL_EXTEND_LEGREST, 1)
        time.sleep(0.5)
        st = legrest()
        if st["position"] <= before["position"] + 0.01 or st["pulses"] != before["pulses"]:
            problems.append(f"hall-broken: expected it moving without pulses: {before} -> {st}")
        sim.ok("fault legrest stall")
        time.sleep(0.1)
        before = legrest()
        time.sleep(0.3)
        st = legrest()
        if not st["driven"] or st["position"] != before["position"] or st["pulses"] != before["pulses"]:
            problems.append(f"stall: expected it driven, standing, no pulses: {before} -> {st}")
        write(problems, "coil", COIL_EXTEND_LEGREST, 0)
        sim.ok("clear")

    run_cases(tap, named("relay: ", [
        a_relay_coil_drives_the_motor_which_pulses_and_coasts, the_board_records_overlaps_and_reversal_gaps,
        the_retract_relay_runs_it_into_its_start_limit, relay_motor_faults_show_in_state]))
    sim.close()


def cases(tap, tmp):
    sim = ChairSim(tmp, time_scale=10)
    port = sim.port
    write, read = board_io(port)

    def board_reports_its_version(problems):
        if read("input", IR_VERSION) != [0x0101]:
            problems.append("input register 2 is not the board version 0x0101")

    def axis_moves_to_its_target_and_stops(problems):
        # Full travel takes 20 s, 2 s at time scale 10: time enough to see the motor on its way.
        write(problems, "holding", HR_TARGET_BACKREST, 1000)
        write(problems, "coil", COIL_RUN_BACKREST, 1)
        # The physics follows the coils at its next tick (20 ms): wait for it, briefly.
        wait_for(lambda: sim.state()["motors"]["backrest"]["driven"], 1)
        st = sim.state()["motors"]["backrest"]
        if not st["driven"] or st["current_a"] <= 0:
            problems.append(f"the backrest is not driven, drawing current, after its run coil was set: {st}")
        write(problems, "coil", COIL_RUN_BACKREST, 0)
        wait_for(lambda: not sim.state()["motors"]["backrest"]["driven"], 1)
        st = sim.state()["motors"]["backrest"]
        if st["driven"] or st["current_a"] != 0 or not 0 < st["position"] < 1:
            problems.append(f"clearing the run coil did not stop the backrest on its way: {st}")
        write(problems, "holding", HR_TARGET_BACKREST, 400)
        write(problems, "coil", COIL_RUN_BACKREST, 1)
        # The physics notices a new target on its next tick: wait for the arrival, not for "not driven".
        def at_target(st):
            return abs(st["position"] - 0.4) <= 0.003 and not st["driven"]
        done = wait_for(lambda: at_target(sim.state()["motors"]["backrest"]), 5)
        st = sim.state()["motors"]["backrest"]
        if not done or abs(st["position"] - 0.4) > 0.003 or st["current_a"] != 0:
            problems.append(f"the backrest did not stop at its target: {st}")
        if abs(read("input", IR_POS_BACKREST)[0] - 400) > 3:
            problems.append("input register 10 does not report the backrest position in permille")

    def axis_stops_at_its_end_with_the_limit_switch(problems):
        write(problems, "holding", HR_TARGET_BACKREST, 1000)
        wait_for(lambda: sim.state()["motors"]["backrest"]["position"] >= 1.0, 5)
        if read("discrete", DI_BACKREST_EXTENDED) != [1]:
            problems.append("the extended limit switch is not active at the end of travel")
        write(problems, "holding", HR_TARGET_BACKREST, 0)
        write(problems, "coil", COIL_RUN_BACKREST, 0)
        # "driven" follows the run coil at the next physics tick (20 ms), not at the write itself.
        if not wait_for(lambda: not sim.state()["motors"]["backrest"]["driven"], 1):
            problems.append("clearing the run coil did not stop the motor")

    def arrived(st, target_mm):
        return abs(st["roller"]["position_mm"] - target_mm) <= 3 and not st["motors"]["roller"]["driven"]

    def roller_scan_finds_the_shoulders(problems):
        # The simulated shoulders are at 170 mm: the body sensor is off above them and on below.
        write(problems, "coil", COIL_RUN_ROLLER, 1)
        for target, contact in [(160, 0), (180, 1), (300, 1), (100, 0)]:
            write(problems, "holding", HR_TARGET_ROLLER, target)
            # A board stops a motor once it is within its tolerance (0.2 % of the travel, 2.3 mm here).
            wait_for(lambda: arrived(sim.state(), target), 5)
            pos = read("input", IR_POS_ROLLER)[0]
            if abs(pos - target) > 3 or read("discrete", DI_BODY) != [contact]:
                problems.append(f"roller at {pos} mm (target {target}): expected body contact {contact}")
        write(problems, "coil", COIL_RUN_ROLLER, 0)

    def heater_warms_toward_its_element_and_cools(problems):
        t0 = read("input", IR_TEMP_LUMBAR)[0]
        write(problems, "coil", COIL_HEATER_LUMBAR, 1)
        warm = wait_for(lambda: read("input", IR_TEMP_LUMBAR)[0] >= t0 + 20, 10, 0.1)
        if not warm:
            problems.append("the energized lumbar heater did not warm by 2 degrees")
        st = sim.state()["heaters"]["lumbar"]
        if not st["energized"] or not st["commanded"]:
            problems.append(f"state does not show the heater energized: {st}")
        write(problems, "coil", COIL_HEATER_LUMBAR, 0)
        hot = read("input", IR_TEMP_LUMBAR)[0]
        if not wait_for(lambda: read("input", IR_TEMP_LUMBAR)[0] < hot, 10, 0.1):
            problems.append("the heater did not cool once switched off")

    def airbag_fills_holds_and_vents(problems):
        write(problems, "coil", COIL_PUMP, 1)
        write(problems, "coil", COIL_INFLATE_SHOULDERS, 1)
        write(problems, "coil", COIL_HOLD_SHOULDERS, 1)
        if sim.state()["valves"]["shoulders"] != "inflate" or not sim.state()["pump"]["on"]:
            problems.append("state does not show the shoulders inflating")
        if not wait_for(lambda: read("input", IR_PRESSURE_SHOULDERS)[0] > 200, 5, 0.05):
            problems.append("the shoulder airbag did not fill above 20 kPa")
        write(problems, "coil", COIL_INFLATE_SHOULDERS, 0)
        if sim.state()["valves"]["shoulders"] != "hold":
            problems.append("inlet closed, exhaust closed is not 'hold'")
        write(problems, "coil", COIL_PUMP, 0)
        write(problems, "coil", COIL_HOLD_SHOULDERS, 0)
        if sim.state()["valves"]["shoulders"] != "vent":
            problems.append("an open exhaust is not 'vent'")
        if not wait_for(lambda: read("input", IR_PRESSURE_SHOULDERS)[0] < 20, 5, 0.05):
            problems.append("the shoulder airbag did not vent")

    def unmapped_address_answers_exception_2(problems):
        for table, address in [("holding", 5), ("input", 13), ("input", 48), ("coil", 23), ("discrete", 9)]:
            ok, _, out = mbpoll(port, table, address)
            if ok or "Illegal data address" not in out:
                problems.append(f"{table} {address}: expected exception 2, got: {out.strip()}")
        ok, _, out = mbpoll(port, "input", 0, count=5)  # 0..2 mapped, 3..4 not
        if ok or "Illegal data address" not in out:
            problems.append("a read spanning a gap was answered")

    def out_of_range_value_answers_exception_3(problems):
        for address, value in [(HR_KNEADING, 7), (HR_TARGET_BACKREST, 1001), (1, 50)]:
            ok, _, out = mbpoll(port, "holding", address, [value])
            if ok or "Illegal data value" not in out:
                problems.append(f"holding {address} = {value}: expected exception 3, got: {out.strip()}")

    def heartbeat_timeout_puts_every_output_safe(problems):
        write(problems, "coil", COIL_PUMP, 1)
        write(problems, "coil", COIL_HEATER_LUMBAR, 1)
        write(problems, "holding", HR_KNEADING, 3)
        write(problems, "holding", HR_HEARTBEAT, 1)
        st = sim.state()
        if not st["heartbeat_ok"] or read("discrete", DI_HEARTBEAT_OK) != [1]:
            problems.append("a heartbeat write did not arm the watchdog")
        # The timeout (500 ms) is real time; nothing writes the heartbeat now.
        if not wait_for(lambda: sim.state()["watchdog_tripped"], 3):
            problems.append("the watchdog did not trip without heartbeats")
        st = sim.state()
        if st["heartbeat_ok"] or st["pump"]["on"] or st["heaters"]["lumbar"]["commanded"] or st["roller"]["kneading"]:
            problems.append(f"outputs are not safe after the heartbeat timeout: {st}")
        if not read("input", IR_FAULTS)[0] & (1 << 5) or not read("input", IR_STATUS)[0] & (1 << 2):
            problems.append("the status and fault registers do not show the tripped watchdog")
        write(problems, "holding", HR_HEARTBEAT, 2)
        if not sim.state()["heartbeat_ok"] or sim.state()["pump"]["on"]:
            problems.append("a new heartbeat must re-arm without turning outputs back on")
        if not sim.state()["watchdog_latched"]:
            problems.append("state does not show the latched trip after a new heartbeat")
        write(problems, "coil", COIL_FAULT_CLEAR, 1)
        if read("input", IR_FAULTS)[0] & (1 << 5) or sim.state()["watchdog_latched"]:
            problems.append("the fault clear coil did not clear the latched watchdog fault")
        # Leave the board quiet: let it trip again so later cases start from safe outputs.
        wait_for(lambda: sim.state()["watchdog_tripped"], 3)

    def motor_faults_show_in_state(problems):
        start = sim.state()["motors"]["backrest"]["position"]
        write(problems, "holding", HR_TARGET_BACKREST, 500 if start < 0.4 else 0)
        sim.ok("fault backrest stall")
        write(problems, "coil", COIL_RUN_BACKREST, 1)
        time.sleep(0.3)
        st = sim.state()["motors"]["backrest"]
        if not st["driven"] or st["position"] != start or st["fault"] != "stall" or st["current_a"] <= 0:
            problems.append(f"stall: expected driven, no progress, current drawn: {st}")
        sim.ok("fault backrest overcurrent")
        time.sleep(0.1)
        st = sim.state()["motors"]["backrest"]
        if st["current_a"] < 5.0 or st["position"] != start:
            problems.append(f"overcurrent: expected a high current and no progress: {st}")
        if not read("input", IR_FAULTS)[0] & 1:
            problems.append("overcurrent: the fault register does not flag the backrest")
        write(problems, "coil", COIL_RUN_BACKREST, 0)
        sim.ok("clear")

    def heater_faults_show_in_state(problems):
        sim.ok("fault lumbar sensor-open")
        st = sim.state()["heaters"]["lumbar"]
        if st["sensor_c"] != -50 or read("input", IR_TEMP_LUMBAR)[0] != 65536 - 500:
            problems.append(f"sensor-open: expected -50.0 degrees in state and as -500 in register 30: {st}")
        sim.ok("fault lumbar sensor-short")
        if sim.state()["heaters"]["lumbar"]["sensor_c"] != 150 or read("input", IR_TEMP_LUMBAR)[0] != 1500:
            problems.append("sensor-short: expected 150.0 degrees")
        if not read("input", IR_FAULTS)[0] & (1 << 3):
            problems.append("the fault register does not flag the lumbar sensor")
        sim.ok("fault lumbar runaway")
        write(problems, "coil", COIL_HEATER_LUMBAR, 0)
        t0 = sim.state()["heaters"]["lumbar"]["temp_c"]
        time.sleep(0.5)
        st = sim.state()["heaters"]["lumbar"]
        if not st["energized"] or st["commanded"] or st["temp_c"] <= t0:
            problems.append(f"runaway: expected energized and warming with the coil off: {st}")
        sim.ok("clear")
        if sim.state()["heaters"]["lumbar"]["energized"]:
            problems.append("clear did not end the runaway")

    def estop_shows_as_input_and_state(problems):
        sim.ok("estop press")
        if not sim.state()["estop"] or read("discrete", DI_ESTOP) != [1] or not read("input", IR_STATUS)[0] & 1:
            problems.append("a pressed e-stop is not in state, discrete input 0 and the status register")
        sim.ok("estop release")
        if sim.state()["estop"] or read("discrete", DI_ESTOP) != [0]:
            problems.append("a released e-stop still shows")

    def comm_drop_silences_the_board_then_recovers(problems):
        sim.ok("comm drop 1500")
        ok, _, out = mbpoll(port, "input", IR_VERSION, timeout=0.3)
        if ok:
            problems.append("the board answered during a comm drop")
        if not wait_for(lambda: mbpoll(port, "input", IR_VERSION, timeout=0.3)[0], 5):
            problems.append("the board did not answer again after the drop")

    def changed_reports_when_a_write_changed_a_value(problems):
        write(problems, "holding", HR_KNEADING, 0)
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        write(problems, "holding", HR_KNEADING, 4)
        after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        at = sim.command(f"changed holding {HR_KNEADING}").get("usec", 0)
        if not before <= at <= after:
            problems.append(f"the change of holding {HR_KNEADING} is stamped {at}, not within [{before}, {after}]")
        write(problems, "holding", HR_KNEADING, 4)  # the same value again: no change
        if sim.command(f"changed holding {HR_KNEADING}").get("usec") != at:
            problems.append("writing the value a register already has counted as a change")
        if sim.command("changed coil 23").get("ok") is not False:
            problems.append("'changed' accepted a coil the board does not have")
        write(problems, "holding", HR_KNEADING, 0)

    def refuse_answers_exception_2_until_clear(problems):
        """A sensor channel that died: every request covering the refused address answers exception 2, its
        neighbours answer alone, and clear ends it."""
        sim.ok("refuse input 30")
        sim.ok("refuse coil 14")
        for table, address, count in [("input", 30, 1), ("input", 30, 2), ("coil", 14, 1), ("coil", 13, 3)]:
            ok, _, out = mbpoll(port, table, address, count=count)
            if ok or "Illegal data address" not in out:
                problems.append(f"refused {table} {address} (count {count}): expected exception 2, got: {out.strip()}")
        ok, _, out = mbpoll(port, "coil", 14, [1])
        if ok or "Illegal data address" not in out:
            problems.append(f"a write to a refused coil was answered: {out.strip()}")
        if sim.state()["heaters"]["lumbar"]["commanded"]:
            problems.append("a refused write switched the lumbar element on")
        ok, values, out = mbpoll(port, "input", 31)
        if not ok or len(values) != 1:
            problems.append(f"input 31, beside the refused one, did not answer: {out.strip()}")
        for line in ("refuse input 3", "refuse coil 23", "refuse seat 1", "refuse input x"):
            if sim.command(line).get("ok") is not False:
                problems.append(f"'{line}' was accepted")
        sim.ok("clear")
        ok, values, out = mbpoll(port, "input", 30, count=2)
        if not ok or len(values) != 2:
            problems.append(f"input 30 still refused after clear: {out.strip()}")
        if not mbpoll(port, "coil", 14)[0]:
            problems.append("coil 14 still refused after clear")

    def control_socket_refuses_bad_commands(problems):
        for line, error in [("fault seat stall", "unknown actuator"), ("fault lumbar stall", "cannot have"),
                            ("jump", "unknown command"), ("comm drop soon", "milliseconds"),
                            ("comm noise 0.5", "RTU")]:
            reply = sim.command(line)
            if reply.get("ok") is not False or error not in reply.get("error", ""):
                problems.append(f"'{line}': expected an error about '{error}', got {reply}")

    run_cases(tap, named("tcp: ", [
        board_reports_its_version, axis_moves_to_its_target_and_stops, axis_stops_at_its_end_with_the_limit_switch,
        roller_scan_finds_the_shoulders, heater_warms_toward_its_element_and_cools, airbag_fills_holds_and_vents,
        unmapped_address_answers_exception_2, out_of_range_value_answers_exception_3,
        heartbeat_timeout_puts_every_output_safe, motor_faults_show_in_state, heater_faults_show_in_state,
        estop_shows_as_input_and_state, comm_drop_silences_the_board_then_recovers,
        changed_reports_when_a_write_changed_a_value, refuse_answers_exception_2_until_clear,
        control_socket_refuses_bad_commands]))
    sim.close()

    relay_cases(tap, tmp)

    # The same board over RTU, through a pty pair that stands in for the RS-485 cable.
    pty = PtyPair(tmp)
    rtu = ChairSim(tmp, rtu_device=pty.a, time_scale=20)

    def rtu_read_and_write(problems):
        ok, values, out = mbpoll(pty.b, "input", IR_VERSION, rtu=True)
        if not ok or values != [0x0101]:
            problems.append(f"reading the version over RTU: {out.strip()}")
        ok, _, out = mbpoll(pty.b, "holding", HR_TARGET_BACKREST, [250], rtu=True)
        ok2, values, out2 = mbpoll(pty.b, "holding", HR_TARGET_BACKREST, rtu=True)
        if not ok or not ok2 or values != [250]:
            problems.append(f"writing and reading back a holding register over RTU: {out} {out2}")
        ok, _, out = mbpoll(pty.b, "holding", 5, rtu=True)
        if ok or "Illegal data address" not in out:
            problems.append(f"an unmapped address over RTU: expected exception 2: {out.strip()}")

    def rtu_noise_corrupts_frames(problems):
        rtu.ok("comm noise 1")
        ok, _, out = mbpoll(pty.b, "input", IR_VERSION, rtu=True, timeout=0.3)
        if ok:
            problems.append("a reply got through at noise rate 1")
        rtu.ok("comm noise 0")
        if not wait_for(lambda: mbpoll(pty.b, "input", IR_VERSION, rtu=True, timeout=0.3)[0], 5):
            problems.append("the link did not recover once the noise stopped")

    run_cases(tap, [("rtu: read and write", rtu_read_and_write),
                    ("rtu: noise corrupts frames", rtu_noise_corrupts_frames)])
    rtu.close()
    pty.close()


if __name__ == "__main__":
    main(cases, sys.argv[1])
