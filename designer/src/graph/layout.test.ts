import { describe, expect, it } from "vitest";
import { layout, NODE_WIDTH } from "./layout";

describe("layout", () => {
  it("places a chain left to right, one rank per step", () => {
    const p = layout([{ id: "a" }, { id: "b" }, { id: "c" }], [
      { source: "a", target: "b" },
      { source: "b", target: "c" },
    ]);
    expect(p.a.x).toBeLessThan(p.b.x);
    expect(p.b.x).toBeLessThan(p.c.x);
    expect(p.b.x - p.a.x).toBeGreaterThanOrEqual(NODE_WIDTH);
    expect(p.a.y).toBe(p.b.y);
  });

  it("puts branches of one step on separate rows and ignores edges to unknown nodes", () => {
    const p = layout([{ id: "a" }, { id: "ok" }, { id: "bad" }], [
      { source: "a", target: "ok" },
      { source: "a", target: "bad" },
      { source: "a", target: "ghost" },
    ]);
    expect(p.ok.x).toBe(p.bad.x);
    expect(p.ok.y).not.toBe(p.bad.y);
    expect(Object.keys(p).sort()).toEqual(["a", "bad", "ok"]);
  });
});
