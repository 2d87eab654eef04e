/* relayq dashboard: plain JavaScript over the REST API, no build step. */
"use strict";

// The API lives where the dashboard is mounted: /v1/dashboard -> /v1, /dashboard -> "".
const API_BASE = location.pathname.replace(/\/dashboard(\/.*)?$/, "");
const TOKEN_KEY = "relayq.token";
const SAMPLES_KEY = "relayq.samples";
const HOUR_MS = 3600 * 1000;
const STATUSES = ["queued", "processing", "completed", "failed", "cancelled"];
// Polling: the API counts every call against the token's per-minute limit (X-RateLimit-Limit),
// and whoever else uses the token needs the rest. The page makes one call per refresh, at most
// POLL_SHARE of the limit a minute, slower in a hidden tab, and backs off when rate limited.
const POLL_SHARE = 0.1;
const DEFAULT_RATE_LIMIT = 60; // the deployment's default, until an answer names the token's own
const MIN_REFRESH_MS = 5000;
const HIDDEN_SLOWDOWN = 6;
const MAX_BACKOFF_MS = 5 * 60 * 1000;
// A cron run is finished in any of these; until then the page follows it.
const RUN_ACTIVE = ["queued", "running"];
const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

// The built-in job types (relayq.jobs) and their payload fields, as their payload models check
// them. Field kinds: text, textarea, emails (one address or a comma-separated list), email, url,
// number (integer unless `decimal`), select, json (`json` names the JSON kind it must be).
const JOB_TYPES = {
  email: {
    label: "Email",
    fields: [
      { name: "to", label: "To", kind: "emails", required: true, help: "One address, or several separated by commas." },
      { name: "subject", label: "Subject", kind: "text", required: true, max: 998 },
      { name: "message", label: "Text body", kind: "textarea", help: "Give a text body, an HTML body, or both." },
      { name: "html", label: "HTML body", kind: "textarea" },
      { name: "from", label: "From", kind: "email", help: "Empty: the deployment's QUEUE_EMAIL_FROM." },
      { name: "cc", label: "Cc", kind: "emails" },
      { name: "bcc", label: "Bcc", kind: "emails" },
      { name: "reply_to", label: "Reply-To", kind: "emails" },
    ],
    check: (payload) => (payload.message || payload.html ? null : ["message", "Give a text body, an HTML body, or both."]),
  },
  image_processing: {
    label: "Image processing",
    upload: true, // the form offers an upload (POST /uploads), which fills attachment_id
    fields: [
      { name: "operation", label: "Operation", kind: "select", options: ["", "thumbnail", "optimize", "watermark"], help: "Empty: the type's default (thumbnail)." },
      { name: "attachment_id", label: "Attachment id", kind: "number", min: 1, max: Number.MAX_SAFE_INTEGER, help: "An uploaded image (the upload above fills it in)." },
      { name: "key", label: "Image key in S3", kind: "text", max: 1024, help: "Or an object already in the bucket, e.g. photos/cat.jpg" },
      { name: "bucket", label: "Bucket", kind: "text", min: 3, max: 63, help: "Empty: the deployment's QUEUE_IMAGES_BUCKET." },
      { name: "output_prefix", label: "Output prefix", kind: "text", max: 900, help: "Empty: the key without its extension plus '-'." },
      {
        name: "variants",
        label: "Variants (JSON)",
        kind: "json",
        json: "array",
        help: 'Empty: thumbnail, medium, large. e.g. [{"name": "small", "width": 200, "height": 200, "mode": "crop"}]',
      },
    ],
    check: (payload) => (payload.attachment_id || payload.key ? null : ["attachment_id", "Upload an image, or give its attachment id or S3 key."]),
  },
  api_sync: {
    label: "API sync",
    fields: [
      { name: "url", label: "URL", kind: "url", required: true },
      { name: "method", label: "Method", kind: "select", required: true, options: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] },
      { name: "headers", label: "Headers (JSON object)", kind: "json", json: "object", help: 'e.g. {"Authorization": "Bearer …"}' },
      { name: "body", label: "Body (JSON, or plain text)", kind: "body" },
      { name: "timeout", label: "Timeout (seconds)", kind: "number", decimal: true, min: 0.1, max: 880, help: "Default 30." },
    ],
  },
};

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

class ApiError extends Error {
  constructor(status, code, message, body = null, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

const state = {
  view: "overview",
  poll: { timer: null, backoffMs: 0, holdUntil: 0 },
  rateLimit: null,
  jobs: { page: 1, perPage: 20, newestFirst: true, filters: {}, tab: "all", total: 0, pages: 1 },
  queues: ["default"],
  created: [],
  openJob: null,
  sites: [],
};

// --- talking to the API ------------------------------------------------------------------------

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(method, path, { query, body, attempt = 1 } = {}) {
  const url = new URL(API_BASE + path, location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { Accept: "application/json", Authorization: "Bearer " + token() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, "network_error", "The API could not be reached: " + error.message);
  }
  // A gateway timeout or bad gateway on a read is usually a function starting cold: try again.
  if (method === "GET" && attempt < 3 && (response.status === 502 || response.status === 504)) {
    await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    return api(method, path, { query, body, attempt: attempt + 1 });
  }
  const limit = Number(response.headers.get("X-RateLimit-Limit"));
  if (limit > 0 && limit !== state.rateLimit) {
    state.rateLimit = limit;
    renderRefreshNote();
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) {
    const code = (data && data.code) || "http_" + response.status;
    const message = (data && data.message) || `The API answered ${response.status}.`;
    // An unknown or revoked token is 403 rest_forbidden (the plugin's answer); a scope refusal is
    // 403 rest_forbidden_scope and keeps the session.
    if (code === "rest_forbidden") signOut("The token was rejected. Sign in again.");
    const retryAfter = Number(response.headers.get("Retry-After")) || null;
    if (response.status === 429) holdPolling(retryAfter);
    throw new ApiError(response.status, code, message, data, retryAfter);
  }
  return { data, headers: response.headers, status: response.status };
}

function describe(error) {
  return error instanceof ApiError ? `${error.message} (${error.code})` : String(error.message || error);
}

function say(element, text, ok = false) {
  element.textContent = text || "";
  element.classList.toggle("ok", ok);
}

function toast(text) {
  const box = $("#toast");
  box.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.textContent = ""), 4000);
}

// --- small DOM helpers -------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function badge(status) {
  return el("span", { class: "badge s-" + status, text: status });
}

function when(value) {
  return value ? String(value) : "—";
}

function pretty(value) {
  return value === null || value === undefined ? "—" : JSON.stringify(value, null, 2);
}

// Rows become cards at phone width; each cell carries its column's name for that layout.
function fillBody(selector, ...rows) {
  const table = $(selector);
  const names = $$("thead th", table).map((th) => th.textContent.replace(/[▲▼]/g, "").trim());
  for (const row of rows) {
    Array.from(row.cells).forEach((cell, i) => {
      if (names[i] && !cell.hasAttribute("colspan")) cell.dataset.label = names[i];
    });
  }
  $("tbody", table).replaceChildren(...rows);
}

function fillKv(list, pairs) {
  list.replaceChildren(...pairs.flatMap(([key, value]) => [el("dt", { text: key }), el("dd", {}, value)]));
}

