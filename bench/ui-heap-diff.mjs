// Heap-snapshot diff of one page: what the page's heap gained between two snapshots (after forced GCs), by
// object kind, largest first — to tell a leak in the app from the browser's own capped buffers (layout shifts,
// resource timings) and compiled code. Drive traffic at the server meanwhile (e.g. redeploy a service).
// Usage: node bench/ui-heap-diff.mjs <page url> [milliseconds between snapshots, default 120000]
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.resolve(import.meta.dirname, "../designer/package.json"));
const { chromium } = require("playwright-core");
const [,, url, wait = "120000"] = process.argv;
const b = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless","--no-sandbox","--disable-gpu","--disable-background-networking","--disable-component-update","--disable-sync","--no-first-run"] });
const ctx = await b.newContext(); const p = await ctx.newPage(); await p.goto(url);
const cdp = await ctx.newCDPSession(p);
async function snap() {
  await cdp.send("HeapProfiler.collectGarbage");
  let chunks = [];
  const h = (e) => chunks.push(e.chunk);
  cdp.on("HeapProfiler.addHeapSnapshotChunk", h);
  await cdp.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  cdp.off("HeapProfiler.addHeapSnapshotChunk", h);
  const s = JSON.parse(chunks.join(""));
  const f = s.snapshot.meta.node_fields, nf = f.length;
  const ti = f.indexOf("type"), ni = f.indexOf("name"), si = f.indexOf("self_size");
  const types = s.snapshot.meta.node_types[0];
  const counts = new Map();
  for (let i = 0; i < s.nodes.length; i += nf) {
    const key = types[s.nodes[i + ti]] + ":" + s.strings[s.nodes[i + ni]].slice(0, 60);
    const c = counts.get(key) ?? [0, 0]; c[0]++; c[1] += s.nodes[i + si]; counts.set(key, c);
  }
  return counts;
}
await new Promise(r => setTimeout(r, 15000));
const a = await snap();
await new Promise(r => setTimeout(r, +wait));
const z = await snap();
const diffs = [];
for (const [k, v] of z) { const o = a.get(k) ?? [0, 0]; diffs.push([k, v[0] - o[0], v[1] - o[1]]); }
diffs.sort((x, y) => y[2] - x[2]);
for (const d of diffs.slice(0, 25)) console.log(d[1], d[2], d[0]);
await b.close();
