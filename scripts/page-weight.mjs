#!/usr/bin/env node
// Page weight and time to interactive of the messenger's pages, in Debian's Chromium.
//
//   node scripts/page-weight.mjs --url http://127.0.0.1:PORT [--json-out FILE] [--db NAME] [--samples N] [--verbose]
//
// 1. A first visit in an empty browser context: /login, sign-up through the form, the messenger
//    at / with its chat list. Counts the bytes on the wire of every HTTP response (CDP
//    Network.loadingFinished.encodedDataLength: headers and body as transferred, compressed
//    as served); WebSocket frames are not HTTP responses and are left out.
// 2. Under DevTools' "Fast 3G" and a 4x slower CPU: a cold /login until hydrated, and a
//    signed-in reload of / (cache warm from one earlier visit) until the chat list shows and
//    the page is hydrated; each N times in fresh contexts, median reported.
//
// With --json-out FILE one JSON line is appended to FILE. Playwright comes from end2end/.
import { createRequire } from "node:module";
import { appendFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

const require = createRequire(new URL("../end2end/package.json", import.meta.url));
let chromium;
try {
  ({ chromium } = require("@playwright/test"));
} catch {
  fail("Playwright is missing: run `cd end2end && npm ci --no-audit --no-fund`");
}

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
// DevTools' "Fast 3G": 1.6 Mbps x 0.9 down, 750 kbps x 0.9 up, 150 ms x 3.75 round trip.
const FAST_3G = { offline: false, latency: 562.5, downloadThroughput: 180000, uploadThroughput: 84375 };
const CPU_SLOWDOWN = 4;
// Every wait gives up after this long.
const WAIT_MS = 60_000;
// The whole run gives up after this long.
const RUN_MS = 15 * 60_000;
const HYDRATED = "body[data-hydrated]";
// The sidebar's chat list, or its "No chats yet" note when there are none.
const CHATS_SHOWN = ".sidebar ul.chat-list, .sidebar p.empty";

function fail(message) {
  console.error(`page-weight: ${String(message).replace(/\x1b\[[0-9;]*m/g, "")}`);
  process.exit(1);
}

function parseArgs(argv) {
  const options = { url: null, jsonOut: null, db: "sqlite", samples: 3, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) fail(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case "--url":
        options.url = value().replace(/\/+$/, "");
        break;
      case "--json-out":
        options.jsonOut = value();
        break;
      case "--db":
        options.db = value();
        break;
      case "--samples":
        options.samples = Number(value());
        if (!Number.isInteger(options.samples) || options.samples < 1) fail("--samples takes a positive integer");
        break;
      case "--verbose":
        options.verbose = true;
        break;
      case "-h":
      case "--help":
        console.log("usage: node scripts/page-weight.mjs --url http://127.0.0.1:PORT [--json-out FILE] [--db NAME] [--samples N] [--verbose]");
        process.exit(0);
        break;
      default:
        fail(`unknown argument ${argv[i]} (see --help)`);
    }
  }
  if (!options.url) fail("--url is required, e.g. --url http://127.0.0.1:3000");
  return options;
}

const kb = (bytes) => (bytes / 1000).toFixed(1);
const seconds = (ms) => (ms == null || Number.isNaN(ms) ? "?" : (ms / 1000).toFixed(2));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round1 = (ms) => Math.round(ms * 10) / 10;

/** Rejects after `ms` with `what` in the message. */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function checkServer(base) {
  let response;
  try {
    response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    fail(`the server at ${base} does not answer (${e.cause?.code ?? e.cause?.errors?.[0]?.code ?? e.cause?.message ?? e.message})`);
  }
  if (response.status !== 200) fail(`${base}/healthz answered ${response.status}`);
}

/** A resource type for the breakdown: CDP's, lower-cased, with WebAssembly apart. */
function kindOf(type, url, mimeType) {
  if (mimeType === "application/wasm" || /\.wasm(\?|$)/.test(url)) return "wasm";
  return (type || "other").toLowerCase();
}

/**
 * Records the HTTP responses a page receives over CDP: per request its URL, type, status,
 * content-encoding and bytes on the wire. Also counts WebSocket frames, which are not added in.
 */