function confirmAction(text) {
  const dialog = $("#confirm-dialog");
  $("#confirm-text").textContent = text;
  return new Promise((resolve) => {
    const answer = (event) => {
      const button = event.target.closest("[data-answer]");
      if (!button) return;
      dialog.removeEventListener("click", answer);
      dialog.close();
      resolve(button.dataset.answer === "yes");
    };
    dialog.addEventListener("click", answer);
    dialog.addEventListener("cancel", () => resolve(false), { once: true });
    dialog.showModal();
    $("[data-answer=no]", dialog).focus();
  });
}

// --- signing in --------------------------------------------------------------------------------

async function signIn(candidate) {
  sessionStorage.setItem(TOKEN_KEY, candidate);
  try {
    // /stats is a full-scope route: a worker token is refused with 403 here.
    await api("GET", "/stats");
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (error.code === "rest_forbidden") throw new Error("The token was rejected: it is unknown, revoked or mistyped.");
    if (error.status === 403) {
      throw new Error("This token does not have the full scope; the dashboard needs a full token. " + describe(error));
    }
    throw error;
  }
  showApp();
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  clearTimeout(state.poll.timer);
  $$(".view").forEach((view) => (view.hidden = true));
  $("#nav").hidden = true;
  $("#sign-out").hidden = true;
  $("#login").hidden = false;
  say($("#login-message"), reason || "");
  $("#login-token").value = "";
  $("#login-token").focus();
}

function showApp() {
  $("#login").hidden = true;
  $("#nav").hidden = false;
  $("#sign-out").hidden = false;
  const fromHash = location.hash.slice(1);
  show(JOB_VIEWS.includes(fromHash) ? fromHash : "overview");
}

// --- views -------------------------------------------------------------------------------------

const JOB_VIEWS = ["overview", "jobs", "create", "workers", "sites", "tokens"];
const LOADERS = {
  overview: loadOverview,
  jobs: loadJobs,
  create: () => followCreated(),
  workers: loadWorkers,
  sites: loadSites,
  tokens: loadTokens,
};

