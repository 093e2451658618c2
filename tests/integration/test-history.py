#!/usr/bin/python3
"""The history of sessions and faults and the usage counters, against the real daemon on a private system bus
and chair-sim over Modbus TCP: what a session and a fault leave behind, the bound, and what a restart, a kill -9
and a record cut short by a power cut leave of them. What is on the disk is read in the state directory."""
import importlib.util
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import simlib  # noqa: E402
from simlib import wait_for  # noqa: E402

_spec = importlib.util.spec_from_file_location("daemon_test", os.path.join(os.path.dirname(__file__), "test-daemon.py"))
dt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dt)
Chaird, SystemBus, call_error, ERR = dt.Chaird, dt.SystemBus, dt.call_error, dt.ERR
dbus = dt.dbus

MINUTE = 60 * 10**6
BOUND = 100  # the history bound of the second chair's config


def opts(o):
    out = {}
    for k, v in o.items():
        out[k] = dbus.Dictionary(v, signature="sv") if isinstance(v, dict) else v
    return dbus.Dictionary(out, signature="sv")


def history(d, n=0):
    return [{k: (str(v) if isinstance(v, dbus.String) else int(v)) for k, v in r.items()}
            for r in d.chair.History(dbus.UInt32(n))]


def usage(d):
    return {str(k): int(v) for k, v in d.get("Usage").items()}


def history_file(d):
    return os.path.join(d.dir, "state", "history")


def file_records(d):
    with open(history_file(d)) as f:
        return [line for line in f if not line.startswith("#")]


def saved_usage(d):
    """The counters in the usage file."""
    try:
        with open(os.path.join(d.dir, "state", "usage")) as f:
            return {k: int(v) for k, v in (line.split() for line in f if not line.startswith("#"))}
    except FileNotFoundError:
        return {}


def log_text(d):
    d.log.flush()
    return open(d.log.name).read()


def idle(d):
    return wait_for(lambda: d.state() == "idle", 30, 0.02)


def short_session(d):
    """A manual session of the foot rollers only (nothing to park): started and stopped."""
    d.chair.StartManual(opts({"foot-rollers": dbus.UInt32(2), "duration": dbus.UInt64(MINUTE)}))
    d.chair.Stop()


# --- cases ---

def test_a_session_leaves_a_record_and_counts_in_usage(p, d, bus):
    before = usage(d)
    t0 = time.time()
    d.chair.StartManual(opts({"roller": {"technique": "kneading", "area": "back"}, "duration": dbus.UInt64(MINUTE)}))
    if not wait_for(lambda: d.state() == "running", 30):
        p.append(f"the session did not run: {d.state()}")
        return
    time.sleep(2)
    elapsed = int(d.get("ElapsedUSec"))
    d.chair.Stop()
    idle(d)
    t1 = time.time()
    h = history(d, 1)
    if len(h) != 1:
        p.append(f"History(1) gave {len(h)} records")
        return
    r = h[0]
    if (r["program"], r["reason"], r["fault"], r["profile"]) != ("manual", "stopped", "", ""):
        p.append(f"the record: {r}")
    if not t0 - 1 <= r["start"] / 1e6 <= t1 + 1:
        p.append(f"start {r['start']} is not the wall-clock time of the session ({t0:.0f}..{t1:.0f})")
    if not elapsed <= r["duration"] <= elapsed + 2 * dt.SCALE * 10**6:
        p.append(f"duration {r['duration']} us, the session ran {elapsed} us before Stop")
    after = usage(d)
    if after["sessions"] != before["sessions"] + 1:
        p.append(f"sessions {before['sessions']} -> {after['sessions']}")
    massage = after["massage-usec"] - before["massage-usec"]  # counted tick by tick, in program time
    if not r["duration"] // 2 <= massage <= r["duration"] + 5 * 10**6:
        p.append(f"massage-usec grew by {massage} for a session of {r['duration']} us")
    if after["roller-usec"] <= before["roller-usec"]:
        p.append(f"the roller ran and roller-usec did not grow: {before['roller-usec']} -> {after['roller-usec']}")
    if after["backrest-usec"] != before["backrest-usec"]:
        p.append("backrest-usec grew, and the backrest was not driven")
    # Saved at the end of the session, off the loop.
    if not wait_for(lambda: saved_usage(d).get("sessions") == after["sessions"], 10, 0.01):
        p.append(f"the usage file says {saved_usage(d).get('sessions')} sessions, chaird {after['sessions']}")


