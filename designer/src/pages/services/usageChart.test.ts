import { describe, expect, it } from "vitest";
import type { UsagePoint, UsageSeries } from "../../api/types";
import { figure, sparkline, usageLines } from "./usageChart";

const point = (requests: number, meanLatencyMs: number, completionTokens: number): UsagePoint => ({
  at: "2026-12-04T18:00:00Z",
  requests,
  errors: 0,
  meanLatencyMs,
  promptTokens: 0,
  completionTokens,
});

describe("usageLines", () => {
  it("gives per-second rates and mean latency of the complete intervals, the partial last one left out", () => {
    const series: UsageSeries = { intervalSeconds: 10, points: [point(0, 0, 0), point(20, 12.5, 400), point(5, 99, 50)] };
    const [requests, latency, tokens] = usageLines(series);
    expect(requests.values).toEqual([0, 2]);
    expect(requests.current).toBe(2);
    expect(latency.values).toEqual([0, 12.5]);
    expect(tokens.current).toBe(40);
  });
  it("is all zeros without traffic", () => {
    const lines = usageLines({ intervalSeconds: 10, points: [point(0, 0, 0)] });
    expect(lines.map((l) => l.current)).toEqual([0, 0, 0]);
  });
});

describe("sparkline", () => {
  it("scales to the box with the maximum at the top", () => {
    expect(sparkline([0, 5, 10], 100, 20)).toBe("0,20 50,10 100,0");
  });
  it("draws a flat line at the bottom when everything is zero", () => {
    expect(sparkline([0, 0], 10, 4)).toBe("0,4 10,4");
  });
});

describe("figure", () => {
  it("keeps about three significant digits", () => {
    expect([0, 0.123, 4.5, 12.34, 256.7].map(figure)).toEqual(["0", "0.12", "4.50", "12.3", "257"]);
  });
});
