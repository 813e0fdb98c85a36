// Comparing two versions of a definition: pretty JSON with a stable key order (for a line diff) and a
// structural summary (steps added/removed/changed, connections added/removed).
import type { Connection, WorkflowDefinition } from "../../api/types";

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as Record<string, unknown>).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** JSON with object keys sorted at every level and 2-space indentation (arrays keep their order). */
export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2);
}

export interface StepChange {
  id: string;
  /** The top-level fields that differ ("inputs", "retry", "timeout", "displayName", "type", ...). */
  fields: string[];
}

export interface StructuralDiff {
  stepsAdded: string[];
  stepsRemoved: string[];
  stepsChanged: StepChange[];
  connectionsAdded: string[];
  connectionsRemoved: string[];
  /** Definition-level fields that differ (name, description, inputs). */
  definitionChanged: string[];
}

/** "a --Done--> b" (a missing source port is Done). */
export function connectionLabel(c: Connection): string {
  const target = c.target.port ? `${c.target.activity}:${c.target.port}` : c.target.activity;
  return `${c.source.activity} --${c.source.port || "Done"}--> ${target}`;
}

/**
 * What changed from `before` to `after`. Step positions (metadata) alone do not count as a change
 * unless `includeLayout` is set; "metadata" is then reported as a changed field.
 */
export function structuralDiff(before: WorkflowDefinition | null, after: WorkflowDefinition, includeLayout = false): StructuralDiff {
  const oldSteps = new Map((before?.root.activities ?? []).map((a) => [a.id, a]));
  const newSteps = new Map((after.root.activities ?? []).map((a) => [a.id, a]));
  const stepsAdded = [...newSteps.keys()].filter((id) => !oldSteps.has(id));
  const stepsRemoved = [...oldSteps.keys()].filter((id) => !newSteps.has(id));
  const stepsChanged: StepChange[] = [];
  for (const [id, a] of newSteps) {
    const b = oldSteps.get(id);
    if (!b) continue;
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    const fields = [...keys]
      .filter((k) => (includeLayout || k !== "metadata") && stableStringify(a[k]) !== stableStringify(b[k]))
      .sort();
    if (fields.length) stepsChanged.push({ id, fields });
  }
  const oldConns = new Set((before?.root.connections ?? []).map(connectionLabel));
  const newConns = new Set((after.root.connections ?? []).map(connectionLabel));
  const definitionChanged = ["definitionId", "name", "description", "inputs"].filter(
    (k) => before !== null && stableStringify(before[k]) !== stableStringify(after[k]),
  );
  return {
    stepsAdded,
    stepsRemoved,
    stepsChanged,
    connectionsAdded: [...newConns].filter((c) => !oldConns.has(c)),
    connectionsRemoved: [...oldConns].filter((c) => !newConns.has(c)),
    definitionChanged,
  };
}

/** True when nothing but layout changed. */
export function isEmptyDiff(d: StructuralDiff): boolean {
  return !d.stepsAdded.length && !d.stepsRemoved.length && !d.stepsChanged.length && !d.connectionsAdded.length && !d.connectionsRemoved.length && !d.definitionChanged.length;
}

export interface DiffRow {
  kind: "add" | "del" | "ctx" | "skip";
  text: string;
  oldNo?: number;
  newNo?: number;
  /** For "skip": how many unchanged lines are folded. */
  count?: number;
}

/**
 * Line-diff changes (jsdiff's `diffLines` output) → numbered rows for a unified view; runs of
 * unchanged lines longer than 2×context+1 are folded to `context` lines either side.
 */
export function diffRows(changes: { value: string; added?: boolean; removed?: boolean }[], context = 3): DiffRow[] {
  const rows: DiffRow[] = [];
  let o = 1;
  let n = 1;
  changes.forEach((c, ci) => {
    const lines = c.value.replace(/\n$/, "").split("\n");
    if (c.added) for (const t of lines) rows.push({ kind: "add", text: t, newNo: n++ });
    else if (c.removed) for (const t of lines) rows.push({ kind: "del", text: t, oldNo: o++ });
    else {
      const first = ci === 0;
      const last = ci === changes.length - 1;
      const head = first ? 0 : context;
      const tail = last ? 0 : context;
      if (lines.length > head + tail + 1) {
        lines.slice(0, head).forEach((t) => rows.push({ kind: "ctx", text: t, oldNo: o++, newNo: n++ }));
        const folded = lines.length - head - tail;
        rows.push({ kind: "skip", text: "", count: folded });
        o += folded;
        n += folded;
        lines.slice(lines.length - tail).forEach((t) => rows.push({ kind: "ctx", text: t, oldNo: o++, newNo: n++ }));
      } else lines.forEach((t) => rows.push({ kind: "ctx", text: t, oldNo: o++, newNo: n++ }));
    }
  });
  return rows;
}
