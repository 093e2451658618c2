#!/usr/bin/python3
"""chaird-web in a real browser: Debian's chromium driven by chromium-driver (python3-selenium), against the
real chaird-web, chaird on a private system bus and chair-sim. What a person does on the page is checked in
chair-sim's physical state or chaird's: a program tapped runs, a held jog moves and stops when the finger
lifts or the page goes, the stop button latches the fault screen, a second browser sees the first's changes,
a chair without calves heat, foot rollers and the flat preset shows none of them (on the manual screen
neither); a manual session, a profile and a saved position made on the page reach chaird and chair-sim, and
history and usage show what chaird has. A program's timeline picture (/programs/ID.svg) is chairctl plot's
for the same program and config, and nothing but a program chaird offers is drawn: no path, no FIFO, no
link, nothing of a broken file in the reply. Screenshots of every screen at the panel's and a phone's sizes
go to the build folder (web-screenshots/), for a person to look at."""
import http.client
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import simlib  # noqa: E402
from simlib import wait_for  # noqa: E402

_spec = importlib.util.spec_from_file_location("daemon_test", os.path.join(os.path.dirname(__file__), "test-daemon.py"))
dt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dt)
Chaird, SystemBus, SRC = dt.Chaird, dt.SystemBus, dt.SRC

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
except ImportError:  # reported as a skip below
    webdriver = None

SIZES = {"panel-800x480": (800, 480), "panel-1024x600": (1024, 600), "phone-390x844": (390, 844)}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Web:
    """chaird-web on a free port, serving the page from the source tree; the programs' pictures from chaird's
    config and programs folders."""

    def __init__(self, directory, bus, chaird=None, config="", args=()):
        self.port = free_port()
        self.log = open(os.path.join(directory, "chaird-web.log"), "w")
        path = os.path.join(directory, "web.yaml")
        with open(path, "w") as f:
            f.write("listen: 127.0.0.1:1\ncommand-rate: 20\n" + config)  # --listen below wins over the file
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address)
        self.proc = subprocess.Popen(
            [os.path.join(simlib.BUILD, "tools/chaird-web/chaird-web"), "--config", path,
             "--listen", f"127.0.0.1:{self.port}", "--page-dir", os.path.join(SRC, "tools/chaird-web/page"),
             *(("--chair-config", chaird.config, "--programs", chaird.stock_dir, "--programs", chaird.local)
               if chaird else ()), *args],
            stdout=self.log, stderr=self.log, env=env)
        if not wait_for(lambda: self.answers() or self.proc.poll() is not None, 15) or self.proc.poll() is not None:
            raise RuntimeError("chaird-web did not come up: " + open(self.log.name).read())
        self.url = f"http://127.0.0.1:{self.port}/"

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def get(self, path, timeout=10):
        """GET path exactly as given (not normalized): status, headers, body."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.headers, r.read()
        finally:
            c.close()

    def close(self):
        """Stops it; what went wrong on the way out (an exit status, a sanitizer's report), or None."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()
        text = open(self.log.name).read()
        if self.proc.returncode != 0 or "Sanitizer" in text or "runtime error" in text:
            return f"exit {self.proc.returncode}: {text[-1500:]}"
        return None


def browser(size=(800, 480), extra=()):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--window-size={size[0]},{size[1]}", "--force-device-scale-factor=1", *extra):
        o.add_argument(a)
    b = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    # The page's own size exactly, as the screen or the phone has it (a window's size includes its frame).
    b.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size[0] < 600})
    if size[0] < 600:
        b.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
    return b


def ready(b, url):
    b.get(url)
    return wait_for(lambda: b.find_elements(By.CSS_SELECTOR, "#programs button"), 15)


def tab(b, name):
    b.find_element(By.CSS_SELECTOR, f'nav button[data-tab="{name}"]').click()


def driven(d, motor):
    return d.sim.state()["motors"][motor]["driven"]


# --- cases ---