function show(view) {
  state.view = view;
  for (const name of JOB_VIEWS) $("#view-" + name).hidden = name !== view;
  for (const button of $$("#nav button")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  history.replaceState(null, "", "#" + view);
  LOADERS[view]();
  schedulePoll(); // the view just loaded: the next refresh is a full interval away
}

// --- polling -------------------------------------------------------------------------------------

function refreshMs() {
  const limit = state.rateLimit || DEFAULT_RATE_LIMIT;
  const base = Math.max(MIN_REFRESH_MS, Math.ceil(60000 / (limit * POLL_SHARE)));
  return document.hidden ? base * HIDDEN_SLOWDOWN : base;
}

function schedulePoll(ms = refreshMs()) {
  clearTimeout(state.poll.timer);
  if (!token()) return;
  state.poll.timer = setTimeout(poll, Math.max(ms, state.poll.holdUntil - Date.now()));
}

// A 429 (to a refresh or to anything else the page sent): no refresh before its Retry-After, or,
// without one, twice the last wait (up to MAX_BACKOFF_MS).
function holdPolling(retryAfterSeconds) {
  const poll = state.poll;
  poll.backoffMs = retryAfterSeconds
    ? retryAfterSeconds * 1000
    : Math.min(MAX_BACKOFF_MS, Math.max(poll.backoffMs * 2, refreshMs() * 2));
  poll.holdUntil = Date.now() + poll.backoffMs;
  renderRefreshNote();
  schedulePoll();
}

// One call per refresh, for what the view shows live; none for views without live data.
function refreshCall() {
  if (!$("#auto-refresh").checked) return null;
  if (state.view === "jobs") return $("#job-dialog").open ? null : loadJobs;
  if (state.view === "overview" || state.view === "workers") return loadOverview;
  if (state.view === "create" && openCreated().length) return loadOverview;
  return null;
}

async function poll() {
  const call = refreshCall();
  const held = state.poll.holdUntil;
  if (call) await call();
  if (state.poll.holdUntil === held && state.poll.backoffMs) {
    state.poll.backoffMs = 0; // answered without a 429: back to the normal pace
    renderRefreshNote();
  }
  schedulePoll();
}

function renderRefreshNote() {
  const seconds = Math.round(refreshMs() / 1000);
  const limit = state.rateLimit || DEFAULT_RATE_LIMIT;
  $("#refresh-every").textContent = `every ${seconds} s`;
  const held = state.poll.holdUntil - Date.now();
  $("#refresh-note").textContent =
    held > 0
      ? `Rate limited: the next refresh waits ${Math.ceil(held / 1000)} s.`
      : `One call per refresh: at most ${Math.ceil(60 / seconds)} of this token's ${limit} calls a minute.`;
}

// --- overview ----------------------------------------------------------------------------------

function splitStats(data) {
  const queues = {};
  let delayed = 0;
  let processing = 0;
  let database = {};
  for (const [key, value] of Object.entries(data || {})) {
    if (key === "database") database = value || {};
    else if (key === "delayed") delayed = value.pending ?? value.size ?? 0;
    else if (key === "processing") processing = value.pending ?? value.size ?? 0;
    else if (value && typeof value === "object") queues[key] = value.pending ?? value.size ?? 0;
  }
  return { queues, delayed, processing, database };
}

function rememberQueues(names) {
  state.queues = Array.from(new Set(["default", ...names])).sort();
  $("#queue-names").replaceChildren(...state.queues.map((name) => el("option", { value: name })));
}

// The page's one call per refresh: every part the overview, the workers page and the jobs
// created here show (a part that could not be read is null, and its reason is in `errors`).
async function loadOverview() {
  const message = $("#overview-message");
  const followed = openCreated().map((job) => job.id);
  let answer;
  try {
    ({ data: answer } = await api("GET", "/overview", { query: { jobs: followed.join(",") } }));
  } catch (error) {
    say(message, "The overview could not be loaded: " + describe(error));
    return;
  }
  const data = answer.data || {};
  const problems = Object.entries(answer.errors || {}).map(([part, reason]) => `${part}: ${reason}`);
  say(message, problems.length ? "Some data could not be loaded: " + problems.join("; ") : "");
  const workers = data.workers;
  if (data.stats) {
    const parts = splitStats(data.stats);
    rememberQueues(Object.keys(parts.queues));
    renderCounts(parts);
    renderQueues(parts, (workers && workers.throughput) || {});
    const counters = data.counters
      ? { completed: data.counters.completed, failed: data.counters.failed + data.counters.retry }
      : { completed: parts.database.completed ?? 0, failed: parts.database.failed ?? 0 };
    recordSample(counters, data.counters ? "metrics" : "stats");
  }
  renderHealth(data.health, workers, data.cost);
  renderChart(workers);
  if (data.running) renderRunning(data.running);
  if (data.runs) renderRuns(data.runs);
  if (data.jobs) updateCreated(data.jobs);
}

function renderCounts({ database, delayed, processing }) {
  const cards = [["total", database.total ?? 0], ...STATUSES.map((s) => [s, database[s] ?? 0])];
  cards.push(["delayed", delayed], ["leased now", processing]);
  $("#status-cards").replaceChildren(
    ...cards.map(([name, n]) =>
      el("div", { class: "card", "data-count": name }, el("span", { class: "n", text: n }), el("span", { class: "k", text: name })),
    ),
  );
}

function renderQueues({ queues }, throughput) {
  const names = Array.from(new Set([...Object.keys(queues), ...Object.keys(throughput)])).sort();
  const rows = names.length
    ? names.map((name) =>
        el(
          "tr",
          {},
          el("td", { text: name }),
          el("td", { class: "num", text: queues[name] ?? 0 }),
          el("td", { class: "num", text: throughput[name] ? throughput[name].last_60m ?? 0 : 0 }),
        ),
      )
    : [el("tr", {}, el("td", { colspan: 3, class: "note", text: "No jobs are waiting in any queue." }))];
  fillBody("#queue-table", ...rows);
}

function renderHealth(health, workers, cost) {
  const pairs = [];
  if (workers) {
    const summary = workers.last_summary;
    pairs.push(["Worker last run", when(workers.last_run)]);
    pairs.push(["Processing now", workers.processing ? `yes (${workers.workers_running ?? 1} running)` : "no"]);
    if (workers.last_queues && workers.last_queues.length) pairs.push(["Last queues", workers.last_queues.join(", ")]);
    if (summary && typeof summary === "object") {
      pairs.push(["Last batch", `${summary.processed ?? 0} processed, ${summary.successful ?? 0} ok, ${summary.failed ?? 0} failed`]);
    }
    if ("recent_jobs" in workers) pairs.push(["Finished, last hour", String(workers.recent_jobs)]);
  }
  if (health) {
    const redis = health.redis_info || {};
    const engine = redis.engine ? redis.engine[0].toUpperCase() + redis.engine.slice(1) : "Redis";
    const version = redis.engine_version || redis.redis_version;
    const detail = (version ? ` v${version}` : "") + (redis.cluster_mode ? " (cluster)" : "");
    pairs.push(["Overall", badge(health.status === "healthy" ? "healthy" : "down")]);
    pairs.push([engine, el("span", {}, badge(health.redis_connected ? "healthy" : "down"), detail)]);
    if (redis.used_memory_human || redis.used_memory) pairs.push(["Redis memory", redis.used_memory_human || redis.used_memory]);
    pairs.push(["Database", badge(health.database_status ? "healthy" : "down")]);
  }
  if (cost) {
    // The floor is billed whether or not a job runs; usage is what the worker counters hold.
    const usd = (n) => "$" + Number(n).toFixed(2);
    const text = `${usd(cost.total_usd)} a month: floor ${usd(cost.floor_usd)} (${cost.profile}) + usage ${usd(cost.usage_usd)} for ${cost.jobs} jobs`;
    pairs.push(["Estimated cost", el("span", { title: cost.basis, text })]);
  }
  fillKv($("#health-list"), pairs.length ? pairs : [["Status", "unavailable"]]);
}

function renderRunning(jobs) {
  $("#running-count").textContent = String(jobs.length);
  fillBody(
    "#running-table",
    ...(jobs.length
      ? jobs.map((job) =>
          el(
            "tr",
            { "data-job": job.id },
            ...jobCells(job).slice(0, 3),
            el("td", { class: "num", text: `${job.attempts}/${job.max_attempts}` }),
            el("td", { text: when(job.processed_at) }),
          ),
        )
      : [el("tr", {}, el("td", { colspan: 5, class: "note", text: "No job is running." }))]),
  );
}

// The chart per minute of the last hour: the worker's memory of its most recent finished
// attempts, and counters this browser samples while the page is open (kept for an hour in
// session storage). Both can only undercount, so each minute shows the larger of the two.
function recordSample(totals, source) {
  const now = Date.now();
  const samples = readSamples().filter((s) => now - s.t <= HOUR_MS + 60000 && s.source === source);
  samples.push({ t: now, source, completed: totals.completed, failed: totals.failed });
  sessionStorage.setItem(SAMPLES_KEY, JSON.stringify(samples));
}

function readSamples() {
  try {
    return JSON.parse(sessionStorage.getItem(SAMPLES_KEY)) || [];
  } catch {
    return [];
  }
}

function minuteBuckets(workers) {
  const now = Date.now();
  const start = Math.floor(now / 60000) * 60000 - 59 * 60000;
  const fromRecent = Array.from({ length: 60 }, () => ({ ok: 0, fail: 0 }));
  const fromSamples = Array.from({ length: 60 }, () => ({ ok: 0, fail: 0 }));
  const index = (t) => Math.floor((t - start) / 60000);
  const recent = (workers && workers.recent) || [];
  for (const job of recent) {
    const i = index(Date.parse(String(job.finished_at).replace(" ", "T") + "Z"));
    if (i < 0 || i >= 60) continue;
    if (job.status === "completed") fromRecent[i].ok += 1;
    else fromRecent[i].fail += 1;
  }
  const samples = readSamples();
  for (let k = 1; k < samples.length; k++) {
    const i = index(samples[k].t);
    if (i < 0 || i >= 60) continue;
    fromSamples[i].ok += Math.max(0, samples[k].completed - samples[k - 1].completed);
    fromSamples[i].fail += Math.max(0, samples[k].failed - samples[k - 1].failed);
  }
  const buckets = fromRecent.map((r, i) => ({
    t: start + i * 60000,
    ok: Math.max(r.ok, fromSamples[i].ok),
    fail: Math.max(r.fail, fromSamples[i].fail),
  }));
  return { buckets, recent: recent.length, since: samples.length ? samples[0].t : now, source: samples.length ? samples[0].source : "" };
}

function renderChart(workers) {
  const { buckets, recent, since, source } = minuteBuckets(workers);
  // Drawn at the element's own width so text keeps its shape.
  const width = Math.max(280, $("#chart").clientWidth || 600);
  const height = 200;
  const pad = { left: 32, bottom: 22, top: 8 };
  const top = Math.max(1, ...buckets.map((b) => b.ok + b.fail));
  const barW = (width - pad.left) / 60;
  const y = (n) => ((height - pad.bottom - pad.top) * n) / top;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("aria-hidden", "true");
  const add = (name, attrs, text) => {
    const node = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  };
  const base = height - pad.bottom;
  add("line", { x1: pad.left, y1: base, x2: width, y2: base, class: "axis" });
  add("text", { x: 2, y: pad.top + 10 }, String(top));
  add("text", { x: 2, y: base }, "0");
  add("text", { x: pad.left, y: height - 6 }, "-60 min");
  add("text", { x: width - 28, y: height - 6 }, "now");
  buckets.forEach((b, i) => {
    const x = pad.left + i * barW + 0.5;
    const w = Math.max(1, barW - 1);
    const label = `${new Date(b.t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}: ${b.ok} completed, ${b.fail} failed`;
    if (b.ok) add("rect", { x, y: base - y(b.ok), width: w, height: y(b.ok), class: "ok" }).append(titleOf(ns, label));
    if (b.fail) add("rect", { x, y: base - y(b.ok) - y(b.fail), width: w, height: y(b.fail), class: "fail" }).append(titleOf(ns, label));
  });
  const totalOk = buckets.reduce((n, b) => n + b.ok, 0);
  const totalFail = buckets.reduce((n, b) => n + b.fail, 0);
  const legend = el("div", { class: "legend" }, el("span", { text: `completed: ${totalOk}` }), el("span", { class: "fail", text: `failed attempts: ${totalFail}` }));
  $("#chart").replaceChildren(svg, legend);
  $("#chart").setAttribute("aria-label", `Last hour: ${totalOk} jobs completed, ${totalFail} attempts failed.`);
  const counted = source === "metrics" ? "the worker's counters (/metrics)" : "the job counts of /stats";
  $("#chart-note").textContent =
    `From the ${recent} most recent attempts the worker remembers, and ${counted} sampled by this browser ` +
    `since ${new Date(since).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}.`;
}

function titleOf(ns, text) {
  const title = document.createElementNS(ns, "title");
  title.textContent = text;
  return title;
}

// --- jobs --------------------------------------------------------------------------------------

async function fetchJobPage(page, perPage, filters) {
  const { data, headers } = await api("GET", "/jobs", { query: { page, per_page: perPage, ...filters } });
  return { jobs: data || [], total: Number(headers.get("X-WP-Total") || 0) };
}

// The tabs: a status of their own over the filters, or the delayed list (soonest due first, the
// API's own order, which takes no filter).
const JOB_TABS = {
  all: (filters) => filters,
  running: (filters) => ({ ...filters, status: "processing" }),
  delayed: () => ({ delayed: "true" }),
  failed: (filters) => ({ ...filters, status: "failed" }),
};

// The API lists newest first. Oldest first is the same list read backwards: page p of the
// reversed list spans at most two pages of the forward one.
async function fetchJobs() {
  const { page, perPage, newestFirst, tab } = state.jobs;
  const filters = JOB_TABS[tab](state.jobs.filters);
  const first = await fetchJobPage(newestFirst || tab === "delayed" ? page : 1, perPage, filters);
  if (newestFirst || tab === "delayed") return first;
  const total = first.total;
  const endExclusive = total - (page - 1) * perPage;
  const start = Math.max(0, endExclusive - perPage);
  if (endExclusive <= 0) return { jobs: [], total };
  const pages = new Set([Math.floor(start / perPage) + 1, Math.floor((endExclusive - 1) / perPage) + 1]);
  const rows = [];
  for (const p of [...pages].sort((a, b) => a - b)) {
    const fetched = p === 1 ? first : await fetchJobPage(p, perPage, filters);
    fetched.jobs.forEach((job, i) => rows.push({ index: (p - 1) * perPage + i, job }));
  }
  const jobs = rows.filter((r) => r.index >= start && r.index < endExclusive).map((r) => r.job).reverse();
  return { jobs, total };
}

async function loadJobs() {
  const message = $("#jobs-message");
  let result;
  try {
    result = await fetchJobs();
  } catch (error) {
    say(message, "Jobs could not be loaded: " + describe(error));
    return;
  }
  say(message, "");
  const { jobs, total } = result;
  state.jobs.total = total;
  state.jobs.pages = Math.max(1, Math.ceil(total / state.jobs.perPage));
  const rows = jobs.map(jobRow);
  const none = { all: "No jobs match these filters.", running: "No job is running.", delayed: "No job waits for a later time.", failed: "No failed jobs." };
  fillBody("#jobs-table",
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 9, class: "note", text: none[state.jobs.tab] }))]),
  );
  $("#page-info").textContent = `Page ${state.jobs.page} of ${state.jobs.pages} · ${total} jobs`;
  $("#page-prev").disabled = state.jobs.page <= 1;
  $("#page-next").disabled = state.jobs.page >= state.jobs.pages;
}

