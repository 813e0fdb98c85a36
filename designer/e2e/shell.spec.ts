// The app shell: every screen loads from the server's own hosting (client-side routes survive a
// reload), the live stream connects, and unknown pages say so.
import { expect, test } from "@playwright/test";
import { screen } from "./helpers";

test("deep links load from the server and the live stream connects", async ({ page }, info) => {
  await page.goto("/plugins");
  await expect(page.getByRole("heading", { name: "Plugins" })).toBeVisible();
  await expect(page.getByTestId("live-status")).toContainText("Live");
  await expect(page.getByTestId("shimlets-table")).toContainText("local");
  await screen(page, "plugins", info);
  await page.reload();
  await expect(page.getByRole("heading", { name: "Plugins" })).toBeVisible();
});

test("loading a plugin that is not there shows the server's answer", async ({ page }) => {
  await page.goto("/plugins");
  await page.getByLabel("Plugin name").fill("NoSuchPlugin");
  await page.getByRole("button", { name: "Load" }).click();
  await expect(page.getByRole("alert")).toContainText("NoSuchPlugin");
  await page.getByLabel("Plugin name").fill("../etc");
  await page.getByRole("button", { name: "Load" }).click();
  await expect(page.locator(".field-error")).toBeVisible();
});

test("an unknown page says so and links back", async ({ page }, info) => {
  await page.goto("/no/such/page");
  await expect(page.getByText("No such page")).toBeVisible();
  await screen(page, "not-found", info);
  await page.getByRole("link", { name: "Go to the services" }).click();
  await expect(page).toHaveURL(/\/services$/);
});
