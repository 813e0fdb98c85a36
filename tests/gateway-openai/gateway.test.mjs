// The official OpenAI npm client against the control plane's OpenAI-compatible gateway (/v1), with nothing faked:
// a real model-serve-shim (the Release build) with API keys, the generated sample GGUF deployed by the local shimlet
// as two processes of the embedded llama.cpp runtime. Run: npm ci && npm test (after dotnet build -c Release).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";

const repo = path.resolve(import.meta.dirname, "..", "..");
const hostDll = path.join(repo, "src", "ModelServeShim", "bin", "Release", "net10.0", "model-serve-shim.dll");
const keys = { operator: "oa-operator-key-0123456789", consumer: "oa-consumer-key-0123456789", limited: "oa-limited-key-0123456789" };
const hash = (k) => "sha256:" + createHash("sha256").update(k).digest("hex");
const work = mkdtempSync(path.join(tmpdir(), "mss-openai-"));
let server;
let base;
let serviceId;

const freePort = () => new Promise((resolve, reject) => {
  const probe = createServer().listen(0, "127.0.0.1", () => { const { port } = probe.address(); probe.close(() => resolve(port)); });
  probe.on("error", reject);
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(method, url, body, key = keys.operator) {
  const response = await fetch(base + url, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, json: await response.json().catch(() => null) };
}

async function waitFor(what, probe, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last.ok) return last.value;
    await sleep(200);
  }
  assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(last?.value)}`);
}

const state = async () => (await api("GET", `/api/v1/modserv/${serviceId}`)).json?.data?.service?.state;
const metric = async (sample) => {
  const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${keys.operator}` } })).text();
  const line = text.split("\n").find((l) => l.startsWith(sample + " "));
  return line ? Number(line.slice(sample.length + 1)) : 0;
};
const client = (key, options = {}) => new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0, timeout: 60_000, ...options });

before(async () => {
  assert.ok(existsSync(hostDll), `build the server first: dotnet build src/ModelServeShim -c Release (${hostDll})`);
  const models = path.join(work, "models");
  const made = spawnSync("dotnet", [hostDll, "models", "make-sample", models], { encoding: "utf8" });
  assert.equal(made.status, 0, made.stderr);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn("dotnet", [hostDll, `--port=${port}`, "--listen=127.0.0.1", `--data-dir=${path.join(work, "data")}`,
    `--workflows-dir=${path.join(repo, "workflows")}`, `--Models:Roots:0=${models}`], {
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      Logging__LogLevel__Default: "Warning",
      Gateway__StatusRefreshInterval: "00:00:00.500",
      Auth__ApiKeys__0__Name: "ops", Auth__ApiKeys__0__Role: "operator", Auth__ApiKeys__0__KeyHash: hash(keys.operator),
      Auth__ApiKeys__1__Name: "app", Auth__ApiKeys__1__Role: "consumer", Auth__ApiKeys__1__KeyHash: hash(keys.consumer),
      Auth__ApiKeys__2__Name: "other-app", Auth__ApiKeys__2__Role: "consumer", Auth__ApiKeys__2__KeyHash: hash(keys.limited),
      Auth__ApiKeys__2__Models__0: "llama-*",
    },
  });
  await waitFor("the server", async () => ({ ok: await fetch(`${base}/healthz`).then((r) => r.ok, () => false) }), 60_000);

  const deployed = await api("POST", "/api/v1/modserv/deploy", {
    modelName: "sample", modelFile: path.join(models, "sample-llama-f32.gguf"), shimlet: "local", replicaCount: 2,
    resourceRequirements: { acceleratorCount: 0, cpu: "2", memory: "4Gi" },
  });
  assert.equal(deployed.status, 200, JSON.stringify(deployed.json));
  serviceId = deployed.json.data.serviceId;
  await waitFor("the service to be Running", async () => {
    const s = await state();
    assert.notEqual(s, "Failed");
    return { ok: s === "Running", value: s };
  });
});

after(async () => {
  try {
    if (serviceId) {
      await api("DELETE", `/api/v1/modserv/${serviceId}`);
      await waitFor("the service to stop", async () => ({ ok: (await state()) === "Stopped" }), 60_000).catch(() => {});
    }
  } finally {
    server?.kill("SIGTERM");
    await sleep(500);
    rmSync(work, { recursive: true, force: true });
  }
});

const usage = { prompt: 0, completion: 0 };

