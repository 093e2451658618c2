"""Shared pieces of the MQTT tests: a real mosquitto (Debian's) on a free local port, chaird-mqtt, and a
python3-paho-mqtt client (MQTT 5) that records what it sees."""
import getpass
import json
import os
import queue
import signal
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import simlib
from simlib import free_tcp_port, wait_for


class Broker:
    """mosquitto on 127.0.0.1, optionally with a password file and TLS (then certs is a dict of paths)."""

    def __init__(self, directory, port=None, passwords=None, certs=None, acl=None, require_certificate=False):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.port = port or free_tcp_port()
        self.conf = os.path.join(directory, "mosquitto.conf")
        lines = [f"user {getpass.getuser()}", "persistence false", "log_dest stderr", "log_type error",
                 "log_type warning", f"listener {self.port} 127.0.0.1", "max_packet_size 4194304"]
        if passwords:
            pwfile = os.path.join(directory, "passwd")
            open(pwfile, "w").close()
            for user, password in passwords.items():
                subprocess.run(["mosquitto_passwd", "-b", pwfile, user, password], check=True,
                               capture_output=True)
            lines += ["allow_anonymous false", f"password_file {pwfile}"]
        else:
            lines += ["allow_anonymous true"]
        if acl:
            aclfile = os.path.join(directory, "acl")
            open(aclfile, "w").write(acl)
            lines += [f"acl_file {aclfile}"]
        if certs:
            lines += [f"cafile {certs['ca']}", f"certfile {certs['server_cert']}", f"keyfile {certs['server_key']}"]
            if require_certificate:
                lines += ["require_certificate true"]
        open(self.conf, "w").write("\n".join(lines) + "\n")
        self.log = open(os.path.join(directory, "mosquitto.log"), "a")
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=self.log, stderr=self.log)
        if not wait_for(self._listening, 10):
            raise RuntimeError("mosquitto did not come up: " + open(self.log.name).read())

    def _listening(self):
        import socket
        if self.proc.poll() is not None:
            raise RuntimeError("mosquitto exited: " + open(self.log.name).read())
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


def make_certs(directory, san="IP:127.0.0.1,DNS:localhost"):
    """A CA, a server certificate for san (127.0.0.1/localhost) and a client certificate, made by openssl."""
    os.makedirs(directory, exist_ok=True)
    p = {k: os.path.join(directory, k + ".pem") for k in
         ("ca", "ca_key", "server_cert", "server_key", "client_cert", "client_key")}

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=chaird test CA",
        "-keyout", p["ca_key"], "-out", p["ca"])
    ext = os.path.join(directory, "san.cnf")
    open(ext, "w").write(f"subjectAltName={san}\n")
    for who, cn in (("server", "localhost"), ("client", "chair")):
        csr = os.path.join(directory, who + ".csr")
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", p[who + "_key"], "-out", csr)
        run("x509", "-req", "-in", csr, "-CA", p["ca"], "-CAkey", p["ca_key"], "-CAcreateserial", "-days", "2",
            "-extfile", ext, "-out", p[who + "_cert"])
    return p


class Bridge:
    """chaird-mqtt for one chair, on the test's private system bus."""

    def __init__(self, directory, bus, broker_url, chair_id, config="", user=None):
        self.dir, self.user = directory, user
        os.makedirs(directory, exist_ok=True)
        self.config = os.path.join(directory, "mqtt.yaml")
        open(self.config, "w").write(config or "home-assistant: false\n")
        self.bus, self.url, self.chair_id = bus, broker_url, chair_id
        self.log = open(os.path.join(directory, "chaird-mqtt.log"), "a")
        self.start()

    def start(self):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address)
        # As deployed: a user of its own (here one given, e.g. nobody) in chaird's control group.
        prefix = ["setpriv", f"--reuid={self.user[0]}", f"--regid={self.user[1]}", "--clear-groups"] if self.user else []
        self.proc = subprocess.Popen(
            [*prefix, os.path.join(simlib.BUILD, "tools/chaird-mqtt/chaird-mqtt"), "--config", self.config,
             "--broker", self.url, "--chair-id", self.chair_id], stdout=self.log, stderr=self.log, env=env)

    def alive(self):
        return self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=10)

    def logtext(self):
        self.log.flush()
        return open(self.log.name).read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


class Client:
    """A paho client (MQTT 5) that records every message on the topics it subscribes to."""

    def __init__(self, port, topics=("#",), username=None, password=None, tls=None, client_id="", cert=None):
        self.messages = []  # (topic, payload bytes, retain, properties)
        self.lock = threading.Lock()
        self.c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
        if username:
            self.c.username_pw_set(username, password)
        if tls:
            self.c.tls_set(ca_certs=tls, certfile=cert and cert[0], keyfile=cert and cert[1])
        self.c.on_message = self._on_message
        connected = threading.Event()
        self.c.on_connect = lambda c, u, f, rc, props=None: connected.set()
        self.c.connect("127.0.0.1" if not tls else "localhost", port)
        self.c.loop_start()
        if not connected.wait(10):
            raise RuntimeError("paho could not connect")
        for t in topics:
            self.c.subscribe(t, qos=1)
        time.sleep(0.2)

    def _on_message(self, c, u, msg):
        with self.lock:
            self.messages.append((msg.topic, msg.payload, msg.retain, msg.properties))

    def on(self, topic):
        with self.lock:
            return [m for m in self.messages if m[0] == topic]

    def last_json(self, topic):
        got = self.on(topic)
        return json.loads(got[-1][1]) if got else None

    def clear(self):
        with self.lock:
            self.messages.clear()

    def publish(self, topic, payload, properties=None, qos=1):
        info = self.c.publish(topic, payload, qos=qos, properties=properties)
        info.wait_for_publish(10)

    def wait(self, predicate, timeout=10):
        return wait_for(predicate, timeout, 0.02)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