def test_usage_is_not_written_on_every_tick(p, d, bus):
    path = os.path.join(d.dir, "state", "usage")
    d.chair.SetHeat("lumbar", dbus.UInt32(2))
    # Program time runs SCALE times faster: 3 s here are a minute of it.
    d.chair.StartManual(opts({"roller": {"technique": "kneading", "area": "back"},
                              "duration": dbus.UInt64(10 * MINUTE)}))
    wait_for(lambda: d.state() == "running", 30)
    before = usage(d)
    stat0 = os.stat(path)
    time.sleep(3)  # dozens of control ticks
    stat1 = os.stat(path)
    mid = usage(d)
    if (stat1.st_ino, stat1.st_mtime_ns) != (stat0.st_ino, stat0.st_mtime_ns):
        p.append("the usage file was written during the session")
    # Counted in program time, as durations are (SCALE times the wall clock here).
    if mid["massage-usec"] - before["massage-usec"] < 2 * dt.SCALE * 10**6:
        p.append(f"massage-usec grew by {mid['massage-usec'] - before['massage-usec']} in 3 s of a session")
    if mid["heat-usec"] - before["heat-usec"] < 2 * dt.SCALE * 10**6:
        p.append(f"heat-usec grew by {mid['heat-usec'] - before['heat-usec']} in 3 s with the lumbar heat on")
    d.chair.Stop()
    idle(d)
    if os.stat(path).st_mtime_ns == stat1.st_mtime_ns and os.stat(path).st_ino == stat1.st_ino:
        p.append("the usage file was not written at the end of the session")


def test_faults_are_recorded_in_their_session_and_alone(p, d, bus):
    d.chair.StartManual(opts({"foot-rollers": dbus.UInt32(3), "duration": dbus.UInt64(MINUTE)}))
    wait_for(lambda: d.state() == "running", 30)
    d.chair.EmergencyStop()
    r = history(d, 1)[0]
    if (r["program"], r["reason"], r["fault"]) != ("manual", "emergency-stop", "emergency-stop"):
        p.append(f"a session ended by an emergency stop: {r}")
    d.chair.ResetFault()
    idle(d)
    n = len(history(d))
    d.chair.EmergencyStop()  # nothing runs
    h = history(d)
    if len(h) != n + 1 or (h[0]["program"], h[0]["reason"], h[0]["fault"], h[0]["duration"]) != \
            ("", "fault", "emergency-stop", 0):
        p.append(f"an emergency stop outside a session: {h[:2]}")
    d.chair.EmergencyStop()  # the same fault again: still one record
    if len(history(d)) != n + 1:
        p.append("a second emergency stop while latched made another record")
    d.chair.ResetFault()


def test_history_and_usage_survive_a_restart_and_a_kill_9(p, d, bus):
    short_session(d)
    idle(d)
    h, u = history(d), usage(d)
    d.restart()  # SIGTERM
    if history(d) != h:
        p.append(f"after a restart: {len(history(d))} records, {len(h)} before")
    if usage(d)["sessions"] != u["sessions"]:
        p.append(f"after a restart: {usage(d)['sessions']} sessions, {u['sessions']} before")
    short_session(d)
    idle(d)
    h, u = history(d), usage(d)
    # The counters go to the disk at the end of a session, off the loop: killed once they are there.
    if not wait_for(lambda: saved_usage(d).get("sessions") == u["sessions"], 10, 0.01):
        p.append(f"the usage file did not get the session's count: {saved_usage(d)}")
    d.proc.kill()
    d.proc.wait()
    d.restart()
    # Killed within a second of the chair falling idle, chaird comes up "interrupted": that is a record too.
    after = history(d)
    if after[:1] and (after[0]["reason"], after[0]["fault"]) == ("fault", "interrupted"):
        after = after[1:]
    if after != h:
        p.append(f"after a kill -9: {len(after)} records, {len(h)} before: {history(d)[:2]}")
    if usage(d)["sessions"] != u["sessions"]:
        p.append(f"after a kill -9: {usage(d)['sessions']} sessions, {u['sessions']} before")


