// Deploying the generated sample model through the form and watching it go live: the pipeline graph's
// nodes reach Succeeded, the state reaches Running, the step logs stream in; then undeploy.
import { expect, test } from "@playwright/test";
import path from "node:path";
import { screen } from "./helpers";

const sampleModel = path.join(import.meta.dirname, ".artifacts", "servers", "open", "models", "sample-llama-f32.gguf");

test("deploy a sample model through the form and watch it reach Running", async ({ page }, info) => {
  await page.goto("/services");
  await expect(page.getByRole("heading", { name: "Services" })).toBeVisible();
  await screen(page, "services-empty", info);

  await page.getByRole("link", { name: /Deploy model/ }).first().click();
  await expect(page).toHaveURL(/\/services\/new$/);
  await page.getByLabel("Model name").fill("e2e-sample");
  await page.getByLabel("Model file").fill(sampleModel);
  await page.getByLabel("Accelerator count").fill("0");
  await page.getByLabel("CPU").fill("1");
  await page.getByLabel("Memory").fill("lots");

  // The server refuses the memory quantity; its message appears at the Memory field.
  await page.getByRole("button", { name: "Deploy", exact: true }).click();
  await expect(page.getByLabel("Memory")).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator(".field-error").first()).toContainText(/memory|quantity/i);
  await screen(page, "deploy-field-error", info);

  await page.getByLabel("Memory").fill("2Gi");
  await page.getByRole("button", { name: "Deploy", exact: true }).click();
  await expect(page).toHaveURL(/\/services\/e2e-sample-[0-9a-f-]+$/);

  // Live: every step of the pipeline graph ends Succeeded and the service reaches Running.
  for (const step of ["model-validation", "config-rendering", "resource-deployment", "health-check"]) {
    await expect(page.getByTestId(`step-node-${step}`)).toHaveAttribute("data-status", "Succeeded", { timeout: 60_000 });
  }
  await expect(page.locator('[data-state="Running"]').first()).toBeVisible();
  await expect(page.getByTestId("log-row").first()).toBeVisible();
  await expect(page.getByTestId("log-row").filter({ hasText: "anonymous" }).first()).toBeVisible();
  // Running: how to call it through the OpenAI-compatible gateway, and its traffic (none yet).
  await expect(page.getByTestId("gateway-base-url")).toContainText(`localhost:${new URL(page.url()).port}/v1`);
  await expect(page.getByTestId("gateway-snippet")).toContainText('model="e2e-sample"');
  await page.getByRole("tab", { name: "curl" }).click();
  await expect(page.getByTestId("gateway-snippet")).toContainText("/v1/chat/completions");
  await expect(page.getByTestId("usage")).toContainText("0 /s");
  await screen(page, "service-detail-running", info);

  // Back on the list the row is Running; undeploy it (with confirmation) and watch it stop.
  await page.getByRole("link", { name: "Services" }).click();
  const row = page.getByRole("row").filter({ hasText: "e2e-sample" });
  await expect(row.locator('[data-state="Running"]')).toBeVisible();
  await screen(page, "services-running", info);

  // Scale: a negative count gets the server's message in the dialog; two replicas show in the row.
  await row.getByRole("button", { name: "Scale" }).click();
  const scale = page.getByRole("dialog");
  await scale.getByLabel("Replicas").fill("-1");
  await scale.getByRole("button", { name: "Scale" }).click();
  await expect(scale.locator(".field-error, [role=alert]").first()).toContainText(/replica/i);
  await screen(page, "services-scale-error", info);
  await scale.getByLabel("Replicas").fill("2");
  await scale.getByRole("button", { name: "Scale" }).click();
  await expect(scale).toBeHidden();
  await expect(row.locator("td.num")).toHaveText("2");
  await row.getByRole("button", { name: "Undeploy" }).click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await screen(page, "services-undeploy-confirm", info);
  await page.getByRole("dialog").getByRole("button", { name: "Undeploy" }).click();
  await expect(row.locator('[data-state="Stopped"]')).toBeVisible({ timeout: 30_000 });
});
