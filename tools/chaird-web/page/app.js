// The chair's page: every control built from what the chair reports (Capabilities, the programs), the rest
// from the state chaird-web sends; commands are the bridges' JSON (docs/mqtt.md), over the WebSocket /api.
"use strict";

// Every word of the page, in one table, so that it can be translated.
const WORDS = {
  "connecting": "Connecting…", "connected": "Chair ready", "chair-away": "The chair is not answering",
  "status-fault": "Stopped: reset to go on", "status-scanning": "Finding your shoulders", "status-running": "Massage",
  "status-paused": "Paused", "status-stopping": "Finishing", "status-homing": "Moving",
  "page-away": "No connection to the chair: trying again…", "lock": "Lock", "locked": "Locked",
  "estop": "STOP", "tab-programs": "Programs", "tab-session": "Now", "tab-chair": "Chair",
  "nothing-runs": "Nothing runs. Pick a program.", "pause": "Pause", "resume": "Resume", "stop": "Stop",
  "intensity": "Intensity", "speed": "Speed", "width": "Width", "shoulders-up": "Shoulders ↑",
  "shoulders-down": "Shoulders ↓", "fault-title": "The chair stopped", "reset": "Reset", "release": "Release",
  "left": "left", "scanning": "Finding your shoulders…", "min": "min", "heat": "Heat", "off": "Off",
  "refused": "Not done: ", "up": "▲", "down": "▼",
  "details": "Details", "start": "Start", "back": "Back", "timeline": "What the program does, minute by minute",
  "no-picture": "No picture of this program",
  "tab-manual": "Manual", "tab-profiles": "Profiles", "tab-history": "History", "manual": "Manual massage",
  "technique": "Technique", "area": "Area", "between": "From … to", "from": "From", "to": "To", "depth": "Depth",
  "airbags": "Airbags", "pattern": "Pattern", "air": "Pressure", "foot-rollers": "Foot rollers",
  "recline": "Recline", "keep": "As it is", "duration": "Duration", "manual-start": "Start manual massage",
  "manual-empty": "Pick a technique, airbags, heat or foot rollers first.", "profiles": "Who sits here",
  "no-profile": "Nobody", "delete": "Delete", "sure": "Delete?", "save-settings": "Save",
  "name": "Name (a-z, 0-9, -)", "positions": "Saved positions", "save-position": "Keep this position",
  "positions-need-profile": "Pick who sits here to keep recline positions.", "usage": "Usage",
  "history": "History", "nothing-yet": "Nothing yet.", "usage-sessions": "Sessions",
  "usage-massage-usec": "Massage time", "usage-heat-usec": "Heat time", "usage-motor": "motor",
  "fault-record": "Fault", "completed": "finished", "stopped": "stopped", "fault": "fault",
  "emergency-stop": "STOP pressed", "timeout": "time limit", "interrupted": "interrupted",
  "favourite-program": "Program", "h": "h",
  "who": "Profile", "tab-settings": "Settings", "phones": "Phones", "pair-phone": "Pair a phone",
  "phones-off": "Phones on the network are off (lan: true in /etc/chaird/web.yaml turns them on).",
  "pair-how": "On the phone, open this chair's address and type the code.", "pair-left": "good for",
  "no-phones": "No phone is paired.", "paired-on": "paired", "remove": "Remove",
  "install-title": "Install a program", "install-program": "Choose a YAML file…",
  "installed": "Installed: ", "broken-title": "Programs with errors", "none-broken": "Every program file loads.",
};
const word = (key) => WORDS[key] ?? key;

const $ = (id) => document.getElementById(id);
let socket = null, state = null, programs = [], available = false, nextId = 1, endsAt = 0;
const JOG_REPEAT_MS = 100; // chaird stops a jog 300 ms after the last one: a lifted finger stops it

function send(command) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  socket.send(JSON.stringify({ ...command, id: nextId++ }));
}

function button(text, onTap, extra = {}) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (onTap) b.addEventListener("click", onTap);
  Object.assign(b.dataset, extra);
  return b;
}

// Each page sends one command at a time per tap; what it asked for is answered by id.
const pending = new Map();
function ask(command, then) {
  const id = nextId;
  send(command);
  if (nextId !== id) pending.set(id, then);
}

const el = (tag, className, text) => Object.assign(document.createElement(tag), { className, textContent: text ?? "" });