def test_a_record_cut_short_by_a_power_cut_is_left_out(p, d, bus):
    short_session(d)
    idle(d)
    h = history(d)
    d.proc.terminate()
    d.proc.wait()
    with open(history_file(d), "a") as f:
        f.write("1763800000000000 4200")  # a line whose write the cut stopped
    d.restart()
    if history(d) != h:
        p.append(f"the records before the cut: {len(history(d))}, want {len(h)}")
    if "a record cut short" not in log_text(d):
        p.append("the journal does not say a record was cut short")
    short_session(d)
    idle(d)
    lines = file_records(d)
    if len(lines) != len(h) + 1 or not all(line.endswith("\n") and len(line.split()) == 6 for line in lines):
        p.append(f"the file after the next record: {lines[-3:]}")
    d.restart()
    if len(history(d)) != len(h) + 1:
        p.append(f"after another restart: {len(history(d))} records, want {len(h) + 1}")


def test_a_kill_9_during_history_rewrites_loses_nothing_answered(p, d, bus):
    """On the chair with the small bound, sessions one after the other from a second connection, through
    several rewrites of the file, while chaird is killed: every session whose Stop was answered is on the disk
    (and at most one more, whose answer the kill cut off)."""
    done, errors, killed = [], [], threading.Event()

    def sessions():
        conn = bus.connect()
        chair = dbus.Interface(conn.get_object(dt.NAME, dt.PATH), dt.IFACE)
        while True:
            try:
                chair.StartManual(opts({"foot-rollers": dbus.UInt32(1), "duration": dbus.UInt64(MINUTE)}))
                chair.Stop()
            except dbus.exceptions.DBusException as e:
                if not killed.is_set():
                    errors.append(str(e))
                return
            done.append(time.time())

    newest = max((r["start"] for r in history(d)), default=0)
    t = threading.Thread(target=sessions)
    t.start()
    # 60 sessions: past the bound's slack (10) six times over, so that the kill can come during a rewrite.
    wait_for(lambda: len(done) >= 60 or errors, 120, 0.01)
    if len(done) < 60 and not errors:
        p.append(f"only {len(done)} sessions in 120 s")
    killed.set()
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    t.join(30)
    if errors:
        p.append(f"a session failed before the kill: {errors[0]}")
    answered = len(done)
    d.restart()
    got = len([r for r in history(d) if r["start"] > newest and r["program"] == "manual"])
    # The bound keeps the newest: with the restart's "interrupted" record, BOUND - 1 sessions at most (a fast
    # machine answers more than that before the kill lands).
    if not min(answered, BOUND - 1) <= got <= min(answered + 1, BOUND - 1):
        p.append(f"{answered} sessions answered before the kill, {got} in the history after it")
    if "not a history record" in log_text(d):
        p.append("the history had a damaged line after the kill")
    d.chair.ResetFault()  # chaird came up "interrupted": the chair was active