// The header button and the Order field (the one visible at phone width) show the same order.
function setOrder(newestFirst) {
  state.jobs.newestFirst = newestFirst;
  state.jobs.page = 1;
  $("#filter-order").value = newestFirst ? "newest" : "oldest";
  $("#sort-created").closest("th").setAttribute("aria-sort", newestFirst ? "descending" : "ascending");
  $("#sort-created span").textContent = newestFirst ? "▼" : "▲";
}

// A queued job with a time to wait for: a delay, or the backoff before its next attempt.
function isDelayed(job) {
  return job.status === "queued" && Boolean(job.delay_until);
}

// What the job waits for: its next attempt after a failure ("retry at"), or its first ("due at").
function nextRun(job) {
  if (!isDelayed(job)) return "—";
  return `${job.attempts ? "retry" : "due"} ${job.delay_until}`;
}

// The payload on one line, cut to fit a table cell (the job's dialog shows all of it).
function payloadPreview(payload) {
  const text = JSON.stringify(payload ?? {});
  return text.length > 80 ? text.slice(0, 79) + "…" : text;
}

function jobActions(job) {
  const actions = [];
  if (isDelayed(job)) {
    actions.push(el("button", { type: "button", "aria-label": `Run ${job.id} now`, onclick: () => runNow(job.id), text: "Run now" }));
  }
  if (job.status === "failed") {
    actions.push(el("button", { type: "button", "aria-label": `Retry ${job.id}`, onclick: () => retryJob(job.id), text: "Retry" }));
  }
  if (job.status === "queued" || job.status === "failed") {
    actions.push(el("button", { type: "button", class: "danger", "aria-label": `Cancel ${job.id}`, onclick: () => cancelJob(job.id), text: "Cancel" }));
  }
  return actions;
}

function jobRow(job) {
  const [idCell, ...cells] = jobCells(job);
  // The payload's first characters under the id, as Sidekiq shows a job's arguments.
  idCell.append(el("code", { class: "preview", text: payloadPreview(job.payload), title: JSON.stringify(job.payload ?? {}) }));
  return el(
    "tr",
    { "data-job": job.id },
    idCell,
    ...cells,
    el("td", { class: "num", text: String(job.priority) }),
    el("td", { class: "num", text: `${job.attempts}/${job.max_attempts}` }),
    el("td", { class: "next-run when", text: nextRun(job) }),
    el("td", { class: "when", text: job.created_at }),
    el("td", { class: "actions" }, jobActions(job)),
  );
}

async function openJob(id) {
  const dialog = $("#job-dialog");
  say($("#job-dialog-message"), "");
  try {
    const { data: job } = await api("GET", "/jobs/" + encodeURIComponent(id));
    state.openJob = job;
    renderJob(job);
    if (!dialog.open) dialog.showModal();
  } catch (error) {
    toast("Job could not be loaded: " + describe(error));
  }
}

function renderJob(job) {
  $("#job-dialog-title").textContent = "Job " + job.id;
  fillKv($("#job-detail"), [
    ["Status", badge(job.status)],
    ["Type", job.type],
    ["Queue", job.queue],
    ["Priority", String(job.priority)],
    ["Attempts", `${job.attempts} of ${job.max_attempts}`],
    ["Timeout", `${job.timeout} s`],
    ["Last error", job.error_message || "—"],
    ["Created", when(job.created_at)],
    ["Updated", when(job.updated_at)],
    ["Processed", when(job.processed_at)],
    ["Failed", when(job.failed_at)],
    [job.attempts && isDelayed(job) ? "Next retry" : "Delayed until", when(job.delay_until)],
  ]);
  $("#job-payload").textContent = pretty(job.payload);
  $("#job-result").textContent = pretty(job.result);
  renderAttempts(job.attempt_errors || []);
  $("#job-cancel").hidden = !(job.status === "queued" || job.status === "failed");
  $("#job-retry").hidden = job.status !== "failed";
  $("#job-run-now").hidden = !isDelayed(job);
}

// Every failed attempt the record keeps, newest first: its error and the end of its traceback.
function renderAttempts(errors) {
  $("#job-attempts-title").textContent = `Failed attempts (${errors.length})`;
  $("#job-attempts").replaceChildren(
    ...(errors.length
      ? [...errors].reverse().map((e) =>
          el(
            "li",
            { "data-attempt": e.attempt },
            el("p", {}, el("strong", { text: `Attempt ${e.attempt}` }), ` · ${e.at} · `, el("span", { class: "attempt-error", text: e.error })),
            e.traceback ? el("details", {}, el("summary", { text: "Traceback (last lines)" }), el("pre", { text: e.traceback })) : null,
          ),
        )
      : [el("li", { class: "note", text: "No attempt failed." })]),
  );
}

