// vanguard dashboard. Log data is attacker-influenced (tool names, arguments,
// server output): it is only ever written with textContent, never as HTML.
"use strict";

const MAX_ROWS = 500;
const csrf = document.querySelector('meta[name="vanguard-csrf"]').content;
const $ = (id) => document.getElementById(id);

let stream = null;
let lastSeq = 0;
let queue = [];
let flushing = false;
const totals = {};

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function short(s, n) {
  s = s == null ? "" : String(s);
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

function timeOf(ts) {
  const d = new Date(ts);
  return isNaN(d) ? String(ts || "") : d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

// The filters as query parameters (times in UTC, as the log writes them).
function filterParams() {
  const p = new URLSearchParams();
  for (const name of ["server", "session", "verdict", "rule"]) {
    const v = $("f-" + name).value.trim();
    if (v) p.set(name, v);
  }
  for (const name of ["since", "until"]) {
    const v = $("f-" + name).value;
    if (v) {
      const d = new Date(v);
      if (!isNaN(d)) p.set(name, d.toISOString());
    }
  }
  return p;
}

function isKernelOrEgress(ev) {
  return ev.kind === "egress" || ev.kind === "egress_cut" ||
    (ev.rules || []).some((r) => r === "KERNEL-DENIAL" || r.startsWith("EGRESS"));
}

function decisionRow(seq, ev) {
  const tr = el("tr");
  tr.dataset.seq = seq;
  tr.dataset.eventId = ev.event_id || "";
  tr.dataset.verdict = ev.verdict || "";
  tr.className = "v-" + (ev.verdict || "none");
  const f = (ev.findings || [])[0] || {};
  const why = [f.message, f.hint ? "hint: " + f.hint : ""].filter(Boolean).join(" — ");
  const args = ev.detail && ev.detail.arguments !== undefined ? JSON.stringify(ev.detail.arguments) : "";
  const call = ev.tool ? ev.method + " " + ev.tool : (ev.method || ev.kind);
  const cells = [
    timeOf(ev.ts), ev.verdict, short(ev.server_id, 48), short(ev.session_id, 10), call,
    (ev.rules || []).join(", "), ev.layer || "", short(why, 200), short(args, 300),
  ];
  cells.forEach((c, i) => {
    const td = el("td", c);
    if (i === 1) td.className = "verdict";
    if (i === 5) td.className = "rule";
    if (i === 8) td.className = "args";
    if (i === 2) td.title = ev.server_id || "";
    if (i === 3) td.title = ev.session_id || "";
    tr.appendChild(td);
  });
  return tr;
}

function kernelRow(seq, ev) {
  const tr = el("tr");
  tr.dataset.seq = seq;
  const d = ev.detail || {};
  let what = ev.kind;
  let detail = "";
  if (ev.kind === "egress") {
    what = "egress " + (ev.verdict === "allow" ? "allowed" : "refused");
    detail = [d.host, d.port].filter(Boolean).join(":") + (d.bytes_out !== undefined ? " out " + d.bytes_out + " B, in " + d.bytes_in + " B" : "");
  } else if ((ev.rules || []).includes("KERNEL-DENIAL")) {
    what = "kernel denial";
    const f = (ev.findings || []).find((x) => x.rule === "KERNEL-DENIAL") || {};
    detail = f.message || f.evidence || "";
  } else {
    detail = JSON.stringify(d);
  }
  [timeOf(ev.ts), what, short(ev.server_id, 48), short(ev.session_id, 10), (ev.rules || []).join(", "), short(detail, 300)]
    .forEach((c) => tr.appendChild(el("td", c)));
  return tr;
}

function addRow(body, row, emptyId) {
  body.insertBefore(row, body.firstChild);
  while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
  $(emptyId).hidden = body.rows.length > 0;
}

function show(seq, ev) {
  if (seq <= lastSeq) return;
  lastSeq = seq;
  if (ev.kind === "decision") {
    totals[ev.verdict] = (totals[ev.verdict] || 0) + 1;
  }
  if (ev.kind === "decision" || ev.kind === "input_error") {
    addRow($("decisions-body"), decisionRow(seq, ev), "decisions-empty");
  }
  if (isKernelOrEgress(ev)) {
    addRow($("kernel-body"), kernelRow(seq, ev), "kernel-empty");
  }
}

function showTotals() {
  const parts = Object.keys(totals).sort().map((k) => k + " " + totals[k]);
  $("totals").textContent = parts.join(" · ");
}

// Events arrive faster than a page should repaint: draw once per frame.
function enqueue(seq, ev) {
  queue.push([seq, ev]);
  if (!flushing) {
    flushing = true;
    requestAnimationFrame(() => {
      const batch = queue;
      queue = [];
      flushing = false;
      for (const [s, e] of batch) show(s, e);
      showTotals();
    });
  }
}

function setStatus(state, text) {
  const s = $("status");
  s.dataset.state = state;
  s.textContent = text;
}

async function api(path, opts) {
  const r = await fetch(path, Object.assign({ credentials: "same-origin", cache: "no-store" }, opts || {}));
  let body = null;
  try { body = await r.json(); } catch (_) { body = null; }
  if (!r.ok) throw new Error((body && body.error) || ("HTTP " + r.status));
  return body;
}

async function reload() {
  if (stream) stream.close();
  for (const id of ["decisions-body", "kernel-body"]) $(id).replaceChildren();
  for (const k of Object.keys(totals)) delete totals[k];
  lastSeq = 0;
  const p = filterParams();
  p.set("limit", String(MAX_ROWS * 2));
  let next = 1;
  try {
    const r = await api("/api/events?" + p.toString());
    for (const item of r.events) show(item.seq, item.event);
    showTotals();
    next = r.next_seq;
    $("decisions-empty").hidden = $("decisions-body").rows.length > 0;
    $("kernel-empty").hidden = $("kernel-body").rows.length > 0;
  } catch (e) {
    setStatus("error", "error: " + e.message);
    return;
  }
  const s = filterParams();
  s.set("after", String(Math.max(lastSeq, next - 1)));
  stream = new EventSource("/api/stream?" + s.toString());
  stream.onopen = () => setStatus("live", "live");
  stream.onerror = () => setStatus("reconnecting", "reconnecting…");
  stream.onmessage = (m) => {
    let ev;
    try { ev = JSON.parse(m.data); } catch (_) { return; }
    enqueue(Number(m.lastEventId), ev);
  };
  stream.addEventListener("lagged", () => setStatus("lagged", "fell behind: reload for the full picture"));
}

function sparkline(points) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", "160");
  svg.setAttribute("height", "28");
  svg.setAttribute("class", "spark");
  if (points.length === 0) return svg;
  const max = Math.max(1, ...points.map((p) => p[1]));
  const step = points.length > 1 ? 156 / (points.length - 1) : 0;
  const coords = points.map((p, i) => (2 + i * step).toFixed(1) + "," + (26 - (p[1] / max) * 24).toFixed(1));
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", coords.join(" "));
  svg.appendChild(line);
  const title = document.createElementNS(ns, "title");
  title.textContent = "max " + max.toFixed(1) + ", last " + points[points.length - 1][1].toFixed(1);
  svg.appendChild(title);
  return svg;
}

async function loadSessions() {
  let r;
  try { r = await api("/api/sessions"); } catch (e) { return; }
  const body = $("sessions-body");
  body.replaceChildren();
  for (const s of r.sessions) {
    const tr = el("tr");
    tr.dataset.session = s.session_id;
    const c = s.counts || {};
    [short(s.session_id, 12), short(s.server_id, 48), s.profile, timeOf(s.first), timeOf(s.last),
      c.allow || 0, c.warn || 0, (c.block || 0) + (c.shadow_block || 0)].forEach((v) => tr.appendChild(el("td", v)));
    const td = el("td");
    td.appendChild(sparkline(s.risk || []));
    tr.appendChild(td);
    tr.appendChild(el("td", s.ended || "running"));
    tr.appendChild(el("td", s.sandbox || "", "sandbox"));
    body.appendChild(tr);
  }
}

function pinMessage(text, ok) {
  const m = $("pins-message");
  m.textContent = text;
  m.dataset.ok = ok ? "1" : "0";
}

async function pinAction(action, key, digest) {
  try {
    const r = await api("/api/pins/" + action, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Vanguard-CSRF": csrf },
      body: JSON.stringify({ key: key, digest: digest }),
    });
    pinMessage(r.done + " " + r.key + (r.version ? " " + r.version : ""), true);
  } catch (e) {
    pinMessage(action + " failed: " + e.message, false);
  }
  loadPins();
}

