#!/usr/bin/python3
"""What a member of the control group, or anyone who can write the state directory, may leave where chaird
reads and writes files: FIFOs, symbolic links, directories, devices, huge and binary files, leftovers of cut
writes. chaird must never hang on one, never read or write through a link out of its folder, never quote
another file, and never answer "ok" for what is not on the disk. Real chaird on a private system bus, real
chair-sim; the attacks that need the control group run as a member of it (user nobody, group nogroup)."""
import importlib.util
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import simlib  # noqa: E402
from simlib import wait_for  # noqa: E402

_spec = importlib.util.spec_from_file_location("daemon_test", os.path.join(os.path.dirname(__file__), "test-daemon.py"))
dt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dt)
Chaird, SystemBus, call_error, busctl, ERR = dt.Chaird, dt.SystemBus, dt.call_error, dt.busctl, dt.ERR
dbus = dt.dbus

MEMBER, GROUP = "nobody", "nogroup"
STATE_FILES = ["history", "usage", "positions", "active", "locked", "session"]
SECRET = "root:SECRET-FIRST-LINE:0:0\n"


def as_member(*cmd):
    return subprocess.run(["runuser", "-u", MEMBER, "--", *cmd], capture_output=True, text=True, timeout=30)


def state(d, *name):
    return os.path.join(d.dir, "state", *name)


def log(d):
    d.log.flush()
    return open(d.log.name, errors="replace").read()


def broken(d):
    return {os.path.basename(str(path)): str(msg) for path, msg in d.get("BrokenPrograms")}


def group_writable_programs(d):
    """The installer's folder as a package sets it up: writable by the control group."""
    subprocess.run(["chown", f"root:{GROUP}", d.local], check=True)
    os.chmod(d.local, 0o2775)


def outside(tmp):
    """A folder outside the state directory with a file of its own: what a link points to."""
    where = os.path.join(tmp, "outside")
    os.makedirs(where, exist_ok=True)
    with open(os.path.join(where, "shadow"), "w") as f:
        f.write(SECRET)
    return where


def snapshot(folder):
    return {n: (os.lstat(os.path.join(folder, n)).st_mtime_ns, open(os.path.join(folder, n)).read())
            for n in sorted(os.listdir(folder))}


def run_a_session(d):
    d.chair.Start("quick", {})
    wait_for(lambda: d.state() in ("scanning", "running"), 30)
    d.chair.Stop()
    wait_for(lambda: d.state() == "idle", 60, 0.05)


# --- cases ---

def test_a_fifo_in_the_programs_folder_never_hangs_the_loop(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "fifo-programs"), bus, extra=("--control-group", GROUP))
    try:
        group_writable_programs(d)
        d.chair.Start("quick", {})
        if not wait_for(lambda: d.state() in ("scanning", "running"), 30):
            p.append(f"the program did not start: {d.state()}")
        r = as_member("mkfifo", os.path.join(d.local, "evil.yaml"))
        if r.returncode != 0:
            p.append(f"the member could not make the FIFO: {r.stderr}")
        t0 = time.monotonic()
        # A hang would be busctl's timeout; the time is printed, not asserted (a loaded machine is slow).
        r = busctl(bus, "--timeout=10", "call", dt.NAME, dt.PATH, dt.IFACE, "ReloadPrograms", user=MEMBER)
        print(f"# ReloadPrograms with a FIFO answered in {(time.monotonic() - t0) * 1000:.0f} ms")
        if "Timeout" in r.stderr or "timed out" in r.stderr:
            p.append(f"ReloadPrograms hung on the FIFO: {r.stderr.strip()}")
        if "evil.yaml" not in r.stderr or "FIFO" not in r.stderr:
            p.append(f"ReloadPrograms did not say what is wrong: {r.stderr.strip()!r}")
        msg = broken(d).get("evil.yaml", "")
        if "FIFO" not in msg:
            p.append(f"BrokenPrograms for the FIFO: {msg!r}")
        # SIGHUP reloads as well: the loop still answers after it.
        d.proc.send_signal(signal.SIGHUP)
        if call_error(d.get, "State") is not None:
            p.append("no answer after SIGHUP with the FIFO")
        # The chair still obeys an emergency stop mid-program, and stops for real.
        d.chair.EmergencyStop()
        if d.state() != "fault":
            p.append(f"EmergencyStop mid-program: State {d.state()}")
        if not wait_for(lambda: not any(m["driven"] for m in d.sim.state()["motors"].values()), 5):
            p.append(f"motors still driven after the emergency stop: {d.sim.state()['motors']}")
        d.chair.ResetFault()
        # SIGTERM is obeyed as well.
        d.proc.terminate()
        try:
            d.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.append("SIGTERM was not obeyed with a FIFO in the programs folder")
    finally:
        d.close()