def test_tapping_a_program_runs_it(p, d, web, b):
    if not ready(b, web.url):
        p.append("the page shows no programs")
        return
    b.find_element(By.CSS_SELECTOR, '#programs button[data-program="quick"]').click()
    if not wait_for(lambda: d.state() in ("scanning", "running"), 15):
        p.append(f"tapping quick: chaird is {d.state()}")
    if not wait_for(lambda: driven(d, "roller") or driven(d, "backrest") or driven(d, "legrest"), 15):
        p.append("nothing moves in chair-sim after tapping quick")
    tab(b, "session")
    if not wait_for(lambda: "left" in b.find_element(By.ID, "time-left").text, 10):
        p.append(f"the session shows no time left: {b.find_element(By.ID, 'time-left').text!r}")
    time.sleep(1.5)
    b.save_screenshot(os.path.join(shots, "session-800x480.png"))
    b.find_element(By.ID, "stop").click()
    if not wait_for(lambda: d.state() == "idle", 60):
        p.append(f"Stop from the page: {d.state()}")


def test_a_held_jog_moves_and_stops_when_the_finger_lifts_or_the_page_goes(p, d, web, b):
    if not wait_for(lambda: d.state() == "idle", 60):
        p.append(f"the chair is {d.state()}, not idle, before the jog")
    ready(b, web.url)
    tab(b, "chair")
    jog = b.find_element(By.CSS_SELECTOR, '#jogs button[data-axis="legrest"][data-direction="1"]')
    hold = ActionChains(b).click_and_hold(jog)
    hold.perform()
    if not wait_for(lambda: driven(d, "legrest"), 3, 0.01):
        p.append("a held jog did not move the legrest")
    time.sleep(0.45)  # held beyond one hold window (300 ms): it keeps moving
    legrest = d.sim.state()["motors"]["legrest"]
    if not legrest["driven"]:
        p.append(f"the legrest stopped at {legrest['position']:.2f} while the jog was still held")
    ActionChains(b).release(jog).perform()
    t0 = time.monotonic()
    if not wait_for(lambda: not driven(d, "legrest"), 3, 0.005):
        p.append("the legrest kept moving after the finger lifted")
    else:
        print(f"# jog released -> legrest stopped in chair-sim: {(time.monotonic() - t0) * 1000:.0f} ms after "
              "selenium's release returned (the page sends no more jogs; chaird's hold-to-move is 300 ms)")
    # Held, then the page goes away: chaird stops the motor by itself.
    wait_for(lambda: d.state() == "idle", 10)
    ActionChains(b).click_and_hold(jog).perform()
    wait_for(lambda: driven(d, "legrest"), 3, 0.01)
    t0 = time.monotonic()
    b.get("about:blank")
    if not wait_for(lambda: not driven(d, "legrest"), 3, 0.005):
        p.append("the legrest kept moving after the page went away")
    else:
        print(f"# page closed during a jog -> legrest stopped: {(time.monotonic() - t0) * 1000:.0f} ms")


def test_the_stop_button_latches_and_the_fault_screen_shows(p, d, web, b):
    ready(b, web.url)
    b.find_element(By.CSS_SELECTOR, '#programs button[data-program="relax"]').click()
    wait_for(lambda: d.state() in ("scanning", "running"), 15)
    b.find_element(By.ID, "estop").click()
    if not wait_for(lambda: d.state() == "fault" and str(d.get("Fault")) == "emergency-stop", 5, 0.01):
        p.append(f"STOP on the page: {d.state()} {d.get('Fault')}")
    if not wait_for(lambda: b.find_element(By.ID, "fault").is_displayed(), 5):
        p.append("no fault screen")
    if not wait_for(lambda: not any(m["driven"] for m in d.sim.state()["motors"].values()), 2, 0.01):
        p.append(f"motors driven after STOP: {d.sim.state()['motors']}")
    # STOP stays in sight and can be hit on the fault screen too (nothing lies over it).
    on_top = b.execute_script("const r = document.getElementById('estop').getBoundingClientRect();"
                              " return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)?.id")
    if on_top != "estop":
        p.append(f"on the fault screen, STOP is covered by {on_top!r}")
    # The header says so too: not "Chair ready" above a stopped chair.
    status = b.find_element(By.ID, "status").text
    if status != "Stopped: reset to go on":
        p.append(f"the header on the fault screen says {status!r}")
    b.save_screenshot(os.path.join(shots, "fault-800x480.png"))
    b.find_element(By.ID, "reset").click()
    if not wait_for(lambda: d.state() in ("idle", "homing"), 10):
        p.append(f"Reset on the fault screen: {d.state()}")
    if not wait_for(lambda: not b.find_element(By.ID, "fault").is_displayed(), 5):
        p.append("the fault screen stayed after the reset")
    wait_for(lambda: d.state() == "idle", 60)