// "1 h 05 min", "12 min".
function hours(usec) {
  const m = Math.round(usec / 60e6);
  return m >= 60 ? `${Math.floor(m / 60)} ${word("h")} ${String(m % 60).padStart(2, "0")} ${word("min")}` : `${m} ${word("min")}`;
}

// A button that acts at its second tap within 3 s (a delete on a touch screen).
function confirmTap(b, action) {
  const text = b.textContent;
  let timer = null;
  b.addEventListener("click", () => {
    if (timer) { clearTimeout(timer); timer = null; b.textContent = text; b.classList.remove("armed"); action(); return; }
    b.textContent = word("sure");
    b.classList.add("armed");
    timer = setTimeout(() => { timer = null; b.textContent = text; b.classList.remove("armed"); }, 3000);
  });
  return b;
}

function duration(usec) {
  const s = Math.max(0, Math.round(usec / 1e6));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// --- what is built once from the chair: Capabilities ---

let built = false;
function build(caps) {
  if (built) return;
  built = true;
  const presets = $("presets");
  for (const p of caps.presets) presets.append(button(p.replace(/-/g, " "), () => send({ command: "recline", preset: p }), { preset: p }));
  const jogs = $("jogs");
  for (const axis of caps.axes) {
    for (const [dir, label] of [[1, "down"], [-1, "up"]]) {
      const b = button(`${axis} ${word(label)}`, null, { axis, direction: dir });
      holdToMove(b, axis, dir);
      jogs.append(b);
    }
  }
  const heats = $("heats");
  // One column for the zones' names, one for each level: the levels line up from zone to zone.
  heats.style.gridTemplateColumns = `max-content repeat(${caps["heat-levels"] + 1}, max-content)`;
  for (const zone of caps["heat-zones"]) {
    const row = document.createElement("div");
    row.className = "heat-zone";
    const name = document.createElement("span");
    name.textContent = `${word("heat")} ${zone}`;
    row.append(name);
    for (let level = 0; level <= caps["heat-levels"]; level++)
      row.append(button(level === 0 ? word("off") : String(level), () => send({ command: "heat", zone, level }),
        { zone, level }));
    heats.append(row);
    addHeatSpot(zone);
  }
  const speeds = $("speeds");
  if (caps.speed[1] > 0) {
    speeds.append(Object.assign(document.createElement("span"), { textContent: word("speed") }));
    for (let v = caps.speed[0]; v <= caps.speed[1]; v++)
      speeds.append(button(String(v), () => send({ command: "adjust", speed: v }), { speed: v }));
  }
  const widths = $("widths");
  if (caps.widths.length) {
    widths.append(Object.assign(document.createElement("span"), { textContent: word("width") }));
    for (const w of caps.widths) widths.append(button(w, () => send({ command: "adjust", width: w }), { width: w }));
  }
  // Live adjust of depth, airbag pressure and foot rollers: a row each, when the chair has the part.
  const adjustRow = (id, label, key, values) => {
    if (!values.length) return;
    $(id).append(el("span", "", word(label)));
    for (const v of values) $(id).append(button(v || word("off"), () => send({ command: "adjust", [key]: v }), { adjust: key, v }));
  };
  adjustRow("adjust-depth", "depth", "depth", caps["depth-levels"] > 1 ? range(1, caps["depth-levels"]) : []);
  adjustRow("adjust-air", "air", "airbag-intensity", caps["airbag-zones"].length ? range(caps.intensity[0], caps.intensity[1]) : []);
  adjustRow("adjust-feet", "foot-rollers", "foot-rollers", caps["foot-roller-levels"] ? range(0, caps["foot-roller-levels"]) : []);
  const area = $("area");
  for (const a of caps.areas) area.append(new Option(a, a));
  area.addEventListener("change", () => send({ command: "adjust", area: area.value }));
  $("area").hidden = caps.areas.length === 0;
  $("shoulders-up").hidden = $("shoulders-down").hidden = caps.shoulders[1] === 0;
  buildManual(caps);
}

// --- manual mode: a person's own session, every choice from Capabilities ---

const manual = { zones: new Set(), minutes: 0 };
const middle = (lo, hi) => lo + Math.floor((hi - lo) / 2);

// A row of choices: a tap makes manual[key] the button's value (a Set's values toggle).
function manualRow(label, key, values, shown = String) {
  const row = el("div", "row");
  row.dataset.part = key;
  row.append(el("span", "label", word(label)));
  for (const v of values)
    row.append(button(shown(v), () => {
      const cur = manual[key];
      if (cur instanceof Set) cur.has(v) ? cur.delete(v) : cur.add(v);
      else manual[key] = v;
      renderManual();
    }, { m: key, v: String(v) }));
  $("manual-choices").append(row);
  return row;
}

function manualSelect(label, key, values) {
  const row = el("label", "row");
  const select = document.createElement("select");
  select.id = `manual-${key}`;
  for (const [v, text] of values) select.append(new Option(text, v));
  select.addEventListener("change", () => { manual[key] = select.value; renderManual(); });
  row.append(el("span", "label", word(label)), select);
  $("manual-choices").append(row);
  manual[key] = values[0][0];
  return row;
}

const range = (lo, hi) => Array.from({ length: Math.max(0, hi - lo + 1) }, (_, i) => lo + i);

function buildManual(caps) {
  if (caps.techniques.length) {
    manualRow("technique", "technique", ["", ...caps.techniques], (v) => v || word("off"));
    manual.technique = caps.techniques[0];
    manualSelect("area", "area", [...caps.areas.map((a) => [a, a]), ["between", word("between")]]);
    manualSelect("from", "from", caps.areas.map((a) => [a, a])).dataset.between = "";
    manualSelect("to", "to", caps.areas.map((a) => [a, a])).dataset.between = "";
    manual.to = caps.areas[caps.areas.length - 1];
    $("manual-to").value = manual.to;
    manualRow("speed", "speed", range(caps.speed[0], caps.speed[1]));
    manual.speed = middle(caps.speed[0], caps.speed[1]);
    if (caps.widths.length) {
      manualRow("width", "width", caps.widths);
      manual.width = caps.widths[Math.floor(caps.widths.length / 2)];
    }
    if (caps["depth-levels"] > 1) {
      manualRow("depth", "depth", range(1, caps["depth-levels"]));
      manual.depth = middle(1, caps["depth-levels"]);
    }
  }
  if (caps["airbag-zones"].length) {
    manualRow("airbags", "zones", caps["airbag-zones"]);
    if (caps["airbag-patterns"].length) {
      manualRow("pattern", "pattern", caps["airbag-patterns"]);
      manual.pattern = caps["airbag-patterns"][0];
    }
    manualRow("air", "air", range(caps.intensity[0], caps.intensity[1]));
    manual.air = caps.intensity[0] + 1;
  }
  if (caps["foot-roller-levels"] > 0) {
    manualRow("foot-rollers", "foot", range(0, caps["foot-roller-levels"]), (v) => v || word("off"));
    manual.foot = 0;
  }
  for (const zone of caps["heat-zones"]) {
    manualRow(`${word("heat")} ${zone}`, `heat:${zone}`, range(0, caps["heat-levels"]), (v) => v || word("off"));
    manual[`heat:${zone}`] = 0;
  }
  if (caps.presets.length) manualSelect("recline", "recline", [["", word("keep")], ...caps.presets.map((p) => [p, p.replace(/-/g, " ")])]);
  manual.minutes = Math.round(caps["manual-duration"] / 60e6) || 1;
  const cap = Math.max(1, Math.floor(caps["session-cap"] / 60e6));
  const step = (d) => {
    const m = manual.minutes;
    manual.minutes = Math.min(cap, Math.max(1, d > 0 ? (m < 5 ? m + 1 : m + 5) : (m <= 5 ? m - 1 : m - 5)));
    renderManual();
  };
  $("manual-shorter").addEventListener("click", () => step(-1));
  $("manual-longer").addEventListener("click", () => step(1));
  $("manual-start").addEventListener("click", startManual);
  renderManual();
}

function renderManual() {
  for (const b of $("manual-choices").querySelectorAll("button")) {
    const cur = manual[b.dataset.m];
    b.classList.toggle("on", cur instanceof Set ? cur.has(b.dataset.v) : String(cur) === b.dataset.v);
  }
  const roller = Boolean(manual.technique);
  for (const row of $("manual-choices").children) {
    const part = row.dataset.part ?? row.querySelector("select")?.id.replace("manual-", "");
    const rollerPart = ["area", "from", "to", "speed", "width", "depth"].includes(part);
    row.hidden = (rollerPart && !roller) || (row.dataset.between !== undefined && manual.area !== "between")
      || (["pattern", "air"].includes(part) && manual.zones.size === 0);
  }
  $("manual-duration").value = `${manual.minutes} ${word("min")}`;
}

// The choices as StartManual takes them: a part left off is not sent.
function manualCommand() {
  const c = { command: "manual", "duration-usec": manual.minutes * 60e6 };
  if (manual.technique) {
    const roller = { technique: manual.technique, speed: manual.speed };
    if (manual.area === "between") Object.assign(roller, { from: manual.from, to: manual.to });
    else roller.area = manual.area;
    if (manual.width) roller.width = manual.width;
    if (manual.depth) roller.depth = manual.depth;
    c.roller = roller;
  }
  if (manual.zones.size) {
    c.airbags = { zones: [...manual.zones], intensity: manual.air };
    if (manual.pattern) c.airbags.pattern = manual.pattern;
  }
  if (manual.foot) c["foot-rollers"] = manual.foot;
  const heat = {};
  for (const [k, v] of Object.entries(manual)) if (k.startsWith("heat:") && v > 0) heat[k.slice(5)] = v;
  if (Object.keys(heat).length) c.heat = heat;
  if (manual.recline) c.recline = manual.recline;
  return c;
}

function startManual() {
  const c = manualCommand();
  if (!c.roller && !c.airbags && !c.heat && !c["foot-rollers"]) {
    say(word("manual-empty"));
    return;
  }
  ask(c, (m) => { if (m.ok) showTab("session"); });
}

// Where a heat zone is on the picture: on the backrest low, on the legrest, else on the seat.
function addHeatSpot(zone) {
  const spot = document.createElementNS("http://www.w3.org/2000/svg", "circle");
  spot.setAttribute("r", "9");
  spot.classList.add("heat");
  spot.dataset.zone = zone;
  $("picture").append(spot);
}

// A held button: a jog now and every JOG_REPEAT_MS until the finger lifts, leaves, or the page hides.
function holdToMove(b, axis, direction) {
  let timer = null;
  const stop = () => { clearInterval(timer); timer = null; b.classList.remove("held"); };
  b.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    b.setPointerCapture?.(e.pointerId);
    stop();
    b.classList.add("held");
    send({ command: "jog", axis, direction });
    timer = setInterval(() => send({ command: "jog", axis, direction }), JOG_REPEAT_MS);
  });
  for (const ev of ["pointerup", "pointercancel", "lostpointercapture"]) b.addEventListener(ev, stop);
  document.addEventListener("visibilitychange", () => { if (document.hidden) stop(); });
  window.addEventListener("blur", stop);
}

