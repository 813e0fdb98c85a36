// Server validation problems → the step and field they are about. The server names each problem by
// JSON path ("$.root.activities[3].inputs.url") and, for a step's problems, by activity id.
import type { WorkflowDefinition } from "../../api/types";

export interface RawProblem {
  path?: string;
  field?: string;
  message: string;
  activityId?: string | null;
}

export interface MappedError {
  /** The JSON path as the server wrote it. */
  path: string;
  message: string;
  /** The step it is about, if any. */
  activityId: string | null;
  /**
   * The field within the step ("inputs.url", "retry.maxAttempts", "timeout", "id", "type"; "" for
   * the step as a whole), or within the definition for definition-level problems ("definitionId",
   * "name", "inputs[0].name", "root.connections[2].source.port"...).
   */
  field: string;
}

const ACTIVITY = /^\$\.root\.activities\[(\d+)\](?:\.(.*))?$/;
const CONNECTION = /^\$\.root\.connections\[(\d+)\]/;

/** Maps one problem. `def` is the definition that was validated (to resolve indexes to ids). */
export function mapError(problem: RawProblem, def: WorkflowDefinition | null): MappedError {
  const path = problem.path ?? problem.field ?? "";
  const message = problem.message;
  const activities = def?.root?.activities ?? [];
  const m = ACTIVITY.exec(path);
  if (m) {
    const byIndex = activities[Number(m[1])]?.id ?? null;
    return { path, message, activityId: problem.activityId ?? byIndex, field: m[2] ?? "" };
  }
  const c = CONNECTION.exec(path);
  if (c) {
    const conn = def?.root?.connections?.[Number(c[1])];
    return { path, message, activityId: problem.activityId ?? conn?.source.activity ?? null, field: path.replace(/^\$\./, "") };
  }
  return { path, message, activityId: problem.activityId ?? null, field: path.replace(/^\$\.?/, "") };
}

export function mapErrors(problems: RawProblem[], def: WorkflowDefinition | null): MappedError[] {
  return problems.map((p) => mapError(p, def));
}

/** Messages per activity id (for the canvas badges). */
export function errorsByActivity(errors: MappedError[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of errors) if (e.activityId) (out[e.activityId] ??= []).push(e.message);
  return out;
}

/** The messages for one field of one step (exact field; "" gives the step-level ones). */
export function fieldErrors(errors: MappedError[], activityId: string | null, field: string): string[] {
  return errors.filter((e) => e.activityId === activityId && e.field === field).map((e) => e.message);
}

/** The messages of a definition-level field ("definitionId", "name", "inputs"...): path starts with it. */
export function definitionFieldErrors(errors: MappedError[], field: string): string[] {
  return errors
    .filter((e) => !ACTIVITY.test(e.path) && !CONNECTION.test(e.path) && (e.field === field || e.field.startsWith(field + ".") || e.field.startsWith(field + "[")))
    .map((e) => e.message);
}