def test_a_link_or_odd_file_in_the_programs_folder_is_listed_by_its_path_only(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "link-programs"), bus, extra=("--control-group", GROUP))
    try:
        group_writable_programs(d)
        secret = os.path.join(outside(tmp), "shadow")
        away = os.path.dirname(secret)
        with open(os.path.join(away, "creds.yaml"), "w") as f:
            f.write("secret-key: SECRET-PATTERN\n")
        for cmd in (["ln", "-s", secret, os.path.join(d.local, "x.yaml")],
                    ["ln", "-s", away, os.path.join(d.local, "patterns")],
                    ["ln", "-s", "/dev/zero", os.path.join(d.local, "zero.yaml")],
                    ["mkdir", os.path.join(d.local, "folder.yaml")]):
            r = as_member(*cmd)
            if r.returncode != 0:
                p.append(f"{' '.join(cmd)}: {r.stderr}")
        busctl(bus, "call", dt.NAME, dt.PATH, dt.IFACE, "ReloadPrograms", user=MEMBER)
        got = broken(d)
        want = {"x.yaml": "symbolic link", "zero.yaml": "symbolic link", "folder.yaml": "directory",
                "patterns": "symbolic link"}
        for name, words in want.items():
            if words not in got.get(name, ""):
                p.append(f"BrokenPrograms {name}: {got.get(name)!r}, want it to say {words!r}")
        everything = repr(got) + log(d)
        if "SECRET" in everything:
            p.append("the link's target was quoted in BrokenPrograms or the journal")
        if "Stale file handle" in everything or "(0 bytes)" in everything:
            p.append("a message names the wrong cause")
    finally:
        d.close()


def make_odd(kind, path, target):
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link":
        os.symlink(target, path)
    else:
        os.makedirs(path)


def test_odd_files_in_place_of_every_state_file_never_stop_the_chair(p, tmp, bus):
    away = outside(tmp)
    for kind in ("fifo", "link", "dir"):
        base = os.path.join(tmp, f"odd-{kind}")
        os.makedirs(os.path.join(base, "state", "profiles"), exist_ok=True)
        for name in STATE_FILES:
            make_odd(kind, os.path.join(base, "state", name), os.path.join(away, "shadow"))
        make_odd(kind, os.path.join(base, "state", "profiles", "anna"), os.path.join(away, "shadow"))
        before = snapshot(away)
        try:
            d = Chaird(base, bus)  # raises when chaird sends no READY=1
        except RuntimeError as e:
            p.append(f"{kind}: chaird did not become ready: {str(e)[:300]}")
            continue
        try:
            text = log(d)
            for name in ("history", "usage", "active"):  # the positions go unread after an unclean end
                if f"/{name}: " not in text:
                    p.append(f"{kind}: no journal line for state/{name}")
            # Something in the marker's place: an unclean end, reset by hand.
            if d.state() != "fault":
                p.append(f"{kind}: State {d.state()} with something odd in the marker's place")
            d.chair.ResetFault()
            run_a_session(d)
            d.chair.SaveProfile("ben", dbus.Dictionary({"intensity": dbus.UInt32(3)}, signature="sv"))
            if len(d.chair.History(dbus.UInt32(5))) < 1:
                p.append(f"{kind}: the session is not in the history")
            d.restart()
            if [str(x) for x in d.get("Profiles")] != ["ben"]:
                p.append(f"{kind}: Profiles after a restart: {list(d.get('Profiles'))}")
            if len(d.chair.History(dbus.UInt32(5))) < 1:
                p.append(f"{kind}: the history did not survive the restart")
            for name in STATE_FILES:  # set aside, removed or written afresh: regular files now, if any
                path = state(d, name)
                if os.path.lexists(path) and not os.path.isfile(path) or os.path.islink(path):
                    p.append(f"{kind}: state/{name} is still odd after a restart")
            if snapshot(away) != before:
                p.append(f"{kind}: chaird wrote outside its state directory: {sorted(os.listdir(away))}")
            if "SECRET" in log(d):
                p.append(f"{kind}: a link's target was quoted in the journal")
            if "Stale file handle" in log(d) or "(0 bytes)" in log(d):
                p.append(f"{kind}: a journal line names the wrong cause")
        finally:
            d.close()