def test_a_thousand_sessions_leave_the_history_at_its_bound(p, d, bus):
    for _ in range(1000):
        short_session(d)
    h = history(d)
    if len(h) != BOUND:
        p.append(f"{len(h)} records after 1000 sessions, bound {BOUND}")
    starts = [r["start"] for r in h]
    if starts != sorted(starts, reverse=True):
        p.append("the records are not newest first")
    if len(history(d, 7)) != 7:
        p.append(f"History(7) gave {len(history(d, 7))}")
    # Past the bound by its slack, the file is rewritten, synced off the loop: the records that came while the
    # new file was synced may be in the old one for a moment more, until the new one is renamed over it.
    slack = max(8, BOUND // 10)
    if not wait_for(lambda: BOUND <= len(file_records(d)) <= BOUND + slack, 15):
        p.append(f"the file holds {len(file_records(d))} records, bound {BOUND} and {slack} more")
    if usage(d)["sessions"] < 1000:
        p.append(f"usage says {usage(d)['sessions']} sessions after 1000")
    idle(d)
    d.restart()
    if history(d) != h:
        p.append(f"after a restart: {len(history(d))} records, not the same {len(h)}")


def test_history_and_usage_read_by_anyone_and_fed_bad_arguments(p, d, bus):
    r = dt.busctl(bus, "call", dt.NAME, dt.PATH, dt.IFACE, "History", "s", "ten")
    if "takes (u)" not in r.stderr:
        p.append(f"History(s): {r.returncode} {r.stderr.strip()}")
    r = dt.busctl(bus, "call", dt.NAME, dt.PATH, dt.IFACE, "History", "u", "2", user="nobody")
    if r.returncode != 0 or not r.stdout.startswith("aa{sv} 2"):
        p.append(f"History(2) as nobody: {r.returncode} {r.stdout[:80]} {r.stderr.strip()}")
    r = dt.busctl(bus, "get-property", dt.NAME, dt.PATH, dt.IFACE, "Usage", user="nobody")
    if r.returncode != 0 or "sessions" not in r.stdout:
        p.append(f"Usage as nobody: {r.returncode} {r.stdout[:80]} {r.stderr.strip()}")


def test_chairctl_history_and_usage(p, d, bus):
    import json
    short_session(d)
    idle(d)
    r = dt.chairctl(bus, "history", "3")
    lines = r.stdout.splitlines()
    if r.returncode != 0 or len(lines) != 3 or "manual" not in lines[0] or "stopped" not in lines[0]:
        p.append(f"chairctl history 3: {r.returncode} {r.stdout!r} {r.stderr.strip()}")
    r = dt.chairctl(bus, "--json", "history", "2")
    try:
        got = json.loads(r.stdout)
        if len(got) != 2 or got[0]["program"] != "manual" or got[0]["start_usec"] != history(d, 1)[0]["start"]:
            p.append(f"chairctl --json history 2: {got}")
    except ValueError:
        p.append(f"chairctl --json history: not JSON: {r.stdout!r} {r.stderr.strip()}")
    r = dt.chairctl(bus, "--json", "usage")
    try:
        got = json.loads(r.stdout)
        if got != usage(d):
            p.append(f"chairctl --json usage {got} != Usage {usage(d)}")
    except ValueError:
        p.append(f"chairctl --json usage: not JSON: {r.stdout!r}")
    r = dt.chairctl(bus, "usage")
    if r.returncode != 0 or not any(line.split()[:1] == ["sessions"] for line in r.stdout.splitlines()) or \
            "roller" not in r.stdout:
        p.append(f"chairctl usage: {r.returncode} {r.stdout!r} {r.stderr.strip()}")
    r = dt.chairctl(bus, "history", "lots")
    if r.returncode != 2:
        p.append(f"chairctl history lots: exit {r.returncode}, want 2 {r.stderr.strip()}")


def cases(tap, tmp):
    with dt.private_bus(tmp) as bus:
        dt.run_on_chaird(tap, bus, os.path.join(tmp, "history"), [
            ("a_session_leaves_a_record_and_counts_in_usage", test_a_session_leaves_a_record_and_counts_in_usage),
            ("usage_is_not_written_on_every_tick", test_usage_is_not_written_on_every_tick),
            ("faults_are_recorded_in_their_session_and_alone", test_faults_are_recorded_in_their_session_and_alone),
            ("history_and_usage_survive_a_restart_and_a_kill_9",
             test_history_and_usage_survive_a_restart_and_a_kill_9),
            ("a_record_cut_short_by_a_power_cut_is_left_out", test_a_record_cut_short_by_a_power_cut_is_left_out),
            ("history_and_usage_read_by_anyone_and_fed_bad_arguments",
             test_history_and_usage_read_by_anyone_and_fed_bad_arguments),
            ("chairctl_history_and_usage", test_chairctl_history_and_usage),
        ])
        # A second chair with a small bound, so that 1000 sessions pass it many times over.
        dt.run_on_chaird(tap, bus, os.path.join(tmp, "bound"), [
            ("a_kill_9_during_history_rewrites_loses_nothing_answered",
             test_a_kill_9_during_history_rewrites_loses_nothing_answered),
            ("a_thousand_sessions_leave_the_history_at_its_bound",
             test_a_thousand_sessions_leave_the_history_at_its_bound),
        ], settle=False, replace=(("buses:", f"sessions:\n  history: {BOUND}\nbuses:"),))


if __name__ == "__main__":
    simlib.main(cases, sys.argv[1])
