#!/usr/bin/python3
"""Benchmark of chaird-web through Debian's chromium (headless, driven by chromium-driver), against the real
chaird-web, chaird on a private system bus and chair-sim at real pace, as tests/integration/test-web.py
builds them (its helpers are imported from there). Figures, not a test; each against a floor measured in
the same run, as these machines are noisy:

- tap -> board output: a tap on the lumbar heat buttons (3, then Off, alternately) until chair-sim's heater
  coil changes. The tap is stamped in the page (the click's own event time, and the time the click reaches
  the page's handler, both on the browser's clock), the output by chair-sim itself (`changed coil 14`: the
  CLOCK_MONOTONIC time of the Modbus write that changed it), so no polling interval enters the figure. The
  browser's clock (performance.timeOrigin + the event's time) is brought to CLOCK_MONOTONIC with
  CLOCK_REALTIME - CLOCK_MONOTONIC as this process reads it when the page is loaded (Chromium's
  timeOrigin is its CLOCK_MONOTONIC tick plus that same offset, taken when the page is made).
- the floor: (a) a bare WebSocket round trip from the same page to bench/ws-echo (libwebsockets, the same
  library as chaird-web, on its own loop), timed in the page; plus (b) the D-Bus SetHeat call from this
  process (python3-dbus) until the same coil changes, timed like the tap. The ratio is the tap's figure
  over (a) + (b), at p50 and at p99. Every sample comes PACE after the last one settled (a panel's taps
  come one at a time to a daemon that was asleep), and the three kinds are taken in interleaved rounds.
- first render: navigation start until the first program button is in the page (a mutation observer) and
  until the frame that draws it starts (the next animation frame), with the page's cache off; with the
  CPU throttled 4x (CDP Emulation.setCPUThrottlingRate) and not, RUNS each, the median and the ratio. The
  page's transfer size (resource timing) and what its files weigh gzipped (the issue's cap: 150 KB).
- chaird-web's RSS (VmRSS) idle, with 10 pages (tabs of one browser) open, and with 100 WebSocket clients
  from this process (the handshake on raw sockets): each must get the state message and still answer a
  ping after the hold, and chaird-web's CPU (utime + stime) while they sit idle.

Run: bench/web.py build/gcc  (needs chromium, chromium-driver, python3-selenium; bench/ws-echo built).
BENCH_SAMPLES and BENCH_RUNS take fewer samples and renders for a quick look."""
import base64
import gzip
import hashlib
import importlib.util
import json
import os
import selectors
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import simlib  # noqa: E402
from simlib import wait_for  # noqa: E402

_spec = importlib.util.spec_from_file_location("test_web", os.path.join(HERE, "..", "tests", "integration",
                                                                        "test-web.py"))
tw = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tw)
Chaird, SystemBus, Web, browser, ready, tab, SRC = tw.Chaird, tw.SystemBus, tw.Web, tw.browser, tw.ready, tw.tab, tw.SRC
By = tw.By

SAMPLES = int(os.environ.get("BENCH_SAMPLES", 200))  # of each latency, in ROUNDS interleaved rounds
ROUNDS = 4
PACE = 0.05  # seconds between one sample's end and the next one's start
RUNS = int(os.environ.get("BENCH_RUNS", 5))  # first renders of each kind
TABS = 10
CLIENTS = 100
HOLD = 10  # seconds the 100 clients are held
COIL = 14  # the lumbar heater (config/sim.yaml, docs/reference-board.md)
TICK = os.sysconf("SC_CLK_TCK")
PAGE_FILES = ("index.html", "app.js", "style.css")


