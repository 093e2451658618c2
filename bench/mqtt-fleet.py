#!/usr/bin/python3
"""Benchmark of chaird-mqtt in a fleet of virtual chairs (CHAIRS, default ten) on one mosquitto (TLS, passwords, the ACL of
docs/mqtt.md), as tests/integration/test-mqtt-fleet.py builds it. Figures, not a test:

- command latency: from the operator's publish of a heat command until chair-sim's heater output changes,
  as a ratio to a bare publish-to-subscriber round trip on the same broker (the floor);
- messages per second: command replies from all the bridges, and state messages during programs;
- each bridge's and the broker's RSS and CPU (share of one core) while idle and while every chair runs a
  program.

Run: bench/mqtt-fleet.py build/gcc  (as root: the bridges run as nobody, in chaird's control group)"""
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import simlib  # noqa: E402
from simlib import wait_for  # noqa: E402
from mqttlib import Fleet  # noqa: E402

_spec = importlib.util.spec_from_file_location("test_daemon", os.path.join(HERE, "..", "tests", "integration",
                                                                           "test-daemon.py"))
td = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(td)

# CHAIRS=50 for the fleet of issue 31 (each chair is chair-sim, chaird and a bridge: three processes).
N, ROUNDS = int(os.environ.get("CHAIRS", "10")), 20
TICK = os.sysconf("SC_CLK_TCK")


def proc_figures(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    rss = 0
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return cpu, rss


def usage(fleet, seconds):
    """Each bridge's and the broker's CPU (share of one core) and RSS over seconds: (bridges, broker)."""
    pids = [b.proc.pid for _, _, _, b in fleet.chairs] + [fleet.broker.proc.pid]
    before = [proc_figures(p) for p in pids]
    time.sleep(seconds)
    after = [proc_figures(p) for p in pids]
    figures = [((a[0] - b[0]) / seconds, a[1]) for a, b in zip(after, before)]
    return figures[:-1], figures[-1]


def floor_round_trip(fleet):
    """A bare publish to a subscriber on the same broker (the operator to itself), in seconds."""
    # The chair-00 account may both write and read under its reply topic: its own message comes back.
    c = fleet.client("chair-00", ("chaird/chair-00/reply/bench",))
    rtts = []
    ev = threading.Event()
    c.c.on_message = lambda cl, u, m: ev.set()
    for _ in range(ROUNDS):
        ev.clear()
        t0 = time.perf_counter()
        c.c.publish("chaird/chair-00/reply/bench", "{}", qos=1)
        ev.wait(5)
        rtts.append(time.perf_counter() - t0)
    c.close()
    return statistics.median(rtts)


def main(build):
    simlib.BUILD = os.path.abspath(build)
    with tempfile.TemporaryDirectory(prefix="chaird-bench-") as tmp:
        os.chmod(tmp, 0o755)
        fleet = Fleet(tmp, N, td)
        try:
            op = fleet.client("operator", ("chaird/+/state", "chaird/+/reply/#"))
            wait_for(lambda: all(op.last_json(f"chaird/{cid}/state") for cid in fleet.ids), 60)
            time.sleep(2)
            idle, broker_idle = usage(fleet, 5)

            floor = floor_round_trip(fleet)
            # Command latency: publish until chair-sim's lumbar heater output changes.
            _, _, chair, _ = fleet.chairs[1]
            lat = []
            for i in range(ROUNDS):
                level = 1 if i % 2 == 0 else 0
                want = level > 0
                t0 = time.perf_counter()
                op.c.publish("chaird/chair-01/command", json.dumps({"command": "heat", "zone": "lumbar", "level": level}),
                             qos=1)
                if wait_for(lambda: chair.sim.state()["heaters"]["lumbar"]["commanded"] == want, 5, 0.001):
                    lat.append(time.perf_counter() - t0)
                time.sleep(0.15)
            chair.settle()

            # Replies a second: ten commands to each chair at once (within each bridge's burst).
            op.clear()
            t0 = time.perf_counter()
            for cid in fleet.ids:
                for k in range(10):
                    op.c.publish(f"chaird/{cid}/command", json.dumps({"command": "intensity", "intensity": 3,
                                                                      "id": k}), qos=1)
            wait_for(lambda: len([m for m in op.messages if "/reply" in m[0]]) >= 10 * N, 30, 0.005)
            replies = len([m for m in op.messages if "/reply" in m[0]])
            reply_rate = replies / (time.perf_counter() - t0)

            # Every chair runs a program: state messages a second, and the bridges' usage meanwhile.
            for cid in fleet.ids:
                op.c.publish(f"chaird/{cid}/command", json.dumps({"command": "start", "program": "quick",
                                                                  "duration-usec": 300_000_000}), qos=1)
            wait_for(lambda: all((op.last_json(f"chaird/{cid}/state") or {}).get("State") == "running"
                                 for cid in fleet.ids), 30)
            op.clear()
            busy, broker_busy = usage(fleet, 5)
            state_rate = len([m for m in op.messages if m[0].endswith("/state")]) / 5
            for cid in fleet.ids:
                op.c.publish(f"chaird/{cid}/command", json.dumps({"command": "stop"}), qos=1)
            op.close()
        finally:
            fleet.close()

    print(f"chaird-mqtt fleet of {N} chairs on one mosquitto (TLS, passwords, ACL)")
    print(f"  floor: publish-to-subscriber round trip   median {floor * 1000:.2f} ms")
    if lat:
        print(f"  command latency (publish -> chair-sim's heater output)  median {statistics.median(lat) * 1000:.1f} ms"
              f" = {statistics.median(lat) / floor:.0f}x the floor; max {max(lat) / floor:.0f}x ({len(lat)}/{ROUNDS})")
    print(f"  command replies: {replies}/{10 * N} at {reply_rate:.0f} a second")
    print(f"  state messages during {N} programs: {state_rate:.0f} a second ({state_rate / N:.1f} a chair)")
    for what, figures in (("idle", idle), ("program", busy)):
        cpu = [c for c, _ in figures]
        rss = [r for _, r in figures]
        print(f"  bridges {what:8s} CPU {statistics.mean(cpu) * 100:.2f}% of a core (max {max(cpu) * 100:.2f}%), "
              f"RSS {statistics.mean(rss) / 1024:.1f} MiB (max {max(rss) / 1024:.1f} MiB)")
    for what, (cpu, rss) in (("idle", broker_idle), ("program", broker_busy)):
        print(f"  broker  {what:8s} CPU {cpu * 100:.2f}% of a core, RSS {rss / 1024:.1f} MiB")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build")
