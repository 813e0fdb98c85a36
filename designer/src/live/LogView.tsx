// The journal of a workflow run: history first (paged), then a live tail over server-sent events that
// resumes after the last sequence seen. Entries are deduplicated by sequence and capped in memory.
import { Fragment, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { api, ApiError } from "../api/client";
import { openStream } from "../api/events";
import type { JournalEntry, PagedResult } from "../api/types";
import { clock } from "../ui/format";
import { ErrorBanner } from "../ui/kit";
import { emptyBuffer, filterEntries, historySkip, LEVELS, MAX_ENTRIES, mergeEntries, operatorOf, type LogBuffer } from "./logModel";
import "./live.css";

export type TailStatus = "loading" | "connecting" | "live" | "reconnecting" | "ended" | "closed" | "error";

export interface LogViewProps {
  /** The paged journal, e.g. /api/v1/modserv/{id}/pipeline/logs (afterSequence and pageSize are added). */
  pagedPath: string;
  /** The live stream; defaults to pagedPath with follow=true. */
  streamPath?: string;
  /** Step ids for the step filter (in pipeline order). */
  steps?: string[];
  /** The step filter, controlled (e.g. by clicking a node in the graph). */
  step?: string | null;
  onStepChange?: (step: string | null) => void;
  pageSize?: number;
  cap?: number;
  /** Called with each batch of new live entries (e.g. to refresh step statuses on StepCompleted). */
  onEntries?: (entries: JournalEntry[]) => void;
  /** Called when the server says the run has finished. */
  onEnded?: () => void;
}

const withQuery = (path: string, query: string) => path + (path.includes("?") ? "&" : "?") + query;

export function LogView({ pagedPath, streamPath, steps = [], step = null, onStepChange, pageSize = 1000, cap = MAX_ENTRIES, onEntries, onEnded }: LogViewProps) {
  const callbacks = useRef({ onEntries, onEnded });
  callbacks.current = { onEntries, onEnded };
  const [buffer, setBuffer] = useState<LogBuffer>(emptyBuffer);
  const [status, setStatus] = useState<TailStatus>("loading");
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [minLevel, setMinLevel] = useState("Trace");
  const [text, setText] = useState("");
  const [expanded, setExpanded] = useState<Set<number>>(() => new Set());
  const [atBottom, setAtBottom] = useState(true);
  const [ownStep, setOwnStep] = useState<string | null>(null);
  const activeStep = onStepChange ? step : ownStep;
  const setStep = onStepChange ?? setOwnStep;

  const lastSeq = useRef(0);
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    let cancelled = false;
    let close: (() => void) | null = null;
    let ended = false;
    let queue: JournalEntry[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    lastSeq.current = 0;
    setBuffer(emptyBuffer);
    setStatus("loading");
    setError(null);

    const add = (items: JournalEntry[]) =>
      setBuffer((b) => {
        const next = mergeEntries(b, items, cap);
        lastSeq.current = Math.max(lastSeq.current, next.lastSequence);
        return next;
      });
    // Live entries arrive one by one: render them in small batches.
    const flush = () => {
      flushTimer = undefined;
      const items = queue;
      queue = [];
      if (!cancelled && items.length) {
        add(items);
        callbacks.current.onEntries?.(items);
      }
    };

    (async () => {
      try {
        let after = 0;
        for (let page = 0; page < 1000; page++) {
          const result = await api<PagedResult<JournalEntry>>(withQuery(pagedPath, `afterSequence=${after}&pageSize=${pageSize}`));
          if (cancelled) return;
          const items = result.items ?? [];
          const skip = page === 0 ? historySkip(result.total ?? 0, cap) : 0;
          if (skip > 0) {
            // More history than the view keeps: start at the latest `cap` entries instead of paging through
            // everything (journal sequences are contiguous per run, so the skipped ones are counted exactly).
            setBuffer({ entries: [], dropped: skip, lastSequence: skip });
            after = skip;
            lastSeq.current = skip;
            continue;
          }
          if (items.length) {
            add(items);
            after = Math.max(after, ...items.map((e) => e.sequence));
            lastSeq.current = Math.max(lastSeq.current, after);
          }
          if (items.length < pageSize || items.length >= (result.total ?? 0)) break;
        }
      } catch (e) {
        if (!cancelled) {
          setError(e instanceof Error ? e : new Error(String(e)));
          setStatus("error");
        }
        return;
      }
      if (cancelled) return;
      close = openStream({
        url: () => withQuery(streamPath ?? withQuery(pagedPath, "follow=true"), `afterSequence=${lastSeq.current}`),
        events: ["journal"],
        onEvent: (name, data) => {
          if (name !== "journal" || !data || typeof data !== "object") return;
          const entry = data as JournalEntry;
          if (typeof entry.sequence !== "number" || entry.sequence <= lastSeq.current) return;
          lastSeq.current = entry.sequence;
          queue.push(entry);
          flushTimer ??= setTimeout(flush, 50);
        },
        onEnd: () => {
          ended = true;
          callbacks.current.onEnded?.();
        },
        onStatus: (s) => {
          if (cancelled) return;
          if (s === "closed") {
            flush();
            setStatus(ended ? "ended" : "closed");
          } else setStatus(s);
        },
      });
    })();

    return () => {
      cancelled = true;
      clearTimeout(flushTimer);
      close?.();
    };
  }, [pagedPath, streamPath, pageSize, cap, attempt]);

  const shown = useMemo(() => filterEntries(buffer.entries, { step: activeStep, minLevel, text }), [buffer.entries, activeStep, minLevel, text]);

  // Follow the tail while the user is at the bottom.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [shown]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    stick.current = bottom;
    setAtBottom(bottom);
  };

  const jump = () => {
    const el = scroller.current;
    if (!el) return;
    stick.current = true;
    setAtBottom(true);
    el.scrollTop = el.scrollHeight;
  };

  const toggle = (seq: number) =>
    setExpanded((s) => {
      const n = new Set(s);
      if (n.has(seq)) n.delete(seq);
      else n.add(seq);
      return n;
    });

  const stepOptions = useMemo(() => {
    const seen = new Set(steps);
    for (const e of buffer.entries) if (e.activityId) seen.add(e.activityId);
    if (activeStep) seen.add(activeStep);
    return [...seen];
  }, [steps, buffer.entries, activeStep]);

  return (
    <div className="logview" data-testid="log-view">
      <div className="log-toolbar">
        <select aria-label="Step filter" value={activeStep ?? ""} onChange={(e) => setStep(e.target.value || null)}>
          <option value="">All steps</option>
          {stepOptions.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <select aria-label="Minimum level" value={minLevel} onChange={(e) => setMinLevel(e.target.value)}>
          {LEVELS.slice(0, 5).map((l) => (
            <option key={l} value={l}>
              {l === "Trace" ? "All levels" : `${l} and above`}
            </option>
          ))}
        </select>
        <input type="search" aria-label="Search logs" placeholder="Search messages and properties" value={text} onChange={(e) => setText(e.target.value)} />
        <span className="muted" data-testid="log-count">
          {shown.length === buffer.entries.length ? `${buffer.entries.length} entries` : `${shown.length} of ${buffer.entries.length}`}
        </span>
        <TailIndicator status={status} />
      </div>
      <ErrorBanner error={error} onRetry={() => setAttempt((a) => a + 1)} />
      <div className="log-scroll" ref={scroller} onScroll={onScroll} role="log" aria-label="Pipeline log">
        {buffer.dropped > 0 && (
          <div className="log-note" data-testid="log-dropped">
            {buffer.dropped.toLocaleString()} older entries are not kept in this view; they are on the server.
          </div>
        )}
        {shown.length === 0 && (
          <div className="log-empty">
            {status === "loading" ? "Loading the log…" : buffer.entries.length ? "No entries match the filters." : "No log entries yet."}
          </div>
        )}
        {shown.map((e) => {
          const op = operatorOf(e);
          const open = expanded.has(e.sequence);
          const hasProps = !!e.properties && Object.keys(e.properties).length > 0;
          return (
            <Fragment key={e.sequence}>
              <div className={`log-row lvl-${e.level}`} data-testid="log-row" data-sequence={e.sequence} data-step={e.activityId ?? ""} data-level={e.level}>
                <span className="log-time" title={e.timestamp}>
                  {clock(e.timestamp)}
                </span>
                <span className={`log-level log-level-${e.level}`} title={e.level}>
                  {levelShort(e.level)}
                </span>
                <span className="log-step" title={e.activityId ?? e.event}>
                  {e.activityId ? (
                    <button onClick={() => setStep(activeStep === e.activityId ? null : e.activityId)} title="Show only this step">
                      {e.activityId}
                    </button>
                  ) : (
                    <span className="muted">{e.event}</span>
                  )}
                </span>
                <span className="log-attempt" title="Attempt">
                  {e.attempt ? `#${e.attempt}` : ""}
                </span>
                <span className="log-msg">
                  {hasProps && (
                    <button className="log-expand" onClick={() => toggle(e.sequence)} aria-expanded={open} aria-label={open ? "Hide properties" : "Show properties"}>
                      {open ? "▾" : "▸"}
                    </button>
                  )}
                  {e.message}
                </span>
                <span className="log-op" title={op ? `Requested by ${op}` : undefined}>
                  {op ?? ""}
                </span>
                {open && <pre className="log-props">{JSON.stringify({ event: e.event, ...e.properties }, null, 2)}</pre>}
              </div>
            </Fragment>
          );
        })}
        {!atBottom && (
          <button className="btn btn-small btn-primary log-jump" onClick={jump}>
            Jump to latest ↓
          </button>
        )}
      </div>
    </div>
  );
}

function levelShort(level: string): string {
  switch (level) {
    case "Information":
      return "INFO";
    case "Warning":
      return "WARN";
    case "Critical":
      return "CRIT";
    case "Error":
      return "ERR";
    default:
      return level.slice(0, 5).toUpperCase();
  }
}

function TailIndicator({ status }: { status: TailStatus }) {
  const label =
    status === "live"
      ? "Live"
      : status === "ended"
        ? "Ended"
        : status === "reconnecting"
          ? "Reconnecting…"
          : status === "error"
            ? "Not loaded"
            : status === "closed"
              ? "Disconnected"
              : "Connecting…";
  return (
    <span className={`log-status is-${status}`} data-testid="log-tail-status" data-status={status}>
      <span className="live-dot" aria-hidden /> {label}
    </span>
  );
}
