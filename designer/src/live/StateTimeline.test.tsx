import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { HistoryEntry } from "../api/types";
import { StateTimeline, TIMELINE_SHOWN } from "./StateTimeline";

const entry = (i: number, to: string): HistoryEntry => ({
  at: new Date(Date.UTC(2026, 10, 24, 12, 0, i)).toISOString(),
  from: i === 0 ? null : "Stopped",
  to,
  reason: `reason ${i}`,
  operator: "otto",
});

afterEach(cleanup);

describe("StateTimeline", () => {
  it("shows the newest entry first and marks the current state", () => {
    render(<StateTimeline history={[entry(0, "Initializing"), entry(1, "Running")]} current="Running" />);
    const items = screen.getAllByTestId("timeline-entry");
    expect(items.map((li) => li.getAttribute("data-to"))).toEqual(["Running", "Initializing"]);
    expect(items[0].getAttribute("aria-current")).toBe("step");
    expect(items[1].getAttribute("aria-current")).toBeNull();
  });

  it("caps a long history and shows the rest on request", () => {
    const history = Array.from({ length: TIMELINE_SHOWN + 7 }, (_, i) => entry(i, i % 2 ? "Running" : "Stopped"));
    render(<StateTimeline history={history} current="Stopped" />);
    expect(screen.getAllByTestId("timeline-entry")).toHaveLength(TIMELINE_SHOWN);
    expect(screen.getByText(`reason ${TIMELINE_SHOWN + 6}`)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Show 7 earlier entries" }));
    expect(screen.getAllByTestId("timeline-entry")).toHaveLength(TIMELINE_SHOWN + 7);
    expect(screen.getByText("reason 0")).toBeTruthy();
  });
});