function pinRow(key, pinned, pending) {
  const tr = el("tr");
  tr.dataset.key = key;
  tr.appendChild(el("td", key, "key"));
  tr.appendChild(el("td", pinned));
  const td = el("td");
  const actions = el("td");
  if (pending) {
    td.textContent = pending.text;
    tr.className = "pending";
    const ok = el("button", "Approve", "approve");
    ok.type = "button";
    ok.addEventListener("click", () => pinAction("approve", key, pending.digest));
    const no = el("button", "Reject", "reject");
    no.type = "button";
    no.addEventListener("click", () => pinAction("reject", key, pending.digest));
    actions.append(ok, no);
  } else {
    td.textContent = "—";
  }
  tr.append(td, actions);
  return tr;
}

async function loadPins() {
  let r;
  try { r = await api("/api/pins"); } catch (e) { pinMessage(e.message, false); return; }
  $("pins-file").textContent = "pin file: " + r.file;
  const body = $("pins-body");
  body.replaceChildren();
  let pending = 0;
  for (const s of r.servers) {
    let p = null;
    if (s.pending) {
      pending++;
      const parts = [];
      if (s.pending.changed.length) parts.push("changed: " + s.pending.changed.join(", "));
      if (s.pending.added.length) parts.push("added: " + s.pending.added.join(", "));
      if (s.pending.removed.length) parts.push("removed: " + s.pending.removed.join(", "));
      if (s.pending.server_info_changed) parts.push("serverInfo changed");
      if (s.pending.capabilities_changed) parts.push("capabilities changed");
      p = { text: (parts.join("; ") || "definitions changed") + " (seen " + (s.pending.at || "?") + ")", digest: s.pending.digest };
    }
    body.appendChild(pinRow(s.key, s.tools + " tools, pinned " + s.pinned_at, p));
  }
  for (const k of r.packages) {
    let p = null;
    if (k.pending) {
      pending++;
      p = { text: "version " + k.pending.version + " (tree " + short(k.pending.tree_sha256, 17) + ")", digest: k.pending.digest };
    }
    body.appendChild(pinRow(k.key, k.version ? "package " + k.version : "not approved yet", p));
  }
  $("pins-pending").textContent = pending ? String(pending) : "";
}

function showTab(name) {
  for (const b of document.querySelectorAll("nav.tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const s of document.querySelectorAll("section.tab")) s.classList.toggle("active", s.id === name);
  if (name === "sessions") loadSessions();
  if (name === "pins") loadPins();
}

async function loadInfo() {
  try {
    const i = await api("/api/info");
    $("source").textContent = "following " + i.logs.join(", ") + (i.unreadable_lines ? " (" + i.unreadable_lines + " unreadable lines)" : "");
  } catch (_) { /* shown by the status */ }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("nav.tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); reload(); });
  $("filters").addEventListener("reset", () => setTimeout(reload, 0));
  loadInfo();
  loadPins();
  reload();
  setInterval(() => {
    const active = document.querySelector("section.tab.active");
    if (active && active.id === "sessions") loadSessions();
    if (active && active.id === "pins") loadPins();
  }, 3000);
});
