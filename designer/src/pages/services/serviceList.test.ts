import { describe, expect, it } from "vitest";
import type { ServiceSummary } from "../../api/types";
import { accelerators, actionsFor, applyServiceEvent, filterServices } from "./serviceList";

const svc = (id: string, extra: Partial<ServiceSummary> = {}): ServiceSummary => ({
  serviceId: id,
  modelName: id.split("-")[0],
  state: "Running",
  shimlet: "local",
  pipeline: "opensourcellm",
  replicas: 1,
  acceleratorType: null,
  acceleratorCount: 0,
  endpoint: null,
  createdBy: "alice",
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  ...extra,
});

describe("applyServiceEvent", () => {
  it("inserts an unknown service at the top", () => {
    const list = [svc("a-1"), svc("b-1")];
    expect(applyServiceEvent(list, svc("c-1")).map((s) => s.serviceId)).toEqual(["c-1", "a-1", "b-1"]);
  });
  it("replaces a known service in place without mutating the list", () => {
    const list = [svc("a-1"), svc("b-1"), svc("c-1")];
    const next = applyServiceEvent(list, svc("b-1", { state: "Failed", updatedAt: "2026-01-01T00:01:00Z" }));
    expect(next.map((s) => s.serviceId)).toEqual(["a-1", "b-1", "c-1"]);
    expect(next[1].state).toBe("Failed");
    expect(list[1].state).toBe("Running");
  });
  it("ignores an event older than the row", () => {
    const list = [svc("a-1", { state: "Running", updatedAt: "2026-01-01T00:02:00Z" })];
    expect(applyServiceEvent(list, svc("a-1", { state: "Deploying", updatedAt: "2026-01-01T00:01:00Z" }))).toBe(list);
  });
});

describe("accelerators", () => {
  it("formats count and type", () => {
    expect(accelerators({ acceleratorCount: 2, acceleratorType: "H20" })).toBe("2 × H20");
    expect(accelerators({ acceleratorCount: 1, acceleratorType: null })).toBe("1 × accelerator");
    expect(accelerators({ acceleratorCount: 0, acceleratorType: "H20" })).toBe("–");
  });
});

describe("filterServices", () => {
  const list = [svc("qwen-1", { shimlet: "k8s" }), svc("llama-2", { state: "Failed" }), svc("mistral-3", { state: "Stopped" })];
  it("filters by text across fields and by state", () => {
    expect(filterServices(list, "K8S", "").map((s) => s.serviceId)).toEqual(["qwen-1"]);
    expect(filterServices(list, "", "Failed").map((s) => s.serviceId)).toEqual(["llama-2"]);
    expect(filterServices(list, "qwen", "Failed")).toEqual([]);
    expect(filterServices(list, "  ", "")).toHaveLength(3);
  });
});

describe("actionsFor", () => {
  it("offers scale only when serving and redeploy only when failed or stopped", () => {
    expect(actionsFor("Running")).toEqual({ scale: true, undeploy: true, redeploy: false });
    expect(actionsFor("Failed")).toEqual({ scale: false, undeploy: true, redeploy: true });
    // While the scale pipeline runs: no second scale, but it can be undeployed (the scale is cancelled first).
    expect(actionsFor("Scaling")).toEqual({ scale: false, undeploy: true, redeploy: false });
    expect(actionsFor("Stopped")).toEqual({ scale: false, undeploy: false, redeploy: true });
  });
});
