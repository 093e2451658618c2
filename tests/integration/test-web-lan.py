#!/usr/bin/python3
"""chaird-web's LAN listener: phones paired with a code the chair's own screen shows. The real chaird-web
(lan: true, TLS from a certificate made here) listens for phones on 127.0.0.2, the panel's listener on
127.0.0.1; chaird runs on a private system bus with chair-sim. Checked: an unpaired client gets 401 for
everything but the pairing page and no WebSocket; a phone in Debian's chromium pairs with the panel's code
and runs the chair; only the token's hash is kept; the child lock holds for the phone; the panel revokes
it and its connection goes at once; a code is void after five wrong tries; listen: must be a loopback
address, and without lan: true nothing listens for phones."""
import base64
import dbus
import hashlib
import http.client
import importlib.util
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import simlib  # noqa: E402
from simlib import wait_for  # noqa: E402

_spec = importlib.util.spec_from_file_location("web_test", os.path.join(os.path.dirname(__file__), "test-web.py"))
wt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(wt)
Chaird, SystemBus, Web, browser, ready, webdriver = wt.Chaird, wt.SystemBus, wt.Web, wt.browser, wt.ready, wt.webdriver
if webdriver is not None:
    from selenium.webdriver.common.by import By

LAN_HOST = "127.0.0.2"  # every 127.x address is the loopback: the "network" of this test


def tls_context():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


