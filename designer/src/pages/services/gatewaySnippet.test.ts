import { describe, expect, it } from "vitest";
import { gatewayBaseUrl, gatewaySnippet, servedByGateway } from "./gatewaySnippet";

describe("gatewayBaseUrl", () => {
  it("is /v1 on the UI's own origin", () => {
    expect(gatewayBaseUrl("http://localhost:8080")).toBe("http://localhost:8080/v1");
    expect(gatewayBaseUrl("https://mss.example/")).toBe("https://mss.example/v1");
  });
});

describe("servedByGateway", () => {
  it("is true for Running and Degraded only", () => {
    expect(["Running", "Degraded", "Deploying", "Stopped", "Failed"].map(servedByGateway)).toEqual([true, true, false, false, false]);
  });
});

describe("gatewaySnippet", () => {
  const base = "http://localhost:8080/v1";
  it("gives the OpenAI Python SDK the base URL and the model name", () => {
    const py = gatewaySnippet("python", base, "llama-3-8b", true);
    expect(py).toContain('OpenAI(base_url="http://localhost:8080/v1", api_key="<your API key>")');
    expect(py).toContain('model="llama-3-8b",');
  });
  it("gives the JavaScript SDK a placeholder key when the server needs none", () => {
    const js = gatewaySnippet("javascript", base, "sample", false);
    expect(js).toContain('new OpenAI({ baseURL: "http://localhost:8080/v1", apiKey: "unused" })');
    expect(js).toContain('model: "sample",');
  });
  it("sends the key as a bearer token in curl only when keys are required", () => {
    expect(gatewaySnippet("curl", base, "sample", true)).toContain('-H "Authorization: Bearer <your API key>"');
    const open = gatewaySnippet("curl", base, "sample", false);
    expect(open).not.toContain("Authorization");
    expect(open).toContain("curl http://localhost:8080/v1/chat/completions");
    expect(open).toContain(`'{"model":"sample","messages":[{"role":"user","content":"Hello!"}]}'`);
  });
});
