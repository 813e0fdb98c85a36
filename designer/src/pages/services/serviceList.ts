// Pure helpers for the services list: live-event merging, filtering, the accelerators column.
import type { ServiceSummary } from "../../api/types";

/** Applies a `service` event: replaces the row with the same id in place, or inserts a new one at the top. */
export function applyServiceEvent(list: ServiceSummary[], event: ServiceSummary): ServiceSummary[] {
  const i = list.findIndex((s) => s.serviceId === event.serviceId);
  if (i < 0) return [event, ...list];
  // An event older than what we show (e.g. delivered after a refetch) must not roll the row back.
  if (Date.parse(event.updatedAt) < Date.parse(list[i].updatedAt)) return list;
  const next = list.slice();
  next[i] = event;
  return next;
}

/** "2 × H20", "1 × accelerator" when the type is unset, "–" for none. */
export function accelerators(s: Pick<ServiceSummary, "acceleratorCount" | "acceleratorType">): string {
  if (!s.acceleratorCount || s.acceleratorCount <= 0) return "–";
  return `${s.acceleratorCount} × ${s.acceleratorType?.trim() || "accelerator"}`;
}

/** Filters by free text (name, model, shimlet, pipeline, id) and by state ("" = all). */
export function filterServices(list: ServiceSummary[], text: string, state: string): ServiceSummary[] {
  const t = text.trim().toLowerCase();
  return list.filter(
    (s) =>
      (!state || s.state === state) &&
      (!t || [s.serviceId, s.modelName, s.shimlet, s.pipeline, s.createdBy].some((v) => v?.toLowerCase().includes(t))),
  );
}

export const SERVICE_STATES = [
  "Initializing",
  "PipelineRunning",
  "AwaitingApproval",
  "Deploying",
  "HealthChecking",
  "Running",
  "Degraded",
  "Scaling",
  "Failed",
  "Stopping",
  "Stopped",
];

export const BUSY_STATES = new Set(["Initializing", "PipelineRunning", "Deploying", "HealthChecking", "Scaling", "Stopping"]);

/** Services whose deploy pipeline waits for a sign-off (the pending approvals badge). */
export function pendingApprovals(list: Pick<ServiceSummary, "state">[]): number {
  return list.filter((s) => s.state === "AwaitingApproval").length;
}

/** The body of `POST /api/v1/modserv/{id}/approval`: the comment trimmed, omitted when empty. */
export function approvalBody(decision: "approve" | "reject", comment: string): { decision: string; comment?: string } {
  const c = comment.trim();
  return c ? { decision, comment: c } : { decision };
}

/** Which operator actions make sense in a state (the server has the last word). */
export function actionsFor(state: string): { scale: boolean; undeploy: boolean; redeploy: boolean } {
  return {
    scale: state === "Running" || state === "Degraded",
    undeploy: state !== "Stopped" && state !== "Stopping",
    redeploy: state === "Failed" || state === "Stopped",
  };
}