// --- what follows the state ---

function renderPrograms() {
  const list = $("programs");
  list.replaceChildren();
  for (const p of programs) {
    const li = document.createElement("li");
    const b = button("", () => send({ command: "start", program: p.id }), { program: p.id });
    b.innerHTML = "";
    const name = Object.assign(document.createElement("div"), { className: "name", textContent: p.name });
    const meta = Object.assign(document.createElement("div"), {
      className: "meta", textContent: `${Math.round(p["duration-usec"] / 60e6)} ${word("min")} · ${p.description}` });
    b.append(name, meta);
    li.append(b, detailButton(p));
    list.append(li);
  }
}

// --- a program's detail: its timeline, drawn for this chair by chaird-web (GET /programs/ID.svg) ---

function detailButton(p) {
  const b = button("i", () => showDetail(p), { detail: p.id });
  b.className = "detail-button";
  b.setAttribute("aria-label", `${word("details")}: ${p.name}`);
  return b;
}

// Built once, in the programs tab in place of the list: STOP and the tabs stay in sight.
function detailView() {
  let d = $("detail");
  if (d) return d;
  d = Object.assign(document.createElement("div"), { id: "detail", className: "detail", hidden: true });
  const row = Object.assign(document.createElement("div"), { className: "row" });
  row.append(button(word("back"), hideDetail, { action: "back" }),
    button(word("start"), () => { send({ command: "start", program: d.dataset.program }); hideDetail(); },
      { action: "start" }));
  const name = document.createElement("h2"), text = document.createElement("p");
  const frame = Object.assign(document.createElement("div"), { className: "timeline" });
  const img = Object.assign(document.createElement("img"), { alt: word("timeline") });
  const failed = Object.assign(document.createElement("p"), { className: "meta", textContent: word("no-picture") });
  img.addEventListener("load", () => { failed.hidden = true; });
  img.addEventListener("error", () => { failed.hidden = false; });
  img.addEventListener("click", () => frame.classList.toggle("zoomed")); // its words are small on a phone
  frame.append(img);
  d.append(row, name, text, frame, failed);
  $("tab-programs").append(d);
  return d;
}

