import type { Page, TestInfo } from "@playwright/test";
import { mkdirSync } from "node:fs";
import path from "node:path";

const SCREENS = path.join(import.meta.dirname, ".artifacts", "screens");

/** Saves a full-page screenshot to e2e/.artifacts/screens/<name>.png (looked at by people, kept by CI). */
export async function screen(page: Page, name: string, info?: TestInfo): Promise<void> {
  mkdirSync(SCREENS, { recursive: true });
  const file = path.join(SCREENS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (info) await info.attach(name, { path: file, contentType: "image/png" });
}

/** Calls the server's API directly (set-up and checks that the UI is not under test for). */
export async function apiCall<T>(page: Page, method: string, url: string, body?: unknown, key?: string): Promise<T> {
  const response = await page.request.fetch(url, {
    method,
    data: body === undefined ? undefined : JSON.stringify(body),
    headers: { "Content-Type": "application/json", ...(key ? { Authorization: `Bearer ${key}` } : {}) },
  });
  if (!response.ok()) throw new Error(`${method} ${url}: HTTP ${response.status()} ${await response.text()}`);
  const json = (await response.json()) as { code?: number; data?: T };
  return (json && typeof json === "object" && "code" in json && "data" in json ? json.data : json) as T;
}
