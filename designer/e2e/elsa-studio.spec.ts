// Elsa Studio 3.8.2 (the optional add-on, scripts/install-elsa-studio.sh) against the real server: Studio's own
// designer and instance viewer on our pipelines through /elsa/api. Skipped when the add-on is not installed.
import { expect, test, type Page } from "@playwright/test";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { KEYED_PORT, KEYS } from "../playwright.config";
import { apiCall, screen } from "./helpers";

const repo = path.resolve(import.meta.dirname, "..", "..");
test.skip(!existsSync(path.join(repo, "artifacts", "elsa-studio", "_framework")), "Elsa Studio is not installed (scripts/install-elsa-studio.sh)");

// Material's "cloud upload" icon: Studio's Publish button has no text or label.
const publishButton = (page: Page) => page.locator('button:visible:has(path[d^="M19.35 10.04"])');

type Definition = { definitionId: string; version: number; root: { activities: { id: string; timeout?: string; metadata?: { designer?: { position?: { x: number; y: number } } } }[] } };
type Version = { version: number; source: string };

/** A copy of opensourcellm under another id, so that the other specs' deploys keep the pipeline they expect. */
async function copyOfOpensourcellm(page: Page, id: string, key?: string): Promise<void> {
  const json = JSON.parse(readFileSync(path.join(repo, "workflows", "opensourcellm.json"), "utf8"));
  json.definitionId = id;
  await apiCall(page, "POST", "/api/v1/workflow-definitions", json, key);
}

async function openEditor(page: Page, id: string): Promise<void> {
  await page.goto(`/elsa-studio/?definition=${id}`);
  await expect(page.locator(".x6-node")).toHaveCount(4, { timeout: 60_000 });
}

test("Elsa Studio opens opensourcellm: four nodes, three connections, positions as stored", async ({ page }, info) => {
  await openEditor(page, "opensourcellm");
  await expect(page.locator(".x6-edge")).toHaveCount(3);
  const stored = await apiCall<Definition>(page, "GET", "/api/v1/workflow-definitions/opensourcellm");
  for (const a of stored.root.activities) {
    const p = a.metadata!.designer!.position!;
    await expect(page.locator(`.x6-node[data-cell-id="${a.id}"]`)).toHaveAttribute("transform", `translate(${p.x},${p.y})`);
  }
  await screen(page, "elsa-studio-editor", info);
});

test("moving a node and publishing from Studio stores a new version with the new position", async ({ page }, info) => {
  await copyOfOpensourcellm(page, "studio-move");
  await openEditor(page, "studio-move");
  const node = page.locator('.x6-node[data-cell-id="config-rendering"]');
  const box = (await node.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 20, box.y + box.height / 2 + 120, { steps: 12 });
  await page.mouse.up();
  await expect(node).not.toHaveAttribute("transform", "translate(280,0)");
  const moved = (await node.getAttribute("transform"))!;
  const published = page.waitForResponse((r) => r.url().endsWith("/elsa/api/workflow-definitions") && r.request().method() === "POST"
    && (r.request().postDataJSON() as { publish?: boolean }).publish === true);
  await publishButton(page).click();
  expect((await published).status()).toBe(200);

  const versions = await apiCall<Version[]>(page, "GET", "/api/v1/workflow-definitions/studio-move/versions");
  expect(versions[0]).toMatchObject({ version: 2, source: "elsa-studio" });
  const stored = await apiCall<Definition>(page, "GET", "/api/v1/workflow-definitions/studio-move");
  const p = stored.root.activities.find((a) => a.id === "config-rendering")!.metadata!.designer!.position!;
  expect(`translate(${p.x},${p.y})`).toBe(moved);
  await screen(page, "elsa-studio-published", info);
});

test("publishing an invalid definition from Studio shows the error and stores nothing", async ({ page }, info) => {
  await copyOfOpensourcellm(page, "studio-invalid");
  await openEditor(page, "studio-invalid");
  await page.locator('.x6-node[data-cell-id="config-rendering"]').click();
  // Studio's text fields have no accessible name; the label is a sibling.
  const timeout = page.locator('.mud-input-control:has(label:text-is("Timeout")) input');
  await expect(timeout).toHaveValue("30s");
  await timeout.fill("soon");
  await timeout.press("Tab");
  const published = page.waitForResponse((r) => r.url().endsWith("/elsa/api/workflow-definitions") && r.request().method() === "POST"
    && (r.request().postDataJSON() as { publish?: boolean }).publish === true);
  await publishButton(page).click();
  const response = await published;
  expect(response.status()).toBe(400);
  expect(await response.text()).toContain("config-rendering");
  await expect(page.getByText(/config-rendering/).first()).toBeVisible();
  await screen(page, "elsa-studio-invalid", info);

  const versions = await apiCall<Version[]>(page, "GET", "/api/v1/workflow-definitions/studio-invalid/versions");
  expect(versions).toHaveLength(1);
  const stored = await apiCall<Definition>(page, "GET", "/api/v1/workflow-definitions/studio-invalid");
  expect(stored.root.activities.find((a) => a.id === "config-rendering")!.timeout).toBe("30s");
});