async function cancelJob(id) {
  if (!(await confirmAction(`Cancel job ${id}? It will not run.`))) return;
  try {
    const { data } = await api("DELETE", "/jobs/" + encodeURIComponent(id));
    toast(data.message || "Job cancelled.");
  } catch (error) {
    toast("Cancel failed: " + describe(error));
  }
  await afterJobChange(id);
}

async function runNow(id) {
  try {
    const { data } = await api("POST", `/jobs/${encodeURIComponent(id)}/run-now`);
    toast(data.message || "Job is due now.");
  } catch (error) {
    toast("Run now failed: " + describe(error));
  }
  await afterJobChange(id);
}

async function findJob(event) {
  event.preventDefault();
  const input = $("#job-search-id");
  const id = input.value.trim();
  const message = $("#job-search-message");
  if (!/^job_[0-9a-f]{28}$/.test(id)) return say(message, "A job id is job_ followed by 28 hex digits.");
  say(message, "");
  try {
    const { data: job } = await api("GET", "/jobs/" + encodeURIComponent(id));
    state.openJob = job;
    renderJob(job);
    $("#job-dialog").showModal();
  } catch (error) {
    say(message, error.status === 404 ? `No job has the id ${id}.` : "The job could not be loaded: " + describe(error));
  }
}

function setJobTab(tab) {
  state.jobs.tab = tab;
  state.jobs.page = 1;
  for (const button of $$("#job-tabs button")) button.setAttribute("aria-pressed", String(button.dataset.tab === tab));
  $("#jobs-tab-note").hidden = tab !== "delayed";
  loadJobs();
}

async function retryJob(id) {
  try {
    const { data } = await api("POST", `/jobs/${encodeURIComponent(id)}/retry`);
    toast(data.message || "Job queued again.");
  } catch (error) {
    toast("Retry failed: " + describe(error));
  }
  await afterJobChange(id);
}

async function afterJobChange(id) {
  if ($("#job-dialog").open && state.openJob && state.openJob.id === id) await openJob(id);
  await loadJobs();
}

// --- create ------------------------------------------------------------------------------------

function buildCreateForm() {
  const select = $("#create-type");
  select.replaceChildren(...Object.entries(JOB_TYPES).map(([name, t]) => el("option", { value: name, text: `${t.label} (${name})` })));
  $("#type-names").replaceChildren(...Object.keys(JOB_TYPES).map((name) => el("option", { value: name })));
  select.addEventListener("change", renderTypeFields);
  renderTypeFields();
}

function renderTypeFields() {
  const type = JOB_TYPES[$("#create-type").value];
  const fields = type.fields.map((f) => {
    const id = "payload-" + f.name;
    const describedBy = `${id}-error` + (f.help ? ` ${id}-help` : "");
    const common = { id, name: f.name, required: f.required, "aria-describedby": describedBy, "data-kind": f.kind };
    let input;
    if (f.kind === "select") input = el("select", common, f.options.map((o) => el("option", { value: o, text: o || "(type default)" })));
    else if (f.kind === "textarea" || f.kind === "json") input = el("textarea", { ...common, spellcheck: f.kind !== "json" });
    else if (f.kind === "body") input = el("textarea", { ...common, spellcheck: false });
    else {
      const type = { url: "url", number: "number" }[f.kind] || "text";
      const inputmode = f.kind === "email" || f.kind === "emails" ? "email" : undefined;
      const step = f.kind === "number" ? (f.decimal ? "any" : "1") : undefined;
      input = el("input", { ...common, type, step, min: f.kind === "number" ? f.min : undefined, max: f.kind === "number" ? f.max : undefined, inputmode, autocomplete: "off" });
    }
    return el(
      "div",
      { class: "field" },
      el("label", { for: id, text: f.label + (f.required ? " *" : "") }),
      input,
      f.help ? el("span", { class: "note", id: `${id}-help`, text: f.help }) : null,
      el("span", { class: "field-error", id: `${id}-error` }),
    );
  });
  const upload = type.upload
    ? el(
        "div",
        { class: "field upload" },
        el("label", { for: "upload-file", text: "Upload an image" }),
        el("input", { id: "upload-file", type: "file", accept: "image/png,image/jpeg,image/webp,image/gif", "aria-describedby": "upload-message" }),
        el("button", { type: "button", class: "secondary", id: "upload-button", onclick: uploadImage, text: "Upload" }),
        el("p", { id: "upload-message", class: "message", role: "status" }),
      )
    : null;
  $("#create-fields").replaceChildren(el("legend", { text: `Payload of ${type.label}` }), upload, ...fields);
}

// The API hands out a presigned S3 form (POST /uploads); the browser posts the file to it
// (the form's fields, then the file), and the job names the upload by its attachment id.
async function uploadImage() {
  const file = $("#upload-file").files[0];
  const message = $("#upload-message");
  if (!file) return say(message, "Choose an image file first.");
  say(message, `Uploading ${file.name}…`, true);
  let grant;
  try {
    const body = { filename: file.name, content_type: file.type || "application/octet-stream" };
    ({ data: grant } = await api("POST", "/uploads", { body }));
  } catch (error) {
    return say(message, "The upload could not start: " + describe(error));
  }
  const form = new FormData();
  for (const [name, value] of Object.entries(grant.upload.fields || {})) form.append(name, value);
  form.append("file", file);
  try {
    const response = await fetch(grant.upload.url, { method: "POST", body: form });
    if (!response.ok) throw new Error(`the storage answered ${response.status}`);
  } catch (error) {
    return say(message, "The upload to storage failed: " + error.message);
  }
  $("#payload-attachment_id").value = String(grant.attachment_id);
  fieldError($("#payload-attachment_id"), "");
  if (!$("#payload-operation").value) $("#payload-operation").value = "thumbnail";
  say(message, `Uploaded ${file.name} as attachment ${grant.attachment_id} (${grant.key}). Create the job to process it.`, true);
}

function fieldError(input, text) {
  input.setAttribute("aria-invalid", text ? "true" : "false");
  const box = document.getElementById(input.id + "-error");
  if (box) box.textContent = text || "";
  return !text;
}

const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;

function jsonKind(value) {
  return Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
}

// The first problem of one payload field, or "" when it is fine (empty optional fields are fine).
function checkPayloadField(field, input) {
  const value = input.value.trim();
  if (!value) return field.required ? `${field.label} is required.` : "";
  if (field.kind === "emails" && !value.split(",").every((part) => EMAIL.test(part.trim()))) {
    return "Enter valid e-mail addresses, separated by commas.";
  }
  if (field.kind === "email" && !EMAIL.test(value)) return "Enter a valid e-mail address.";
  if (field.kind === "url" && !/^https?:\/\/[^\s/]+\S*$/.test(value)) return "Enter an http:// or https:// URL.";
  if (field.kind === "number") {
    const n = Number(value);
    const whole = field.decimal || Number.isInteger(n);
    if (!Number.isFinite(n) || !whole || n < field.min || n > field.max) {
      return `Enter a ${field.decimal ? "number" : "whole number"} from ${field.min} to ${field.max}.`;
    }
  }
  if (field.kind === "json") {
    let parsed;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      return "Not valid JSON: " + error.message;
    }
    if (field.json && jsonKind(parsed) !== field.json) return `Give a JSON ${field.json}.`;
  }
  if (field.kind === "text" && field.min && value.length < field.min) return `At least ${field.min} characters.`;
  if (field.kind === "text" && field.max && value.length > field.max) return `At most ${field.max} characters.`;
  return "";
}