class Recorder {
  constructor(cdp) {
    this.cdp = cdp;
    this.requests = new Map();
    this.finished = [];
    this.failed = [];
    this.redirects = [];
    this.fromCache = 0;
    this.inflight = new Set();
    this.lastActivity = Date.now();
    this.ws = { sockets: 0, frames: 0, payloadBytes: 0 };
    this.started = Date.now();
    cdp.on("Network.requestWillBeSent", (e) => {
      if (!/^https?:/.test(e.request.url)) return;
      if (e.redirectResponse) {
        // A redirect reuses the request id; its response is counted on its own.
        const before = this.requests.get(e.requestId);
        this.redirects.push({
          url: e.redirectResponse.url,
          status: e.redirectResponse.status,
          bytes: e.redirectResponse.encodedDataLength ?? 0,
          type: before?.type ?? "other",
          encoding: "",
          method: before?.method ?? "GET",
        });
      }
      this.requests.set(e.requestId, {
        url: e.request.url,
        method: e.request.method,
        type: e.type,
        mimeType: "",
        status: 0,
        encoding: "",
        at: Date.now() - this.started,
        initiator: e.initiator?.type ?? "",
      });
      this.inflight.add(e.requestId);
      this.lastActivity = Date.now();
    });
    cdp.on("Network.responseReceived", (e) => {
      const r = this.requests.get(e.requestId);
      if (!r) return;
      const headers = Object.fromEntries(Object.entries(e.response.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      r.type = e.type ?? r.type;
      r.mimeType = e.response.mimeType;
      r.status = e.response.status;
      r.encoding = headers["content-encoding"] ?? "";
      r.cacheControl = headers["cache-control"] ?? "";
      if (e.response.fromDiskCache || e.response.fromPrefetchCache || e.response.fromServiceWorker) r.cached = true;
    });
    cdp.on("Network.requestServedFromCache", (e) => {
      const r = this.requests.get(e.requestId);
      if (r) r.cached = true;
    });
    cdp.on("Network.loadingFinished", (e) => {
      const r = this.requests.get(e.requestId);
      if (!r) return;
      this.inflight.delete(e.requestId);
      this.lastActivity = Date.now();
      if (r.cached) this.fromCache++;
      this.finished.push({ ...r, bytes: e.encodedDataLength });
    });
    cdp.on("Network.loadingFailed", (e) => {
      const r = this.requests.get(e.requestId);
      if (!r) return;
      this.inflight.delete(e.requestId);
      this.lastActivity = Date.now();
      this.failed.push({ ...r, error: e.errorText, canceled: e.canceled });
    });
    const frame = (e) => {
      this.ws.frames++;
      this.ws.payloadBytes += e.response?.payloadData?.length ?? 0;
    };
    cdp.on("Network.webSocketCreated", () => this.ws.sockets++);
    cdp.on("Network.webSocketFrameReceived", frame);
    cdp.on("Network.webSocketFrameSent", frame);
  }

  /** Waits until no HTTP request has been in flight for `quietMs` (at most `maxMs`). */
  async settle(quietMs = 750, maxMs = 10_000) {
    const started = Date.now();
    while (Date.now() - started < maxMs) {
      if (this.inflight.size === 0 && Date.now() - this.lastActivity >= quietMs) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }

  /** Every counted response: the finished ones and the redirects. */
  responses() {
    return [...this.redirects, ...this.finished].map((r) => ({ ...r, kind: kindOf(r.type, r.url, r.mimeType) }));
  }
}

async function newPage(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.setDefaultNavigationTimeout(WAIT_MS);
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  return { context, page, cdp, problems };
}

async function throttle(cdp) {
  await cdp.send("Network.emulateNetworkConditions", FAST_3G);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: CPU_SLOWDOWN });
}

/**
 * Signs up someone new through /login's form, from a page on which /login is hydrated, and
 * waits for the messenger at / with its chat list.
 */
async function signUp(page) {
  const tag = `${Date.now()}-${randomBytes(3).toString("hex")}`;
  const email = `page-weight-${tag}@example.com`;
  const name = `Weigher ${tag.slice(-6)}`;
  const password = `pw-${randomBytes(9).toString("base64url")}-scale`;
  await page.getByRole("tab", { name: "Create account" }).click();
  const form = page.locator("form.auth-form");
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Password").fill(password);
  await form.getByRole("button", { name: "Create account", exact: true }).click();
  // Either the messenger or a complaint next to a field / about the form.
  const messenger = page.getByTestId("whoami").filter({ hasText: name });
  const complaint = page.locator("form.auth-form .field-error, form.auth-form .form-error:not(:empty)");
  await messenger.or(complaint).first().waitFor({ state: "visible" });
  if (!(await messenger.isVisible())) {
    const said = (await complaint.allInnerTexts()).join("; ");
    throw new Error(`signing up ${email} failed: ${said}`);
  }
  await page.waitForURL((url) => url.pathname === "/");
  await page.locator(HYDRATED).waitFor({ state: "attached" });
  await page.locator(CHATS_SHOWN).first().waitFor({ state: "visible" });
  return { email, name };
}

/** 1: the bytes of a first visit. */
async function measureWeight(browser, base) {
  const { context, page, cdp, problems } = await newPage(browser);
  try {
    const recorder = new Recorder(cdp);
    await page.goto(`${base}/login`, { waitUntil: "commit" });
    await page.locator(HYDRATED).waitFor({ state: "attached" });
    await signUp(page);
    const settled = await recorder.settle();
    const responses = recorder.responses();
    const total = responses.reduce((sum, r) => sum + r.bytes, 0);
    const byType = {};
    for (const r of responses) byType[r.kind] = (byType[r.kind] ?? 0) + r.bytes;
    const largest = responses
      .filter((r) => !r.cached)
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, 10)
      .map((r) => ({ path: new URL(r.url).pathname, type: r.kind, bytes: r.bytes, encoding: r.encoding || "identity" }));
    return { total, byType, largest, responses, recorder, settled, problems };
  } finally {
    await context.close();
  }
}

