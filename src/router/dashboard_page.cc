#include "router/dashboard_page.h"

namespace agentsched::serve {

namespace {

// Every value from the JSON endpoints reaches the DOM through textContent or an SVG
// attribute set with setAttribute, never through innerHTML: program ids and error texts come
// from clients and backends.
constexpr std::string_view kPage = R"page(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>agentsched router</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5em 2em; color: #1d2330; background: #fafbfc; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.4em 1.5em; padding: 0.8em 0; border-bottom: 1px solid #d8dde6; }
h1 { font-size: 1.3em; margin: 0; }
h2 { font-size: 1.05em; margin: 1.4em 0 0.5em; }
.muted { color: #667085; }
#refresh.stale { color: #b42318; font-weight: 600; }
.cards { display: flex; flex-wrap: wrap; gap: 1em; }
.card { background: #fff; border: 1px solid #d8dde6; border-radius: 6px; padding: 0.6em 0.9em; min-width: 12em; }
.card .value { font-size: 1.5em; font-variant-numeric: tabular-nums; }
.card svg { display: block; margin-top: 0.3em; background: #f4f6f9; border-bottom: 1px solid #c5ccd8; }
.card .scale { font-size: 0.8em; }
table { border-collapse: collapse; background: #fff; border: 1px solid #d8dde6; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #eceff3; text-align: left; white-space: nowrap; }
th { background: #f1f3f7; font-weight: 600; }
td.num { text-align: right; }
td.wrap { white-space: normal; min-width: 10em; max-width: 28em; }
td.job-id { max-width: 22em; overflow: hidden; text-overflow: ellipsis; }
.up { color: #067647; font-weight: 600; }
.down { color: #b42318; font-weight: 600; }
.state-held { color: #b54708; font-weight: 600; }
.state-paused { color: #6941c6; font-weight: 600; }
.state-in_flight { color: #175cd3; }
.bar { display: inline-block; width: 5em; height: 0.6em; background: #eceff3; margin-left: 0.5em; vertical-align: middle; }
.bar span { display: block; height: 100%; background: #2e90fa; }
.bar span.high { background: #f04438; }
polyline { fill: none; stroke-width: 1.5; }
</style>
</head>
<body>
<header>
<h1>agentsched router</h1>
<span>policy <strong id="policy-name">&hellip;</strong></span>
<span class="muted">router clock <span id="now">&ndash;</span> s</span>
<span id="refresh" class="muted">loading&hellip;</span>
</header>

<section id="rates">
<h2>Requests and errors</h2>
<div class="cards">
<div class="card"><div class="muted">LLM requests / s</div><div class="value" id="request-rate">&ndash;</div>
<svg id="request-plot" width="220" height="40" viewBox="0 0 220 40" role="img" aria-label="request rate"><polyline id="request-line" stroke="#2e90fa" points=""/></svg><div class="muted scale" id="request-line-top"></div></div>
<div class="card"><div class="muted">error responses / s</div><div class="value" id="error-rate">&ndash;</div>
<svg id="error-plot" width="220" height="40" viewBox="0 0 220 40" role="img" aria-label="error rate"><polyline id="error-line" stroke="#f04438" points=""/></svg><div class="muted scale" id="error-line-top"></div></div>
<div class="card"><div class="muted">totals</div><div id="totals">&ndash;</div></div>
</div>
<p class="muted">Rates per real second over the last refresh interval; the lines show the last <span id="history-length">0</span> intervals. Requests and errors count the LLM routes (/v1/chat/completions, /v1/completions); errors are responses with status 400 and above (499: the client went away).</p>
</section>

<section id="backends">
<h2>Backends</h2>
<table id="backends-table">
<thead><tr><th>#</th><th>URL</th><th>state</th><th>KV usage</th><th>running</th><th>waiting</th><th>programs</th><th>in flight</th><th>requests</th><th>failures</th><th>last poll</th><th>last error</th></tr></thead>
<tbody></tbody>
</table>
</section>

<section id="programs">
<h2>Programs <span class="muted" id="programs-count"></span></h2>
<table id="programs-table">
<thead><tr><th>job_id</th><th>state</th><th>backend</th><th>steps</th><th>context tokens</th><th>held calls</th><th>held total s</th><th>last activity s ago</th><th>why held</th></tr></thead>
<tbody></tbody>
</table>
</section>

<section id="policy">
<h2>Policy</h2>
<p><strong id="policy-title"></strong> <span class="muted" id="policy-summary"></span></p>
<table id="params-table">
<thead><tr><th>parameter</th><th>value</th><th>default</th><th>meaning</th></tr></thead>
<tbody></tbody>
</table>
<p class="muted" id="router-settings"></p>
</section>

<section id="errors">
<h2>Errors by kind</h2>
<table id="errors-table">
<thead><tr><th>kind</th><th>count</th></tr></thead>
<tbody></tbody>
</table>
</section>

<script>
"use strict";
const REFRESH_MS = 2000;
const HISTORY = 30;
const MAX_PROGRAM_ROWS = 200;
let previous = null;  // {t, requests, errors} of the last /status
const requestHistory = [];
const errorHistory = [];

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}
function fixed(x, digits) { return typeof x === "number" && isFinite(x) ? x.toFixed(digits) : "-"; }
function fill(tableId, items, addRow) {
  const body = document.querySelector("#" + tableId + " tbody");
  const rows = document.createDocumentFragment();
  for (const item of items) {
    const tr = document.createElement("tr");
    addRow(tr, item);
    rows.appendChild(tr);
  }
  body.replaceChildren(rows);
}
async function getJson(path) {
  const r = await fetch(path, {cache: "no-store", credentials: "omit"});
  if (!r.ok && r.status !== 503) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

// The newest value at the right edge, the oldest HISTORY - 1 intervals to its left; the
// vertical scale is the largest value shown.
function plot(lineId, values) {
  const line = document.getElementById(lineId);
  const top = Math.max(1e-9, ...values);
  const step = 218 / (HISTORY - 1);
  const first = HISTORY - values.length;
  const points = values.map((v, i) => (1 + (first + i) * step).toFixed(1) + "," + (38 - 36 * v / top).toFixed(1));
  line.setAttribute("points", points.join(" "));
  document.getElementById(lineId + "-top").textContent = "max " + fixed(top < 1e-6 ? 0 : top, 2) + "/s";
}

function renderStatus(s) {
  document.getElementById("policy-name").textContent = s.policy.name;
  document.getElementById("policy-title").textContent = s.policy.name;
  document.getElementById("policy-summary").textContent = s.policy.summary;
  document.getElementById("now").textContent = fixed(s.now_s, 1);
  fill("params-table", s.policy.params, (tr, p) => {
    cell(tr, p.name);
    cell(tr, p.value, "num");
    cell(tr, p.default, "num");
    cell(tr, p.meaning, "wrap");
  });
  if (s.policy.params.length === 0) fill("params-table", [null], tr => cell(tr, "(no parameters)"));
  document.getElementById("router-settings").textContent =
      "backend type " + s.backend_type + ", time scale " + s.time_scale + ", metrics every " +
      s.metrics_interval_s + " s, program TTL " + s.program_ttl_s + " s, " + s.connections +
      " client connection(s) open";
  fill("errors-table", Object.entries(s.errors), (tr, [kind, n]) => { cell(tr, kind); cell(tr, n, "num"); });

  // The router's real seconds, not the browser's: a throttled or virtual-time browser polls
  // irregularly, the counters do not care.
  const t = s.uptime_real_s;
  if (previous && t > previous.t) {
    const dt = t - previous.t;
    requestHistory.push(Math.max(0, s.requests - previous.requests) / dt);
    errorHistory.push(Math.max(0, s.error_responses - previous.errors) / dt);
    while (requestHistory.length > HISTORY) requestHistory.shift();
    while (errorHistory.length > HISTORY) errorHistory.shift();
    document.getElementById("request-rate").textContent = fixed(requestHistory.at(-1), 2);
    document.getElementById("error-rate").textContent = fixed(errorHistory.at(-1), 2);
    document.getElementById("history-length").textContent = requestHistory.length;
    plot("request-line", requestHistory);
    plot("error-line", errorHistory);
  }
  previous = {t: t, requests: s.requests, errors: s.error_responses};
  document.getElementById("totals").textContent =
      s.requests + " requests, " + s.error_responses + " errors, " + s.held_calls + " held now";
}

function renderBackends(b, now) {
  fill("backends-table", b.backends, (tr, x) => {
    tr.id = "backend-" + x.index;
    cell(tr, x.index, "num");
    cell(tr, x.url);
    cell(tr, x.up ? "up" : "down", x.up ? "up" : "down");
    const kv = cell(tr, fixed(100 * x.kv_usage, 1) + " %", "num kv");
    const bar = document.createElement("span");
    bar.className = "bar";
    const fillSpan = document.createElement("span");
    fillSpan.style.width = Math.min(100, Math.max(0, 100 * x.kv_usage)).toFixed(1) + "%";
    if (x.kv_usage > 0.9) fillSpan.className = "high";
    bar.appendChild(fillSpan);
    kv.appendChild(bar);
    cell(tr, x.num_running, "num");
    cell(tr, x.num_waiting, "num");
    cell(tr, x.programs, "num");
    cell(tr, x.in_flight, "num");
    cell(tr, x.requests, "num");
    cell(tr, x.failures, "num");
    cell(tr, x.polled_at_s < 0 ? "never" : fixed(now - x.polled_at_s, 1) + " s ago", "num");
    cell(tr, x.last_error, "wrap");
  });
  return b.backends;
}

// The policies do not report their reasons; this is what the router's state shows.
function whyHeld(p, backends) {
  const reasons = [];
  const b = p.backend === null ? null : backends[p.backend];
  if (p.held_calls > 0 && b && !b.up) reasons.push("backend " + b.url + " is down");
  if (p.paused) reasons.push("paused by the policy");
  else if (p.pause_requested) reasons.push("pause requested");
  if (p.held_calls > 0 && reasons.length === 0) reasons.push("held by the policy");
  return reasons.join("; ");
}

const STATE_ORDER = {held: 0, paused: 1, in_flight: 2, idle: 3};
function renderPrograms(p, backends) {
  const list = p.programs.slice().sort((a, b) =>
      (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const shown = list.slice(0, MAX_PROGRAM_ROWS);
  document.getElementById("programs-count").textContent =
      "(" + p.count + " tracked, " + p.held_calls + " calls held" +
      (shown.length < list.length ? ", showing the first " + shown.length : "") + ")";
  fill("programs-table", shown, (tr, x) => {
    cell(tr, x.id, "job-id").setAttribute("title", x.id);  // the whole id when cut short
    cell(tr, x.state, "state-" + x.state);
    const b = x.backend === null ? null : backends[x.backend];
    cell(tr, b ? b.url : "-");
    cell(tr, x.steps, "num");
    cell(tr, x.context_tokens, "num");
    cell(tr, x.held_calls, "num");
    cell(tr, fixed(x.total_held_s, 2), "num");
    cell(tr, fixed(p.now_s - x.last_activity_s, 1), "num");
    cell(tr, whyHeld(x, backends), "wrap");
  });
  if (shown.length === 0) fill("programs-table", [null], tr => cell(tr, "(no programs)", "muted"));
}

async function refresh() {
  const status = document.getElementById("refresh");
  try {
    const [s, b, p] = await Promise.all([getJson("/status"), getJson("/backends"), getJson("/programs")]);
    renderStatus(s);
    const backends = renderBackends(b, s.now_s);
    renderPrograms(p, backends);
    status.textContent = "updated " + new Date().toLocaleTimeString() + ", every " + REFRESH_MS / 1000 + " s";
    status.className = "muted";
  } catch (e) {
    status.textContent = "refresh failed: " + e.message;
    status.className = "stale";
  }
}
refresh();
setInterval(refresh, REFRESH_MS);
</script>
</body>
</html>
)page";

// connect-src 'self': the script may only call the router; form-action 'none' and the absence
// of any form keep the page from posting anywhere (POST /programs/release included). The empty
// data: icon keeps browsers from asking for /favicon.ico, which the router would proxy to a
// backend.
constexpr std::string_view kHeaders =
    "cache-control: no-store\r\n"
    "content-security-policy: default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'\r\n"
    "x-content-type-options: nosniff\r\n"
    "referrer-policy: no-referrer\r\n";

}  // namespace

std::string_view dashboard_page() {
  return kPage;
}
std::string_view dashboard_headers() {
  return kHeaders;
}

}  // namespace agentsched::serve