test.describe("on the server with keys", () => {
  const base = `http://localhost:${KEYED_PORT}`;

  test("a viewer's key gets a read-only editor: Studio offers no publish and saves nothing", async ({ page }, info) => {
    await page.addInitScript((key) => sessionStorage.setItem("mss.apiKey", key), KEYS.viewer);
    const posts: string[] = [];
    page.on("request", (r) => { if (r.url().includes("/elsa/api/workflow-definitions") && r.method() === "POST") posts.push(r.url()); });
    await page.goto(`${base}/elsa-studio/?definition=opensourcellm`);
    await expect(page.locator(".x6-node")).toHaveCount(4, { timeout: 60_000 });
    await expect(publishButton(page)).toHaveCount(0);
    await screen(page, "elsa-studio-viewer", info);
    expect(posts).toEqual([]);
  });

  test("a wrong key gets 401 and Studio says so", async ({ page }, info) => {
    await page.addInitScript(() => sessionStorage.setItem("mss.apiKey", "not-a-key"));
    const unauthorized = page.waitForResponse((r) => r.url().includes("/elsa/api/") && r.status() === 401);
    await page.goto(`${base}/elsa-studio/?definition=opensourcellm`);
    await unauthorized;
    await expect(page.getByRole("alert")).toContainText("401 Unauthorized");
    await expect(page.locator(".x6-node")).toHaveCount(0);
    await screen(page, "elsa-studio-wrong-key", info);
  });
});

test("the instance viewer shows a run: each node's execution count and the journal", async ({ page }, info) => {
  await apiCall(page, "POST", "/api/v1/workflow-definitions", {
    definitionId: "studio-run",
    root: {
      type: "Flowchart",
      activities: [
        { id: "hello", type: "ModelServeShim.Log", inputs: { message: "hello from a run" }, metadata: { designer: { position: { x: 0, y: 0 } } } },
        { id: "wait", type: "ModelServeShim.Delay", inputs: { duration: "10ms" }, metadata: { designer: { position: { x: 300, y: 0 } } } },
      ],
      connections: [{ source: { activity: "hello" }, target: { activity: "wait" } }],
    },
  });
  const run = await apiCall<{ id: string }>(page, "POST", "/api/v1/workflow-definitions/studio-run/execute", { input: {} });
  await expect.poll(async () => (await apiCall<{ instance: { status: string } }>(page, "GET", `/api/v1/workflow-instances/${run.id}`)).instance.status).toBe("Completed");

  const report = page.waitForResponse((r) => r.url().endsWith("/elsa/api/activity-executions/report") && r.status() === 200);
  await page.goto(`/elsa-studio/?instance=${run.id}`);
  await expect(page.locator(".x6-node")).toHaveCount(2, { timeout: 60_000 });
  await report;
  // The journal lists each step's start and completion; each node shows its execution count.
  await expect(page.getByText(/Log\s*-\s*Started/).first()).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText(/Log\s*-\s*Completed/).first()).toBeVisible();
  await expect(page.getByText(/Delay\s*-\s*Completed/).first()).toBeVisible();
  await expect(page.locator('.x6-node[data-cell-id="hello"]')).toContainText("1");
  await expect(page.locator('.x6-node[data-cell-id="wait"]')).toContainText("1");
  await screen(page, "elsa-studio-instance", info);

  // A node's details: its execution (the attempt) with its inputs and outputs.
  await page.locator('.x6-node[data-cell-id="hello"]').click();
  await page.getByRole("tab", { name: /Executions/ }).click();
  await page.getByRole("cell", { name: "Completed", exact: true }).first().click();
  await expect(page.getByText("Execution Details")).toBeVisible();
  await expect(page.getByText("hello from a run", { exact: true })).toBeVisible();
  await expect(page.getByText(/Done/).last()).toBeVisible();
  await screen(page, "elsa-studio-instance-node", info);
});