function payloadValue(field, input) {
  const value = input.value.trim();
  if (field.kind === "number") return Number(value);
  if (field.kind === "json") return JSON.parse(value);
  if (field.kind === "emails") return value.split(",").map((part) => part.trim());
  if (field.kind === "body") {
    // JSON objects and arrays are sent as JSON; anything else as the text it is.
    try {
      const parsed = JSON.parse(value);
      if (typeof parsed === "object" && parsed !== null) return parsed;
    } catch {
      /* plain text */
    }
    return input.value;
  }
  return field.kind === "textarea" ? input.value : value;
}

function checkOption(input, label, min, max) {
  const value = input.value.trim();
  if (!value) return fieldError(input, "");
  const n = Number(value);
  return fieldError(input, Number.isInteger(n) && n >= min && n <= max ? "" : `${label}: a whole number from ${min} to ${max}.`);
}

function readCreateForm() {
  const typeName = $("#create-type").value;
  const type = JOB_TYPES[typeName];
  let valid = true;
  const payload = {};
  for (const field of type.fields) {
    const input = document.getElementById("payload-" + field.name);
    const problem = checkPayloadField(field, input);
    valid = fieldError(input, problem) && valid;
    if (!problem && input.value.trim()) payload[field.name] = payloadValue(field, input);
  }
  const crossField = valid && type.check ? type.check(payload) : null;
  if (crossField) valid = fieldError(document.getElementById("payload-" + crossField[0]), crossField[1]);
  const queue = $("#create-queue");
  valid = fieldError(queue, queue.value.trim() && !QUEUE_NAME.test(queue.value.trim()) ? "Queue names are 1–64 letters, digits, _ - . starting with a letter or digit." : "") && valid;
  valid = checkOption($("#create-priority"), "Priority", 0, 1000) && valid;
  valid = checkOption($("#create-delay"), "Delay", 0, 31536000) && valid;
  valid = checkOption($("#create-max-attempts"), "Max attempts", 1, 100) && valid;
  if (!valid) return null;
  const body = { type: typeName, payload };
  if (queue.value.trim()) body.queue = queue.value.trim();
  for (const [name, input] of [["priority", "#create-priority"], ["delay", "#create-delay"], ["max_attempts", "#create-max-attempts"]]) {
    if ($(input).value.trim()) body[name] = Number($(input).value);
  }
  return body;
}

async function submitCreate(event) {
  event.preventDefault();
  const message = $("#create-message");
  const body = readCreateForm();
  if (!body) {
    say(message, "Fix the marked fields, then create the job again.");
    const invalid = $("#create-form [aria-invalid=true]");
    if (invalid) invalid.focus();
    return;
  }
  try {
    const { data } = await api("POST", "/jobs", { body });
    say(message, `${data.message || "Job created."} ${data.job_id}`, true);
    state.created.unshift({ id: data.job_id, type: body.type, queue: body.queue || "default", status: "queued" });
    renderCreated();
    schedulePoll(); // followed from the next refresh on
  } catch (error) {
    say(message, "The API refused the job: " + describe(error));
  }
}

// The cells every job table starts with: the id (opens the job), type, queue and status.
function jobCells(job) {
  return [
    el("td", { class: "id" }, el("button", { type: "button", class: "link", onclick: () => openJob(job.id), text: job.id })),
    el("td", { text: job.type }),
    el("td", { text: job.queue }),
    el("td", { class: "status" }, badge(job.status)),
  ];
}

function renderCreated() {
  $("#created-panel").hidden = state.created.length === 0;
  fillBody("#created-table", ...state.created.map((job) => el("tr", { "data-job": job.id }, ...jobCells(job))));
}

// The jobs created here that may still change; each refresh's overview call asks for them.
function openCreated() {
  return state.created.filter((job) => job.status === "queued" || job.status === "processing");
}

function updateCreated(found) {
  const byId = new Map(found.map((job) => [job.id, job]));
  for (const job of state.created) {
    const now = byId.get(job.id);
    if (now) Object.assign(job, { status: now.status, queue: now.queue });
  }
  renderCreated();
}

// Opening the page shows the list at once, then its statuses as they are now.
function followCreated() {
  renderCreated();
  if (openCreated().length) loadOverview();
}

// --- workers and cron --------------------------------------------------------------------------

function loadWorkers() {
  const box = $("#trigger-queues");
  const checked = new Set($$("input:checked", box).map((i) => i.value));
  if (!checked.size) checked.add("default");
  box.replaceChildren(
    ...state.queues.map((name) =>
      el("label", {}, el("input", { type: "checkbox", name: "queue", value: name, checked: checked.has(name) }), name),
    ),
  );
  loadOverview(); // the recent runs come with it
}

async function submitTrigger(event) {
  event.preventDefault();
  const message = $("#trigger-message");
  const extra = $("#trigger-extra").value.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = extra.filter((name) => !QUEUE_NAME.test(name));
  const max = Number($("#trigger-max").value);
  if (bad.length) return say(message, "Not a queue name: " + bad.join(", "));
  if (!Number.isInteger(max) || max < 1 || max > 100) return say(message, "Max jobs is a whole number from 1 to 100.");
  const queues = Array.from(new Set([...$$("#trigger-queues input:checked").map((i) => i.value), ...extra]));
  if (!queues.length) return say(message, "Choose at least one queue.");
  say(message, "");
  try {
    const { data } = await api("POST", "/workers/trigger", { body: { queues, max_jobs: max } });
    const result = data.data || {};
    say(message, data.message || "Worker ran.", true);
    const pairs = ["processed", "successful", "failed", "retried", "recovered", "promoted"]
      .filter((key) => key in result)
      .map((key) => [key, String(result[key])]);
    const errors = result.errors || [];
    pairs.push(["errors", errors.length ? el("pre", { text: pretty(errors) }) : "none"]);
    fillKv($("#trigger-result"), pairs);
  } catch (error) {
    say(message, "The worker could not run: " + describe(error));
  }
}

const SITE_COLUMNS = [
  ["site", "Site"],
  ["status", "HTTP status"],
  ["duration_ms", "Time (ms)"],
  ["attempts", "Attempts"],
  ["error", "Error"],
];
const RUN_FIELDS = [
  ["run_id", "Run"],
  ["status", "Status"],
  ["mode", "Mode"],
  ["created_at", "Created"],
  ["started_at", "Started"],
  ["finished_at", "Finished"],
  ["duration_ms", "Duration (ms)"],
  ["sites", "Sites"],
  ["succeeded", "Succeeded"],
  ["failed", "Failed"],
];
// What a run's status says, for people: its colour comes from the badge's class.
const RUN_STATUS_TEXT = {
  succeeded: "succeeded",
  completed_with_errors: "completed with errors",
  failed: "failed",
  no_sites: "no sites",
};

function runBadge(status) {
  return el("span", { class: "badge s-" + status, text: RUN_STATUS_TEXT[status] || status });
}