class WsClient:
    """A WebSocket client of the bare protocol (RFC 6455), enough for chaird-web's JSON messages."""

    def __init__(self, host, port, tls=False, origin=None, cookie=None):
        s = socket.create_connection((host, port), timeout=5)
        if tls:
            s = tls_context().wrap_socket(s, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        head = (f"GET /api HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chaird\r\n")
        if origin:
            head += f"Origin: {origin}\r\n"
        if cookie:
            head += f"Cookie: {cookie}\r\n"
        s.sendall((head + "\r\n").encode())
        got = b""
        try:
            while b"\r\n\r\n" not in got:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
        self.status = int(got.split(b" ")[1]) if got.startswith(b"HTTP/1.1 ") else 0
        self.buf = got.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in got else b""
        self.sock = s
        self.next_id = 1

    def send(self, obj):
        text, mask = json.dumps(obj).encode(), os.urandom(4)
        n = len(text)
        header = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(text)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        while True:
            h = self._read(2)
            n = h[1] & 127
            if n == 126:
                n = int.from_bytes(self._read(2), "big")
            elif n == 127:
                n = int.from_bytes(self._read(8), "big")
            data = self._read(n)
            if h[0] & 15 == 8:
                raise EOFError("closed by the server")
            if h[0] & 15 == 1:
                return json.loads(data)

    def request(self, command):
        """Sends a command; its reply (other messages on the way are left out)."""
        i = self.next_id
        self.next_id += 1
        self.send({**command, "id": i})
        while True:
            m = self.recv()
            if m.get("type") == "reply" and m.get("id") == i:
                return m

    def first(self, kind):
        while True:
            m = self.recv()
            if m.get("type") == kind:
                return m

    def close(self):
        self.sock.close()


def https(port, method, path, body=None, cookie=None):
    c = http.client.HTTPSConnection(LAN_HOST, port, timeout=5, context=tls_context())
    headers = {"Origin": f"https://{LAN_HOST}:{port}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if cookie:
        headers["Cookie"] = cookie
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    out = (r.status, r.read().decode(errors="replace"), r.getheader("Set-Cookie"))
    c.close()
    return out


def answers(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def pair_code(panel):
    reply = panel.request({"command": "pair-code"})
    assert reply["ok"], reply
    return reply["result"]["code"]


def shots_dir():
    return os.path.join(simlib.BUILD, "web-screenshots")


def phone_browser():
    return browser((390, 844), extra=("--ignore-certificate-errors",))


# --- cases ---

def test_an_unpaired_client_gets_401_and_no_websocket(p, web, lan_port):
    status, body, cookie = https(lan_port, "GET", "/")
    if status != 401 or "Pair this phone" not in body:
        p.append(f"GET / unpaired: {status} {body[:80]!r}")
    for path in ("/app.js", "/style.css", "/nothing", "/api"):
        status, body, _ = https(lan_port, "GET", path)
        if status != 401:
            p.append(f"GET {path} unpaired: {status}")
    if https(lan_port, "GET", "/pair")[0] != 200:
        p.append("the pairing page itself is not served")
    ws = WsClient(LAN_HOST, lan_port, tls=True, origin=f"https://{LAN_HOST}:{lan_port}")
    if ws.status == 101:
        p.append("an unpaired WebSocket was let in")
    ws.close()
    ws = WsClient(LAN_HOST, lan_port, tls=True, origin=f"https://{LAN_HOST}:{lan_port}",
                  cookie="chaird-token=" + "0" * 64)
    if ws.status == 101:
        p.append("a made-up token was let in")
    ws.close()
    # No code open: no pairing, whatever the code.
    status, body, cookie = https(lan_port, "POST", "/pair", {"code": "123456", "name": "x"})
    if status != 403 or cookie:
        p.append(f"pairing with no code open: {status} {body} {cookie}")
    # Plain HTTP on the TLS port is not answered as a page.
    try:
        c = http.client.HTTPConnection(LAN_HOST, lan_port, timeout=3)
        c.request("GET", "/")
        r = c.getresponse()
        if r.status == 200:
            p.append("plain HTTP on the phones' port served the page")
    except (OSError, http.client.HTTPException):
        pass


def test_a_phone_pairs_with_the_panels_code_and_runs_the_chair(p, d, web, lan_port, panel, phone, screen, state_dir,
                                                               shots):
    url = f"https://{LAN_HOST}:{lan_port}/"
    ready(screen, web.url)
    phone.get(url)
    if not wait_for(lambda: phone.find_elements(By.ID, "code"), 10):
        p.append("the phone sees no pairing page")
        return
    phone.save_screenshot(os.path.join(shots, "pair-phone-390x844.png"))
    # The chair's own screen: Settings, "Pair a phone", the code shown large.
    screen.find_element(By.CSS_SELECTOR, 'nav button[data-tab="settings"]').click()
    screen.find_element(By.ID, "pair").click()
    if not wait_for(lambda: re.fullmatch(r"\d{6}", screen.find_element(By.ID, "pair-code").text), 5):
        p.append(f"the panel shows no code: {screen.find_element(By.ID, 'pair-code').text!r}")
        return
    code = screen.find_element(By.ID, "pair-code").text
    screen.save_screenshot(os.path.join(shots, "settings-pair-800x480.png"))
    wrong = "000000" if code != "000000" else "111111"
    phone.find_element(By.ID, "code").send_keys(wrong)
    phone.find_element(By.ID, "submit").click()
    if not wait_for(lambda: "not the code" in phone.find_element(By.ID, "message").text, 5):
        p.append(f"a wrong code: {phone.find_element(By.ID, 'message').text!r}")
    phone.find_element(By.ID, "code").clear()
    phone.find_element(By.ID, "code").send_keys(code)
    phone.find_element(By.ID, "name").send_keys("test phone")
    phone.find_element(By.ID, "submit").click()
    if not wait_for(lambda: phone.find_elements(By.CSS_SELECTOR, "#programs button"), 15):
        p.append("after pairing, the phone shows no programs")
        return
    phones = panel.request({"command": "phones"})["result"]
    if [x["name"] for x in phones] != ["test phone"]:
        p.append(f"the panel's phones: {phones}")
    # The panel's list shows it, and its code is gone (used).
    if not wait_for(lambda: "test phone" in screen.find_element(By.ID, "phones").text, 5):
        p.append(f"the panel's list of phones: {screen.find_element(By.ID, 'phones').text!r}")
    if screen.find_element(By.ID, "pair-shown").is_displayed():
        p.append("the panel still shows the used code")
    if phone.find_element(By.CSS_SELECTOR, 'nav button[data-tab="settings"]').is_displayed():
        p.append("the phone shows the settings (pairing, revoking)")
    phone.find_element(By.CSS_SELECTOR, '#programs button[data-program="quick"]').click()
    if not wait_for(lambda: d.state() in ("scanning", "running"), 15):
        p.append(f"tapping quick on the phone: chaird is {d.state()}")
    phone.save_screenshot(os.path.join(shots, "phone-paired-390x844.png"))
    phone.find_element(By.ID, "estop").click()
    if not wait_for(lambda: d.state() == "fault", 5, 0.01):
        p.append(f"STOP on the phone: {d.state()}")
    panel.request({"command": "reset"})
    wait_for(lambda: d.state() == "idle", 60)
    # Only the hash is kept.
    token = next((c["value"] for c in phone.get_cookies() if c["name"] == "chaird-token"), None)
    kept = open(os.path.join(state_dir, "paired")).read()
    if not token or token in kept or hashlib.sha256(token.encode()).hexdigest() not in kept:
        p.append(f"the state file does not hold the token's hash alone: {kept!r}")
    if oct(os.stat(os.path.join(state_dir, "paired")).st_mode & 0o777) != "0o600":
        p.append("the paired file is readable by others")
    # The cookie is kept from scripts and other sites.
    cookie = next(c for c in phone.get_cookies() if c["name"] == "chaird-token")
    if not cookie.get("httpOnly") or not cookie.get("secure") or cookie.get("sameSite") != "Strict":
        p.append(f"the token's cookie: {cookie}")


def test_the_child_lock_holds_for_the_phone(p, d, web, lan_port, panel, phone):
    token = next(c["value"] for c in phone.get_cookies() if c["name"] == "chaird-token")
    ws = WsClient(LAN_HOST, lan_port, tls=True, origin=f"https://{LAN_HOST}:{lan_port}",
                  cookie=f"chaird-token={token}")
    try:
        if ws.status != 101:
            p.append(f"the paired phone's WebSocket: {ws.status}")
            return
        info = ws.first("web")
        if info.get("phone") is not True or "phones" in info:
            p.append(f"what a phone is told of chaird-web: {info}")
        if not panel.request({"command": "lock", "locked": True})["ok"]:
            p.append("the panel cannot lock")
        # As a person would: the phone shows the lock before it is tapped again (chaird-web reads the lock
        # from chaird's signal, which may come just after the panel's reply).
        while not ws.first("state")["state"].get("Locked"):
            pass
        r = ws.request({"command": "start", "program": "quick"})
        if r["ok"] or not r["error"].endswith(".Locked"):
            p.append(f"a phone's start while locked: {r}")
        if d.state() != "idle":
            p.append(f"locked, the chair is {d.state()}")
        r = ws.request({"command": "lock", "locked": False})
        if r["ok"] or d.get("Locked") is not True and d.get("Locked") != 1:
            p.append(f"a phone unlocked the chair: {r}")
        if not ws.request({"command": "stop"})["ok"]:
            p.append("a phone cannot stop a locked chair")
        # A phone may not pair others or revoke them.
        for c in ({"command": "pair-code"}, {"command": "phones"}, {"command": "unpair", "phone": "00000000"}):
            r = ws.request(c)
            if r["ok"] or not r["error"].endswith(".NotPermitted"):
                p.append(f"a phone's {c['command']}: {r}")
    finally:
        panel.request({"command": "lock", "locked": False})
        ws.close()


def test_the_panel_revokes_the_phone_and_its_connection_goes(p, d, web, lan_port, panel, phone, screen):
    token = next(c["value"] for c in phone.get_cookies() if c["name"] == "chaird-token")
    ws = WsClient(LAN_HOST, lan_port, tls=True, origin=f"https://{LAN_HOST}:{lan_port}",
                  cookie=f"chaird-token={token}")
    ws.first("state")
    phones = panel.request({"command": "phones"})["result"]
    # On the chair's screen: Remove, and a second tap to be sure.
    remove = screen.find_element(By.CSS_SELECTOR, f'#phones button[data-phone="{phones[0]["id"]}"]')
    remove.click()
    if panel.request({"command": "phones"})["result"] != phones:
        p.append("one tap on Remove removed the phone")
    remove.click()
    ws.sock.settimeout(3)
    try:
        while True:
            ws.recv()
    except EOFError:
        pass
    except OSError as e:
        p.append(f"the revoked phone's WebSocket stayed open: {e}")
    ws.close()
    status, body, _ = https(lan_port, "GET", "/", cookie=f"chaird-token={token}")
    if status != 401:
        p.append(f"a revoked token: GET / is {status}")
    if not wait_for(lambda: phone.find_elements(By.ID, "banner") and phone.find_element(By.ID, "banner").is_displayed(),
                    5):
        p.append("the revoked phone's page does not show that it lost the chair")
    if panel.request({"command": "phones"})["result"]:
        p.append("the phone is still listed")
    if not wait_for(lambda: "No phone is paired" in screen.find_element(By.ID, "phones").text, 5):
        p.append(f"the panel's list after Remove: {screen.find_element(By.ID, 'phones').text!r}")
    if "test phone" in open(os.path.join(web.state_dir, "paired")).read():
        p.append("the phone is still in the state file")


def test_the_settings_install_a_program_and_show_the_broken_ones(p, d, web, screen, tmp):
    screen.find_element(By.CSS_SELECTOR, 'nav button[data-tab="settings"]').click()
    good = os.path.join(tmp, "web-installed.yaml")
    with open(good, "w") as f:
        f.write("id: web-installed\n" + re.sub(r"(?m)^id:.*\n", "", open(os.path.join(wt.SRC, "programs/quick.yaml")).read())
                .replace("name: Quick", "name: Installed from the page", 1))
    screen.find_element(By.ID, "install-file").send_keys(good)
    if not wait_for(lambda: screen.find_elements(By.CSS_SELECTOR, '#programs button[data-program="web-installed"]'), 10):
        p.append("a program installed on the page is not among chaird's programs")
    if not os.path.exists(os.path.join(d.local, "web-installed.yaml")):
        p.append(f"installed on the page, the program is not in chaird's folder: {os.listdir(d.local)}")
    if not wait_for(lambda: "Installed: web-installed.yaml" in screen.find_element(By.ID, "install-result").text, 5):
        p.append(f"the page says {screen.find_element(By.ID, 'install-result').text!r}")
    bad = os.path.join(tmp, "web-bad.yaml")
    with open(bad, "w") as f:
        f.write("id: web-bad\nname: Bad\nphases: [\n")
    screen.find_element(By.ID, "install-file").send_keys(bad)
    if not wait_for(lambda: "Not done" in screen.find_element(By.ID, "banner").text, 5):
        p.append(f"a broken program installed: the banner says {screen.find_element(By.ID, 'banner').text!r}")
    # A broken file in the programs folder is listed with its error.
    with open(os.path.join(d.local, "web-broken.yaml"), "w") as f:
        f.write("id: web-broken\nname: Broken\nphases: 3\n")
    try:
        d.chair.ReloadPrograms()
    except Exception:  # noqa: BLE001 (InvalidProgram: the rest loads)
        pass
    if not wait_for(lambda: "web-broken.yaml:" in screen.find_element(By.ID, "broken").text, 5):
        p.append(f"the broken programs on the page: {screen.find_element(By.ID, 'broken').text!r}")
    screen.save_screenshot(os.path.join(shots_dir(), "settings-800x480.png"))
    os.remove(os.path.join(d.local, "web-broken.yaml"))
    try:
        d.chair.ReloadPrograms()
    except Exception:  # noqa: BLE001
        pass


def test_a_profile_changed_elsewhere_reaches_the_pages(p, d, web, panel):
    """chaird's ProfileChanged (another front-end saved or deleted a profile) reaches every page as an event,
    so a page showing that profile reads it again."""
    d.chair.SaveProfile("web-elsewhere", dbus.Dictionary({"intensity": dbus.UInt32(2)}, signature="sv"))
    panel.sock.settimeout(5)
    try:
        m = panel.first("event")
        while m.get("event") != "profile-changed":
            m = panel.first("event")
        if m.get("profile") != "web-elsewhere":
            p.append(f"the event: {m}")
    except OSError:
        p.append("no profile-changed event on the page after a SaveProfile over D-Bus")
    d.chair.DeleteProfile("web-elsewhere")


def test_a_code_is_void_after_five_wrong_tries(p, web, lan_port, panel):
    code = pair_code(panel)
    wrong = "999999" if code != "999999" else "888888"
    for _ in range(5):
        status, body, _ = https(lan_port, "POST", "/pair", {"code": wrong, "name": "guess"})
        if status != 403:
            p.append(f"a wrong code: {status} {body}")
    status, body, cookie = https(lan_port, "POST", "/pair", {"code": code, "name": "late"})
    if status != 403 or cookie or "no code is open" not in body:
        p.append(f"the right code after five wrong tries: {status} {body}")
    # A fresh code pairs (and the phone can be revoked again).
    code = pair_code(panel)
    status, body, cookie = https(lan_port, "POST", "/pair", {"code": code, "name": "second"})
    if status != 200 or not cookie or "HttpOnly" not in cookie:
        p.append(f"a fresh code: {status} {body} {cookie}")
    # The same code once more: used.
    status, body, cookie = https(lan_port, "POST", "/pair", {"code": code, "name": "third"})
    if status != 403 or cookie:
        p.append(f"a used code: {status} {body}")
    for x in panel.request({"command": "phones"})["result"]:
        panel.request({"command": "unpair", "phone": x["id"]})


def test_a_bad_request_to_pair_is_answered_and_harms_nothing(p, web, lan_port):
    for body in ({}, {"code": 123456}, {"code": "1", "name": ["x"]}, {"code": "x" * 2000}):
        status, text, cookie = https(lan_port, "POST", "/pair", body)
        if status not in (400, 403) or cookie:
            p.append(f"POST /pair {json.dumps(body)[:40]}: {status} {text[:80]}")
    status, _, _ = https(lan_port, "POST", "/", {})
    if status not in (401, 405):
        p.append(f"POST / from an unpaired phone: {status}")
    if web.proc.poll() is not None:
        p.append("chaird-web died")


def test_listen_must_be_loopback_and_phones_are_off_by_default(p, tmp, bus):
    d = os.path.join(tmp, "off")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "empty.yaml"), "w") as f:
        f.write("command-rate: 20\n")
    r = subprocess.run([os.path.join(simlib.BUILD, "tools/chaird-web/chaird-web"), "--listen", "0.0.0.0:8799",
                        "--config", os.path.join(d, "empty.yaml")], capture_output=True, text=True, timeout=10,
                       env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address))
    if r.returncode == 0 or "loopback" not in r.stderr:
        p.append(f"listen on 0.0.0.0: exit {r.returncode} {r.stderr!r}")
    web = Web(d, bus)
    try:
        listening = open("/proc/net/tcp").read() + open("/proc/net/tcp6").read()
        mine = [line for line in listening.splitlines()[1:] if line.split()[3] == "0A"]
        port_hex = f":{web.port:04X}"
        others = [line for line in mine if f"{0x0100007F:08X}{port_hex}" not in line and port_hex in line]
        if others:
            p.append(f"without lan: true, chaird-web listens elsewhere too: {others}")
        ws = WsClient("127.0.0.1", web.port)
        info = ws.first("web")
        if info.get("lan") is not False or info.get("phone") is not False:
            p.append(f"without lan: {info}")
        r = ws.request({"command": "pair-code"})
        if r["ok"] or not r["error"].endswith(".NotSupported"):
            p.append(f"pair-code without lan: {r}")
        ws.close()
    finally:
        ended = web.close()
        if ended:
            p.append(ended)


