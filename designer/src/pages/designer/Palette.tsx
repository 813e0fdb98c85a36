// The activity palette: every type from GET /activities, grouped by category, searchable. Items can
// be dragged onto the canvas (HTML5 drag and drop) or added with a click / Enter.
import { useMemo, useState, type DragEvent } from "react";
import type { ActivityDescriptor } from "../../api/types";
import { shortType } from "../../ui/format";

export const DRAG_MIME = "application/x-mss-activity";

export function Palette({
  descriptors,
  disabled,
  onAdd,
}: {
  descriptors: ActivityDescriptor[];
  disabled: boolean;
  onAdd: (descriptor: ActivityDescriptor) => void;
}) {
  const [query, setQuery] = useState("");
  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const match = (d: ActivityDescriptor) =>
      !q || [d.displayName, d.type, d.category, d.description].some((s) => (s ?? "").toLowerCase().includes(q));
    const map = new Map<string, ActivityDescriptor[]>();
    for (const d of descriptors.filter(match)) {
      const list = map.get(d.category || "Other") ?? [];
      list.push(d);
      map.set(d.category || "Other", list);
    }
    return [...map.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [descriptors, query]);

  const onDragStart = (e: DragEvent, d: ActivityDescriptor) => {
    e.dataTransfer.setData(DRAG_MIME, d.type);
    e.dataTransfer.setData("text/plain", d.type);
    e.dataTransfer.effectAllowed = "copy";
  };

  return (
    <aside className="dz-palette" aria-label="Activities">
      <input
        type="search"
        className="dz-search"
        placeholder="Search activities…"
        aria-label="Search activities"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      {disabled && <div className="dz-hint">Read-only: your role cannot change pipelines.</div>}
      {groups.length === 0 && <div className="dz-hint">No activity matches “{query}”.</div>}
      {groups.map(([category, items]) => (
        <section key={category} className="dz-group">
          <h3>{category}</h3>
          {items.map((d) => (
            <button
              key={d.type}
              type="button"
              className="dz-item"
              data-testid={`palette-${d.type}`}
              draggable={!disabled}
              disabled={disabled}
              onDragStart={(e) => onDragStart(e, d)}
              onClick={() => onAdd(d)}
              title={`${d.description}\n\nDrag onto the canvas, or click to add.`}
            >
              <span className="dz-item-name">{d.displayName}</span>
              <span className="dz-item-type">{shortType(d.type)}</span>
            </button>
          ))}
        </section>
      ))}
    </aside>
  );
}