function showDetail(p) {
  const d = detailView(), img = d.querySelector("img");
  d.dataset.program = p.id;
  d.querySelector("h2").textContent = p.name;
  d.querySelector("p").textContent = `${Math.round(p["duration-usec"] / 60e6)} ${word("min")} · ${p.description}`;
  d.querySelector(".timeline").classList.remove("zoomed");
  img.src = `/programs/${encodeURIComponent(p.id)}.svg`;
  $("programs").hidden = true;
  d.hidden = false;
  render();
}

function hideDetail() {
  if ($("detail")) $("detail").hidden = true;
  $("programs").hidden = false;
}

function position(axis) { return state?.Positions?.[axis] ?? 0; }

function renderPicture() {
  const back = position("backrest"), leg = position("legrest"), roller = position("roller");
  // Upright backrest stands up from the seat's back; reclined it lies back by up to 70 degrees.
  const a = (back * 70) * Math.PI / 180, bx = 80 - 80 * Math.sin(a), by = 100 - 80 * Math.cos(a);
  $("backrest").setAttribute("x2", bx.toFixed(1));
  $("backrest").setAttribute("y2", by.toFixed(1));
  const l = (leg * 80) * Math.PI / 180;
  $("legrest").setAttribute("x2", (160 + 35 * Math.sin(l)).toFixed(1));
  $("legrest").setAttribute("y2", (100 + 35 * Math.cos(l)).toFixed(1));
  $("roller").setAttribute("cx", (bx + (80 - bx) * roller).toFixed(1));
  $("roller").setAttribute("cy", (by + (100 - by) * roller).toFixed(1));
  for (const spot of document.querySelectorAll(".picture .heat")) {
    const zone = spot.dataset.zone, onLegs = /calf|calves|leg|feet|foot/.test(zone), onBack = /lumbar|back|neck|shoulder/.test(zone);
    const [x, y] = onLegs ? [160 + 25 * Math.sin(l), 100 + 25 * Math.cos(l)]
      : onBack ? [bx + (80 - bx) * 0.75, by + (100 - by) * 0.75] : [120, 100];
    spot.setAttribute("cx", x.toFixed(1));
    spot.setAttribute("cy", y.toFixed(1));
    spot.classList.toggle("lit", (state?.Heat?.[zone] ?? 0) > 0);
  }
}