def test_a_linked_profiles_folder_is_refused_not_followed(p, tmp, bus):
    away = os.path.join(tmp, "elsewhere")
    os.makedirs(away)
    with open(os.path.join(away, "mallory"), "w") as f:
        f.write("# chaird profile 1\nintensity 6\n")  # broken: would be renamed aside if followed
    base = os.path.join(tmp, "linked-profiles")
    os.makedirs(os.path.join(base, "state"))
    os.symlink(away, os.path.join(base, "state", "profiles"))
    before = snapshot(away)
    d = Chaird(base, bus)
    try:
        err = call_error(d.chair.SaveProfile, "anna", dbus.Dictionary({}, signature="sv"))
        if err != ERR + "Failed":
            p.append(f"SaveProfile with a linked profiles folder: {err}, want Failed")
        if [str(x) for x in d.get("Profiles")]:
            p.append(f"Profiles from a linked folder: {list(d.get('Profiles'))}")
        if snapshot(away) != before:
            p.append(f"chaird changed the link's target folder: {sorted(os.listdir(away))}")
        if "symbolic link" not in log(d):
            p.append("the journal does not say the profiles folder is a link")
    finally:
        d.close()


def test_a_save_that_cannot_reach_the_disk_is_an_error(p, tmp, bus):
    base = os.path.join(tmp, "unsaved")
    os.makedirs(os.path.join(base, "state", "profiles"))
    d = Chaird(base, bus)
    try:
        # A directory where the profile's file goes: the rename over it fails.
        os.makedirs(state(d, "profiles", "anna", "in-the-way"))
        try:
            d.chair.SaveProfile("anna", dbus.Dictionary({"intensity": dbus.UInt32(2)}, signature="sv"))
            p.append("SaveProfile answered ok with a directory in the file's place")
        except dbus.DBusException as e:
            if e.get_dbus_name() != ERR + "Failed" or "directory" not in e.get_dbus_message():
                p.append(f"SaveProfile over a directory: {e.get_dbus_name()} {e.get_dbus_message()!r}")
    finally:
        d.close()
    # A read-only state directory (a bind mount of its own, in a mount namespace of chaird's own).
    base = os.path.join(tmp, "read-only")
    os.makedirs(os.path.join(base, "state", "profiles"))
    ro = os.path.join(base, "state")
    d = Chaird(base, bus, wrap=("unshare", "--mount", "--propagation", "private", "sh", "-c",
                                'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"', ro))
    try:
        for method, args in (("SaveProfile", ("cleo", dbus.Dictionary({}, signature="sv"))),):
            try:
                getattr(d.chair, method)(*args)
                p.append(f"{method} answered ok on a read-only state directory")
            except dbus.DBusException as e:
                if e.get_dbus_name() != ERR + "Failed" or "Read-only" not in e.get_dbus_message():
                    p.append(f"{method} read-only: {e.get_dbus_name()} {e.get_dbus_message()!r}")
        if call_error(d.get, "State") is not None:
            p.append("chaird stopped answering")
    finally:
        d.close()


def test_huge_and_binary_state_files_are_set_aside_at_once(p, tmp, bus):
    base = os.path.join(tmp, "huge")
    os.makedirs(os.path.join(base, "state"))
    with open(os.path.join(base, "state", "history"), "wb") as f:
        f.truncate(100 * 1024 * 1024)  # 100 MB (sparse: its size is what counts)
    with open(os.path.join(base, "state", "usage"), "wb") as f:
        f.write(os.urandom(100 * 1024 * 1024))
    with open(os.path.join(base, "state", "positions"), "wb") as f:
        f.write(os.urandom(3000))
    t0 = time.monotonic()
    d = Chaird(base, bus)
    print(f"# READY with a 100 MB history and usage after {(time.monotonic() - t0) * 1000:.0f} ms")
    try:
        for name in ("history", "usage"):
            if not os.path.exists(state(d, name + ".broken")):
                p.append(f"the huge {name} was not set aside")
        text = log(d)
        lines = [x for x in text.splitlines() if "usage" in x]
        if len(lines) > 2:
            p.append(f"{len(lines)} journal lines about the usage file: {lines[:3]}")
        pos = [x for x in text.splitlines() if "positions" in x]
        if not pos or len(pos) > 2:
            p.append(f"a binary positions file: journal lines {pos}")
        if "too large" not in text:
            p.append("the journal does not say the files are too large")
    finally:
        d.close()
    # Many damaged lines within the bound: one line for the file, and never more motors than there are.
    base = os.path.join(tmp, "damaged")
    os.makedirs(os.path.join(base, "state"))
    with open(os.path.join(base, "state", "positions"), "w") as f:
        f.write("backrest 0.5000\n" * 200)
    with open(os.path.join(base, "state", "usage"), "w") as f:
        f.write("# chaird usage 1\n" + "not a counter\n" * 500)
    d = Chaird(base, bus)
    try:
        text = log(d)
        if len([x for x in text.splitlines() if "usage" in x]) > 1:
            p.append("more than one journal line for 500 damaged usage lines")
        restored = [x for x in text.splitlines() if "restored" in x]
        if any(int(x.split(" motor position")[0].split()[-1]) > 4 for x in restored if " motor position" in x):
            p.append(f"more positions restored than the chair has motors: {restored}")
    finally:
        d.close()