def test_chaird_web_that_cannot_place_its_listener_does_not_serve(p, tmp, bus):
    """libwebsockets 4.1 listens on every address when getifaddrs() fails (a sandbox without AF_NETLINK):
    chaird-web must notice and refuse to run rather than put the page on the network."""
    d = os.path.join(tmp, "noif")
    os.makedirs(d, exist_ok=True)
    config = os.path.join(d, "web.yaml")
    with open(config, "w") as f:
        f.write("command-rate: 20\n")
    port = wt.free_port()
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address,
               LD_PRELOAD=os.path.join(simlib.BUILD, "tests/noifaddrs.so"))
    proc = subprocess.Popen([os.path.join(simlib.BUILD, "tools/chaird-web/chaird-web"), "--config", config,
                             "--listen", f"127.0.0.1:{port}", "--page-dir",
                             os.path.join(wt.SRC, "tools/chaird-web/page")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        p.append("chaird-web serves though it cannot tell where it listens")
    if proc.returncode != 1 or "not where the config says" not in out:
        p.append(f"exit {proc.returncode}: {out[-400:]!r}")


def cases(tap, tmp):
    if webdriver is None or not shutil.which("chromium") or not shutil.which("chromedriver"):
        print("1..0 # SKIP chromium, chromium-driver or python3-selenium is not installed")
        return
    os.chmod(tmp, 0o755)
    shots = os.path.join(simlib.BUILD, "web-screenshots")
    os.makedirs(shots, exist_ok=True)
    cert, key = os.path.join(tmp, "web.crt"), os.path.join(tmp, "web.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=chair.local", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    state_dir = os.path.join(tmp, "web-state")
    os.makedirs(state_dir, mode=0o700)
    lan_port = wt.free_port()
    bus = SystemBus(tmp)
    try:
        d = Chaird(os.path.join(tmp, "lan"), bus)
        web = Web(os.path.join(tmp, "lan"), bus, d,
                  config=f"lan: true\nlan-listen: {LAN_HOST}:{lan_port}\ntls-cert: {cert}\ntls-key: {key}\n",
                  args=("--state-dir", state_dir))
        web.state_dir = state_dir
        if not wait_for(lambda: answers(LAN_HOST, lan_port), 10):
            raise RuntimeError("chaird-web does not listen for phones: " + open(web.log.name).read())
        panel = WsClient("127.0.0.1", web.port)  # a script on the chair's own machine: no Origin
        screen = browser()  # the chair's own screen
        phone = phone_browser()
        try:
            tap.case("an_unpaired_client_gets_401_and_no_websocket",
                     lambda p: test_an_unpaired_client_gets_401_and_no_websocket(p, web, lan_port))
            tap.case("a_phone_pairs_with_the_panels_code_and_runs_the_chair",
                     lambda p: test_a_phone_pairs_with_the_panels_code_and_runs_the_chair(
                         p, d, web, lan_port, panel, phone, screen, state_dir, shots))
            tap.case("the_child_lock_holds_for_the_phone",
                     lambda p: test_the_child_lock_holds_for_the_phone(p, d, web, lan_port, panel, phone))
            tap.case("the_panel_revokes_the_phone_and_its_connection_goes",
                     lambda p: test_the_panel_revokes_the_phone_and_its_connection_goes(p, d, web, lan_port, panel,
                                                                                         phone, screen))
            tap.case("the_settings_install_a_program_and_show_the_broken_ones",
                     lambda p: test_the_settings_install_a_program_and_show_the_broken_ones(p, d, web, screen, tmp))
            tap.case("a_profile_changed_elsewhere_reaches_the_pages",
                     lambda p: test_a_profile_changed_elsewhere_reaches_the_pages(p, d, web, panel))
            tap.case("a_code_is_void_after_five_wrong_tries",
                     lambda p: test_a_code_is_void_after_five_wrong_tries(p, web, lan_port, panel))
            tap.case("a_bad_request_to_pair_is_answered_and_harms_nothing",
                     lambda p: test_a_bad_request_to_pair_is_answered_and_harms_nothing(p, web, lan_port))
        finally:
            phone.quit()
            screen.quit()
            panel.close()
            ended = web.close()
            d.close()
        tap.case("chaird_web_with_phones_ends_cleanly", lambda p: ended and p.append(ended))
        tap.case("listen_must_be_loopback_and_phones_are_off_by_default",
                 lambda p: test_listen_must_be_loopback_and_phones_are_off_by_default(p, tmp, bus))
        tap.case("chaird_web_that_cannot_place_its_listener_does_not_serve",
                 lambda p: test_chaird_web_that_cannot_place_its_listener_does_not_serve(p, tmp, bus))
    finally:
        bus.close()


if __name__ == "__main__":
    simlib.main(cases, sys.argv[1])
