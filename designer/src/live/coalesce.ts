// Coalesced refetching: however many events ask for a refresh, at most one request is in flight and
// at most one more is queued behind it (the trailing one sees the latest state).
import { useCallback, useEffect, useRef } from "react";

export interface Coalescer {
  /** Asks for a run; returns at once. */
  trigger: () => void;
  /** Stops: no further runs start (one in flight finishes, its successor is dropped). */
  dispose: () => void;
}

export function coalesce(run: () => Promise<unknown>): Coalescer {
  let inFlight = false;
  let queued = false;
  let disposed = false;
  const start = () => {
    inFlight = true;
    queued = false;
    run()
      .catch(() => undefined)
      .finally(() => {
        inFlight = false;
        if (queued && !disposed) start();
      });
  };
  return {
    trigger: () => {
      if (disposed) return;
      if (inFlight) queued = true;
      else start();
    },
    dispose: () => {
      disposed = true;
      queued = false;
    },
  };
}

/** React: a stable trigger that runs the latest `run` coalesced; disposed on unmount. */
export function useCoalesced(run: () => Promise<unknown>): () => void {
  const ref = useRef(run);
  ref.current = run;
  const c = useRef<Coalescer | null>(null);
  useEffect(() => {
    // Created per mount (StrictMode mounts twice; a disposed coalescer must not be reused).
    const mine = coalesce(() => ref.current());
    c.current = mine;
    return () => {
      mine.dispose();
      if (c.current === mine) c.current = null;
    };
  }, []);
  return useCallback(() => c.current?.trigger(), []);
}