/** Navigation and paint timings of the page, in ms from navigation start. */
async function paintTimings(page) {
  return page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const paint = Object.fromEntries(performance.getEntriesByType("paint").map((p) => [p.name, p.startTime]));
    return {
      firstPaint: paint["first-paint"] ?? null,
      firstContentfulPaint: paint["first-contentful-paint"] ?? null,
      domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
      load: nav ? nav.loadEventEnd : null,
      responseEnd: nav ? nav.responseEnd : null,
    };
  });
}

/** 2a: a cold /login under throttling, until hydrated. */
async function measureLogin(browser, base) {
  const { context, page, cdp, problems } = await newPage(browser);
  try {
    await throttle(cdp);
    const started = performance.now();
    await page.goto(`${base}/login`, { waitUntil: "commit" });
    await page.locator(HYDRATED).waitFor({ state: "attached" });
    const ms = performance.now() - started;
    return { ms, timings: await paintTimings(page), problems };
  } finally {
    await context.close();
  }
}

/** 2b: signed up and / opened once unthrottled, then a throttled reload of / until the chats show. */
async function measureReload(browser, base) {
  const { context, page, cdp, problems } = await newPage(browser);
  try {
    const recorder = new Recorder(cdp);
    await page.goto(`${base}/login`, { waitUntil: "commit" });
    await page.locator(HYDRATED).waitFor({ state: "attached" });
    await signUp(page);
    // Saved Messages, so that the list has a chat in it.
    await page.getByRole("tab", { name: "People" }).click();
    await page.getByTestId("saved-messages").click();
    await page.getByTestId("chat-title").filter({ hasText: "Saved Messages" }).waitFor();
    await page.getByRole("tab", { name: "Chats" }).click();
    await page.getByTestId("chat-item").first().waitFor({ state: "visible" });
    await recorder.settle();
    const before = recorder.finished.length;
    const cachedBefore = recorder.fromCache;

    await throttle(cdp);
    const started = performance.now();
    await page.reload({ waitUntil: "commit" });
    await Promise.all([
      page.locator(HYDRATED).waitFor({ state: "attached" }),
      page.locator(CHATS_SHOWN).first().waitFor({ state: "visible" }),
    ]);
    const ms = performance.now() - started;
    const items = await page.getByTestId("chat-item").count();
    await recorder.settle();
    const after = recorder.finished.slice(before).map((r) => ({ ...r, kind: kindOf(r.type, r.url, r.mimeType) }));
    const bytes = after.reduce((sum, r) => sum + r.bytes, 0);
    return { ms, items, bytes, requests: after, fromCache: recorder.fromCache - cachedBefore, problems };
  } finally {
    await context.close();
  }
}

