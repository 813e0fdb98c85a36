// UI soak: keeps dashboard pages open while the server streams a steady flood of events, and samples
// each page's JS heap (after a forced GC), DOM node and event-listener counts, so a leak shows as growth.
// Usage (server running, designer packages installed):
//   node bench/ui-soak.mjs [--base=http://localhost:8080] [--minutes=10] [--rate=4] [--key=<api key>]
// It saves a pipeline "ui-soak" (Log → Delay → Log) and runs it `rate` times a second; it deploys one dry-run
// service (--model, a GGUF inside the server's model root) and redeploys it every 15 s, so service events flow
// too. It keeps open: the services list, that service's detail page (whose state timeline legitimately grows
// by a few entries per redeploy), a run page following a long-running instance's journal, and the pipelines list.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.resolve(import.meta.dirname, "../designer/package.json"));
const { chromium } = require("playwright-core");

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=").slice(1).join("=") ?? fallback;
const base = arg("base", "http://localhost:8080");
const minutes = Number(arg("minutes", "10"));
const rate = Number(arg("rate", "4"));
const key = arg("key", "");
const model = arg("model", "");
if (!model) throw new Error("--model=<path of a GGUF inside the server's model root> is required (model-serve-shim models make-sample <dir>)");
const headers = { "Content-Type": "application/json", ...(key ? { Authorization: `Bearer ${key}` } : {}) };

async function call(method, url, body) {
  const r = await fetch(base + url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${await r.text()}`);
  return r.json();
}

const step = (id, type, inputs) => ({ id, type, inputs });
await call("POST", "/api/v1/workflow-definitions", {
  definitionId: "ui-soak",
  name: "UI soak",
  root: {
    type: "Flowchart",
    activities: [step("hello", "ModelServeShim.Log", { message: "soak start" }), step("wait", "ModelServeShim.Delay", { duration: "50ms" }), step("bye", "ModelServeShim.Log", { message: "soak end" })],
    connections: [
      { source: { activity: "hello" }, target: { activity: "wait" } },
      { source: { activity: "wait" }, target: { activity: "bye" } },
    ],
  },
});
// A long run whose journal the run page follows for the whole soak: a log line, then a long delay.
await call("POST", "/api/v1/workflow-definitions", {
  definitionId: "ui-soak-long",
  name: "UI soak (long)",
  root: {
    type: "Flowchart",
    activities: [step("hello", "ModelServeShim.Log", { message: "long run" }), step("wait", "ModelServeShim.Delay", { duration: `${minutes + 5}m` })],
    connections: [{ source: { activity: "hello" }, target: { activity: "wait" } }],
  },
});
const long = await call("POST", "/api/v1/workflow-definitions/ui-soak-long/execute", {});
const longId = long.id;
const dry = await call("POST", "/api/v1/modserv/deploy", {
  modelName: "ui-soak",
  modelFile: model,
  resourceRequirements: { acceleratorCount: 0, cpu: "1", memory: "1Gi" },
  dryRun: true,
});
const serviceId = dry.data.serviceId;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const context = await browser.newContext();
if (key) await context.addInitScript((k) => sessionStorage.setItem("mss.apiKey", k), key);
const pages = [];
for (const route of ["/services", `/services/${serviceId}`, `/instances/${longId}`, "/pipelines"]) {
  const page = await context.newPage();
  await page.goto(base + route);
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  pages.push({ route, page, cdp });
}

const label = (route) => route.replace(longId, "<instance>").replace(serviceId, "<service>");

async function sample() {
  const row = {};
  for (const p of pages) {
    await p.cdp.send("HeapProfiler.collectGarbage");
    const { metrics } = await p.cdp.send("Performance.getMetrics");
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
    row[p.route] = { heapMiB: +(m.JSHeapUsedSize / 1048576).toFixed(2), nodes: m.Nodes, listeners: m.JSEventListeners };
  }
  return row;
}

let runs = 0;
let redeploys = 0;
let failures = 0;
const timer = setInterval(() => {
  call("POST", "/api/v1/workflow-definitions/ui-soak/execute", {}).then(() => runs++, () => failures++);
}, 1000 / rate);
const redeployTimer = setInterval(() => {
  call("POST", `/api/v1/modserv/${serviceId}/redeploy`).then(() => redeploys++, () => failures++);
}, 15_000);

const started = Date.now();
const samples = [];
await new Promise((r) => setTimeout(r, 5000));
samples.push({ t: 0, ...(await sample()) });
while (Date.now() - started < minutes * 60_000) {
  await new Promise((r) => setTimeout(r, 30_000));
  samples.push({ t: Math.round((Date.now() - started) / 1000), ...(await sample()) });
  const last = samples.at(-1);
  console.log(`t=${last.t}s runs=${runs} redeploys=${redeploys} ` + pages.map((p) => `${label(p.route)}: ${last[p.route].heapMiB} MiB, ${last[p.route].nodes} nodes, ${last[p.route].listeners} listeners`).join(" | "));
}
clearInterval(timer);
clearInterval(redeployTimer);
const live = await pages[0].page.getByTestId("live-status").textContent();
const logRows = await pages[2].page.getByTestId("log-row").count();
console.log(`\n${runs} runs and ${redeploys} redeploys in ${minutes} min (${failures} failed requests); live indicator at the end: ${live?.trim()}; run page log rows: ${logRows}`);
console.log("| page | heap at start (MiB) | heap at end (MiB) | DOM nodes start → end | listeners start → end |");
console.log("|---|---|---|---|---|");
for (const p of pages) {
  const a = samples[0][p.route];
  const b = samples.at(-1)[p.route];
  console.log(`| ${label(p.route)} | ${a.heapMiB} | ${b.heapMiB} | ${a.nodes} → ${b.nodes} | ${a.listeners} → ${b.listeners} |`);
}
await call("POST", `/api/v1/workflow-instances/${longId}/cancel`).catch(() => {});
await browser.close();
