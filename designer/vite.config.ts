/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Dev mode: `npm run dev` serves the UI on :5173 and proxies the API to the server
// (MSS_SERVER, default http://localhost:8080). Production: the .NET build runs `npm run build`
// and the server serves dist/ at / with a client-side-routing fallback.
const server = process.env.MSS_SERVER ?? "http://localhost:8080";

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      "/api": { target: server, changeOrigin: false },
      "/healthz": { target: server },
      "/metrics": { target: server },
      "/openapi": { target: server },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
