import { describe, expect, it } from "vitest";
import type { PipelineView, StepAttempt } from "../api/types";
import { statusesFromAttempts, statusesFromPipelineView, stepStatus } from "./stepStatus";

const at = (activityId: string, attempt: number, status: string, extra: Partial<StepAttempt> = {}): StepAttempt => ({
  activityId,
  activityType: "T",
  attempt,
  status,
  startedAt: `2026-01-01T00:00:0${attempt}.000Z`,
  endedAt: status === "Running" ? null : `2026-01-01T00:00:0${attempt}.500Z`,
  durationMs: null,
  errorType: null,
  errorMessage: null,
  retryable: null,
  retryDelayMs: null,
  isFinal: status !== "Failed",
  outcome: null,
  output: null,
  input: null,
  ...extra,
});

describe("stepStatus", () => {
  it("is Pending without attempts while running, Skipped once the instance finished", () => {
    expect(stepStatus([], "Running")).toBe("Pending");
    expect(stepStatus([], null)).toBe("Pending");
    expect(stepStatus([], "Completed")).toBe("Skipped");
    expect(stepStatus([], "Faulted")).toBe("Skipped");
  });
  it("is Running on the first attempt and Retrying on a later running attempt", () => {
    expect(stepStatus([at("a", 1, "Running")], "Running")).toBe("Running");
    expect(stepStatus([at("a", 1, "Failed"), at("a", 2, "Running")], "Running")).toBe("Retrying");
  });
  it("uses the latest attempt whatever the order", () => {
    expect(stepStatus([at("a", 2, "Succeeded"), at("a", 1, "Failed")], "Completed")).toBe("Succeeded");
  });
  it("is Retrying when the last attempt failed, is not final and the instance still runs", () => {
    expect(stepStatus([at("a", 1, "Failed", { isFinal: false })], "Running")).toBe("Retrying");
    expect(stepStatus([at("a", 1, "Failed", { isFinal: false })], "Faulted")).toBe("Failed");
    expect(stepStatus([at("a", 1, "Failed", { isFinal: true })], "Running")).toBe("Failed");
  });
  it("is Cancelled for a cancelled last attempt", () => {
    expect(stepStatus([at("a", 1, "Cancelled", { isFinal: true })], "Cancelled")).toBe("Cancelled");
  });
});

describe("statusesFromAttempts", () => {
  it("maps every activity, counts attempts, spans the duration and keeps the last error", () => {
    const map = statusesFromAttempts(
      ["a", "b", "c"],
      [at("a", 1, "Succeeded"), at("b", 1, "Failed", { isFinal: false, errorType: "Timeout", errorMessage: "slow", retryDelayMs: 2000 })],
      "Running",
    );
    expect(map.a).toMatchObject({ status: "Succeeded", attempts: 1, durationMs: 500, error: null });
    expect(map.b).toMatchObject({ status: "Retrying", attempts: 1, error: { type: "Timeout", message: "slow" }, retryDelayMs: 2000 });
    expect(map.c).toMatchObject({ status: "Pending", attempts: 0, durationMs: null });
  });
  it("measures from the first start to the last end across retries", () => {
    const map = statusesFromAttempts(["a"], [at("a", 1, "Failed", { isFinal: false }), at("a", 2, "Succeeded")], "Completed");
    expect(map.a.durationMs).toBe(1500);
    expect(map.a.attempts).toBe(2);
  });
  it("includes steps that have attempts but are not listed", () => {
    expect(statusesFromAttempts([], [at("x", 1, "Running")], "Running").x.status).toBe("Running");
  });
});

describe("statusesFromPipelineView", () => {
  it("takes the server's statuses by step name", () => {
    const view: PipelineView = {
      instanceId: "i",
      pipeline: "p",
      version: 1,
      status: "Running",
      operation: "Deploy",
      steps: [
        { name: "a", type: "T", status: "Failed", attempts: 3, durationMs: 12, startedAt: null, endedAt: null, outcome: null, error: { type: "E", message: "m", step: "a" }, attemptDetails: [] },
      ],
    };
    expect(statusesFromPipelineView(view)).toEqual({ a: { status: "Failed", attempts: 3, durationMs: 12, error: { type: "E", message: "m" }, retryDelayMs: null } });
    expect(statusesFromPipelineView(null)).toEqual({});
  });
});