function renderSession() {
  const s = state?.Session ?? {}, running = Boolean(s.program);
  $("idle").hidden = running;
  $("running").hidden = !running;
  if (!running) return;
  const p = programs.find((x) => x.id === s.program);
  $("program-name").textContent = p ? p.name : s.kind === "manual" ? word("manual") : s.program;
  $("phase-name").textContent = state.State === "scanning" ? word("scanning") : (state.Phase || "");
  const bar = $("progress");
  bar.querySelectorAll(".tick").forEach((t) => t.remove());
  const total = state.DurationUSec || 1;
  for (const [, start] of s.phases ?? []) {
    if (start === 0) continue;
    const tick = Object.assign(document.createElement("div"), { className: "tick" });
    tick.style.left = `${(100 * start / total).toFixed(2)}%`;
    bar.append(tick);
  }
  endsAt = s["ends-at"] ? s["ends-at"] / 1000 : 0;
  $("pause").textContent = word(state.State === "paused" ? "resume" : "pause");
  $("intensity").value = state.Intensity;
  for (const b of $("speeds").querySelectorAll("button"))
    b.classList.toggle("on", Number(b.dataset.speed) === s.settings?.roller?.speed);
  const area = s.settings?.roller?.area;
  if (area && document.activeElement !== $("area")) $("area").value = area;
  const now = { depth: s.settings?.roller?.depth, "airbag-intensity": s.settings?.airbags?.intensity,
    "foot-rollers": s.settings?.["foot-rollers"] ?? 0 };
  for (const b of $("running").querySelectorAll("button[data-adjust]")) b.classList.toggle("on", String(now[b.dataset.adjust]) === b.dataset.v);
  for (const b of $("widths").querySelectorAll("button"))
    b.classList.toggle("on", b.dataset.width === s.settings?.roller?.width);
}

