// Sign-in and roles on a server that requires API keys (the "keyed" server of playwright.config.ts).
import { expect, test } from "@playwright/test";
import { KEYED_PORT, KEYS } from "../playwright.config";
import { screen } from "./helpers";

const base = `http://localhost:${KEYED_PORT}`;

test("the sign-in screen refuses a wrong key and names the problem", async ({ page }, info) => {
  await page.goto(base + "/services");
  await expect(page.getByRole("form", { name: "Sign in" })).toBeVisible();
  await screen(page, "signin", info);
  await page.getByLabel("API key").fill("not-a-key");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("The server does not accept this key.");
  await screen(page, "signin-error", info);
});

test("a viewer sees services but no deploy, scale, load or save actions", async ({ page }, info) => {
  await page.goto(base + "/services");
  await page.getByLabel("API key").fill(KEYS.viewer);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("whoami")).toContainText("vera");
  await expect(page.getByTestId("whoami")).toContainText("viewer");
  await expect(page.getByRole("heading", { name: "Services" })).toBeVisible();
  await expect(page.getByRole("link", { name: /Deploy model/ })).toHaveCount(0);
  await page.getByRole("link", { name: "Plugins" }).click();
  await expect(page.getByRole("heading", { name: "Shimlets" })).toBeVisible();
  await expect(page.getByRole("form", { name: "Load a plugin" })).toHaveCount(0);
  // The live stream authenticates with the key too (EventSource sends it as access_token).
  await expect(page.getByTestId("live-status")).toContainText("Live");
  // The designer opens read-only: it shows the pipeline but offers no way to change or run it.
  await page.getByRole("link", { name: "Designer" }).click();
  await page.goto(base + "/designer/opensourcellm");
  await expect(page.getByTestId("designer-node-health-check")).toBeVisible();
  await expect(page.getByText("Read-only", { exact: true })).toBeVisible();
  await expect(page.getByRole("button", { name: "Save" })).toBeDisabled();
  await expect(page.getByRole("button", { name: "Run" })).toBeDisabled();
  await screen(page, "designer-viewer", info);
});

test("an operator may deploy, and signing out asks for a key again", async ({ page }) => {
  await page.goto(base + "/");
  await page.getByLabel("API key").fill(KEYS.operator);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("whoami")).toContainText("operator");
  await expect(page.getByRole("link", { name: /Deploy model/ }).first()).toBeVisible();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("form", { name: "Sign in" })).toBeVisible();
});