// The counts beside a run's status (`sites` in the contract; `sites_total` before it).
function runCounts(run) {
  return `${run.succeeded ?? 0} ok · ${run.failed ?? 0} failed · ${run.sites ?? run.sites_total ?? 0} sites`;
}

async function submitCron(event) {
  event.preventDefault();
  const message = $("#cron-message");
  const wait = $("#cron-wait").checked;
  say(message, wait ? "Running cron on every site…" : "");
  let data;
  try {
    // In the background (defer=1) the API answers at once; otherwise it answers when every site did.
    ({ data } = await api("POST", "/run", { query: wait ? {} : { defer: 1 } }));
  } catch (error) {
    // A run in which sites failed answers 500 with its summary: still a run to show.
    if (!(error.body && error.body.run_id)) return say(message, "The cron run could not start: " + describe(error));
    data = error.body;
  }
  say(message, `${data.message || "Cron run started."} Run ${data.run_id}.`, !data.error_code);
  followRun(data.run_id, 0);
}

async function followRun(id, round) {
  try {
    const { data } = await api("GET", "/runs/" + encodeURIComponent(id));
    renderRun(data.run);
    if (RUN_ACTIVE.includes(data.run.status) && round < 90 && state.view === "workers") {
      setTimeout(() => followRun(id, round + 1), Math.max(2000, refreshMs()));
    } else {
      loadOverview();
    }
  } catch (error) {
    say($("#cron-message"), "The run could not be read: " + describe(error));
  }
}

function renderRun(run) {
  const summary = el("dl", { class: "kv" });
  fillKv(
    summary,
    RUN_FIELDS.map(([key, label]) => [key, label, key === "sites" ? run.sites ?? run.sites_total : run[key]])
      .filter(([, , value]) => value !== undefined && value !== null)
      .map(([key, label, value]) => [label, key === "status" ? runBadge(value) : String(value)]),
  );
  const counts = Object.entries(run.status_counts || {}).map(([code, n]) => `${code}: ${n}`).join(", ");
  const results = run.results || [];
  const table = el(
    "table",
    { class: "stack", id: "run-sites" },
    el("thead", {}, el("tr", {}, SITE_COLUMNS.map(([, label]) => el("th", { scope: "col", text: label })))),
    el("tbody"),
  );
  $("#cron-result").replaceChildren(
    el("h4", { text: `Run ${run.run_id}` }),
    summary,
    counts ? el("p", { class: "note", text: "By answer: " + counts }) : null,
    results.length ? el("div", { class: "table-wrap" }, table) : el("p", { class: "note", text: "No per-site results yet." }),
  );
  if (results.length) {
    fillBody(
      "#run-sites",
      ...results.map((r) =>
        el(
          "tr",
          { class: r.error ? "s-failed" : "" },
          SITE_COLUMNS.map(([key]) => el("td", { text: r[key] === undefined || r[key] === null ? "" : String(r[key]) })),
        ),
      ),
    );
  }
}

function runRow(run) {
  return el(
    "tr",
    { class: "run s-run-" + run.status, "data-run": run.run_id },
    el("td", { class: "id", text: run.run_id }),
    el("td", { class: "status" }, runBadge(run.status)),
    el("td", { text: run.started_at || run.created_at || "" }),
    el("td", { class: "counts", text: runCounts(run) }),
    el("td", {}, el("button", { type: "button", class: "secondary", "aria-label": `Show run ${run.run_id}`, onclick: () => showRun(run.run_id), text: "Show" })),
  );
}

// The recent runs, on the overview and on the workers page (both come with the overview call).
function renderRuns(runs) {
  for (const table of ["#runs-table", "#overview-runs-table"]) {
    fillBody(table, ...(runs.length ? runs.map(runRow) : [el("tr", {}, el("td", { colspan: 5, class: "note", text: "No cron runs yet." }))]));
  }
}

function showRun(id) {
  if (state.view !== "workers") show("workers");
  followRun(id, 0);
}

// --- sites ------------------------------------------------------------------------------------

async function loadSites() {
  const message = $("#sites-message");
  try {
    const { data } = await api("GET", "/sites");
    state.sites = data.sites || [];
  } catch (error) {
    say(message, "Sites could not be loaded: " + describe(error));
    return;
  }
  say(message, "");
  renderSites();
}

function renderSites() {
  const enabled = state.sites.filter((site) => site.enabled !== false).length;
  $("#sites-caption").textContent = `${state.sites.length} sites, ${enabled} enabled: a cron run calls the cron URL of each enabled site with POST.`;
  fillBody(
    "#sites-table",
    ...(state.sites.length
      ? state.sites.map((site) => {
          const on = site.enabled !== false;
          return el(
            "tr",
            { "data-site": site.url, class: on ? "" : "disabled" },
            el("td", { class: "url", text: site.url }),
            el("td", { class: "url", text: site.cron_url || "wp-cron.php of the site" }),
            el("td", { class: "status" }, el("span", { class: "badge " + (on ? "s-completed" : "s-queued"), text: on ? "enabled" : "disabled" })),
            el(
              "td",
              { class: "actions" },
              el("button", { type: "button", class: "secondary", "aria-label": `${on ? "Disable" : "Enable"} ${site.url}`, onclick: () => setSiteEnabled(site, !on), text: on ? "Disable" : "Enable" }),
              el("button", { type: "button", class: "danger", "aria-label": `Remove ${site.url}`, onclick: () => removeSite(site), text: "Remove" }),
            ),
          );
        })
      : [el("tr", {}, el("td", { colspan: 4, class: "note", text: "No sites yet: add one, or import your network's list below." }))]),
  );
}

async function setSiteEnabled(site, enabled) {
  try {
    await api("PATCH", "/sites", { body: { url: site.url, enabled } });
    toast(`${site.url} ${enabled ? "enabled" : "disabled"}.`);
  } catch (error) {
    toast("The site could not be changed: " + describe(error));
  }
  loadSites();
}

async function removeSite(site) {
  if (!(await confirmAction(`Remove ${site.url}? Cron runs stop calling it.`))) return;
  try {
    await api("DELETE", "/sites", { query: { url: site.url } });
    toast(`${site.url} removed.`);
  } catch (error) {
    toast("The site could not be removed: " + describe(error));
  }
  loadSites();
}

async function addSites(urls, message) {
  try {
    const { data } = await api("POST", "/sites", { body: { sites: urls } });
    say(message, `Added ${data.count ?? urls.length} site${urls.length === 1 ? "" : "s"}.`, true);
  } catch (error) {
    say(message, "The sites could not be added: " + describe(error));
    return false;
  }
  loadSites();
  return true;
}

// `wp site list --field=url` prints one URL per line; anything else (a blank line, a warning
// WP-CLI printed) is skipped and named, never sent.
function parseSiteList(text) {
  const urls = [];
  const skipped = [];
  for (const line of text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean)) {
    if (/^https?:\/\/[^\s/]+\S*$/i.test(line)) {
      if (!urls.includes(line)) urls.push(line);
    } else {
      skipped.push(line);
    }
  }
  return { urls, skipped };
}

function previewImport() {
  const { urls, skipped } = parseSiteList($("#sites-import-text").value);
  const parts = [`${urls.length} URL${urls.length === 1 ? "" : "s"} to import`];
  if (skipped.length) parts.push(`${skipped.length} line${skipped.length === 1 ? "" : "s"} skipped (not an http(s) URL): ${skipped.slice(0, 3).join(", ")}${skipped.length > 3 ? ", …" : ""}`);
  $("#sites-import-preview").textContent = parts.join("; ") + ".";
  return urls;
}

