import { describe, expect, it } from "vitest";
import type { WorkflowDefinition } from "../api/types";
import { buildGraph, edgeLabel } from "./graphModel";

const def = (positions: boolean): WorkflowDefinition => ({
  definitionId: "d",
  name: "d",
  root: {
    type: "Flowchart",
    activities: [
      { id: "a", type: "X.A", ...(positions ? { metadata: { designer: { position: { x: 5, y: 6 } } } } : {}) },
      { id: "b", type: "X.B", displayName: "Bee", ...(positions ? { metadata: { designer: { position: { x: 300, y: 6 } } } } : {}) },
      { id: "c", type: "X.C", ...(positions ? { metadata: { designer: { position: { x: 300, y: 200 } } } } : {}) },
    ],
    connections: [
      { source: { activity: "a", port: "Done" }, target: { activity: "b" } },
      { source: { activity: "a", port: "DryRun" }, target: { activity: "c" } },
    ],
  },
});

describe("buildGraph", () => {
  it("uses designer positions and attaches statuses and selection", () => {
    const { nodes, edges } = buildGraph(def(true), { b: { status: "Running", attempts: 1, durationMs: null, error: null } }, "b");
    expect(nodes.find((n) => n.id === "a")!.position).toEqual({ x: 5, y: 6 });
    const b = nodes.find((n) => n.id === "b")!;
    expect(b.data.label).toBe("Bee");
    expect(b.data.live?.status).toBe("Running");
    expect(b.data.selected).toBe(true);
    expect(nodes.find((n) => n.id === "a")!.data.live).toBeNull();
    expect(edges.find((e) => e.target === "b")!.animated).toBe(true);
  });
  it("labels only non-default ports", () => {
    const { edges } = buildGraph(def(true), {}, null);
    expect(edges.find((e) => e.target === "b")!.label).toBeUndefined();
    expect(edges.find((e) => e.target === "c")!.label).toBe("DryRun");
    expect(edgeLabel("Failed")).toBe("Failed");
    expect(edgeLabel("Done")).toBeUndefined();
    expect(edgeLabel(undefined)).toBeUndefined();
  });
  it("lays out left to right when positions are missing", () => {
    const { nodes } = buildGraph(def(false), {}, null);
    const x = Object.fromEntries(nodes.map((n) => [n.id, n.position.x]));
    expect(x.b).toBeGreaterThan(x.a);
    expect(x.c).toBeGreaterThan(x.a);
  });
});
