// The service detail page's traffic chart: request rate, mean latency and tokens per second through the gateway,
// from GET /api/v1/modserv/{id}/usage (10-second intervals, last 10 minutes).
import type { UsageSeries } from "../../api/types";

export interface UsageLine {
  label: string;
  unit: string;
  /** One value per interval, oldest first. */
  values: number[];
  /** The figure shown next to the line: the last complete interval's value. */
  current: number;
}

/**
 * The three lines. The last interval is still filling, so rates use complete intervals only: the current figure is
 * the one before it. Latency is the mean of the interval's requests (0 where there were none).
 */
export function usageLines(series: UsageSeries): UsageLine[] {
  const complete = series.points.slice(0, -1);
  const per = series.intervalSeconds || 10;
  const last = (values: number[]) => (values.length ? values[values.length - 1] : 0);
  const rate = complete.map((p) => p.requests / per);
  const latency = complete.map((p) => p.meanLatencyMs);
  const tokens = complete.map((p) => p.completionTokens / per);
  return [
    { label: "Requests", unit: "/s", values: rate, current: last(rate) },
    { label: "Latency", unit: "ms", values: latency, current: last(latency) },
    { label: "Tokens", unit: "/s", values: tokens, current: last(tokens) },
  ];
}

/** An SVG polyline's points for `values` in a `width` × `height` box (0 at the bottom; a flat line when all are 0). */
export function sparkline(values: number[], width: number, height: number): string {
  if (values.length === 0) return "";
  const max = Math.max(...values);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((v, i) => {
      const y = max > 0 ? height - (v / max) * height : height;
      return `${round(i * step)},${round(y)}`;
    })
    .join(" ");
}

/** A figure as the card shows it: up to three significant digits. */
export function figure(value: number): string {
  if (value === 0) return "0";
  if (value >= 100) return Math.round(value).toString();
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