// --- profiles and their saved positions ---

let profileShown = null, profileData = null, profilesDrawn = "";

// The selected profile's settings and positions (GetProfile), read again whenever it may have changed.
function loadProfile() {
  const name = state?.Profile ?? "";
  profileShown = name;
  profileData = null;
  if (name) ask({ command: "get-profile", name }, (m) => { if (m.ok && profileShown === name) { profileData = m.result; render(); } });
}

// A profile's name as chaird takes it (a-z, 0-9, -): a phone's keyboard starts with a capital, people type spaces.
function nameFrom(input) {
  return input.value.trim().toLowerCase().replace(/\s+/g, "-");
}

// What the chair does now, as SaveProfile takes it: its intensity, its heat, the program that runs.
function currentSettings() {
  const heat = {};
  for (const [zone, level] of Object.entries(state?.Heat ?? {})) if (level > 0) heat[zone] = level;
  const s = { intensity: state?.Intensity ?? 0, heat };
  if (state?.Session?.kind === "program") s.program = state.Session.program;
  return s;
}

function renderProfiles() {
  const names = ["", ...(state?.Profiles ?? [])], selected = state?.Profile ?? "";
  $("positions-part").hidden = !state?.Capabilities?.axes.length;
  $("positions-none").hidden = Boolean(selected);
  $("position-form").hidden = !selected;
  const key = JSON.stringify([names, selected, profileData]);
  if (key === profilesDrawn) return;
  profilesDrawn = key;
  const list = $("profiles");
  list.replaceChildren();
  for (const name of names) {
    const li = el("li", "item");
    const pick = button(name || word("no-profile"), () => send({ command: "select-profile", name }), { profile: name });
    pick.classList.toggle("on", name === selected);
    li.append(pick);
    if (name) li.append(confirmTap(button(word("delete"), null, { deleteProfile: name }), () => send({ command: "delete-profile", name })));
    list.append(li);
  }
  const d = profileData, parts = [];
  if (d?.intensity) parts.push(`${word("intensity")} ${d.intensity}`);
  if (d?.program) parts.push(`${word("favourite-program")} ${programs.find((p) => p.id === d.program)?.name ?? d.program}`);
  for (const [zone, level] of Object.entries(d?.heat ?? {})) parts.push(`${word("heat")} ${zone} ${level}`);
  $("profile-detail").textContent = parts.join(" · ");
  const positions = $("positions");
  positions.replaceChildren();
  for (const name of Object.keys(d?.positions ?? {})) {
    const li = el("li", "item");
    li.append(button(name, () => send({ command: "recline", preset: name }), { position: name }),
      confirmTap(button(word("delete"), null, { deletePosition: name }),
        () => ask({ command: "delete-position", name }, loadProfile)));
    positions.append(li);
  }
}

// --- history and the usage counters ---

function renderHistory(records) {
  const list = $("history");
  list.replaceChildren();
  if (!records.length) list.append(el("li", "dim", word("nothing-yet")));
  for (const r of records) {
    const li = el("li", "record");
    Object.assign(li.dataset, { program: r.program, reason: r.reason });
    const when = new Date(Number(r.start) / 1000).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    const what = r.program === "manual" ? word("manual")
      : r.program ? programs.find((p) => p.id === r.program)?.name ?? r.program : `${word("fault-record")}: ${r.fault}`;
    const how = [r.program ? duration(r.duration) : "", word(r.reason) + (r.fault && r.program && r.fault !== r.reason ? ` (${r.fault})` : ""), r.profile];
    li.append(el("span", "when", when), el("span", "what", what), el("span", "how", how.filter(Boolean).join(" · ")));
    list.append(li);
  }
}

function renderUsage(usage) {
  const dl = $("usage");
  dl.replaceChildren();
  for (const [k, v] of Object.entries(usage)) {
    const timed = k.endsWith("-usec"), known = WORDS[`usage-${k}`];
    const dd = el("dd", "", timed ? hours(v) : String(v));
    dd.dataset.key = k;
    dl.append(el("dt", "", known ?? (timed ? `${k.slice(0, -5)} ${word("usage-motor")}` : k)), dd);
  }
}

