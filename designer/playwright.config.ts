// Browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium; no browser is downloaded)
// against real model-serve-shim servers started by e2e/server.sh from the Release build.
// Run: `npx playwright test` after `dotnet build ModelServeShim.sln -c Release` (scripts/test.sh does both).
import { defineConfig } from "@playwright/test";
import { createHash } from "node:crypto";

export const OPEN_PORT = 5391; // no API keys: loopback anonymous admin
export const KEYED_PORT = 5392; // API keys required
export const KEYS = { viewer: "e2e-viewer-key-1234567890", operator: "e2e-operator-key-1234567890" };
const hash = (k: string) => "sha256:" + createHash("sha256").update(k).digest("hex");

export default defineConfig({
  testDir: "e2e",
  outputDir: "e2e/.artifacts/test-results",
  fullyParallel: false,
  workers: 1, // one browser at a time on a 2-core machine; the servers are shared
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  reporter: [["list"], ["json", { outputFile: process.env.PW_JSON ?? "e2e/.artifacts/results.json" }]],
  use: {
    baseURL: `http://localhost:${OPEN_PORT}`,
    browserName: "chromium",
    headless: true,
    viewport: { width: 1440, height: 900 },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  webServer: [
    {
      command: `bash e2e/server.sh open ${OPEN_PORT}`,
      url: `http://localhost:${OPEN_PORT}/healthz`,
      timeout: 120_000,
      reuseExistingServer: false,
      stdout: "ignore",
      stderr: "pipe",
    },
    {
      command: `bash e2e/server.sh keyed ${KEYED_PORT}`,
      url: `http://localhost:${KEYED_PORT}/healthz`,
      timeout: 120_000,
      reuseExistingServer: false,
      stdout: "ignore",
      stderr: "pipe",
      env: {
        Auth__ApiKeys__0__Name: "vera",
        Auth__ApiKeys__0__Role: "viewer",
        Auth__ApiKeys__0__KeyHash: hash(KEYS.viewer),
        Auth__ApiKeys__1__Name: "otto",
        Auth__ApiKeys__1__Role: "operator",
        Auth__ApiKeys__1__KeyHash: hash(KEYS.operator),
      },
    },
  ],
});
