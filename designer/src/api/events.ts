// Live updates over server-sent events. One shared EventSource carries the server-wide stream
// (GET /api/v1/events: service, instance, step and definition events, each with its sequence as id, resumed
// after the last id on reconnection); pages subscribe to the event types they
// show and unsubscribe on unmount, so a page left open holds exactly one connection and no stale
// handlers. The browser's EventSource reconnects by itself; when the server closes it for good
// (e.g. an expired key) we retry with a capped backoff.
//
// Browsers allow only six HTTP/1.1 connections per server across all tabs, and each open stream holds
// one: a tab hidden for HIDDEN_GRACE_MS closes its streams and reopens them (resuming, and resyncing
// the shared one) when it is shown again, so background tabs do not starve the visible one.
import { useEffect, useRef, useState } from "react";
import { streamUrl } from "./client";

export type StreamStatus = "connecting" | "live" | "reconnecting" | "closed";

type Handler = (data: unknown) => void;

export interface StreamOptions {
  /** Event names to listen for (`message` is always included). */
  events: string[];
  onEvent: (event: string, data: unknown, lastEventId: string) => void;
  onStatus?: (status: StreamStatus) => void;
  /** Called when the server sends `event: end` (a finished stream); the stream is then closed, not retried. */
  onEnd?: () => void;
  /** Builds the URL for each (re)connection, e.g. to resume after the last sequence seen. */
  url: () => string;
}

/** How long a tab may stay hidden before its streams are closed (they reopen when it is shown). */
export const HIDDEN_GRACE_MS = 30_000;

/** Opens a resilient stream; returns a function that closes it. */
export function openStream(options: StreamOptions): () => void {
  let source: EventSource | null = null;
  let closed = false;
  let paused = false;
  let retry = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let hiddenTimer: ReturnType<typeof setTimeout> | undefined;

  const connect = () => {
    if (closed) return;
    options.onStatus?.(retry === 0 ? "connecting" : "reconnecting");
    const es = new EventSource(streamUrl(options.url()));
    source = es;
    es.onopen = () => {
      retry = 0;
      options.onStatus?.("live");
    };
    const listen = (name: string) =>
      es.addEventListener(name, (e) => {
        const me = e as MessageEvent<string>;
        let data: unknown = me.data;
        try {
          data = JSON.parse(me.data);
        } catch {
          /* plain text */
        }
        options.onEvent(name, data, me.lastEventId);
      });
    new Set(["message", ...options.events]).forEach(listen);
    es.addEventListener("end", () => {
      options.onEnd?.();
      stop("closed");
    });
    es.onerror = () => {
      if (closed) return;
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (HTTP error, e.g. 401/404): back off and try again.
        es.close();
        source = null;
        retry++;
        options.onStatus?.("reconnecting");
        timer = setTimeout(connect, Math.min(30_000, 1000 * 2 ** Math.min(retry, 5)));
      } else {
        options.onStatus?.("reconnecting");
      }
    };
  };

  const onVisibility = () => {
    if (closed) return;
    if (document.hidden) {
      clearTimeout(hiddenTimer);
      hiddenTimer = setTimeout(() => {
        if (closed || !document.hidden) return;
        paused = true;
        clearTimeout(timer);
        source?.close();
        source = null;
        options.onStatus?.("reconnecting");
      }, HIDDEN_GRACE_MS);
    } else {
      clearTimeout(hiddenTimer);
      if (paused) {
        paused = false;
        retry = 1; // a reconnection, not a first connection
        connect();
      }
    }
  };

  const stop = (status: StreamStatus) => {
    closed = true;
    clearTimeout(timer);
    clearTimeout(hiddenTimer);
    document.removeEventListener("visibilitychange", onVisibility);
    source?.close();
    source = null;
    options.onStatus?.(status);
  };

  document.addEventListener("visibilitychange", onVisibility);
  connect();
  return () => stop("closed");
}

// ---- The shared server-wide stream ----

const handlers = new Map<string, Set<Handler>>();
const statusListeners = new Set<(s: StreamStatus) => void>();
let closeShared: (() => void) | null = null;
let sharedStatus: StreamStatus = "closed";
const SHARED_EVENTS = ["service", "instance", "step", "definition", "reset"];

/**
 * Sent to `resync` subscribers when events may have been missed, so views refetch what they show: when the server
 * answers a resumed stream with `reset` (what was missed is no longer retained, or the server lost it in a restart),
 * or when the stream comes back after a drop before any event told us where to resume from.
 */
export const RESYNC = "resync";

function ensureShared() {
  if (closeShared) return;
  let wasLive = false;
  let dropped = false;
  // The id (sequence) of the last event: a new connection resumes after it (the browser's own reconnections send it
  // as Last-Event-ID), so the server replays what was missed instead of the views refetching everything.
  let lastId = "";
  const resync = () => handlers.get(RESYNC)?.forEach((h) => h(null));
  closeShared = openStream({
    url: () => (lastId ? `/api/v1/events?afterSequence=${encodeURIComponent(lastId)}` : "/api/v1/events"),
    events: SHARED_EVENTS,
    onEvent: (name, data, id) => {
      if (id) lastId = id;
      if (name === "reset") resync();
      else handlers.get(name)?.forEach((h) => h(data));
    },
    onStatus: (s) => {
      sharedStatus = s;
      statusListeners.forEach((l) => l(s));
      if (s === "reconnecting" && wasLive) dropped = true;
      if (s === "live") {
        wasLive = true;
        if (dropped) {
          dropped = false;
          if (!lastId) resync();
        }
      }
    },
  });
}

function releaseSharedIfIdle() {
  let count = statusListeners.size;
  handlers.forEach((set) => (count += set.size));
  if (count === 0 && closeShared) {
    closeShared();
    closeShared = null;
  }
}

/** Subscribes to one event type of the shared stream; returns the unsubscribe function. */
export function subscribe(event: string, handler: Handler): () => void {
  let set = handlers.get(event);
  if (!set) handlers.set(event, (set = new Set()));
  set.add(handler);
  ensureShared();
  return () => {
    set!.delete(handler);
    releaseSharedIfIdle();
  };
}

/** Re-opens the shared stream (after signing in with another key). */
export function restartShared(): void {
  if (closeShared) {
    closeShared();
    closeShared = null;
    ensureShared();
  }
}

/** React: calls `handler` for each event of `event` while mounted (the latest handler is always used). */
export function useServerEvent<T>(event: string, handler: (data: T) => void): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => subscribe(event, (d) => ref.current(d as T)), [event]);
}

/** React: the shared stream's connection status (for the "live" indicator). */
export function useStreamStatus(): StreamStatus {
  const [status, setStatus] = useState<StreamStatus>(sharedStatus);
  useEffect(() => {
    statusListeners.add(setStatus);
    ensureShared();
    setStatus(sharedStatus);
    return () => {
      statusListeners.delete(setStatus);
      releaseSharedIfIdle();
    };
  }, []);
  return status;
}
