// The state history of a service as a vertical timeline, newest at the top. A long history (a service
// redeployed many times) shows its latest entries and offers the rest on request, so the page stays small.
import { useState } from "react";
import type { HistoryEntry } from "../api/types";
import { dateTime, clock } from "../ui/format";
import { Badge } from "../ui/kit";
import "./live.css";

const BUSY = new Set(["Initializing", "PipelineRunning", "Deploying", "HealthChecking", "Scaling", "Stopping"]);

/** How many entries are shown before "Show all". */
export const TIMELINE_SHOWN = 25;

export function StateTimeline({ history, current }: { history: HistoryEntry[]; current: string }) {
  const [all, setAll] = useState(false);
  const newestFirst = history.slice().reverse();
  const items = all ? newestFirst : newestFirst.slice(0, TIMELINE_SHOWN);
  const hidden = newestFirst.length - items.length;
  return (
    <>
    <ol className="timeline" data-testid="state-timeline">
      {items.map((h, i) => {
        const isCurrent = i === 0 && h.to === current;
        const cls = isCurrent ? `tl-current${BUSY.has(h.to) ? " tl-busy" : ""}${h.to === "Failed" ? " tl-bad" : ""}` : "";
        return (
          <li key={`${h.at}-${i}`} className={cls} data-testid="timeline-entry" data-to={h.to} aria-current={isCurrent ? "step" : undefined}>
            <span className="tl-dot" aria-hidden />
            <div className="tl-head">
              {h.from && (
                <>
                  <span className="muted">{h.from}</span>
                  <span className="muted" aria-label="to">
                    →
                  </span>
                </>
              )}
              <Badge value={h.to} />
            </div>
            {h.reason && <div className="tl-reason">{h.reason}</div>}
            <div className="tl-meta" title={h.at}>
              {dateTime(h.at).slice(0, 10)} {clock(h.at)} · {h.operator}
            </div>
          </li>
        );
      })}
    </ol>
    {hidden > 0 && (
      <button className="btn btn-small btn-ghost" onClick={() => setAll(true)}>
        Show {hidden} earlier {hidden === 1 ? "entry" : "entries"}
      </button>
    )}
    {all && newestFirst.length > TIMELINE_SHOWN && (
      <button className="btn btn-small btn-ghost" onClick={() => setAll(false)}>
        Show only the latest {TIMELINE_SHOWN}
      </button>
    )}
    </>
  );
}