def realtime_minus_monotonic():
    """CLOCK_REALTIME - CLOCK_MONOTONIC in microseconds, from the closest-bracketed of a few reads."""
    best = None
    for _ in range(50):
        m0 = time.monotonic_ns()
        r = time.time_ns()
        m1 = time.monotonic_ns()
        if best is None or m1 - m0 < best[0]:
            best = (m1 - m0, r - (m0 + m1) // 2)
    return best[1] / 1000


def coil_changed(sim):
    return sim.command(f"changed coil {COIL}")["usec"]


def until_coil_changes(sim, since, timeout=5):
    """chair-sim's stamp of the coil's next change after since (CLOCK_MONOTONIC us), or None."""
    at = wait_for(lambda: (u := coil_changed(sim)) > since and u, timeout, 0.002)
    return at or None


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def proc_cpu(pid):
    """Seconds on a CPU: utime + stime (in clock ticks, 10 ms), and the scheduler's own count (ns)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    with open(f"/proc/{pid}/schedstat") as f:
        run_ns = int(f.read().split()[0])
    return (int(fields[11]) + int(fields[12])) / TICK, run_ns / 1e9


def proc_wakeups(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    return 0


def usage(pid, seconds):
    """Over the next seconds: CPU as a share of one core by utime + stime and by schedstat, and wakeups."""
    (tick0, run0), wake0, t0 = proc_cpu(pid), proc_wakeups(pid), time.monotonic()
    time.sleep(seconds)
    (tick1, run1), wake1, t1 = proc_cpu(pid), proc_wakeups(pid), time.monotonic()
    return (tick1 - tick0) / (t1 - t0), (run1 - run0) / (t1 - t0), wake1 - wake0


def proc_rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- tap -> board output, and the floor ---

# In the page: the clicks on the heat buttons, stamped (the event's time and the handler's, on the
# browser's clock in ms since the Unix epoch). Capturing on window runs before the button's own handler.
STAMP_TAPS = """
window.__taps = [];
window.addEventListener('click', (e) => {
  if (e.target.closest && e.target.closest('#heats button'))
    window.__taps.push([performance.timeOrigin + e.timeStamp, performance.timeOrigin + performance.now()]);
}, true);
"""

# In the page: n round trips to the echo, one at a time, pace ms apart; their times in ms.
ECHO = """
const [url, n, pace, done] = arguments;
const ws = new WebSocket(url, 'echo');
const times = [];
const message = JSON.stringify({command: 'heat', zone: 'lumbar', level: 3, id: 1});
let t0 = 0;
ws.onmessage = () => {
  times.push(performance.now() - t0);
  if (times.length === n) { ws.close(); done(times); return; }
  setTimeout(() => { t0 = performance.now(); ws.send(message); }, pace);
};
ws.onerror = () => done(null);
ws.onopen = () => setTimeout(() => { t0 = performance.now(); ws.send(message); }, pace);
"""


def heater_on(d):
    """Whether the heater's coil is on now: each sample turns it the other way, so that each changes it."""
    return d.sim.state()["heaters"]["lumbar"]["commanded"]


def clock_check(b):
    """How far the browser's clock (performance.timeOrigin + now) can be from CLOCK_REALTIME as this process
    reads it: the tightest of a few brackets of an execute_script (ms), and whether the browser's reading
    fell inside every one."""
    best, inside = None, True
    for _ in range(20):
        t0 = time.time() * 1000
        v = b.execute_script("return performance.timeOrigin + performance.now()")
        t1 = time.time() * 1000
        inside = inside and t0 - 0.2 <= v <= t1 + 0.2  # the browser coarsens its clock to 0.1 ms
        best = min(best or t1 - t0, t1 - t0)
    return best, inside


def tap_samples(b, d, offset_us, n, out_event, out_handler):
    levels = {e.get_attribute("data-level"): e for e in b.find_elements(By.CSS_SELECTOR,
                                                                        '#heats button[data-zone="lumbar"]')}
    top = max(levels, key=int)
    heat = not heater_on(d)
    missed = 0
    for _ in range(n):
        time.sleep(PACE)
        since = coil_changed(d.sim)
        levels[top if heat else "0"].click()
        heat = not heat
        at = until_coil_changes(d.sim, since)
        if at is None:
            missed += 1
            continue
        event_ms, handler_ms = b.execute_script("return window.__taps.splice(0).pop()")
        out_event.append(at - (event_ms * 1000 - offset_us))
        out_handler.append(at - (handler_ms * 1000 - offset_us))
    return missed


def set_heat_samples(d, n, out):
    heat = not heater_on(d)
    missed = 0
    for _ in range(n):
        time.sleep(PACE)
        since = coil_changed(d.sim)
        t0 = time.monotonic_ns() / 1000
        d.chair.SetHeat("lumbar", 3 if heat else 0)
        heat = not heat
        at = until_coil_changes(d.sim, since)
        if at is None:
            missed += 1
        else:
            out.append(at - t0)
    return missed


def echo_samples(b, echo_port, n, out):
    times = b.execute_async_script(ECHO, f"ws://127.0.0.1:{echo_port}/", n, int(PACE * 1000))
    if not times:
        raise RuntimeError("the page could not reach ws-echo")
    out.extend(t * 1000 for t in times)


def latency(b, d, web, echo_port):
    b.set_script_timeout(300)
    if not ready(b, web.url):
        raise RuntimeError("the page shows no programs")
    offset_us = realtime_minus_monotonic()
    clock = clock_check(b)
    b.execute_script(STAMP_TAPS)
    tab(b, "chair")
    wait_for(lambda: b.find_elements(By.CSS_SELECTOR, '#heats button[data-zone="lumbar"]'), 10)
    event, handler, floor_echo, floor_dbus = [], [], [], []
    missed_tap = missed_dbus = 0
    per = SAMPLES // ROUNDS
    for _ in range(ROUNDS):
        missed_tap += tap_samples(b, d, offset_us, per, event, handler)
        echo_samples(b, echo_port, per, floor_echo)
        missed_dbus += set_heat_samples(d, per, floor_dbus)
    d.chair.SetHeat("lumbar", 0)
    return event, handler, floor_echo, floor_dbus, missed_tap, missed_dbus, clock


# --- first render ---

# Before the page's own scripts: when the first program button is in the document, and the animation frame
# that draws it.
MARK_PROGRAMS = """
new MutationObserver((records, observer) => {
  if (!document.querySelector('#programs button')) return;
  observer.disconnect();
  performance.mark('programs-in-dom');
  requestAnimationFrame(() => performance.mark('programs-frame'));
}).observe(document, {childList: true, subtree: true});
"""

READ_MARKS = """
const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
const paint = (name) => performance.getEntriesByType('paint').find(e => e.name === name)?.startTime ?? null;
const loads = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
return {dom: mark('programs-in-dom'), frame: mark('programs-frame'), fcp: paint('first-contentful-paint'),
        transfer: loads.reduce((s, e) => s + e.transferSize, 0),
        body: loads.reduce((s, e) => s + e.encodedBodySize, 0), files: loads.length};
"""


def first_renders(web):
    b = browser()
    try:
        b.execute_cdp_cmd("Network.enable", {})
        b.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        b.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": MARK_PROGRAMS})
        runs = {1: [], 4: []}
        transfer = None
        for i in range(2 * RUNS + 2):  # the first of each kind warms up (chromium's own start) and is left out
            rate = 4 if i % 2 else 1
            b.get("about:blank")
            b.execute_cdp_cmd("Emulation.setCPUThrottlingRate", {"rate": rate})
            b.get(web.url)
            if not wait_for(lambda: b.execute_script(READ_MARKS)["frame"] is not None, 30):
                raise RuntimeError("the programs were never drawn")
            wait_for(lambda: b.execute_script(READ_MARKS)["fcp"] is not None, 5)  # reported a little later
            marks = b.execute_script(READ_MARKS)
            if i >= 2:
                runs[rate].append(marks)
            transfer = marks
        b.execute_cdp_cmd("Emulation.setCPUThrottlingRate", {"rate": 1})
        return runs, transfer
    finally:
        b.quit()


def gzipped_page():
    raw = zipped = 0
    for name in PAGE_FILES:
        data = open(os.path.join(SRC, "tools/chaird-web/page", name), "rb").read()
        raw += len(data)
        zipped += len(gzip.compress(data, 9))
    return raw, zipped


# --- 10 pages, 100 clients ---

def ten_pages(web, pid):
    b = browser()
    try:
        for i in range(TABS):
            if i:
                b.switch_to.new_window("tab")
            if not ready(b, web.url):
                raise RuntimeError(f"page {i + 1} shows no programs")
        time.sleep(2)
        return proc_rss_kib(pid), len(b.window_handles)
    finally:
        b.quit()


class Client:
    """A WebSocket client on a raw socket: the handshake, then it reads whole frames (unmasked, as a server
    sends them) and can send a masked ping."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /api HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Protocol: chaird\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("chaird-web closed the handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        accept = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        if not head.startswith(b"HTTP/1.1 101") or accept.encode() not in head:
            raise RuntimeError(f"handshake refused: {head[:200]!r}")
        self.sock.setblocking(False)
        self.types, self.pongs, self.closed, self.messages = set(), 0, False, 0
        self.state, self.changed = {}, set()  # the last state; the properties that changed in it

    def read(self):
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        if not data:
            self.closed = True
            return
        self.buf += data
        while len(self.buf) >= 2:
            opcode, n, at = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
            if n == 126:
                if len(self.buf) < 4:
                    return
                n, at = struct.unpack(">H", self.buf[2:4])[0], 4
            elif n == 127:
                if len(self.buf) < 10:
                    return
                n, at = struct.unpack(">Q", self.buf[2:10])[0], 10
            if len(self.buf) < at + n:
                return
            payload, self.buf = self.buf[at:at + n], self.buf[at + n:]
            if opcode == 1:  # text (chaird-web sends each message whole)
                self.messages += 1
                message = json.loads(payload)
                self.types.add(message.get("type"))
                if message.get("type") == "state":
                    new = message.get("state", {})
                    self.changed |= {k for k in new if self.state and new[k] != self.state.get(k)}
                    self.state = new
                else:
                    self.changed.add(message.get("type"))
            elif opcode == 0xA:
                self.pongs += 1
            elif opcode == 8:
                self.closed = True

    def ping(self):
        mask = os.urandom(4)
        self.sock.setblocking(True)
        self.sock.sendall(bytes([0x89, 0x80 | 4]) + mask + bytes(c ^ mask[i] for i, c in enumerate(b"ping")))
        self.sock.setblocking(False)


def hundred_clients(web, pid):
    clients = [Client(web.port) for _ in range(CLIENTS)]
    sel = selectors.DefaultSelector()
    for c in clients:
        sel.register(c.sock, selectors.EVENT_READ, c)
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            for key, _ in sel.select(0.1):
                key.data.read()

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        got_state = wait_for(lambda: all("state" in c.types for c in clients), 20)
        time.sleep(2)
        before = sum(c.messages for c in clients)
        for c in clients:
            c.changed = set()
        cpu = usage(pid, HOLD)
        idle_messages = sum(c.messages for c in clients) - before
        changed = set().union(*(c.changed for c in clients))
        rss = proc_rss_kib(pid)
        for c in clients:
            c.ping()
        ponged = wait_for(lambda: all(c.pongs for c in clients), 10)
        return {"state": sum("state" in c.types for c in clients), "all_state": bool(got_state),
                "open": sum(not c.closed for c in clients), "pongs": sum(bool(c.pongs) for c in clients),
                "all_pong": bool(ponged), "cpu": cpu, "rss": rss, "idle_messages": idle_messages,
                "changed": changed}
    finally:
        stop.set()
        reader.join()
        for c in clients:
            c.sock.close()


# --- the report ---

def row(what, values, floor=None):
    p50, p99 = pct(values, 0.50), pct(values, 0.99)
    line = f"| {what} | {len(values)} | {p50 / 1000:.2f} | {p99 / 1000:.2f} | {max(values) / 1000:.2f} |"
    if floor:
        line += f" {p50 / floor[0]:.2f} | {p99 / floor[1]:.2f} |"
    else:
        line += " | |"
    print(line)


def main(build):
    simlib.BUILD = os.path.abspath(build)
    echo_bin = os.path.join(simlib.BUILD, "bench", "ws-echo")
    if tw.webdriver is None or not os.path.exists(echo_bin):
        sys.exit("web.py needs python3-selenium, chromium, chromium-driver and bench/ws-echo built")
    with tempfile.TemporaryDirectory(prefix="chaird-bench-") as tmp:
        os.chmod(tmp, 0o755)
        bus = SystemBus(tmp)
        echo_port = tw.free_port()
        echo = subprocess.Popen([echo_bin, str(echo_port)])
        d = web = b = None
        try:
            d = Chaird(os.path.join(tmp, "web"), bus, scale=1)
            web = Web(os.path.join(tmp, "web"), bus, d)
            pid = web.proc.pid
            time.sleep(2)
            rss_idle, cpu_idle = proc_rss_kib(pid), usage(pid, HOLD)

            b = browser()
            event, handler, floor_echo, floor_dbus, missed_tap, missed_dbus, clock = latency(b, d, web, echo_port)
            b.quit()
            b = None
            rss_after_latency = proc_rss_kib(pid)

            runs, last = first_renders(web)
            rss_tabs, tabs = ten_pages(web, pid)
            time.sleep(2)
            rss_after_tabs = proc_rss_kib(pid)
            held = hundred_clients(web, pid)
            time.sleep(2)
            rss_end = proc_rss_kib(pid)
        finally:
            if b:
                b.quit()
            ended = web.close() if web else None
            if d:
                d.close()
            echo.terminate()
            echo.wait(timeout=10)
            bus.close()

    f50 = pct(floor_echo, 0.50) + pct(floor_dbus, 0.50)
    f99 = pct(floor_echo, 0.99) + pct(floor_dbus, 0.99)
    load = os.getloadavg()
    print(f"chaird-web through headless chromium on {os.cpu_count()} cores (load average at the end "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}), "
          f"{SAMPLES} samples of each latency in {ROUNDS} interleaved rounds, {PACE * 1000:.0f} ms apart")
    print()
    print("## Tap -> board output (ms; x floor = p50 over the floor's p50, p99 over the floor's p99)")
    print()
    print("| | n | p50 | p99 | max | x floor p50 | x floor p99 |\n|---|---|---|---|---|---|---|")
    row("floor (a): bare WebSocket round trip, page <-> ws-echo", floor_echo)
    row("floor (b): D-Bus SetHeat -> coil, python3-dbus", floor_dbus)
    print(f"| **floor: (a) + (b)** | | {f50 / 1000:.2f} | {f99 / 1000:.2f} | | | |")
    row("**tap (the click's event time) -> coil**", event, (f50, f99))
    row("the page's click handler -> coil", handler, (f50, f99))
    if missed_tap or missed_dbus:
        print(f"\n{missed_tap} taps and {missed_dbus} SetHeat calls never changed the coil")
    print(f"\nthe browser's clock against this process's: inside every bracket of an execute_script: {clock[1]}; "
          f"the tightest {clock[0]:.2f} ms")
    if min(event) <= 0:
        print(f"\nthe clocks disagree: a tap reached the board {min(event) / 1000:.2f} ms before it was made")
    print()
    print(f"## First render: navigation start -> the first program button (ms, median of {RUNS} runs, no cache)")
    print()
    print("| CPU | in the DOM | its frame | first contentful paint |\n|---|---|---|---|")
    med = {}
    for rate in (1, 4):
        med[rate] = {k: statistics.median([r[k] for r in runs[rate] if r[k] is not None] or [float("nan")])
                     for k in ("dom", "frame", "fcp")}
        print(f"| {'unthrottled' if rate == 1 else '4x throttled'} | {med[rate]['dom']:.0f} | "
              f"{med[rate]['frame']:.0f} | {med[rate]['fcp']:.0f} |")
    print(f"| ratio 4x / 1x | {med[4]['dom'] / med[1]['dom']:.2f} | {med[4]['frame'] / med[1]['frame']:.2f} | "
          f"{med[4]['fcp'] / med[1]['fcp']:.2f} |")
    raw, zipped = gzipped_page()
    print(f"\npage: {last['files']} files, {last['transfer']} bytes transferred ({last['body']} of them bodies; "
          f"chaird-web sends them uncompressed); gzip -9 of the files: {zipped} of {raw} bytes "
          f"({zipped / 1024:.1f} KiB; the cap is 150 KB)")
    print()
    print("## chaird-web's memory and CPU")
    print()
    print("| | VmRSS (KiB) | CPU, share of a core: utime+stime / schedstat | wakeups |\n|---|---|---|---|")
    print(f"| idle {HOLD} s, no page | {rss_idle} | {cpu_idle[0] * 100:.2f}% / {cpu_idle[1] * 100:.3f}% | "
          f"{cpu_idle[2]} |")
    print(f"| after the latency runs (page closed) | {rss_after_latency} | | |")
    print(f"| {tabs} pages open (tabs of one chromium) | {rss_tabs} | | |")
    print(f"| after they closed | {rss_after_tabs} | | |")
    cpu = held["cpu"]
    print(f"| {CLIENTS} WebSocket clients held {HOLD} s, idle | {held['rss']} | {cpu[0] * 100:.2f}% / "
          f"{cpu[1] * 100:.3f}% | {cpu[2]} |")
    print(f"| after they closed | {rss_end} | | |")
    print(f"\nwhile the {CLIENTS} were held, chaird-web sent them {held['idle_messages']} messages "
          f"(what changed: {', '.join(sorted(held['changed'])) or 'nothing'})")
    print(f"{CLIENTS} clients: {held['state']} got the state message, {held['open']} still open after the hold, "
          f"{held['pongs']} answered a ping at the end")
    if ended:
        print(f"\nchaird-web did not end cleanly: {ended}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build")
