import { describe, expect, it } from "vitest";
import { historyReducer, initHistory, type History } from "./history";

const set = (h: History<number>, value: number, key?: string, limit?: number) => historyReducer(h, { type: "set", value, key }, limit);

describe("history", () => {
  it("undoes and redoes", () => {
    let h = initHistory(0);
    h = set(set(h, 1), 2);
    expect(h.past).toEqual([0, 1]);
    h = historyReducer(h, { type: "undo" });
    expect(h.present).toBe(1);
    h = historyReducer(h, { type: "undo" });
    expect(h.present).toBe(0);
    expect(historyReducer(h, { type: "undo" })).toBe(h);
    h = historyReducer(h, { type: "redo" });
    expect(h.present).toBe(1);
    expect(h.future).toEqual([2]);
  });

  it("drops the redo branch on a new edit", () => {
    let h = set(set(initHistory(0), 1), 2);
    h = historyReducer(h, { type: "undo" });
    h = set(h, 5);
    expect(h.future).toEqual([]);
    expect(h.past).toEqual([0, 1]);
    expect(historyReducer(h, { type: "redo" })).toBe(h);
  });

  it("coalesces edits with the same key, not across undo", () => {
    let h = set(initHistory(0), 1, "name");
    h = set(h, 2, "name");
    h = set(h, 3, "name");
    expect(h.past).toEqual([0]);
    expect(h.present).toBe(3);
    h = set(h, 4, "other");
    expect(h.past).toEqual([0, 3]);
    h = historyReducer(h, { type: "undo" });
    h = set(h, 9, "name");
    expect(h.past).toEqual([0, 3]);
  });

  it("caps the past", () => {
    let h = initHistory(0);
    for (let i = 1; i <= 150; i++) h = set(h, i);
    expect(h.past).toHaveLength(100);
    expect(h.past[0]).toBe(50);
    expect(set(set(set(initHistory(0), 1, undefined, 2), 2, undefined, 2), 3, undefined, 2).past).toEqual([1, 2]);
  });

  it("ignores a set of the same value and resets", () => {
    const h = set(initHistory(0), 1);
    expect(historyReducer(h, { type: "set", value: h.present })).toBe(h);
    expect(historyReducer(h, { type: "reset", value: 7 })).toEqual(initHistory(7));
  });
});