async function submitSite(event) {
  event.preventDefault();
  const input = $("#site-url");
  const url = input.value.trim();
  if (!fieldError(input, /^https?:\/\/[^\s/]+\S*$/i.test(url) ? "" : "Enter the site's http:// or https:// URL.")) return input.focus();
  if (await addSites([url], $("#site-form-message"))) input.value = "";
}

async function submitImport(event) {
  event.preventDefault();
  const urls = previewImport();
  const message = $("#sites-import-message");
  if (!urls.length) return say(message, "Paste the output of wp site list --field=url: one URL per line.");
  if (await addSites(urls, message)) {
    $("#sites-import-text").value = "";
    previewImport();
  }
}

// --- tokens ------------------------------------------------------------------------------------

async function loadTokens() {
  const message = $("#tokens-message");
  let tokens;
  try {
    const { data } = await api("GET", "/tokens");
    tokens = data.data || [];
  } catch (error) {
    say(message, "Tokens could not be loaded: " + describe(error));
    return;
  }
  say(message, "");
  fillBody("#tokens-table", 
    ...tokens.map((t) =>
      el(
        "tr",
        { "data-token": t.id },
        el("td", { text: t.name || t.id }),
        el("td", { text: t.scope }),
        el("td", { class: "num", text: t.rate_limit ?? "default" }),
        el("td", { text: when(t.created_at) }),
        el("td", { text: when(t.last_used_at || t.last_used) }),
        el(
          "td",
          {},
          t.revoked
            ? el("span", { class: "badge s-cancelled", text: "revoked" })
            : el("button", { type: "button", class: "danger", "aria-label": `Revoke ${t.name || t.id}`, onclick: () => revokeToken(t), text: "Revoke" }),
        ),
      ),
    ),
  );
}

async function submitToken(event) {
  event.preventDefault();
  const name = $("#token-name");
  const message = $("#token-form-message");
  if (!fieldError(name, name.value.trim() ? "" : "Give the token a name.")) return name.focus();
  try {
    const body = { name: name.value.trim(), scope: $("#token-scope").value };
    const limit = $("#token-rate-limit");
    if (!fieldError(limit, !limit.value || (Number.isInteger(Number(limit.value)) && Number(limit.value) >= 1) ? "" : "A whole number of calls per minute, 1 or more.")) {
      return limit.focus();
    }
    if (limit.value) body.rate_limit = Number(limit.value);
    const { data } = await api("POST", "/tokens", { body });
    $("#token-secret-value").value = data.token;
    $("#token-secret").hidden = false;
    say(message, data.message || "Token created.", true);
    name.value = "";
    limit.value = "";
    $("#token-secret-value").select();
    loadTokens();
  } catch (error) {
    say(message, "The token could not be created: " + describe(error));
  }
}

async function revokeToken(t) {
  if (!(await confirmAction(`Revoke token "${t.name || t.id}"? Clients using it stop working at once.`))) return;
  try {
    await api("DELETE", "/tokens/" + encodeURIComponent(t.id));
    toast("Token revoked.");
  } catch (error) {
    toast("Revoke failed: " + describe(error));
  }
  loadTokens();
}

// --- wiring ------------------------------------------------------------------------------------

function wire() {
  $("#login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = $("#login-token").value.trim();
    if (!value) return say($("#login-message"), "Enter a token.");
    say($("#login-message"), "");
    try {
      await signIn(value);
    } catch (error) {
      say($("#login-message"), describe(error));
      $("#login-token").focus();
    }
  });
  $("#sign-out").addEventListener("click", () => signOut("Signed out."));
  $("#login-submit").disabled = false; // enabled only once the form is handled here
  for (const button of $$("#nav button")) button.addEventListener("click", () => show(button.dataset.view));
  $("#refresh").addEventListener("click", () => {
    loadOverview();
    schedulePoll();
  });
  $("#auto-refresh").addEventListener("change", () => schedulePoll());
  // A hidden tab polls slower; back in view, its next refresh keeps the visible pace.
  document.addEventListener("visibilitychange", () => schedulePoll());
  $("#job-search").addEventListener("submit", findJob);
  for (const button of $$("#job-tabs button")) button.addEventListener("click", () => setJobTab(button.dataset.tab));
  $("#site-form").addEventListener("submit", submitSite);
  $("#sites-import").addEventListener("submit", submitImport);
  $("#sites-import-text").addEventListener("input", previewImport);

  $("#job-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    if (!form.reportValidity()) return;
    state.jobs.filters = { status: form.status.value, queue: form.queue.value.trim(), type: form.type.value.trim() };
    state.jobs.perPage = Number(form.per_page.value);
    setOrder(form.order.value === "newest");
    loadJobs();
  });
  $("#job-filters").addEventListener("reset", () => {
    state.jobs.filters = {};
    setOrder(true);
    setTimeout(loadJobs);
  });
  $("#sort-created").addEventListener("click", () => {
    setOrder(!state.jobs.newestFirst);
    loadJobs();
  });
  $("#page-prev").addEventListener("click", () => {
    state.jobs.page = Math.max(1, state.jobs.page - 1);
    loadJobs();
  });
  $("#page-next").addEventListener("click", () => {
    state.jobs.page = Math.min(state.jobs.pages, state.jobs.page + 1);
    loadJobs();
  });
  $("#job-dialog [data-close]").addEventListener("click", () => $("#job-dialog").close());
  $("#job-cancel").addEventListener("click", () => cancelJob(state.openJob.id));
  $("#job-retry").addEventListener("click", () => retryJob(state.openJob.id));
  $("#job-run-now").addEventListener("click", () => runNow(state.openJob.id));

  $("#clear-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!event.target.reportValidity()) return;
    const queue = $("#clear-queue").value.trim();
    if (!(await confirmAction(`Clear queue "${queue}"? Every job waiting in it is cancelled.`))) return;
    try {
      const { data } = await api("POST", `/queues/${encodeURIComponent(queue)}/clear`);
      toast(data.message || `Queue ${queue} cleared.`);
    } catch (error) {
      toast("Clear failed: " + describe(error));
    }
    loadJobs();
  });
  $("#purge-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!event.target.reportValidity()) return;
    const days = Number($("#purge-days").value);
    if (!(await confirmAction(`Delete finished jobs older than ${days} days? This cannot be undone.`))) return;
    try {
      const { data } = await api("POST", "/jobs/purge", { body: { older_than_days: days } });
      toast(data.message || "Old jobs purged.");
    } catch (error) {
      toast("Purge failed: " + describe(error));
    }
    loadJobs();
  });

  buildCreateForm();
  $("#create-form").addEventListener("submit", submitCreate);
  $("#trigger-form").addEventListener("submit", submitTrigger);
  $("#cron-form").addEventListener("submit", submitCron);
  $("#token-form").addEventListener("submit", submitToken);
  $("#token-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("#token-secret-value").value);
      toast("Copied.");
    } catch {
      $("#token-secret-value").select();
      toast("Select and copy the token by hand.");
    }
  });
}

async function start() {
  wire();
  if (!token()) return signOut("");
  try {
    await signIn(token());
  } catch (error) {
    signOut(describe(error));
  }
}

// index.html adds this script dynamically, so the document may be parsed already.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