class Remote:
    """A companion app: commands with an id on CHAIR's command topic, the reply with that id."""

    def __init__(self, client, prefix, chair_id):
        self.client, self.base = client, f"{prefix}/{chair_id}"
        self.n = 0

    def send(self, command, timeout=15, **args):
        self.n += 1
        ident = f"r{self.n}"
        self.client.publish(self.base + "/command", json.dumps({"command": command, "id": ident, **args}))
        return self.reply(ident, timeout)

    def reply(self, ident, timeout=15):
        def find():
            for _, payload, _, _ in self.client.on(self.base + "/reply"):
                try:
                    r = json.loads(payload)
                except ValueError:
                    continue
                if r.get("id") == ident:
                    return r
            return None
        return wait_for(find, timeout, 0.02)


def mosquitto_sub(port, topic, count, timeout=5, extra=()):
    """Independent client: mosquitto_sub -C count -W timeout, returns the payload lines (retained ones too)."""
    p = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-C", str(count), "-W",
                        str(timeout), "-v", *extra], capture_output=True, text=True, timeout=timeout + 10)
    return [line.split(" ", 1) for line in p.stdout.splitlines() if line]


def mosquitto_pub(port, topic, payload, extra=()):
    return subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-m", payload, "-q", "1",
                           *extra], capture_output=True, text=True, timeout=20)


def v5_properties(response_topic=None, correlation=None):
    props = Properties(PacketTypes.PUBLISH)
    if response_topic:
        props.ResponseTopic = response_topic
    if correlation:
        props.CorrelationData = correlation
    return props


def doc_acl():
    """The ACL of docs/mqtt.md, exactly as written there (the indented block that holds the chairs' patterns): each
    chair (user = its chair-id) on its own topics only, an operator who may command every chair, and a Home
    Assistant user who may command them and publish its birth message."""
    doc = open(os.path.join(os.path.dirname(__file__), "../../docs/mqtt.md")).read().split("\n")
    start = next(i for i, line in enumerate(doc) if line.strip() == "pattern readwrite chaird/%u/availability")
    while start > 0 and doc[start - 1].startswith("    "):
        start -= 1
    end = start
    while end < len(doc) and (doc[end].startswith("    ") or doc[end] == ""):
        end += 1
    return "\n".join(line[4:] for line in doc[start:end]).strip() + "\n"


DOC_ACL = doc_acl()


class Fleet:
    """n virtual chairs on one machine, each with chair-sim, chaird on its own private bus and chaird-mqtt, all
    on one mosquitto with TLS, a password file and the documented ACL."""

    def __init__(self, directory, n, td, user=("nobody", "nogroup"), scale=20):
        import pwd
        self.dir, self.chairs = directory, []
        self.certs = make_certs(os.path.join(directory, "certs"))
        self.ids = [f"chair-{i:02d}" for i in range(n)]
        self.passwords = {cid: f"pw-{cid}" for cid in self.ids}
        self.passwords.update(operator="op-pw", homeassistant="ha-pw")
        self.broker = Broker(os.path.join(directory, "broker"), passwords=self.passwords, certs=self.certs,
                             acl=DOC_ACL)
        uid = pwd.getpwnam(user[0]).pw_uid
        try:
            for cid in self.ids:
                d = os.path.join(directory, cid)
                os.makedirs(d)
                os.chmod(d, 0o755)
                bus = td.SystemBus(d)
                chair = td.Chaird(os.path.join(d, "chair"), bus, extra=("--control-group", user[1]), scale=scale)
                pw = os.path.join(d, "password")
                open(pw, "w").write(self.passwords[cid] + "\n")
                os.chown(pw, uid, -1)
                os.chmod(pw, 0o600)
                config = (f"username: {cid}\npassword-file: {pw}\nca-file: {self.certs['ca']}\n"
                          "commands: [start, stop, pause, resume, emergency-stop, release, reset, recline, heat, "
                          "intensity, lock, install]\n")
                bridge = Bridge(os.path.join(d, "bridge"), bus, f"mqtts://localhost:{self.broker.port}", cid,
                                config=config, user=user)
                self.chairs.append((cid, bus, chair, bridge))
        except Exception:
            self.close()
            raise

    def client(self, user, topics):
        return Client(self.broker.port, topics=topics, username=user, password=self.passwords[user],
                      tls=self.certs["ca"])

    def close(self):
        for _, bus, chair, bridge in self.chairs:
            for thing in (bridge, chair, bus):
                try:
                    thing.close()
                except Exception:
                    pass
        self.broker.close()
