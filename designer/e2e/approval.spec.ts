// A deploy whose pipeline waits for approval: the services list shows the pending approval, the service page's
// graph shows the approval step Suspended, an approver (here the anonymous admin) approves with a comment from the
// service page, and the graph moves on: approval Succeeded, config-rendering Succeeded, the dry run ends Stopped.
import { expect, test } from "@playwright/test";
import path from "node:path";
import { apiCall, screen } from "./helpers";

const sampleModel = path.join(import.meta.dirname, ".artifacts", "servers", "open", "models", "sample-llama-f32.gguf");

type Definition = {
  definitionId: string;
  name?: string;
  version?: number;
  root: { activities: Record<string, unknown>[]; connections: { source: { activity: string; port?: string }; target: { activity: string } }[] };
};

test("approve a waiting deploy from the service page and watch the graph move on", async ({ page }, info) => {
  // The test pipeline: the built-in opensourcellm with an approval step after model-validation.
  const pipeline = await apiCall<Definition>(page, "GET", "/api/v1/workflow-definitions/opensourcellm");
  pipeline.definitionId = "e2e-approval";
  pipeline.name = "E2E approval";
  delete pipeline.version;
  pipeline.root.activities.push(
    { id: "approval", type: "ModelServeShim.Approval", inputs: { subject: "Deploy {{ input.modelName }}" } },
    { id: "rejected", type: "ModelServeShim.Fail", inputs: { errorType: "ApprovalRejected", retryable: false, message: "Rejected: {{ steps.approval.output.comment }}" } },
  );
  const toRendering = pipeline.root.connections.find((c) => c.source.activity === "model-validation" && c.target.activity === "config-rendering")!;
  toRendering.target.activity = "approval";
  pipeline.root.connections.push(
    { source: { activity: "approval", port: "Approved" }, target: { activity: "config-rendering" } },
    { source: { activity: "approval", port: "Rejected" }, target: { activity: "rejected" } },
  );
  await apiCall(page, "POST", "/api/v1/workflow-definitions", pipeline);

  const deployed = await apiCall<{ serviceId: string }>(page, "POST", "/api/v1/modserv/deploy", {
    modelName: "e2e-approval",
    modelFile: sampleModel,
    resourceRequirements: { acceleratorCount: 0, cpu: "1", memory: "2Gi" },
    pipeline: "e2e-approval",
    dryRun: true,
  });

  // The list: a pending approvals badge that filters to the waiting service.
  await page.goto("/services");
  const badge = page.getByTestId("pending-approvals");
  await expect(badge).toContainText(/1 pending approval/);
  await badge.click();
  const row = page.getByRole("row").filter({ hasText: deployed.serviceId });
  await expect(row.locator('[data-state="AwaitingApproval"]')).toBeVisible();
  await screen(page, "services-pending-approval", info);

  // The service page: the approval step waits (Suspended) and the panel asks for a decision.
  await row.getByRole("link", { name: deployed.serviceId }).click();
  const approval = page.getByTestId("step-node-approval");
  await expect(approval).toHaveAttribute("data-status", "Suspended");
  await expect(page.getByTestId("step-node-config-rendering")).toHaveAttribute("data-status", "Pending");
  await expect(page.getByTestId("approval-panel")).toContainText("approver");
  await screen(page, "service-awaiting-approval", info);

  await page.getByTestId("approval-comment").fill("looks good");
  await page.getByTestId("approve").click();

  // The graph moves on live; the dry run ends Stopped; the history names who approved, with the comment.
  await expect(approval).toHaveAttribute("data-status", "Succeeded");
  await expect(page.getByTestId("step-node-config-rendering")).toHaveAttribute("data-status", "Succeeded", { timeout: 30_000 });
  await expect(page.locator('[data-testid="service-detail"][data-state="Stopped"]')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("approval-panel")).toHaveCount(0);
  await expect(page.getByText(/approved by anonymous: looks good/)).toBeVisible();
  await screen(page, "service-approved", info);
});
