import { describe, expect, it } from "vitest";
import type { WorkflowDefinition } from "../../api/types";
import { connectionLabel, isEmptyDiff, stableStringify, structuralDiff } from "./compare";

function def(): WorkflowDefinition {
  return {
    definitionId: "p",
    name: "P",
    root: {
      type: "Flowchart",
      activities: [
        { id: "a", type: "T.A", inputs: { x: 1 }, metadata: { designer: { position: { x: 0, y: 0 } } } },
        { id: "b", type: "T.B", timeout: "1m" },
        { id: "c", type: "T.C" },
      ],
      connections: [
        { source: { activity: "a", port: "Done" }, target: { activity: "b" } },
        { source: { activity: "b", port: "Done" }, target: { activity: "c" } },
      ],
    },
  };
}

describe("stableStringify", () => {
  it("sorts keys at every level, keeps array order", () => {
    expect(stableStringify({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{\n  "a": {\n    "c": null,\n    "d": [\n      3,\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}',
    );
    expect(stableStringify({ x: 1, y: 2 })).toBe(stableStringify({ y: 2, x: 1 }));
  });
});

describe("structuralDiff", () => {
  it("finds added, removed and changed steps and connections", () => {
    const before = def();
    const after = def();
    after.name = "P2";
    after.root.activities = after.root.activities.filter((a) => a.id !== "c");
    after.root.activities[0] = { ...after.root.activities[0], inputs: { x: 2 }, metadata: { designer: { position: { x: 50, y: 0 } } } };
    after.root.activities[1] = { ...after.root.activities[1], timeout: "2m", displayName: "B" };
    after.root.activities.push({ id: "d", type: "T.D" });
    after.root.connections = [
      { source: { activity: "a", port: "Done" }, target: { activity: "b" } },
      { source: { activity: "b", port: "Failed" }, target: { activity: "d" } },
    ];
    expect(structuralDiff(before, after)).toEqual({
      stepsAdded: ["d"],
      stepsRemoved: ["c"],
      stepsChanged: [
        { id: "a", fields: ["inputs"] },
        { id: "b", fields: ["displayName", "timeout"] },
      ],
      connectionsAdded: ["b --Failed--> d"],
      connectionsRemoved: ["b --Done--> c"],
      definitionChanged: ["name"],
    });
  });

  it("ignores moves unless asked, treats a missing port as Done", () => {
    const before = def();
    const after = def();
    after.root.activities[0].metadata = { designer: { position: { x: 9, y: 9 } } };
    after.root.connections[0] = { source: { activity: "a" }, target: { activity: "b" } };
    expect(isEmptyDiff(structuralDiff(before, after))).toBe(true);
    expect(structuralDiff(before, after, true).stepsChanged).toEqual([{ id: "a", fields: ["metadata"] }]);
  });

  it("treats a first version as all added", () => {
    const d = structuralDiff(null, def());
    expect(d.stepsAdded).toEqual(["a", "b", "c"]);
    expect(d.connectionsAdded).toHaveLength(2);
    expect(d.definitionChanged).toEqual([]);
  });

  it("labels connections", () => {
    expect(connectionLabel({ source: { activity: "a" }, target: { activity: "b", port: "In" } })).toBe("a --Done--> b:In");
  });
});

import { diffLines } from "diff";
import { diffRows } from "./compare";

describe("diffRows", () => {
  it("numbers added/removed lines and folds long unchanged runs", () => {
    const a = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
    const b = [...a];
    b[9] = "changed 10";
    const rows = diffRows(diffLines(a.join("\n") + "\n", b.join("\n") + "\n"), 2);
    expect(rows[0]).toEqual({ kind: "skip", text: "", count: 7 });
    expect(rows.filter((r) => r.kind === "del")).toEqual([{ kind: "del", text: "line 10", oldNo: 10 }]);
    expect(rows.filter((r) => r.kind === "add")).toEqual([{ kind: "add", text: "changed 10", newNo: 10 }]);
    expect(rows.find((r) => r.text === "line 8")).toMatchObject({ oldNo: 8, newNo: 8 });
    expect(rows[rows.length - 1]).toEqual({ kind: "skip", text: "", count: 8 });
  });

  it("keeps short unchanged runs", () => {
    const rows = diffRows(diffLines("a\nb\nc\n", "a\nB\nc\n"));
    expect(rows.map((r) => r.kind)).toEqual(["ctx", "del", "add", "ctx"]);
  });
});
