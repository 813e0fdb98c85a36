// Undo/redo as a snapshot history of the definition (a pure reducer). Consecutive edits with the same
// `key` (typing in one field) coalesce into one step; the history keeps at most `limit` past states.
export interface History<T> {
  past: T[];
  present: T;
  future: T[];
  /** The key of the last edit, for coalescing. */
  lastKey: string | null;
}

export type HistoryAction<T> =
  | { type: "set"; value: T; key?: string }
  | { type: "undo" }
  | { type: "redo" }
  | { type: "reset"; value: T };

export const HISTORY_LIMIT = 100;

export function initHistory<T>(value: T): History<T> {
  return { past: [], present: value, future: [], lastKey: null };
}

export function historyReducer<T>(state: History<T>, action: HistoryAction<T>, limit = HISTORY_LIMIT): History<T> {
  switch (action.type) {
    case "set": {
      if (action.value === state.present) return state;
      if (action.key && action.key === state.lastKey) return { ...state, present: action.value, future: [] };
      const past = [...state.past, state.present];
      if (past.length > limit) past.splice(0, past.length - limit);
      return { past, present: action.value, future: [], lastKey: action.key ?? null };
    }
    case "undo": {
      if (state.past.length === 0) return state;
      const previous = state.past[state.past.length - 1];
      return { past: state.past.slice(0, -1), present: previous, future: [state.present, ...state.future], lastKey: null };
    }
    case "redo": {
      if (state.future.length === 0) return state;
      const [next, ...rest] = state.future;
      return { past: [...state.past, state.present], present: next, future: rest, lastKey: null };
    }
    case "reset":
      return initHistory(action.value);
  }
}
