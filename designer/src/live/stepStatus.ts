// Per-step status of a workflow run, computed from its step attempts. Mirrors the server's
// ModServApi.PipelineAsync so the instance page and the service page agree on what a step is doing.
import type { PipelineView, StepAttempt, StepStatus } from "../api/types";

export interface StepLive {
  status: StepStatus;
  attempts: number;
  durationMs: number | null;
  error: { type: string | null; message: string | null } | null;
  /** The delay before the next attempt when the step is waiting to retry. */
  retryDelayMs?: number | null;
}

export type StepStatusMap = Record<string, StepLive>;

const FINISHED = new Set(["Completed", "Faulted", "Cancelled"]);

/** True when a workflow instance status means it will not run any more steps. */
export function isInstanceFinished(status: string | null | undefined): boolean {
  return !!status && FINISHED.has(status);
}

/** The status of one step from its attempts (any order). */
export function stepStatus(attempts: StepAttempt[], instanceStatus: string | null | undefined): StepStatus {
  const finished = isInstanceFinished(instanceStatus);
  if (attempts.length === 0) return finished ? "Skipped" : "Pending";
  const last = attempts.reduce((a, b) => (b.attempt > a.attempt ? b : a));
  if (last.status === "Running") return last.attempt > 1 ? "Retrying" : "Running";
  if (last.status === "Succeeded") return "Succeeded";
  // Waiting for a signal (e.g. an approval): it holds no slot and runs again when the signal arrives.
  if (last.status === "Suspended" && !last.isFinal && !finished) return "Suspended";
  if (!last.isFinal && !finished) return "Retrying";
  if (last.status === "Cancelled") return "Cancelled";
  return "Failed";
}

/** Status, attempt count, duration (first start to last end) and last error for each activity id. */
export function statusesFromAttempts(
  activityIds: string[],
  attempts: StepAttempt[],
  instanceStatus: string | null | undefined,
): StepStatusMap {
  const byStep = new Map<string, StepAttempt[]>();
  for (const a of attempts) {
    const list = byStep.get(a.activityId);
    if (list) list.push(a);
    else byStep.set(a.activityId, [a]);
  }
  const ids = [...activityIds, ...[...byStep.keys()].filter((id) => !activityIds.includes(id))];
  const out: StepStatusMap = {};
  for (const id of ids) {
    const mine = (byStep.get(id) ?? []).slice().sort((a, b) => a.attempt - b.attempt);
    const first = mine[0];
    const last = mine[mine.length - 1];
    const status = stepStatus(mine, instanceStatus);
    out[id] = {
      status,
      attempts: mine.length,
      durationMs: first && last?.endedAt ? Date.parse(last.endedAt) - Date.parse(first.startedAt) : null,
      error: last?.errorType ? { type: last.errorType, message: last.errorMessage } : null,
      retryDelayMs: status === "Retrying" ? last?.retryDelayMs ?? null : null,
    };
  }
  return out;
}

/** The same map from the service pipeline view (the server already computed the statuses). */
export function statusesFromPipelineView(view: PipelineView | null | undefined): StepStatusMap {
  const out: StepStatusMap = {};
  for (const s of view?.steps ?? []) {
    const last = s.attemptDetails[s.attemptDetails.length - 1];
    out[s.name] = {
      status: s.status,
      attempts: s.attempts,
      durationMs: s.durationMs,
      error: s.error ? { type: s.error.type, message: s.error.message } : null,
      retryDelayMs: s.status === "Retrying" ? last?.retryDelayMs ?? null : null,
    };
  }
  return out;
}
