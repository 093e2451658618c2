#!/usr/bin/env python3
"""A fleet on one machine: ten virtual chairs (chair-sim, chaird on its own private bus, chaird-mqtt each) on
one mosquitto with TLS, a password file and docs/mqtt.md's ACL, and an operator. The operator installs a
program on every chair, starts it on one, and sees every chair's state and the finished event; a Home
Assistant user may read but not command."""
import importlib.util
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import simlib  # noqa: E402
from simlib import wait_for  # noqa: E402
from mqttlib import Fleet, v5_properties  # noqa: E402

_spec = importlib.util.spec_from_file_location("test_daemon", os.path.join(os.path.dirname(__file__), "test-daemon.py"))
td = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(td)

N = 10


def command(op, cid, payload, tag):
    """Sends payload to chair cid with an MQTT 5 response topic; returns the reply or None."""
    topic = f"chaird/{cid}/reply/operator"
    op.publish(f"chaird/{cid}/command", json.dumps(payload), properties=v5_properties(topic, tag.encode()))
    return topic


def reply_for(op, topic, tag, timeout=20):
    def find():
        for t, payload, _, props in op.on(topic):
            if getattr(props, "CorrelationData", None) == tag.encode():
                return json.loads(payload)
        return None
    return wait_for(find, timeout, 0.02)


def test_every_chair_is_seen(p, fleet, op):
    def all_seen():
        return all(op.last_json(f"chaird/{cid}/state") and op.on(f"chaird/{cid}/availability")
                   and op.on(f"chaird/{cid}/availability")[-1][1] == b"online" for cid in fleet.ids)
    if not wait_for(all_seen, 60):
        missing = [cid for cid in fleet.ids if not op.last_json(f"chaird/{cid}/state")]
        p.append(f"no state from {missing}")


def test_install_on_every_chair_start_on_one_and_see_it_finish(p, fleet, op):
    text = "id: fleet-quick\n" + open(os.path.join(td.SRC, "programs/quick.yaml")).read()
    topics = {cid: command(op, cid, {"command": "install", "yaml": text}, f"install-{cid}") for cid in fleet.ids}
    for cid in fleet.ids:
        r = reply_for(op, topics[cid], f"install-{cid}")
        if not r or r.get("ok") is not True:
            p.append(f"install on {cid}: {r}")
    for cid in fleet.ids:
        if not wait_for(lambda: "fleet-quick" in [x["id"] for x in (op.last_json(f"chaird/{cid}/programs") or [])], 15):
            p.append(f"{cid} does not list fleet-quick")
    one = fleet.ids[3]
    t = command(op, one, {"command": "start", "program": "fleet-quick", "duration-usec": 60_000_000}, "start")
    r = reply_for(op, t, "start")
    if not r or r.get("ok") is not True:
        p.append(f"start on {one}: {r}")
    if not wait_for(lambda: (op.last_json(f"chaird/{one}/state") or {}).get("Program") == "fleet-quick", 15):
        p.append(f"{one} state: {op.last_json(f'chaird/{one}/state')}")
    others = [cid for cid in fleet.ids if cid != one]
    if any((op.last_json(f"chaird/{cid}/state") or {}).get("Program") for cid in others):
        p.append("another chair runs a program")
    finished = {"event": "finished", "program": "fleet-quick", "reason": "completed"}
    if not wait_for(lambda: any(json.loads(m[1]) == finished for m in op.on(f"chaird/{one}/event")), 60):
        p.append(f"no finished event from {one}: {op.on(f'chaird/{one}/event')}")
    # The chair-sim of that chair moved; the others' never did.
    for cid, _, chair, _ in fleet.chairs:
        if cid != one and chair.sim.state()["roller"]["kneading"]:
            p.append(f"{cid}'s rollers moved")


def test_home_assistant_user_commands_but_cannot_speak_for_a_chair(p, fleet, op):
    """The documented ACL: Home Assistant's user sees every chair and its commands reach the chair (its buttons
    work), but it cannot publish as a chair: a state it sends on a chair's state topic reaches nobody."""
    ha = fleet.client("homeassistant", ("chaird/+/state",))
    try:
        if not ha.wait(lambda: len({m[0] for m in ha.messages}) == N, 15):
            p.append(f"homeassistant saw {len({m[0] for m in ha.messages})} chairs' state")
        cid = fleet.ids[0]
        before = int(fleet.chairs[0][2].get("Intensity"))
        want = 5 if before != 5 else 1
        ha.c.publish(f"chaird/{cid}/command", json.dumps({"command": "intensity", "intensity": want}), qos=1)
        if not wait_for(lambda: int(fleet.chairs[0][2].get("Intensity")) == want, 10):
            p.append("the Home Assistant user's command did not reach the chair")
        # A forged state from Home Assistant's user: the broker drops it, the operator never sees it.
        seen = len(op.messages)
        ha.c.publish(f"chaird/{cid}/state", json.dumps({"State": "forged"}), qos=1)
        time.sleep(2)
        if any("forged" in str(m[1]) for m in op.messages[seen:]):
            p.append("Home Assistant's user published a chair's state")
        # The operator's command works too.
        t = command(op, cid, {"command": "intensity", "intensity": before}, "op-intensity")
        r = reply_for(op, t, "op-intensity")
        if not r or r.get("ok") is not True or int(fleet.chairs[0][2].get("Intensity")) != before:
            p.append(f"the operator's command: {r}")
    finally:
        ha.close()


def cases(tap, tmp):
    os.chmod(tmp, 0o755)
    fleet = Fleet(tmp, N, td)
    op = None
    try:
        op = fleet.client("operator", ("chaird/+/state", "chaird/+/event", "chaird/+/availability",
                                       "chaird/+/programs", "chaird/+/reply/#"))
        tap.case("every_chair_is_seen", test_every_chair_is_seen, fleet, op)
        tap.case("install_on_every_chair_start_on_one_and_see_it_finish",
                 test_install_on_every_chair_start_on_one_and_see_it_finish, fleet, op)
        tap.case("home_assistant_user_commands_but_cannot_speak_for_a_chair",
                 test_home_assistant_user_commands_but_cannot_speak_for_a_chair, fleet, op)
    finally:
        if op:
            op.close()
        fleet.close()


if __name__ == "__main__":
    simlib.main(cases, sys.argv[1])
