// Looking back: a failed deployment explains itself (diagnosis, failed and skipped steps), and a
// pipeline's versions can be compared with the previous one.
import { expect, test } from "@playwright/test";
import path from "node:path";
import { apiCall, screen } from "./helpers";

const modelsRoot = path.join(import.meta.dirname, ".artifacts", "servers", "open", "models");

test("a failed deployment shows its diagnosis and which steps never ran", async ({ page }, info) => {
  const accepted = await apiCall<{ serviceId: string }>(page, "POST", "/api/v1/modserv/deploy", {
    modelName: "e2e-missing",
    modelFile: path.join(modelsRoot, "missing.gguf"),
    resourceRequirements: { acceleratorCount: 0, cpu: "1", memory: "1Gi" },
  });
  await page.goto(`/services/${accepted.serviceId}`);
  await expect(page.getByTestId("step-node-model-validation")).toHaveAttribute("data-status", "Failed");
  await expect(page.getByTestId("step-node-health-check")).toHaveAttribute("data-status", "Skipped");
  await expect(page.getByTestId("diagnosis")).toContainText("ModelNotFound");
  await expect(page.getByTestId("diagnosis")).toContainText("missing.gguf");
  await expect(page.getByTestId("service-detail")).toHaveAttribute("data-state", "Failed");
  await expect(page.getByTestId("log-row").filter({ hasText: "does not exist" }).first()).toBeVisible();
  await screen(page, "service-detail-failed", info);

  // Filtering the logs by level keeps only the errors.
  await page.getByLabel("Minimum level").selectOption("Error");
  const rows = page.getByTestId("log-row");
  await expect(rows.first()).toBeVisible();
  for (const level of await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-level")))) {
    expect(["Error", "Critical"]).toContain(level);
  }
});

test("compare a pipeline version with the previous one", async ({ page }, info) => {
  const v1 = {
    definitionId: "e2e-versions",
    name: "E2E versions",
    root: {
      type: "Flowchart",
      activities: [
        { id: "hello", type: "ModelServeShim.Log", inputs: { message: "first" } },
        { id: "wait", type: "ModelServeShim.Delay", inputs: { duration: "1s" } },
      ],
      connections: [{ source: { activity: "hello", port: "Done" }, target: { activity: "wait" } }],
    },
  };
  const v2 = structuredClone(v1);
  v2.root.activities[0].inputs = { message: "changed" };
  v2.root.activities.push({ id: "bye", type: "ModelServeShim.Log", inputs: { message: "last" } });
  v2.root.connections.push({ source: { activity: "wait", port: "Done" }, target: { activity: "bye" } });
  await apiCall(page, "POST", "/api/v1/workflow-definitions", v1);
  await apiCall(page, "POST", "/api/v1/workflow-definitions", v2);

  await page.goto("/pipelines/e2e-versions");
  await page.getByTestId("version-2").click();
  await page.getByRole("tab", { name: /Compare with previous/ }).click();
  const summary = page.getByTestId("structural-summary");
  await expect(summary).toContainText("bye");
  await expect(summary).toContainText("hello");
  await expect(page.getByRole("table", { name: "Line diff" })).toContainText("changed");
  await screen(page, "pipeline-compare", info);
});

test("a service that does not exist says so", async ({ page }, info) => {
  await page.goto("/services/nothing-here-0000");
  await expect(page.getByText(/No model service|not found/i).first()).toBeVisible();
  await screen(page, "service-not-found", info);
});