function loadHistory() {
  ask({ command: "history", max: 50 }, (m) => m.ok && renderHistory(m.result));
  ask({ command: "usage" }, (m) => m.ok && renderUsage(m.result));
}

function showTab(name) {
  for (const x of document.querySelectorAll("nav button")) x.classList.toggle("active", x.dataset.tab === name);
  for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== `tab-${name}`;
  if (name === "profiles") loadProfile();
  if (name === "history") loadHistory();
}

const shown = (name) => !$(`tab-${name}`).hidden;

// The time left counts down from ends-at without a message a second; paused, it holds.
function tick() {
  if (!state?.Session?.program) return;
  const s = state.Session, left = endsAt ? (endsAt - Date.now()) * 1000 : s["remaining-usec"] ?? 0;
  $("time-left").textContent = `${duration(left)} ${word("left")}`;
  const total = state.DurationUSec || 1;
  $("progress-bar").style.width = `${Math.min(100, 100 * (total - left) / total).toFixed(1)}%`;
}

function render() {
  const locked = Boolean(state?.Locked), faulted = state?.State === "fault";
  const what = state?.State && state.State !== "idle" && WORDS[`status-${state.State}`];
  $("status").textContent = !socket || socket.readyState !== WebSocket.OPEN ? word("page-away")
    : !available ? word("chair-away") : what ? word(`status-${state.State}`) : word("connected");
  $("status").classList.toggle("alarm", available && faulted);
  const away = !available || !socket || socket.readyState !== WebSocket.OPEN;
  const told = notice && notice.until > Date.now();
  $("banner").hidden = !away && !told;
  $("banner").textContent = away ? $("status").textContent : told ? notice.text : "";
  $("lock").textContent = word(locked ? "locked" : "lock");
  $("lock").classList.toggle("on", locked);
  if ((state?.Profile ?? "") !== profileShown && state) loadProfile();
  renderProfiles();
  for (const c of document.querySelectorAll("main button, main select, main input"))
    c.disabled = away || (locked && !["stop"].includes(c.id));
  $("estop").disabled = false; // a stop is always sent (when there is no connection it cannot be)
  $("fault").hidden = !faulted;
  $("fault-message").textContent = state?.FaultMessage ?? "";
  for (const b of $("presets").querySelectorAll("button")) b.classList.toggle("on", state?.Recline === b.dataset.preset);
  for (const b of $("heats").querySelectorAll("button"))
    b.classList.toggle("on", (state?.Heat?.[b.dataset.zone] ?? -1) === Number(b.dataset.level));
  renderSession();
  renderPicture();
  renderBroken();
  // The home screen says whose settings a program starts with; a tap goes to the profiles.
  $("home-profile").textContent = `${word("who")}: ${state?.Profile || word("no-profile")}`;
  tick();
}

// --- settings: phones (on the chair's own screen only), installing a program, the broken files ---

let web = { lan: false, phone: true, phones: [] }, pairUntil = 0, pairTimer = null;

function renderPhones() {
  $("phones-off").hidden = web.lan;
  $("phones-on").hidden = !web.lan;
  const list = $("phones");
  list.replaceChildren();
  if (!web.phones?.length) list.append(el("li", "dim", word("no-phones")));
  for (const ph of web.phones ?? []) {
    const li = el("li", "item");
    const when = new Date(ph["paired-at"] * 1000).toLocaleDateString();
    const name = el("span", "grow", `${ph.name} · ${word("paired-on")} ${when}`);
    const remove = button(word("remove"), null, { phone: ph.id });
    confirmTap(remove, () => ask({ command: "unpair", phone: ph.id }, () => {}));
    li.append(name, remove);
    list.append(li);
  }
}

function pairTick() {
  const left = pairUntil - Date.now();
  $("pair-shown").hidden = left <= 0;
  $("pair-how").hidden = left <= 0;
  $("pair-left").textContent = `${word("pair-left")} ${duration(left * 1000)}`;
  if (left <= 0) { clearInterval(pairTimer); pairTimer = null; }
}

function askPairCode() {
  ask({ command: "pair-code" }, (m) => {
    if (!m.ok) return;
    $("pair-code").textContent = m.result.code;
    pairUntil = Date.now() + m.result["expires-in-usec"] / 1000;
    clearInterval(pairTimer);
    pairTimer = setInterval(pairTick, 1000);
    pairTick();
  });
}