def test_a_second_browser_sees_the_firsts_changes(p, d, web, b):
    other = browser()
    try:
        ready(b, web.url)
        ready(other, web.url)
        tab(b, "chair")
        tab(other, "chair")
        b.find_element(By.CSS_SELECTOR, '#heats button[data-zone="lumbar"][data-level="2"]').click()
        seen = other.find_element(By.CSS_SELECTOR, '#heats button[data-zone="lumbar"][data-level="2"]')
        if not wait_for(lambda: "on" in seen.get_attribute("class"), 5):
            p.append("the second browser does not show the lumbar heat the first set")
        if int(d.get("Heat")["lumbar"]) != 2:
            p.append(f"chaird's lumbar heat: {int(d.get('Heat')['lumbar'])}")
        b.find_element(By.ID, "lock").click()
        if not wait_for(lambda: "on" in other.find_element(By.ID, "lock").get_attribute("class"), 5):
            p.append("the second browser does not show the child lock")
        b.find_element(By.ID, "lock").click()
        wait_for(lambda: d.get("Locked") == False, 5)  # noqa: E712
        b.find_element(By.CSS_SELECTOR, '#heats button[data-zone="lumbar"][data-level="0"]').click()
    finally:
        other.quit()


def chairctl_plot(d, program_file):
    """What chairctl plot draws for program_file on d's chair."""
    out = os.path.join(d.dir, "chairctl-plot.svg")
    r = subprocess.run([os.path.join(simlib.BUILD, "tools/chairctl/chairctl"), "plot", "--config", d.config,
                        "--patterns", os.path.join(d.stock_dir, "patterns"), program_file, "-o", out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"chairctl plot {program_file}: {r.stderr}")
    return open(out, "rb").read()


def svg_phases(body):
    """The phase names in a picture, in order (it must parse as XML)."""
    root = ET.fromstring(body)
    return [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "phase-name"]


def install_local(d, name, text):
    """A program in chaird's local folder, loaded (a reload with a broken file still loads the rest)."""
    path = os.path.join(d.local, name + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    try:
        d.chair.ReloadPrograms()
    except Exception:  # noqa: BLE001 (a broken file elsewhere: InvalidProgram, the rest is loaded)
        pass
    return path


def test_a_programs_picture_is_chairctl_plots(p, d, web, b):
    for program in ("relax", "quick"):
        status, headers, body = web.get(f"/programs/{program}.svg")
        if status != 200:
            p.append(f"/programs/{program}.svg: {status}")
            continue
        if headers.get("Content-Type") != "image/svg+xml" or headers.get("X-Content-Type-Options") != "nosniff":
            p.append(f"{program}.svg headers: {headers.get('Content-Type')}, {headers.get('X-Content-Type-Options')}")
        try:
            phases = svg_phases(body)
        except ET.ParseError as e:
            p.append(f"{program}.svg is not XML: {e}")
            continue
        if not phases:
            p.append(f"{program}.svg has no phases")
        expected = chairctl_plot(d, os.path.join(d.stock_dir, program + ".yaml"))
        if body != expected:
            p.append(f"{program}.svg differs from chairctl plot's: phases {phases} vs {svg_phases(expected)}")
    # A program of the local folder, then edited: drawn anew from the file as it is (no stale picture).
    text = "id: web-mine\n" + re.sub(r"(?m)^id:.*\n", "", open(os.path.join(SRC, "programs/quick.yaml")).read())
    path = install_local(d, "web-mine", text)
    if not wait_for(lambda: web.get("/programs/web-mine.svg")[0] == 200, 10):
        p.append(f"a local program's picture: {web.get('/programs/web-mine.svg')[0]}")
        return
    first = svg_phases(web.get("/programs/web-mine.svg")[2])
    renamed = first[0] + " renamed"
    with open(path, "w") as f:
        f.write(text.replace(f"name: {first[0]}", f"name: {renamed}", 1))
    now = svg_phases(web.get("/programs/web-mine.svg")[2])
    if not now or now[0] != renamed:
        p.append(f"after an edit of the file the picture's phases are {now}, not starting with {renamed!r}")
    if web.get("/programs/web-mine.svg")[2] != chairctl_plot(d, path):
        p.append("the edited local program's picture differs from chairctl plot's")


def test_nothing_but_a_program_is_drawn(p, d, web, b):
    for path in ("/programs/nope.svg", "/programs/../x", "/programs/%2e%2e.svg", "/programs/%2e%2e/%2e%2e/etc/passwd",
                 "/programs/a/b.svg", "/programs/relax", "/programs/relax.yaml", "/programs/RELAX.svg",
                 "/programs/relax.svg/", "/programs/%2Fetc%2Fpasswd.svg", "/programs/", "/programs/-x.svg"):
        status, _, body = web.get(path)
        if status != 404:
            p.append(f"{path}: {status}, not 404")
        if b"<svg" in body or b"root:" in body:
            p.append(f"{path}: answered with {body[:80]!r}")


def test_an_odd_or_broken_program_file_neither_hangs_nor_leaks(p, d, web, b):
    secret = "SECRET-MARKER-7f3a"
    elsewhere = os.path.join(d.dir, "elsewhere.yaml")
    quick = "id: web-odd\n" + re.sub(r"(?m)^id:.*\n", "", open(os.path.join(SRC, "programs/quick.yaml")).read())
    with open(elsewhere, "w") as f:
        f.write(quick.replace("name: ", f"name: {secret} ", 1))
    path = install_local(d, "web-odd", open(elsewhere).read().replace(secret + " ", ""))
    if not wait_for(lambda: web.get("/programs/web-odd.svg")[0] == 200, 10):
        p.append(f"web-odd is not drawn at first: {web.get('/programs/web-odd.svg')[0]}")
        return
    # chaird still lists it from path; what is there now is a FIFO, a link, or broken text.
    def fifo():
        os.unlink(path)
        os.mkfifo(path)

    def link():
        os.unlink(path)
        os.symlink(elsewhere, path)

    def broken():
        os.unlink(path)
        with open(path, "w") as f:
            f.write(f"id: web-odd\nname: [{secret}\nphases: {{{{\n")

    for what, make in (("a FIFO", fifo), ("a symbolic link", link), ("broken YAML", broken)):
        make()
        try:
            status, _, body = web.get("/programs/web-odd.svg", timeout=5)
        except (OSError, http.client.HTTPException) as e:
            p.append(f"{what}: no answer ({e})")
            continue
        if status not in (404, 500):
            p.append(f"{what}: {status}")
        if secret.encode() in body or b"<svg" in body:
            p.append(f"{what}: the reply leaks the file: {body[:120]!r}")
        if web.get("/")[0] != 200 or web.get("/programs/relax.svg")[0] != 200:
            p.append(f"after {what} the server does not answer other requests")
    os.unlink(path)


def test_a_programs_detail_shows_its_picture(p, d, web, b):
    for name, size in (("800x480", (800, 480)), ("phone-390x844", (390, 844))):
        s = browser(size)
        try:
            ready(s, web.url)
            s.find_element(By.CSS_SELECTOR, '#programs button[data-detail="relax"]').click()
            img = wait_for(lambda: s.find_elements(By.CSS_SELECTOR, "#detail img"), 5)
            if not img:
                p.append(f"{name}: no detail")
                continue
            if not wait_for(lambda: s.execute_script(
                    "const i = document.querySelector('#detail img'); return i.complete && i.naturalWidth"), 10):
                p.append(f"{name}: the detail's picture did not load")
            if not img[0].get_attribute("src").endswith("/programs/relax.svg"):
                p.append(f"{name}: the picture is {img[0].get_attribute('src')}")
            shown = s.execute_script("const r = document.querySelector('#detail img').getBoundingClientRect();"
                                     " return [r.width, r.height]")
            if shown[0] < 300 or shown[1] < 100:
                p.append(f"{name}: the picture is shown {shown[0]}x{shown[1]} px")
            if s.find_element(By.ID, "programs").is_displayed() or not s.find_element(By.ID, "estop").is_displayed():
                p.append(f"{name}: the detail is not in the list's place, or STOP is hidden")
            time.sleep(0.3)
            s.save_screenshot(os.path.join(shots, f"program-detail-{name}.png"))
            small = s.execute_script(
                "return [...document.querySelectorAll('button')].filter(b => b.offsetParent &&"
                " (b.offsetHeight < 48 || b.offsetWidth < 48)).map(b => b.textContent)")
            if small:
                p.append(f"{name}: targets smaller than 48 px in the detail: {small[:5]}")
            s.find_element(By.CSS_SELECTOR, '#detail button[data-action="back"]').click()
            if not s.find_element(By.ID, "programs").is_displayed():
                p.append(f"{name}: Back does not show the list again")
        finally:
            s.quit()


def tap_choice(b, key, value):
    b.find_element(By.CSS_SELECTOR, f'#manual-choices button[data-m="{key}"][data-v="{value}"]').click()


def test_a_manual_session_from_the_page_runs_in_the_chair(p, d, web, b):
    ready(b, web.url)
    tab(b, "manual")
    caps = d.get("Capabilities")
    shown = {e.get_attribute("data-v") for e in b.find_elements(By.CSS_SELECTOR, '#manual-choices [data-m="technique"]')}
    if shown != {""} | {str(t) for t in caps["techniques"]}:
        p.append(f"techniques on the page: {shown}")
    tap_choice(b, "technique", "tapping")
    Select(b.find_element(By.ID, "manual-area")).select_by_value("lumbar")
    tap_choice(b, "speed", "5")
    tap_choice(b, "zones", "calves")
    tap_choice(b, "heat:lumbar", "1")
    b.find_element(By.ID, "manual-longer").click()  # the config's manual duration, 5 minutes longer
    minutes = int(caps["manual-duration"]) // 60_000_000 + 5
    b.save_screenshot(os.path.join(shots, "manual-800x480.png"))
    b.find_element(By.ID, "manual-start").click()
    if not wait_for(lambda: d.get("Session").get("kind") == "manual", 10):
        p.append(f"Start on the manual screen: chaird's Session is {dict(d.get('Session'))}")
        return
    wait_for(lambda: d.state() == "running", 20)  # after the body scan
    settings = d.get("Session")["settings"]
    roller = settings.get("roller", {})
    if (roller.get("technique"), roller.get("area"), roller.get("speed")) != ("tapping", "lumbar", 5):
        p.append(f"the manual session's roller in chaird: {dict(roller)}")
    if list(settings.get("airbags", {}).get("zones", [])) != ["calves"] or dict(d.get("Heat")).get("lumbar") != 1:
        p.append(f"the manual session's airbags and heat: {dict(settings)}, Heat {dict(d.get('Heat'))}")
    if int(d.get("DurationUSec")) != minutes * 60_000_000:
        p.append(f"the manual session lasts {int(d.get('DurationUSec'))} us, not the {minutes} min chosen")
    if not wait_for(lambda: driven(d, "roller"), 20):
        p.append("the roller does not move in chair-sim during the manual session")
    if not wait_for(lambda: b.find_element(By.ID, "program-name").text == "Manual massage", 5):
        p.append(f"the page shows {b.find_element(By.ID, 'program-name').text!r} for the manual session")
    # Live adjust on the session's screen: the depth and the foot rollers.
    b.find_element(By.CSS_SELECTOR, '#running button[data-adjust="depth"][data-v="4"]').click()
    b.find_element(By.CSS_SELECTOR, '#running button[data-adjust="foot-rollers"][data-v="2"]').click()
    if not wait_for(lambda: d.get("Session")["adjustments"].get("depth") == 4 and
                    d.get("Session")["adjustments"].get("foot-rollers") == 2, 10):
        p.append(f"depth and foot rollers adjusted on the page: {dict(d.get('Session')['adjustments'])}")
    b.execute_script("document.querySelector('main').scrollTop = 1e6")
    b.save_screenshot(os.path.join(shots, "session-manual-800x480.png"))
    b.find_element(By.ID, "stop").click()
    if not wait_for(lambda: d.state() == "idle", 60):
        p.append(f"Stop of the manual session from the page: {d.state()}")


def test_history_and_usage_show_the_session_that_just_ended(p, d, web, b):
    ready(b, web.url)
    tab(b, "history")
    first = 'ul#history li:first-child'
    if not wait_for(lambda: b.find_elements(By.CSS_SELECTOR, f'{first}[data-program="manual"][data-reason="stopped"]'), 10):
        shown = [e.text for e in b.find_elements(By.CSS_SELECTOR, "#history li")][:3]
        p.append(f"the newest record on the page is not the manual session stopped: {shown}")
    elif "Manual massage" not in b.find_element(By.CSS_SELECTOR, first).text:
        p.append(f"the newest record reads {b.find_element(By.CSS_SELECTOR, first).text!r}")
    usage = {str(k): int(v) for k, v in d.get("Usage").items()}
    sessions = b.find_elements(By.CSS_SELECTOR, '#usage dd[data-key="sessions"]')
    if not sessions or sessions[0].text != str(usage["sessions"]) or usage["sessions"] < 2:
        p.append(f"sessions on the page: {[e.text for e in sessions]}, Usage on D-Bus: {usage}")
    keys = {e.get_attribute("data-key") for e in b.find_elements(By.CSS_SELECTOR, "#usage dd")}
    if keys != set(usage):
        p.append(f"usage counters on the page: {keys}, on D-Bus: {set(usage)}")
    m = int(usage["massage-usec"] / 60e6 + 0.5)
    want = f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"
    massage = b.find_element(By.CSS_SELECTOR, '#usage dd[data-key="massage-usec"]').text
    if massage != want:
        p.append(f"massage time on the page: {massage!r}, on D-Bus {usage['massage-usec']} us ({want})")
    b.save_screenshot(os.path.join(shots, "history-800x480.png"))


def profile_names(d):
    return [str(n) for n in d.get("Profiles")]


def test_profiles_and_positions_from_the_page(p, d, web, b):
    ready(b, web.url)
    tab(b, "profiles")
    d.chair.SetIntensity(dbus.UInt32(4))
    field = b.find_element(By.ID, "profile-name")
    field.send_keys("Web Anna")  # as a phone's keyboard gives it: a capital, a space
    b.find_element(By.ID, "profile-save").click()
    if not wait_for(lambda: "web-anna" in profile_names(d), 10):
        p.append(f"a profile saved on the page is not in chaird: {profile_names(d)}")
        return
    saved = d.chair.GetProfile("web-anna")
    if int(saved["intensity"]) != 4:
        p.append(f"the profile saved on the page: {dict(saved)}")
    pick = '#profiles button[data-profile="web-anna"]'
    if not wait_for(lambda: b.find_elements(By.CSS_SELECTOR, pick), 5):
        p.append("the saved profile is not listed on the page")
        return
    b.find_element(By.CSS_SELECTOR, pick).click()
    if not wait_for(lambda: str(d.get("Profile")) == "web-anna", 10):
        p.append(f"selecting web-anna on the page: chaird's Profile is {str(d.get('Profile'))!r}")
    # read in one script: the list is drawn again when chaird's state changes
    if not wait_for(lambda: "on" in b.execute_script(f"return document.querySelector('{pick}')?.className ?? ''"), 5):
        p.append("the page does not show web-anna as selected")

    # A position: kept where the chair stands, the legrest moved away, then recalled from the page.
    wait_for(lambda: b.find_element(By.ID, "position-name").is_displayed(), 5)
    keep = d.sim.state()["motors"]["legrest"]["position"]
    b.find_element(By.ID, "position-name").send_keys("Reading\n")  # the keyboard's enter key saves it
    if not wait_for(lambda: "reading" in d.chair.GetProfile("web-anna")["positions"], 10):
        p.append(f"a position saved on the page: {dict(d.chair.GetProfile('web-anna')['positions'])}")
        return
    direction = -1 if keep > 0.5 else 1
    for _ in range(20):
        d.chair.Jog("legrest", direction)
        time.sleep(0.1)
    wait_for(lambda: not driven(d, "legrest"), 5)
    if d.state() == "fault":
        log = open(d.log.name).read().splitlines()[-8:]
        p.append(f"the jogs for the test ended in a fault: {d.get('Fault')}: {d.get('FaultMessage')}; chaird: {log}")
        return
    moved = d.sim.state()["motors"]["legrest"]["position"]
    if abs(moved - keep) < 0.03:
        p.append(f"the legrest did not move away for the test: {keep:.3f} -> {moved:.3f}")
    recall = '#positions button[data-position="reading"]'
    if not wait_for(lambda: b.find_elements(By.CSS_SELECTOR, recall), 5):
        p.append("the saved position is not listed on the page")
        return
    b.save_screenshot(os.path.join(shots, "profiles-800x480.png"))
    if d.state() == "fault":
        log = open(d.log.name).read().splitlines()[-8:]
        p.append(f"a fault before the recall: {d.get('Fault')}: {d.get('FaultMessage')}; chaird: {log}")
        return
    b.find_element(By.CSS_SELECTOR, recall).click()
    if not wait_for(lambda: driven(d, "legrest"), 5, 0.02):
        p.append("tapping the saved position does not move the legrest in chair-sim")
    if not wait_for(lambda: abs(d.sim.state()["motors"]["legrest"]["position"] - keep) < 0.03 and
                    not driven(d, "legrest"), 30):
        p.append(f"the legrest went to {d.sim.state()['motors']['legrest']['position']:.3f}, kept at {keep:.3f}")

    # Deleting takes a second tap.
    delete = '#positions button[data-delete-position="reading"]'
    b.find_element(By.CSS_SELECTOR, delete).click()
    time.sleep(0.5)
    if "reading" not in d.chair.GetProfile("web-anna")["positions"]:
        p.append("one tap on Delete deleted the position")
    b.find_element(By.CSS_SELECTOR, delete).click()
    if not wait_for(lambda: "reading" not in d.chair.GetProfile("web-anna")["positions"], 10):
        p.append("the position deleted on the page is still in chaird")
    if not wait_for(lambda: not b.find_elements(By.CSS_SELECTOR, recall), 5):
        p.append("the deleted position is still on the page")
    for _ in range(2):
        b.find_element(By.CSS_SELECTOR, '#profiles button[data-delete-profile="web-anna"]').click()
    if not wait_for(lambda: "web-anna" not in profile_names(d) and str(d.get("Profile")) == "", 10):
        p.append(f"after deleting web-anna on the page: {profile_names(d)}, {str(d.get('Profile'))!r}")
    d.chair.SetIntensity(dbus.UInt32(3))


def test_screenshots_at_the_panels_and_a_phones_size(p, d, web, b):
    for name, size in SIZES.items():
        s = browser(size)
        try:
            ready(s, web.url)
            for screen in ("programs", "session", "chair", "manual", "profiles", "history", "settings"):
                tab(s, screen)
                time.sleep(0.3)
                s.save_screenshot(os.path.join(shots, f"{screen}-{name}.png"))
                width = s.execute_script("return document.documentElement.scrollWidth")
                if width > size[0]:
                    p.append(f"{name}, {screen}: the page is {width} px wide, wider than the screen")
                small = s.execute_script(
                    "return [...document.querySelectorAll('button, select, input:not([type=file]), label.file-button')]"
                    ".filter(b => b.offsetParent &&"
                    " (b.offsetHeight < 48 || b.offsetWidth < 48)).map(b => b.textContent || b.id)")
                if small:
                    p.append(f"{name}, {screen}: targets smaller than 48 px: {small[:5]}")
                # Text cut or spilling out of its box (a word wider than its button).
                cut = s.execute_script(
                    "return [...document.querySelectorAll('button, select, dt, dd, h3, li, .record span')]"
                    ".filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)")
                if cut:
                    p.append(f"{name}, {screen}: text cut: {cut[:5]}")
        finally:
            s.quit()
    print(f"# screenshots in {shots}")


def test_a_chair_without_calves_heat_foot_rollers_and_flat_shows_none(p, tmp, bus):
    config = open(os.path.join(SRC, "config/sim.yaml")).read()
    flat = re.search(r"^    flat:.*\n", config, re.M).group(0)
    calves = re.search(r"^  calves:\n(    .*\n)+", config[config.index("heaters:"):], re.M).group(0)
    feet = re.search(r"^foot-rollers:\n(  .*\n)+", config, re.M).group(0)
    d = Chaird(os.path.join(tmp, "lesser"), bus, replace=((flat, ""), (calves, ""), (feet, "")))
    web = Web(os.path.join(tmp, "lesser"), bus, d)
    b = browser()
    try:
        ready(b, web.url)
        tab(b, "chair")
        wait_for(lambda: b.find_elements(By.CSS_SELECTOR, "#presets button"), 5)
        presets = [e.get_attribute("data-preset") for e in b.find_elements(By.CSS_SELECTOR, "#presets button")]
        zones = {e.get_attribute("data-zone") for e in b.find_elements(By.CSS_SELECTOR, "#heats button")}
        if "flat" in presets or not presets:
            p.append(f"presets on the page: {presets}")
        if zones != {"lumbar"}:
            p.append(f"heat zones on the page: {zones}")
        # The manual screen too: no calves heat, no foot rollers, no flat recline.
        tab(b, "manual")
        parts = {e.get_attribute("data-m") for e in b.find_elements(By.CSS_SELECTOR, "#manual-choices button")}
        if "foot" in parts or "heat:calves" in parts or "heat:lumbar" not in parts or "technique" not in parts:
            p.append(f"manual choices on the page: {parts}")
        recline = [o.get_attribute("value") for o in b.find_elements(By.CSS_SELECTOR, "#manual-recline option")]
        if "flat" in recline or "upright" not in recline:
            p.append(f"manual recline choices: {recline}")
    finally:
        b.quit()
        web.close()
        d.close()


shots = None


def cases(tap, tmp):
    global shots
    if webdriver is None or not shutil.which("chromium") or not shutil.which("chromedriver"):
        print("1..0 # SKIP chromium, chromium-driver or python3-selenium is not installed")
        return
    os.chmod(tmp, 0o755)
    shots = os.path.join(simlib.BUILD, "web-screenshots")
    os.makedirs(shots, exist_ok=True)
    bus = SystemBus(tmp)
    try:
        d = Chaird(os.path.join(tmp, "web"), bus, scale=1)  # real pace: a held jog is a person's
        web = Web(os.path.join(tmp, "web"), bus, d)
        b = browser()
        try:
            simlib.run_cases(tap, [
                # The jog first: at real pace the recline takes long to come back after a program.
                ("a_held_jog_moves_and_stops_when_the_finger_lifts_or_the_page_goes",
                 test_a_held_jog_moves_and_stops_when_the_finger_lifts_or_the_page_goes),
                ("tapping_a_program_runs_it", test_tapping_a_program_runs_it),
                ("the_stop_button_latches_and_the_fault_screen_shows",
                 test_the_stop_button_latches_and_the_fault_screen_shows),
                ("a_second_browser_sees_the_firsts_changes", test_a_second_browser_sees_the_firsts_changes),
                ("a_manual_session_from_the_page_runs_in_the_chair",
                 test_a_manual_session_from_the_page_runs_in_the_chair),
                ("history_and_usage_show_the_session_that_just_ended",
                 test_history_and_usage_show_the_session_that_just_ended),
                ("profiles_and_positions_from_the_page", test_profiles_and_positions_from_the_page),
                ("screenshots_at_the_panels_and_a_phones_size", test_screenshots_at_the_panels_and_a_phones_size),
                ("a_programs_picture_is_chairctl_plots", test_a_programs_picture_is_chairctl_plots),
                ("nothing_but_a_program_is_drawn", test_nothing_but_a_program_is_drawn),
                ("an_odd_or_broken_program_file_neither_hangs_nor_leaks",
                 test_an_odd_or_broken_program_file_neither_hangs_nor_leaks),
                ("a_programs_detail_shows_its_picture", test_a_programs_detail_shows_its_picture),
            ], d, web, b, chaird=d)
        finally:
            b.quit()
            ended = web.close()
            d.close()
        tap.case("chaird_web_ends_cleanly_on_sigterm", lambda p: ended and p.append(ended))
        tap.case("a_chair_without_calves_heat_foot_rollers_and_flat_shows_none",
                 lambda p: test_a_chair_without_calves_heat_foot_rollers_and_flat_shows_none(p, tmp, bus))
    finally:
        bus.close()


if __name__ == "__main__":
    simlib.main(cases, sys.argv[1])
