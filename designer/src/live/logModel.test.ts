import { describe, expect, it } from "vitest";
import type { JournalEntry } from "../api/types";
import { emptyBuffer, filterEntries, historySkip, levelRank, mergeEntries } from "./logModel";

const e = (sequence: number, extra: Partial<JournalEntry> = {}): JournalEntry => ({
  sequence,
  timestamp: "2026-01-01T00:00:00Z",
  level: "Information",
  event: "StepLog",
  activityId: "a",
  attempt: 1,
  message: `m${sequence}`,
  properties: null,
  ...extra,
});
const seqs = (xs: JournalEntry[]) => xs.map((x) => x.sequence);

describe("mergeEntries", () => {
  it("appends in order and tracks the last sequence", () => {
    const b = mergeEntries(mergeEntries(emptyBuffer, [e(1), e(2)]), [e(3)]);
    expect(seqs(b.entries)).toEqual([1, 2, 3]);
    expect(b.lastSequence).toBe(3);
    expect(b.dropped).toBe(0);
  });
  it("drops duplicates from a replay after a reconnect and sorts out-of-order entries", () => {
    const b = mergeEntries(mergeEntries(emptyBuffer, [e(1), e(2), e(3)]), [e(2), e(3), e(5), e(4)]);
    expect(seqs(b.entries)).toEqual([1, 2, 3, 4, 5]);
    expect(b.lastSequence).toBe(5);
  });
  it("returns the same buffer when nothing is new", () => {
    const b = mergeEntries(emptyBuffer, [e(1), e(2)]);
    expect(mergeEntries(b, [e(1)])).toBe(b);
    expect(mergeEntries(b, [])).toBe(b);
  });
  it("caps the buffer, keeping the newest and counting the dropped", () => {
    let b = mergeEntries(emptyBuffer, [e(1), e(2), e(3)], 4);
    b = mergeEntries(b, [e(4), e(5), e(6)], 4);
    expect(seqs(b.entries)).toEqual([3, 4, 5, 6]);
    expect(b.dropped).toBe(2);
    // A late replay of a dropped entry does not come back.
    b = mergeEntries(b, [e(1), e(7)], 4);
    expect(seqs(b.entries)).toEqual([4, 5, 6, 7]);
    expect(b.dropped).toBe(3);
  });
});

describe("filterEntries", () => {
  const all = [
    e(1, { level: "Debug", activityId: "a", message: "reading file" }),
    e(2, { level: "Warning", activityId: "b", message: "slow disk" }),
    e(3, { level: "Error", activityId: "b", message: "boom", properties: { code: "E42" } }),
    e(4, { level: "Information", activityId: null, event: "InstanceCreated", message: "created" }),
  ];
  it("passes everything without a filter", () => {
    expect(filterEntries(all, {})).toBe(all);
  });
  it("filters by step", () => {
    expect(seqs(filterEntries(all, { step: "b" }))).toEqual([2, 3]);
  });
  it("filters by minimum level", () => {
    expect(seqs(filterEntries(all, { minLevel: "Warning" }))).toEqual([2, 3]);
    expect(seqs(filterEntries(all, { minLevel: "Information" }))).toEqual([2, 3, 4]);
  });
  it("searches message, event and properties, case-insensitively", () => {
    expect(seqs(filterEntries(all, { text: "DISK" }))).toEqual([2]);
    expect(seqs(filterEntries(all, { text: "e42" }))).toEqual([3]);
    expect(seqs(filterEntries(all, { text: "instancecreated" }))).toEqual([4]);
  });
  it("combines filters", () => {
    expect(seqs(filterEntries(all, { step: "b", minLevel: "Error", text: "boom" }))).toEqual([3]);
  });
  it("ranks unknown levels as Information", () => {
    expect(levelRank("Whatever")).toBe(levelRank("Information"));
    expect(levelRank("Critical")).toBeGreaterThan(levelRank("Error"));
  });
});

describe("historySkip", () => {
  it("skips all but the latest cap entries of a long history and nothing of a short one", () => {
    expect(historySkip(12_000, 5000)).toBe(7000);
    expect(historySkip(5000, 5000)).toBe(0);
    expect(historySkip(0, 5000)).toBe(0);
  });

  it("keeps the skipped count when the latest entries are merged after the skip", () => {
    const skip = historySkip(5003, 5000);
    const start = { entries: [], dropped: skip, lastSequence: skip };
    const latest = Array.from({ length: 5000 }, (_, i) => e(skip + 1 + i));
    const merged = mergeEntries(start, latest, 5000);
    expect(merged.dropped).toBe(3);
    expect(merged.entries).toHaveLength(5000);
    expect(merged.entries[0].sequence).toBe(4);
    expect(merged.lastSequence).toBe(5003);
  });
});
