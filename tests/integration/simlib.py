"""Shared pieces of the integration tests: TAP output, chair-sim (over TCP or over RTU through a socat pty
pair), its control socket, and mbpoll as an independent Modbus master."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import traceback

BUILD = None  # the meson build dir, set by main()


class Tap:
    def __init__(self):
        self.results = []

    def case(self, name, fn, *args):
        only = os.environ.get("CHAIRD_TEST_ONLY")  # a part of the names of the cases to run; the rest are left out
        if only and only not in name:
            return
        problems = []
        try:
            fn(problems, *args)
        except Exception as e:  # a crash of the check is a failure, with the reason
            problems.append(f"{type(e).__name__}: {e}")
            problems.extend(traceback.format_exc().splitlines())
        self.results.append((name, problems))
        n = len(self.results)
        print(f"{'not ' if problems else ''}ok {n} - {name}")
        for p in problems:
            print(f"#   {p}")
        sys.stdout.flush()

    def done(self):
        print(f"1..{len(self.results)}")
        return 1 if any(p for _, p in self.results) else 0


def run_cases(tap, cases, *args, chaird=None):
    """Runs cases, (name, fn) pairs, in order, each as fn(problems, *args). With chaird (a running chaird the
    cases share), lets it settle between cases and stops after the first one that leaves it no longer running,
    with a failed case of its own saying so; returns False then, else True."""
    for name, fn in cases:
        tap.case(name, fn, *args)
        if chaird is None:
            continue
        if chaird.proc.poll() is not None:
            tap.case("chaird_kept_running", lambda p: p.append(f"chaird exited {chaird.proc.poll()}"))
            return False
        chaird.settle()
    return True


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, interval=0.02):
    """Polls predicate until it returns a true value or timeout seconds pass; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class PtyPair:
    """Two linked pseudo-terminals made by socat: what one end writes the other reads, like a cable."""

    def __init__(self, directory):
        self.a = os.path.join(directory, "pty-a")
        self.b = os.path.join(directory, "pty-b")
        self.proc = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(lambda: os.path.exists(self.a) and os.path.exists(self.b), 10):
            raise RuntimeError("socat made no pty pair")

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def call_error(fn, *args, **kw):
    """The D-Bus error name a call fails with, or None when it succeeds (for the tests on python3-dbus)."""
    import dbus  # here, not at the top: the chair-sim tests run without python3-dbus
    try:
        fn(*args, **kw)
        return None
    except dbus.exceptions.DBusException as e:
        return e.get_dbus_name()


class SimControl:
    """chair-sim's control socket: one command per line, one JSON line back."""

    def __init__(self, control):
        self.control = control

    def command(self, line):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.control)
            s.sendall(line.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data)

    def ok(self, line):
        reply = self.command(line)
        if reply != {"ok": True}:
            raise RuntimeError(f"chair-sim refused '{line}': {reply}")

    def state(self):
        return self.command("state")


class ChairSim(SimControl):
    """chair-sim started for one test, over TCP on a free port or over RTU."""

    def __init__(self, directory, rtu_device=None, time_scale=1, extra=()):
        super().__init__(os.path.join(directory, "chair-sim.sock"))
        self.port = None
        args = [os.path.join(BUILD, "tools/chair-sim/chair-sim"), "--control", self.control,
                "--time-scale", str(time_scale), *extra]
        if rtu_device:
            args += ["--rtu", rtu_device]
        else:
            self.port = free_tcp_port()
            args += ["--tcp", f"127.0.0.1:{self.port}"]
        self.log = open(os.path.join(directory, "chair-sim.log"), "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        if not wait_for(self._ready, 10):
            raise RuntimeError("chair-sim did not come up: " + open(self.log.name).read())

    def _ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("chair-sim exited: " + open(self.log.name).read())
        if not os.path.exists(self.control):
            return False
        if self.port:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                return False
        return True

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


TYPES = {"coil": "0", "discrete": "1", "input": "3", "holding": "4"}


def mbpoll(target, table, address, values=None, count=1, timeout=1.0, rtu=False):
    """Runs mbpoll once against target (a TCP port number or an RTU device). Returns (ok, values, output)."""
    args = ["mbpoll", "-a", "1", "-0", "-1", "-t", TYPES[table], "-r", str(address), "-o", str(timeout)]
    if rtu:
        args += ["-m", "rtu", "-b", "115200", "-P", "none", target]
    else:
        args += ["-m", "tcp", "-p", str(target), "127.0.0.1"]
    if values is None:
        args[1:1] = ["-c", str(count)]
    else:
        args += [str(v) for v in values]
    p = subprocess.run(args, capture_output=True, text=True, timeout=30)
    out = p.stdout + p.stderr
    read = [int(v) for _, v in re.findall(r"^\[(\d+)\]:\s+(-?\d+)", p.stdout, re.M)]
    return p.returncode == 0 and "failed" not in out, read, out


def main(cases, build):
    global BUILD
    BUILD = os.path.abspath(build)
    tap = Tap()
    with tempfile.TemporaryDirectory(prefix="chaird-test-") as tmp:
        cases(tap, tmp)
    sys.exit(tap.done())