def test_leftovers_of_cut_writes_are_removed_at_start(p, tmp, bus):
    base = os.path.join(tmp, "leftovers")
    os.makedirs(os.path.join(base, "state", "profiles"))
    left = [("usage.tmpAb12Cd",), ("positions.tmpZZZZZZ",), ("active.tmp000000",), ("history.new",),
            ("profiles", "anna.tmpQwErTy")]
    for parts in left:
        with open(os.path.join(base, "state", *parts), "w") as f:
            f.write("half\n")
    d = Chaird(base, bus)
    try:
        for parts in left:
            if os.path.exists(state(d, *parts)):
                p.append(f"{'/'.join(parts)} was left")
        if "cut short; removed" not in log(d):
            p.append("the journal does not say what was removed")
    finally:
        d.close()


def test_a_key_given_twice_is_an_invalid_argument(p, tmp, bus):
    d = Chaird(os.path.join(tmp, "twice"), bus)
    try:
        calls = [
            ("Start", "sa{sv}", "quick", "2", "intensity", "u", "2", "intensity", "u", "5"),
            ("StartManual", "a{sv}", "2", "technique", "s", "kneading", "technique", "s", "tapping"),
            ("SaveProfile", "sa{sv}", "anna", "2", "intensity", "u", "2", "intensity", "u", "5"),
            ("Adjust", "a{sv}", "2", "speed", "u", "2", "speed", "u", "5"),
        ]
        for method, *args in calls:
            r = busctl(bus, "call", dt.NAME, dt.PATH, dt.IFACE, method, *args)
            key = next(a for a in args if args.count(a) == 2 and not a.isdigit() and len(a) > 1)
            if "twice" not in r.stderr or key not in r.stderr:
                p.append(f"{method} with a key twice: rc {r.returncode} {r.stderr.strip() or r.stdout.strip()}")
        if d.state() != "idle" or [str(x) for x in d.get("Profiles")]:
            p.append(f"a call with a key twice changed something: {d.state()} {list(d.get('Profiles'))}")
    finally:
        d.close()


def cases(tap, tmp):
    with dt.private_bus(tmp) as bus:
        simlib.run_cases(tap, [
            ("a_fifo_in_the_programs_folder_never_hangs_the_loop",
             test_a_fifo_in_the_programs_folder_never_hangs_the_loop),
            ("a_link_or_odd_file_in_the_programs_folder_is_listed_by_its_path_only",
             test_a_link_or_odd_file_in_the_programs_folder_is_listed_by_its_path_only),
            ("odd_files_in_place_of_every_state_file_never_stop_the_chair",
             test_odd_files_in_place_of_every_state_file_never_stop_the_chair),
            ("a_linked_profiles_folder_is_refused_not_followed", test_a_linked_profiles_folder_is_refused_not_followed),
            ("a_save_that_cannot_reach_the_disk_is_an_error", test_a_save_that_cannot_reach_the_disk_is_an_error),
            ("huge_and_binary_state_files_are_set_aside_at_once",
             test_huge_and_binary_state_files_are_set_aside_at_once),
            ("leftovers_of_cut_writes_are_removed_at_start", test_leftovers_of_cut_writes_are_removed_at_start),
            ("a_key_given_twice_is_an_invalid_argument", test_a_key_given_twice_is_an_invalid_argument),
        ], tmp, bus)


if __name__ == "__main__":
    simlib.main(cases, sys.argv[1])
