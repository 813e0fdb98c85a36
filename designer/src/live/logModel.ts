// The journal kept in memory by the log view: merged by sequence (so a reconnect that replays entries
// adds no duplicates), capped, and filtered by step, minimum level and free text.
import type { JournalEntry } from "../api/types";

export const LEVELS = ["Trace", "Debug", "Information", "Warning", "Error", "Critical"] as const;

/** How many entries a view keeps; older ones stay on the server. */
export const MAX_ENTRIES = 5000;

export function levelRank(level: string): number {
  const i = (LEVELS as readonly string[]).indexOf(level);
  return i < 0 ? 2 : i;
}

export interface LogBuffer {
  entries: JournalEntry[];
  /** How many older entries were dropped to respect the cap. */
  dropped: number;
  /** The highest sequence seen (resume point for the stream). */
  lastSequence: number;
}

export const emptyBuffer: LogBuffer = { entries: [], dropped: 0, lastSequence: 0 };

/** Adds entries (any order, possibly already seen), keeping the buffer sorted by sequence and at most `cap` long. */
export function mergeEntries(buffer: LogBuffer, incoming: JournalEntry[], cap: number = MAX_ENTRIES): LogBuffer {
  if (incoming.length === 0) return buffer;
  let entries: JournalEntry[];
  const last = buffer.lastSequence;
  const inOrder = incoming.every((e, i) => e.sequence > (i === 0 ? last : incoming[i - 1].sequence));
  if (inOrder) {
    entries = buffer.entries.concat(incoming);
  } else {
    const seen = new Map<number, JournalEntry>();
    for (const e of buffer.entries) seen.set(e.sequence, e);
    // Once older entries were dropped, anything before the oldest kept one stays dropped.
    const floor = buffer.dropped > 0 ? (buffer.entries[0]?.sequence ?? 0) : -Infinity;
    for (const e of incoming) if (e.sequence > floor && !seen.has(e.sequence)) seen.set(e.sequence, e);
    entries = [...seen.values()].sort((a, b) => a.sequence - b.sequence);
  }
  const added = entries.length - buffer.entries.length;
  if (added === 0) return buffer;
  let dropped = buffer.dropped;
  if (entries.length > cap) {
    dropped += entries.length - cap;
    entries = entries.slice(entries.length - cap);
  }
  return { entries, dropped, lastSequence: Math.max(last, entries[entries.length - 1]?.sequence ?? 0) };
}

/** How many of a run's `total` stored entries a view that keeps `cap` skips when it loads the history. */
export function historySkip(total: number, cap: number = MAX_ENTRIES): number {
  return total > cap ? total - cap : 0;
}

export interface LogFilter {
  step?: string | null;
  minLevel?: string;
  text?: string;
}

export function operatorOf(entry: JournalEntry): string | null {
  const op = entry.properties?.operator;
  return typeof op === "string" ? op : null;
}

/** The entries that pass the filter (step exact, level at least minLevel, text in message/event/step/properties). */
export function filterEntries(entries: JournalEntry[], filter: LogFilter): JournalEntry[] {
  const min = filter.minLevel ? levelRank(filter.minLevel) : 0;
  const text = filter.text?.trim().toLowerCase() ?? "";
  if (!filter.step && min === 0 && !text) return entries;
  return entries.filter((e) => {
    if (filter.step && e.activityId !== filter.step) return false;
    if (levelRank(e.level) < min) return false;
    if (text) {
      const hay = `${e.message} ${e.event} ${e.activityId ?? ""} ${e.properties ? JSON.stringify(e.properties) : ""}`.toLowerCase();
      if (!hay.includes(text)) return false;
    }
    return true;
  });
}