function onWeb(m) {
  const count = web.phones?.length ?? 0;
  web = m;
  document.querySelector('nav button[data-tab="settings"]').hidden = m.phone;
  if (m.phone && shown("settings")) showTab("programs");
  // A phone just paired: its code is used.
  if ((m.phones?.length ?? 0) > count && pairUntil > Date.now()) { pairUntil = 0; pairTick(); }
  renderPhones();
}

function renderBroken() {
  const list = $("broken");
  list.replaceChildren();
  const broken = state?.BrokenPrograms ?? [];
  if (!broken.length) list.append(el("li", "dim", word("none-broken")));
  for (const [path, error] of broken) list.append(el("li", "error", error || path));
}

function installFile(input) {
  const file = input.files?.[0];
  if (!file) return;
  file.text().then((yaml) => ask({ command: "install", yaml }, (m) => {
    $("install-result").textContent = m.ok ? word("installed") + file.name : "";
    input.value = "";
  }));
}

// A word for the person (a refusal, a choice missing) in the banner, for a while: the chair's next state
// does not wipe it before it can be read.
const NOTICE_MS = 6000;
let notice = null;
function say(text) {
  notice = { text, until: Date.now() + NOTICE_MS };
  setTimeout(render, NOTICE_MS + 50);
  render();
}

function onMessage(m) {
  switch (m.type) {
    case "web": onWeb(m); break;
    case "availability": available = m.available; break;
    case "programs": programs = m.programs; renderPrograms(); break;
    case "state": state = m.state; if (state.Capabilities) build(state.Capabilities); break;
    case "event":
      if (m.event === "profile-changed") { if (shown("profiles")) loadProfile(); break; }
      if (shown("history")) loadHistory();
      break;
    case "reply":
      pending.get(m.id)?.(m);
      pending.delete(m.id);
      if (!m.ok) say(word("refused") + m.message);
      break;
    default: break;
  }
  render();
}

function connect() {
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api`, "chaird");
  socket.addEventListener("message", (e) => onMessage(JSON.parse(e.data)));
  socket.addEventListener("open", render);
  socket.addEventListener("close", () => { available = false; render(); setTimeout(connect, 1000); });
}

function init() {
  for (const el of document.querySelectorAll("[data-word]")) el.textContent = word(el.dataset.word);
  for (const i of document.querySelectorAll("[data-placeholder]")) i.placeholder = word(i.dataset.placeholder);
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("profile-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const name = nameFrom($("profile-name"));
    if (name) ask({ command: "save-profile", name, ...currentSettings() }, (m) => {
      if (m.ok) { $("profile-name").value = ""; $("profile-name").blur(); loadProfile(); }
    });
  });
  $("position-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const name = nameFrom($("position-name"));
    if (name) ask({ command: "save-position", name }, (m) => {
      if (m.ok) { $("position-name").value = ""; $("position-name").blur(); loadProfile(); }
    });
  });
  $("pair").addEventListener("click", askPairCode);
  $("home-profile").addEventListener("click", () => showTab("profiles"));
  $("install-file").addEventListener("change", (e) => installFile(e.target));
  $("estop").addEventListener("click", () => send({ command: "emergency-stop" }));
  $("lock").addEventListener("click", () => send({ command: "lock", locked: !state?.Locked }));
  $("pause").addEventListener("click", () => send({ command: state?.State === "paused" ? "resume" : "pause" }));
  $("stop").addEventListener("click", () => send({ command: "stop" }));
  $("reset").addEventListener("click", () => send({ command: "reset" }));
  $("release").addEventListener("click", () => send({ command: "release" }));
  $("intensity-down").addEventListener("click", () => send({ command: "intensity", intensity: Math.max(state.Capabilities.intensity[0], state.Intensity - 1) }));
  $("intensity-up").addEventListener("click", () => send({ command: "intensity", intensity: Math.min(state.Capabilities.intensity[1], state.Intensity + 1) }));
  $("shoulders-up").addEventListener("click", () => send({ command: "shoulders", "offset-mm": -10 }));
  $("shoulders-down").addEventListener("click", () => send({ command: "shoulders", "offset-mm": 10 }));
  setInterval(tick, 1000);
  connect();
  render();
}

init();
