// Proxy overhead of the OpenAI-compatible gateway: a non-streamed completion straight to the runtime and through the
// control plane's /v1, side by side in one run, on loopback. Starts its own server (the Release build), deploys the
// generated sample GGUF with the local shimlet (one replica, so both paths reach the same process), then alternates
// closed-loop phases direct / gateway at each concurrency and prints a Markdown table. Bounded: every phase runs for
// --seconds (default 5), two rounds per concurrency.
// usage: node bench/gateway.mjs [--seconds=5] [--concurrency=1,4] [--rounds=2] [--max-tokens=1]
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=")));
const seconds = Number(args.seconds ?? 5);
const concurrencies = String(args.concurrency ?? "1,4").split(",").map(Number);
const rounds = Number(args.rounds ?? 2);
const maxTokens = Number(args["max-tokens"] ?? 1);
const repo = path.resolve(import.meta.dirname, "..");
const hostDll = path.join(repo, "src", "ModelServeShim", "bin", "Release", "net10.0", "model-serve-shim.dll");
const work = mkdtempSync(path.join(os.tmpdir(), "mss-gw-bench-"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () => new Promise((resolve) => {
  const probe = createServer().listen(0, "127.0.0.1", () => { const { port } = probe.address(); probe.close(() => resolve(port)); });
});

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const models = path.join(work, "models");
spawnSync("dotnet", [hostDll, "models", "make-sample", models], { stdio: "ignore" });
const server = spawn("dotnet", [hostDll, `--port=${port}`, "--listen=127.0.0.1", `--data-dir=${path.join(work, "data")}`,
  `--workflows-dir=${path.join(repo, "workflows")}`, `--Models:Roots:0=${models}`], {
  stdio: "ignore", env: { ...process.env, Logging__LogLevel__Default: "Warning" },
});
let serviceId;
try {
  for (let i = 0; !(await fetch(`${base}/healthz`).then((r) => r.ok, () => false)); i++) {
    if (i > 300) throw new Error("the server did not start");
    await sleep(200);
  }

  const deployed = await (await fetch(`${base}/api/v1/modserv/deploy`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ modelName: "sample", modelFile: path.join(models, "sample-llama-f32.gguf"), shimlet: "local", replicaCount: 1,
      resourceRequirements: { acceleratorCount: 0, cpu: "2", memory: "4Gi" } }),
  })).json();
  serviceId = deployed.data.serviceId;
  let endpoint;
  for (;;) {
    const service = (await (await fetch(`${base}/api/v1/modserv/${serviceId}`)).json()).data.service;
    if (service.state === "Failed") throw new Error("the deploy failed");
    if (service.state === "Running") { endpoint = service.endpoint; break; }
    await sleep(200);
  }

  const body = JSON.stringify({ model: "sample", prompt: "Once upon a time", max_tokens: maxTokens, temperature: 0 });
  const targets = { direct: new URL("/v1/completions", endpoint), gateway: new URL("/v1/completions", base) };

  const post = (agent, url) => new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const request = http.request(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (response) => {
      response.on("data", () => {});
      response.on("end", () => (response.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`status ${response.statusCode}`))));
    });
    request.on("error", reject);
    request.end(body);
  });

  async function phase(url, concurrency) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    for (let i = 0; i < concurrency * 20; i++) await post(agent, url); // warm-up: connections, JIT, caches
    const latencies = [];
    const deadline = Date.now() + seconds * 1000;
    const started = process.hrtime.bigint();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) latencies.push(await post(agent, url));
    }));
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    agent.destroy();
    return { latencies, elapsed };
  }

  const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  const rows = [];
  for (const concurrency of concurrencies) {
    const all = { direct: { latencies: [], elapsed: 0 }, gateway: { latencies: [], elapsed: 0 } };
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 === 0 ? ["direct", "gateway"] : ["gateway", "direct"]) {
        const r = await phase(targets[name], concurrency);
        all[name].latencies.push(...r.latencies);
        all[name].elapsed += r.elapsed;
      }
    }

    const stats = Object.fromEntries(Object.entries(all).map(([name, r]) => {
      const sorted = r.latencies.sort((a, b) => a - b);
      return [name, { n: sorted.length, rps: sorted.length / r.elapsed, p50: pct(sorted, 50), p99: pct(sorted, 99) }];
    }));
    for (const name of ["direct", "gateway"]) {
      const s = stats[name];
      rows.push(`| ${name} | ${concurrency} | ${s.n} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} |`
        + (name === "gateway" ? ` +${(s.p50 - stats.direct.p50).toFixed(2)} ms p50, ${((100 * s.rps) / stats.direct.rps).toFixed(0)} % of direct req/s |` : " |"));
    }
  }

  console.log(`Command: \`node bench/gateway.mjs --seconds=${seconds} --concurrency=${concurrencies.join(",")} --rounds=${rounds} --max-tokens=${maxTokens}\``);
  console.log(`Machine: nproc ${os.cpus().length}, ${os.cpus()[0].model}, Node ${process.version}, load average at end ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}. Run ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC.`);
  console.log("");
  console.log("| Path | C | requests | req/s | p50 ms | p99 ms | gateway vs direct |");
  console.log("|---|---:|---:|---:|---:|---:|---|");
  for (const row of rows) console.log(row);
} finally {
  if (serviceId) {
    await fetch(`${base}/api/v1/modserv/${serviceId}`, { method: "DELETE" }).catch(() => {});
    for (let i = 0; i < 100; i++) {
      const state = await fetch(`${base}/api/v1/modserv/${serviceId}`).then((r) => r.json()).then((j) => j.data.service.state, () => "?");
      if (state === "Stopped") break;
      await sleep(100);
    }
  }

  server.kill("SIGTERM");
  await sleep(500);
  rmSync(work, { recursive: true, force: true });
}