/** Things in a first visit worth a second look: repeats, errors, text served uncompressed. */
function oddities(weight) {
  const notes = [];
  const seen = new Map();
  for (const r of weight.responses) {
    if (r.cached) continue;
    const key = `${r.method} ${r.url}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  for (const [key, count] of seen) {
    const [method, url] = key.split(" ");
    if (count > 1) notes.push(`${count} times over the network: ${method} ${new URL(url).pathname}`);
  }
  for (const r of weight.responses) {
    const path = new URL(r.url).pathname;
    if (r.status >= 400) notes.push(`${r.status} for ${r.method} ${path}`);
    if (r.status >= 300 && r.status < 400) notes.push(`redirect ${r.status} from ${path}`);
    const textual = /^(text\/|application\/(javascript|json|wasm|xml)|image\/svg)/.test(r.mimeType ?? "") || r.kind === "wasm";
    if (textual && !r.encoding && r.bytes > 1500) notes.push(`served uncompressed: ${path} (${kb(r.bytes)} KB)`);
  }
  for (const r of weight.recorder.failed) {
    if (!r.canceled) notes.push(`failed: ${r.method} ${new URL(r.url).pathname} (${r.error})`);
  }
  if (!weight.settled) notes.push("requests were still going 10 s after the chat list showed");
  return notes;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  await checkServer(options.url);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const weight = await withTimeout(measureWeight(browser, options.url), 2 * WAIT_MS, "the first visit");
    const logins = [];
    const reloads = [];
    for (let i = 0; i < options.samples; i++) {
      logins.push(await withTimeout(measureLogin(browser, options.url), 2 * WAIT_MS, "the throttled /login"));
    }
    for (let i = 0; i < options.samples; i++) {
      reloads.push(await withTimeout(measureReload(browser, options.url), 3 * WAIT_MS, "the throttled reload of /"));
    }
    report(options, weight, logins, reloads);
  } finally {
    await browser.close().catch(() => {});
  }
}

function report(options, weight, logins, reloads) {
  const loginMs = logins.map((s) => round1(s.ms));
  const reloadMs = reloads.map((s) => round1(s.ms));
  const timing = (key) => {
    const values = logins.map((s) => s.timings[key]).filter((v) => v != null);
    return values.length ? round1(median(values)) : null;
  };
  const types = Object.entries(weight.byType).sort((a, b) => b[1] - a[1]);
  const lines = [
    `== page-weight · messenger (${options.url}) ==`,
    `  first visit (/login, sign-up, /)   ${kb(weight.total)} KB on the wire in ${weight.responses.filter((r) => !r.cached).length} HTTP responses, ${weight.responses.filter((r) => r.cached).length} more from cache (WebSocket frames not counted: ${weight.recorder.ws.sockets} socket(s), ${weight.recorder.ws.frames} frames, ${kb(weight.recorder.ws.payloadBytes)} KB payload)`,
    `    ${types.map(([type, bytes]) => `${type} ${kb(bytes)} KB`).join(", ")}`,
    `    largest:`,
    ...weight.largest.map((r) => `      ${r.path.padEnd(40)} ${r.type.padEnd(10)} ${kb(r.bytes).padStart(8)} KB ${r.encoding}`),
    `  Fast 3G + ${CPU_SLOWDOWN}× CPU:`,
    `    /login usable after ${seconds(median(loginMs))} s (${loginMs.map(seconds).join(", ")}); ` +
      `first paint ${seconds(timing("firstPaint"))} s, first contentful paint ${seconds(timing("firstContentfulPaint"))} s, DOMContentLoaded ${seconds(timing("domContentLoaded"))} s, load ${seconds(timing("load"))} s (medians, from navigation start)`,
    `    signed-in reload shows chats after ${seconds(median(reloadMs))} s (${reloadMs.map(seconds).join(", ")}); ` +
      `${kb(median(reloads.map((r) => r.bytes)))} KB on the wire, ${median(reloads.map((r) => r.fromCache))} responses from cache, ${reloads[0].items} chat(s) listed`,
  ];
  const reloadPaths = reloads[0].requests.map((r) => `${r.cached ? "cache" : r.status} ${new URL(r.url).pathname}`);
  lines.push(`    reload requests: ${reloadPaths.join(", ")}`);
  const notes = oddities(weight);
  const problems = [...new Set([...weight.problems, ...logins.flatMap((s) => s.problems), ...reloads.flatMap((s) => s.problems)])];
  if (notes.length || problems.length) {
    lines.push("  worth a look:");
    for (const note of [...notes, ...problems]) lines.push(`    ${note}`);
  }
  if (options.verbose) {
    lines.push("  every response of the first visit (ms from the start, status, method, path, type, bytes, encoding, cache-control, initiator):");
    for (const r of [...weight.responses].sort((a, b) => a.at - b.at)) {
      const path = new URL(r.url).pathname;
      lines.push(`    ${String(r.at).padStart(6)} ${r.cached ? "cache" : r.status} ${r.method} ${path} ${r.kind} ${r.bytes} ${r.encoding || "identity"} "${r.cacheControl ?? ""}" ${r.initiator}`);
    }
  }
  console.log(lines.join("\n"));

  if (options.jsonOut) {
    const record = {
      scenario: "page-weight",
      target: "messenger",
      db: options.db,
      params: { network: "fast-3g", cpu_slowdown: CPU_SLOWDOWN, samples: options.samples },
      bytes_total: weight.total,
      kb_total: Number(kb(weight.total)),
      by_type: Object.fromEntries(types),
      largest: weight.largest,
      login_interactive_ms: { median: round1(median(loginMs)), samples: loginMs },
      login_paint_ms: { first_paint: timing("firstPaint"), first_contentful_paint: timing("firstContentfulPaint"), dom_content_loaded: timing("domContentLoaded") },
      reload_chats_ms: { median: round1(median(reloadMs)), samples: reloadMs },
      reload_bytes: median(reloads.map((r) => r.bytes)),
      unix_time: Math.floor(Date.now() / 1000),
    };
    appendFileSync(options.jsonOut, `${JSON.stringify(record)}\n`);
  }
}

const watchdog = setTimeout(() => fail(`gave up after ${RUN_MS / 60_000} minutes`), RUN_MS);
watchdog.unref();
main().then(
  () => process.exit(0),
  (e) => fail(e?.message ?? String(e)),
);