test("lists the deployed model", async () => {
  const page = await client(keys.consumer).models.list();
  const model = page.data.find((m) => m.id === "sample");
  assert.ok(model, JSON.stringify(page.data));
  assert.equal(model.owned_by, "modelserveshim");
  assert.equal(model.object, "model");
});

test("chat, plain and streamed, and completions; requests spread over both replicas", async () => {
  const openai = client(keys.consumer);
  for (let i = 0; i < 4; i++) {
    const chat = await openai.chat.completions.create({ model: "sample", messages: [{ role: "user", content: "Hello" }], max_tokens: 4, temperature: 0 });
    assert.equal(chat.object, "chat.completion");
    assert.equal(typeof chat.choices[0].message.content, "string");
    usage.prompt += chat.usage.prompt_tokens;
    usage.completion += chat.usage.completion_tokens;
  }

  const stream = await openai.chat.completions.create({ model: "sample", messages: [{ role: "user", content: "Hi" }], max_tokens: 4, stream: true });
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) {
      usage.prompt += chunk.usage.prompt_tokens;
      usage.completion += chunk.usage.completion_tokens;
    }
  }
  assert.ok(chunks >= 2, `only ${chunks} chunks`);

  const completion = await openai.completions.create({ model: serviceId, prompt: "Once upon a time", max_tokens: 4 });
  assert.equal(completion.object, "text_completion");
  assert.equal(completion.model, "sample");
  usage.prompt += completion.usage.prompt_tokens;
  usage.completion += completion.usage.completion_tokens;

  const record = JSON.parse(readFileSync(path.join(work, "data", "local-shimlet", "services", serviceId, "service.json"), "utf8"));
  assert.equal(record.replicas.length, 2);
  for (const replica of record.replicas) {
    const forwarded = await metric(`modserv_gateway_replica_requests_total{service="${serviceId}",replica="127.0.0.1:${replica.port}"}`);
    assert.ok(forwarded >= 2, `replica on port ${replica.port} got ${forwarded} of 6 requests`);
  }
});

test("metrics: token totals match what the client received", async () => {
  const labels = `service="${serviceId}",model="sample"`;
  assert.equal(await metric(`modserv_gateway_prompt_tokens_total{${labels}}`), usage.prompt);
  assert.equal(await metric(`modserv_gateway_completion_tokens_total{${labels}}`), usage.completion);
  assert.equal(await metric(`modserv_gateway_requests_total{${labels},api="chat/completions",status="200"}`), 5);
});

test("a killed replica: the next requests still succeed", async () => {
  const record = JSON.parse(readFileSync(path.join(work, "data", "local-shimlet", "services", serviceId, "service.json"), "utf8"));
  process.kill(record.replicas[0].pid, "SIGKILL");
  const openai = client(keys.consumer);
  for (let i = 0; i < 4; i++) {
    const completion = await openai.completions.create({ model: "sample", prompt: "Once", max_tokens: 2 });
    assert.equal(completion.choices.length, 1);
  }
});

test("unknown model: 404 listing the served names; missing key: 401; consumer elsewhere: 403; limited key: 403", async () => {
  await assert.rejects(client(keys.consumer).chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError, String(e));
    assert.equal(e.code, "model_not_found");
    assert.match(e.message, /sample/);
    return true;
  });
  await assert.rejects(client("not-a-key").models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.code === "invalid_api_key");
  assert.equal((await api("GET", "/api/v1/modserv", undefined, keys.consumer)).status, 403);
  await assert.rejects(client(keys.limited).completions.create({ model: "sample", prompt: "x", max_tokens: 1 }),
    (e) => e instanceof OpenAI.PermissionDeniedError && e.code === "model_not_allowed");
  assert.deepEqual((await client(keys.limited).models.list()).data, []);
});

test("during a redeploy: 503 with Retry-After", async () => {
  const redeploy = await api("POST", `/api/v1/modserv/${serviceId}/redeploy`);
  assert.equal(redeploy.status, 200, JSON.stringify(redeploy.json));
  await assert.rejects(client(keys.consumer).completions.create({ model: "sample", prompt: "x", max_tokens: 1 }), (e) => {
    assert.equal(e.status, 503, String(e));
    assert.equal(e.code, "model_not_ready");
    assert.ok(Number(e.headers.get("retry-after")) >= 1);
    return true;
  });
  await waitFor("the service to be Running again", async () => ({ ok: (await state()) === "Running" }));
  const completion = await client(keys.consumer, { maxRetries: 3 }).completions.create({ model: "sample", prompt: "Once", max_tokens: 2 });
  assert.equal(completion.object, "text_completion");
});
