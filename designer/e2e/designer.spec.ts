// The designer: build a small pipeline by dragging activities from the palette and connecting ports,
// save it, run it and read its logs; an invalid input shows its error on the right node and field.
import { expect, test, type Page } from "@playwright/test";
import { screen } from "./helpers";

async function dropActivity(page: Page, type: string, x: number, y: number) {
  const canvas = page.locator(".react-flow__pane");
  await page.getByTestId(`palette-${type}`).dragTo(canvas, { targetPosition: { x, y } });
}

async function connect(page: Page, from: string, port: string, to: string) {
  const source = page.locator(`[data-testid="designer-node-${from}"] .react-flow__handle.source[data-handleid="${port}"]`);
  const target = page.locator(`[data-testid="designer-node-${to}"] .react-flow__handle.target`);
  const s = (await source.boundingBox())!;
  const t = (await target.boundingBox())!;
  await page.mouse.move(s.x + s.width / 2, s.y + s.height / 2);
  await page.mouse.down();
  await page.mouse.move((s.x + t.x) / 2, (s.y + t.y) / 2, { steps: 5 });
  await page.mouse.move(t.x + t.width / 2, t.y + t.height / 2, { steps: 5 });
  await page.mouse.up();
}

test("build a pipeline by drag and connect, save it, run it and see its logs", async ({ page }, info) => {
  await page.goto("/designer");
  await expect(page.getByTestId("palette-ModelServeShim.Log")).toBeVisible();
  await screen(page, "designer-empty", info);
  await page.getByLabel("Definition id").fill("e2e-hello");
  await page.getByLabel("Name", { exact: true }).fill("E2E hello");

  await dropActivity(page, "ModelServeShim.Log", 250, 200);
  await dropActivity(page, "ModelServeShim.Delay", 650, 200);
  const log = page.locator('[data-testid^="designer-node-log"]');
  const delay = page.locator('[data-testid^="designer-node-delay"]');
  await expect(log).toHaveCount(1);
  await expect(delay).toHaveCount(1);
  const logId = (await log.getAttribute("data-testid"))!.replace("designer-node-", "");
  const delayId = (await delay.getAttribute("data-testid"))!.replace("designer-node-", "");
  await connect(page, logId, "Done", delayId);
  await expect(page.locator(".react-flow__edge")).toHaveCount(1);

  await log.click();
  await page.getByLabel("message", { exact: true }).fill("hello from the e2e designer");
  await delay.click();
  // First an invalid duration: validating shows the error on the Delay node and under its field.
  await page.getByLabel("duration", { exact: true }).fill("soon");
  await page.getByRole("button", { name: "Validate" }).click();
  await expect(delay).toHaveAttribute("data-invalid", "true");
  await expect(page.getByTestId(`node-errors-${delayId}`)).toBeVisible();
  await expect(log).not.toHaveAttribute("data-invalid", "true");
  await expect(page.locator(".field-error").filter({ hasText: /duration/i }).first()).toBeVisible();
  await screen(page, "designer-invalid", info);

  await page.getByLabel("duration", { exact: true }).fill("200ms");
  // Leaving with unsaved changes asks first; staying keeps the work.
  await page.getByRole("link", { name: "Services" }).click();
  await expect(page.getByRole("dialog", { name: "Leave without saving?" })).toBeVisible();
  await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
  await expect(page).toHaveURL(/\/designer$/);
  await expect(delay).toBeVisible();

  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText(/v1\b/).first()).toBeVisible();
  await screen(page, "designer-saved", info);

  await page.getByRole("button", { name: "Run" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Run" }).click();
  await expect(page).toHaveURL(/\/instances\/[0-9a-f]+$/);
  await expect(page.locator('[data-state="Completed"]').first()).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId(`step-node-${delayId}`)).toHaveAttribute("data-status", "Succeeded");
  await expect(page.getByTestId("log-row").filter({ hasText: "hello from the e2e designer" })).toBeVisible();
  await screen(page, "instance-completed", info);

  // The saved pipeline is listed with its version and opens again in the designer.
  await page.getByRole("link", { name: "Pipelines" }).click();
  await expect(page.getByRole("row").filter({ hasText: "e2e-hello" })).toBeVisible();
  await screen(page, "pipelines", info);
});

test("an invalid stored definition shows its error on the right node", async ({ page, request }) => {
  // Saved through the API with a valid shape, then opened and broken in the designer.
  const definition = {
    definitionId: "e2e-broken",
    name: "E2E broken",
    root: {
      type: "Flowchart",
      activities: [
        { id: "first", type: "ModelServeShim.Log", inputs: { message: "one" } },
        { id: "wait", type: "ModelServeShim.Delay", inputs: { duration: "1s" } },
        { id: "last", type: "ModelServeShim.Log", inputs: { message: "two" } },
      ],
      connections: [
        { source: { activity: "first" }, target: { activity: "wait" } },
        { source: { activity: "wait" }, target: { activity: "last" } },
      ],
    },
  };
  const saved = await request.post("/api/v1/workflow-definitions", { data: definition });
  expect(saved.ok()).toBeTruthy();
  await page.goto("/designer/e2e-broken");
  await expect(page.getByTestId("designer-node-wait")).toBeVisible();
  await page.getByTestId("designer-node-last").click();
  await page.getByLabel("message", { exact: true }).fill("{{ input.nothing_declared }}");
  await page.getByRole("button", { name: "Validate" }).click();
  await expect(page.getByTestId("designer-node-last")).toHaveAttribute("data-invalid", "true");
  await expect(page.getByTestId("designer-node-first")).not.toHaveAttribute("data-invalid", "true");
  await expect(page.getByTestId("designer-node-wait")).not.toHaveAttribute("data-invalid", "true");
});
