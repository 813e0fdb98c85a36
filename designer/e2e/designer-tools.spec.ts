// The designer's tools in the browser: import (bad JSON named, good JSON loaded), auto-layout, undo and
// redo, export (the downloaded file is the definition on the canvas).
import { expect, test } from "@playwright/test";
import { readFileSync } from "node:fs";
import { screen } from "./helpers";

const definition = {
  definitionId: "e2e-imported",
  name: "E2E imported",
  root: {
    type: "Flowchart",
    activities: [
      { id: "one", type: "ModelServeShim.Log", inputs: { message: "one" }, metadata: { designer: { position: { x: 0, y: 0 } } } },
      { id: "two", type: "ModelServeShim.Log", inputs: { message: "two" }, metadata: { designer: { position: { x: 0, y: 0 } } } },
      { id: "three", type: "ModelServeShim.Log", inputs: { message: "three" }, metadata: { designer: { position: { x: 0, y: 0 } } } },
    ],
    connections: [
      { source: { activity: "one", port: "Done" }, target: { activity: "two" } },
      { source: { activity: "two", port: "Done" }, target: { activity: "three" } },
    ],
  },
};

test("import, auto-layout, undo, redo and export", async ({ page }, info) => {
  await page.goto("/designer");
  await expect(page.getByTestId("palette-ModelServeShim.Log")).toBeVisible();

  await page.getByRole("button", { name: "Import" }).click();
  const dialog = page.getByRole("dialog", { name: "Import a definition" });
  await dialog.getByLabel("Definition JSON").fill("{ not json");
  await dialog.getByRole("button", { name: "Load into the canvas" }).click();
  await expect(dialog.locator(".field-error, [role=alert]").first()).toBeVisible();
  await screen(page, "designer-import-error", info);
  await dialog.getByLabel("Definition JSON").fill(JSON.stringify(definition));
  await dialog.getByRole("button", { name: "Load into the canvas" }).click();
  await expect(dialog).toBeHidden();
  for (const id of ["one", "two", "three"]) await expect(page.getByTestId(`designer-node-${id}`)).toBeVisible();
  await expect(page.locator(".react-flow__edge")).toHaveCount(2);

  // All three were stacked at (0,0); auto-layout spreads them left to right.
  const x = async (id: string) => (await page.getByTestId(`designer-node-${id}`).boundingBox())!.x;
  expect(Math.abs((await x("one")) - (await x("three")))).toBeLessThan(5);
  await page.getByRole("button", { name: "Auto-layout" }).click();
  await expect.poll(async () => (await x("three")) - (await x("one"))).toBeGreaterThan(100);
  expect(await x("two")).toBeGreaterThan(await x("one"));
  await screen(page, "designer-imported-layout", info);

  // Undo the layout (stacked again), redo it.
  await page.getByRole("button", { name: "Undo" }).click();
  await expect.poll(async () => Math.abs((await x("three")) - (await x("one")))).toBeLessThan(5);
  await page.getByRole("button", { name: "Redo" }).click();
  await expect.poll(async () => (await x("three")) - (await x("one"))).toBeGreaterThan(100);

  // Export downloads the canvas's definition, positions included.
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe("e2e-imported.json");
  const exported = JSON.parse(readFileSync((await file.path())!, "utf8"));
  expect(exported.definitionId).toBe("e2e-imported");
  expect(exported.root.activities.map((a: { id: string }) => a.id)).toEqual(["one", "two", "three"]);
  expect(exported.root.connections).toEqual(definition.root.connections);
  const xs = exported.root.activities.map((a: { metadata: { designer: { position: { x: number } } } }) => a.metadata.designer.position.x);
  expect(xs[2]).toBeGreaterThan(xs[0]);
});
