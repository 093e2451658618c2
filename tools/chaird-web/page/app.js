// The chair's page: every control built from what the chair reports (Capabilities, the programs), the rest
// from the state chaird-web sends; commands are the bridges' JSON (docs/mqtt.md), over the WebSocket /api.
"use strict";

// Every word of the page, in one table, so that it can be translated.
const WORDS = {
  "connecting": "Connecting…", "connected": "Chair ready", "chair-away": "The chair is not answering",
  "page-away": "No connection to the chair: trying again…", "lock": "Lock", "locked": "Locked",
  "estop": "STOP", "tab-programs": "Programs", "tab-session": "Now", "tab-chair": "Chair",
  "nothing-runs": "Nothing runs. Pick a program.", "pause": "Pause", "resume": "Resume", "stop": "Stop",
  "intensity": "Intensity", "speed": "Speed", "width": "Width", "shoulders-up": "Shoulders ↑",
  "shoulders-down": "Shoulders ↓", "fault-title": "The chair stopped", "reset": "Reset", "release": "Release",
  "left": "left", "scanning": "Finding your shoulders…", "min": "min", "heat": "Heat", "off": "Off",
  "refused": "Not done: ", "up": "▲", "down": "▼",
  "details": "Details", "start": "Start", "back": "Back", "timeline": "What the program does, minute by minute",
  "no-picture": "No picture of this program",
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
  const area = $("area");
  for (const a of caps.areas) area.append(new Option(a, a));
  area.addEventListener("change", () => send({ command: "adjust", area: area.value }));
  $("area").hidden = caps.areas.length === 0;
  $("shoulders-up").hidden = $("shoulders-down").hidden = caps.shoulders[1] === 0;
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
  $("program-name").textContent = p ? p.name : s.program;
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
  for (const b of $("widths").querySelectorAll("button"))
    b.classList.toggle("on", b.dataset.width === s.settings?.roller?.width);
}

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
  $("status").textContent = !socket || socket.readyState !== WebSocket.OPEN ? word("page-away")
    : !available ? word("chair-away") : word("connected");
  const away = !available || !socket || socket.readyState !== WebSocket.OPEN;
  $("banner").hidden = !away;
  $("banner").textContent = away ? $("status").textContent : "";
  $("lock").textContent = word(locked ? "locked" : "lock");
  $("lock").classList.toggle("on", locked);
  for (const el of document.querySelectorAll("main button, main select"))
    el.disabled = away || (locked && !["stop"].includes(el.id));
  $("estop").disabled = false; // a stop is always sent (when there is no connection it cannot be)
  $("fault").hidden = !faulted;
  $("fault-message").textContent = state?.FaultMessage ?? "";
  for (const b of $("presets").querySelectorAll("button")) b.classList.toggle("on", state?.Recline === b.dataset.preset);
  for (const b of $("heats").querySelectorAll("button"))
    b.classList.toggle("on", (state?.Heat?.[b.dataset.zone] ?? -1) === Number(b.dataset.level));
  renderSession();
  renderPicture();
  tick();
}

function onMessage(m) {
  switch (m.type) {
    case "availability": available = m.available; break;
    case "programs": programs = m.programs; renderPrograms(); break;
    case "state": state = m.state; if (state.Capabilities) build(state.Capabilities); break;
    case "reply":
      if (!m.ok) { $("banner").hidden = false; $("banner").textContent = word("refused") + m.message; return; }
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
  for (const b of document.querySelectorAll("nav button"))
    b.addEventListener("click", () => {
      for (const x of document.querySelectorAll("nav button")) x.classList.toggle("active", x === b);
      for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== `tab-${b.dataset.tab}`;
    });
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