test("the instance viewer shows a deploy of the sample model: the steps that ran, their counts, the journal, an attempt's inputs", async ({ page }, info) => {
  const sampleModel = path.join(import.meta.dirname, ".artifacts", "servers", "open", "models", "sample-llama-f32.gguf");
  const deployed = await apiCall<{ serviceId: string }>(page, "POST", "/api/v1/modserv/deploy", {
    modelName: "e2e-studio-deploy",
    modelFile: sampleModel,
    resourceRequirements: { acceleratorCount: 0, cpu: "1", memory: "2Gi" },
    dryRun: true,
  });
  let instanceId = "";
  await expect.poll(async () => {
    const s = await apiCall<{ service: { state: string }; instanceId?: string }>(page, "GET", `/api/v1/modserv/${deployed.serviceId}`);
    instanceId = s.instanceId ?? "";
    return s.service.state;
  }, { timeout: 30_000 }).toBe("Stopped");

  await page.goto(`/elsa-studio/?instance=${instanceId}`);
  await expect(page.locator(".x6-node")).toHaveCount(4, { timeout: 60_000 });
  // A dry run: model-validation and config-rendering ran once each; the journal has their starts and completions.
  await expect(page.getByText(/Model validation\s*-\s*Started/).first()).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText(/Model validation\s*-\s*Completed/).first()).toBeVisible();
  await expect(page.getByText(/Config rendering\s*-\s*Completed/).first()).toBeVisible();
  await expect(page.locator('.x6-node[data-cell-id="model-validation"]')).toContainText("1");
  await expect(page.locator('.x6-node[data-cell-id="config-rendering"]')).toContainText("1");
  await screen(page, "elsa-studio-deploy-run", info);

  // config-rendering's attempt: its inputs as the step recorded them (the request's model name).
  await page.locator('.x6-node[data-cell-id="config-rendering"]').click();
  await page.getByRole("tab", { name: /Executions/ }).click();
  await page.getByRole("cell", { name: "Completed", exact: true }).first().click();
  await expect(page.getByText("Execution Details")).toBeVisible();
  await expect(page.getByText("e2e-studio-deploy", { exact: true }).first()).toBeVisible();
  await screen(page, "elsa-studio-deploy-run-node", info);
});

test("the web UI offers Open in Elsa Studio on a pipeline version and on a run", async ({ page }) => {
  await page.goto("/pipelines/opensourcellm");
  const link = page.getByRole("link", { name: "Open in Elsa Studio" });
  await expect(link).toHaveAttribute("href", "/elsa-studio/?definition=opensourcellm");

  await apiCall(page, "POST", "/api/v1/workflow-definitions", {
    definitionId: "studio-link",
    root: { type: "Flowchart", activities: [{ id: "only", type: "ModelServeShim.Log", inputs: { message: "link" } }] },
  });
  const { id } = await apiCall<{ id: string }>(page, "POST", "/api/v1/workflow-definitions/studio-link/execute", { input: {} });
  await page.goto(`/instances/${id}`);
  await expect(page.getByRole("link", { name: "Open in Elsa Studio" })).toHaveAttribute("href", `/elsa-studio/?instance=${id}`);
});

test("adding a Log step from Studio's picker, connecting and publishing it: a run logs its message", async ({ page }, info) => {
  await apiCall(page, "POST", "/api/v1/workflow-definitions", {
    definitionId: "studio-add",
    root: { type: "Flowchart", activities: [{ id: "first", type: "ModelServeShim.Log", inputs: { message: "first" }, metadata: { designer: { position: { x: 0, y: 0 } } } }] },
  });
  await page.goto("/elsa-studio/?definition=studio-add");
  await expect(page.locator(".x6-node")).toHaveCount(1, { timeout: 60_000 });
  await page.getByText("Primitives", { exact: true }).click();
  const canvas = page.locator(".x6-graph").first();
  await page.getByText("Log", { exact: true }).first().dragTo(canvas, { targetPosition: { x: 120, y: 80 } });
  await expect(page.locator(".x6-node")).toHaveCount(2);
  const added = page.locator(".x6-node").filter({ hasNot: page.locator('[data-cell-id="first"]') }).last();
  const addedId = (await added.getAttribute("data-cell-id"))!;

  // Connect first's Done port to the new node's input port.
  const from = (await page.locator('.x6-node[data-cell-id="first"] .x6-port-out .x6-port-body').first().boundingBox())!;
  const to = (await page.locator(`.x6-node[data-cell-id="${addedId}"] .x6-port-in .x6-port-body`).first().boundingBox())!;
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(to.x + to.width / 2, to.y + to.height / 2, { steps: 15 });
  await page.mouse.up();
  await expect(page.locator(".x6-edge")).toHaveCount(1);

  await page.locator(`.x6-node[data-cell-id="${addedId}"]`).click({ force: true });
  const message = page.locator('.mud-input-control:has-text("Message") textarea').first();
  await message.fill("added in Studio");
  await message.press("Tab");
  await page.waitForTimeout(1500);
  const published = page.waitForResponse((r) => r.url().endsWith("/elsa/api/workflow-definitions") && r.request().method() === "POST"
    && (r.request().postDataJSON() as { publish?: boolean }).publish === true);
  await publishButton(page).click();
  expect((await published).status()).toBe(200);
  await screen(page, "elsa-studio-added-log", info);

  const run = await apiCall<{ id: string }>(page, "POST", "/api/v1/workflow-definitions/studio-add/execute", { input: {} });
  await expect.poll(async () => (await apiCall<{ instance: { status: string } }>(page, "GET", `/api/v1/workflow-instances/${run.id}`)).instance.status).toBe("Completed");
  const journal = await apiCall<{ items: { activityId?: string; message: string }[] }>(page, "GET", `/api/v1/workflow-instances/${run.id}/journal`);
  expect(journal.items.some((e) => e.activityId === addedId && e.message === "added in Studio")).toBe(true);
});
