import { describe, expect, it } from "vitest";
import type { StepAttempt } from "../api/types";
import { approvalBody, pendingApprovals } from "../pages/services/serviceList";
import { stepStatus } from "./stepStatus";

const attempt = (n: number, status: string, isFinal: boolean): StepAttempt => ({
  activityId: "approval",
  activityType: "ModelServeShim.Approval",
  attempt: n,
  status,
  startedAt: `2026-01-01T00:00:0${n}.000Z`,
  endedAt: `2026-01-01T00:00:0${n}.100Z`,
  durationMs: null,
  errorType: null,
  errorMessage: null,
  retryable: null,
  retryDelayMs: null,
  isFinal,
  outcome: isFinal ? "Approved" : null,
  output: null,
  input: null,
});

describe("a step waiting for a signal", () => {
  it("is Suspended while its instance waits, not Retrying", () => {
    expect(stepStatus([attempt(1, "Suspended", false)], "Suspended")).toBe("Suspended");
  });
  it("is Succeeded once the signal resumed it", () => {
    expect(stepStatus([attempt(1, "Suspended", false), attempt(2, "Succeeded", true)], "Running")).toBe("Succeeded");
  });
  it("is Cancelled when the instance was cancelled while it waited", () => {
    expect(stepStatus([{ ...attempt(1, "Cancelled", true), outcome: null }], "Cancelled")).toBe("Cancelled");
  });
});

describe("pending approvals", () => {
  it("counts the services awaiting approval", () => {
    expect(pendingApprovals([{ state: "AwaitingApproval" }, { state: "Running" }, { state: "AwaitingApproval" }])).toBe(2);
    expect(pendingApprovals([])).toBe(0);
  });
  it("sends the decision with a trimmed comment, and no comment when it is blank", () => {
    expect(approvalBody("approve", "  fits the budget ")).toEqual({ decision: "approve", comment: "fits the budget" });
    expect(approvalBody("reject", "   ")).toEqual({ decision: "reject" });
  });
});
