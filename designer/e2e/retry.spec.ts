// A step that fails twice and then succeeds: the run page shows it Retrying with its attempt number,
// live, and then Succeeded after three attempts.
import { expect, test } from "@playwright/test";
import { apiCall, screen } from "./helpers";

test("a retrying step shows its attempt live, then succeeds", async ({ page }, info) => {
  await apiCall(page, "POST", "/api/v1/workflow-definitions", {
    definitionId: "e2e-retry",
    name: "E2E retry",
    root: {
      type: "Flowchart",
      activities: [
        { id: "hello", type: "ModelServeShim.Log", inputs: { message: "before the flaky step" } },
        {
          id: "flaky",
          type: "ModelServeShim.Fail",
          inputs: { failAttempts: 2, message: "flaky on purpose" },
          retry: { maxAttempts: 3, delay: "3s", backoff: "constant" },
        },
      ],
      connections: [{ source: { activity: "hello", port: "Done" }, target: { activity: "flaky" } }],
    },
  });
  const run = await apiCall<{ id: string }>(page, "POST", "/api/v1/workflow-definitions/e2e-retry/execute", {});
  await page.goto(`/instances/${run.id}`);
  const node = page.getByTestId("step-node-flaky");
  await expect(node).toHaveAttribute("data-status", "Retrying");
  await expect(node).toContainText(/attempt [23]/);
  await screen(page, "instance-retrying", info);
  await expect(node).toHaveAttribute("data-status", "Succeeded", { timeout: 30_000 });
  await expect(node).toContainText("3 attempts");
  await expect(page.getByTestId("log-row").filter({ hasText: "flaky on purpose" }).first()).toBeVisible();
});
