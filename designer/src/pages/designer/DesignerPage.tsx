// The pipeline designer (/designer, /designer/:definitionId?version=N): palette | canvas | side panel.
// The definition JSON is the single source of truth (undo/redo snapshots it); the canvas is drawn
// from it, and every canvas gesture becomes a pure edit of it (see model.ts).
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, type DragEvent } from "react";
import { Link, useBlocker, useNavigate, useParams, useSearchParams } from "react-router";
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection as FlowConnection,
  type EdgeChange,
  type NodeChange,
} from "@xyflow/react";
import { api, ApiError, asApiError } from "../../api/client";
import type { ActivityDescriptor, ValidationResult, WorkflowDefinition } from "../../api/types";
import { useAuth } from "../../auth";
import { NODE_WIDTH } from "../../graph/layout";
import { Confirm, ErrorBanner, Modal, Spinner } from "../../ui/kit";
import { stableStringify } from "../pipelines/compare";
import { RunModal } from "../pipelines/RunModal";
import { errorsByActivity, mapErrors, type MappedError } from "./errors";
import { historyReducer, initHistory, type History, type HistoryAction } from "./history";
import {
  addActivity,
  addConnection,
  autoLayout,
  definitionToFlow,
  emptyDefinition,
  exportJson,
  parseDefinition,
  removeElements,
  renameActivity,
  setPositions,
  type ConnectionFlowEdge,
  type StepFlowNode,
} from "./model";
import { DRAG_MIME, Palette } from "./Palette";
import { DefinitionPanel, ErrorList, StepPanel } from "./SidePanel";
import { nodeTypes } from "./StepNode";
import "./designer.css";

interface SaveResponse {
  definition: { definitionId: string; version: number };
  created: boolean;
}

type Status = { tone: "ok" | "error" | "info"; text: string } | null;

const reducer = (s: History<WorkflowDefinition>, a: HistoryAction<WorkflowDefinition>) => historyReducer(s, a);

/** The definition as compared for "unsaved changes" (the server's version number aside). */
function snapshot(def: WorkflowDefinition): string {
  return stableStringify({ ...def, version: undefined });
}

function isEditable(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
}

export default function DesignerPage() {
  return (
    <ReactFlowProvider>
      <Designer />
    </ReactFlowProvider>
  );
}

function Designer() {
  const { definitionId } = useParams();
  const [search] = useSearchParams();
  const versionParam = search.get("version");
  const navigate = useNavigate();
  const { can } = useAuth();
  const readOnly = !can("operator");
  const rf = useReactFlow<StepFlowNode, ConnectionFlowEdge>();

  const [descriptors, setDescriptors] = useState<ActivityDescriptor[]>([]);
  const [descriptorsError, setDescriptorsError] = useState<ApiError | null>(null);
  const [descriptorsLoading, setDescriptorsLoading] = useState(true);

  const [hist, dispatch] = useReducer(reducer, emptyDefinition(), initHistory);
  const def = hist.present;
  const [saved, setSaved] = useState(() => snapshot(emptyDefinition()));
  const [loadedVersion, setLoadedVersion] = useState<number | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [reloadTick, setReloadTick] = useState(0);
  const skipLoad = useRef<string | null>(null);

  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [selectedEdges, setSelectedEdges] = useState<Set<string>>(new Set());
  const [dragPos, setDragPos] = useState<Record<string, { x: number; y: number }>>({});
  const [measured, setMeasured] = useState<Record<string, { width: number; height: number }>>({});

  const [errors, setErrors] = useState<MappedError[]>([]);
  const [status, setStatus] = useState<Status>(null);
  const [busy, setBusy] = useState<null | "validate" | "save">(null);
  const [importOpen, setImportOpen] = useState(false);
  const [runOpen, setRunOpen] = useState(false);

  const dirty = snapshot(def) !== saved;
  // What the navigation blocker reads: refs, because a save updates them before it navigates in the same tick.
  const savedRef = useRef(saved);
  savedRef.current = saved;
  const defRef = useRef(def);
  defRef.current = def;
  const change = useCallback((next: WorkflowDefinition, key?: string) => dispatch({ type: "set", value: next, key }), []);

  // ---- Loading ----
  const loadDescriptors = useCallback(async () => {
    setDescriptorsLoading(true);
    try {
      setDescriptors(await api<ActivityDescriptor[]>("/api/v1/activities"));
      setDescriptorsError(null);
    } catch (e) {
      setDescriptorsError(asApiError(e));
    } finally {
      setDescriptorsLoading(false);
    }
  }, []);
  useEffect(() => void loadDescriptors(), [loadDescriptors]);

  const rfRef = useRef(rf);
  rfRef.current = rf;
  const fitSoon = useCallback(() => setTimeout(() => void rfRef.current.fitView({ padding: 0.2, maxZoom: 1.2 }), 80), []);

  useEffect(() => {
    if (skipLoad.current && skipLoad.current === definitionId && !versionParam) {
      skipLoad.current = null;
      return;
    }
    setErrors([]);
    setStatus(null);
    setSelectedId(null);
    setDragPos({});
    if (!definitionId) {
      const blank = emptyDefinition();
      dispatch({ type: "reset", value: blank });
      setSaved(snapshot(blank));
      setLoadedVersion(undefined);
      setLoadError(null);
      return;
    }
    const ctrl = new AbortController();
    setLoading(true);
    setLoadError(null);
    const q = versionParam ? `?version=${encodeURIComponent(versionParam)}` : "";
    api<WorkflowDefinition>(`/api/v1/workflow-definitions/${encodeURIComponent(definitionId)}${q}`, { signal: ctrl.signal })
      .then((d) => {
        if (!d.root.connections) d.root.connections = [];
        dispatch({ type: "reset", value: d });
        setSaved(snapshot(d));
        setLoadedVersion(d.version);
        setLoading(false);
        fitSoon();
      })
      .catch((e) => {
        if ((e as Error).name === "AbortError") return;
        setLoadError(asApiError(e));
        setLoading(false);
      });
    return () => ctrl.abort();
  }, [definitionId, versionParam, reloadTick, fitSoon]);

  // ---- Leaving with unsaved changes: in the app (asks first) and the tab (the browser asks) ----
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) =>
      !readOnly && currentLocation.pathname !== nextLocation.pathname && snapshot(defRef.current) !== savedRef.current,
  );
  useEffect(() => {
    if (!dirty || readOnly) return;
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    return () => window.removeEventListener("beforeunload", onBeforeUnload);
  }, [dirty, readOnly]);

  // ---- Undo / redo keys (text fields keep their own undo) ----
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || isEditable(e.target) || readOnly) return;
      const k = e.key.toLowerCase();
      if (k === "z" && !e.shiftKey) dispatch({ type: "undo" });
      else if ((k === "z" && e.shiftKey) || k === "y") dispatch({ type: "redo" });
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [readOnly]);

  // A selection that no longer exists (undo, delete, rename) is dropped.
  useEffect(() => {
    if (selectedId && !def.root.activities.some((a) => a.id === selectedId)) setSelectedId(null);
  }, [def, selectedId]);

  // ---- The canvas, drawn from the definition ----
  const byActivity = useMemo(() => errorsByActivity(errors), [errors]);
  const flow = useMemo(
    () => definitionToFlow(def, { descriptors, errors: byActivity, selectedId, readOnly }),
    [def, descriptors, byActivity, selectedId, readOnly],
  );
  const nodes = useMemo(
    () =>
      flow.nodes.map((n) => ({
        ...n,
        position: dragPos[n.id] ?? n.position,
        measured: measured[n.id],
        draggable: !readOnly,
      })),
    [flow.nodes, dragPos, measured, readOnly],
  );
  const edges = useMemo(() => flow.edges.map((e) => ({ ...e, selected: selectedEdges.has(e.id) })), [flow.edges, selectedEdges]);

  const onNodesChange = useCallback(
    (changes: NodeChange<StepFlowNode>[]) => {
      const pos: Record<string, { x: number; y: number }> = {};
      const dims: Record<string, { width: number; height: number }> = {};
      let next = selectedId;
      let selectionChanged = false;
      for (const c of changes) {
        if (c.type === "position" && c.position && c.dragging) pos[c.id] = c.position;
        else if (c.type === "dimensions" && c.dimensions) dims[c.id] = c.dimensions;
        else if (c.type === "select" && !c.selected && c.id === next) {
          next = null;
          selectionChanged = true;
        }
      }
      for (const c of changes)
        if (c.type === "select" && c.selected) {
          next = c.id;
          selectionChanged = true;
        }
      if (Object.keys(pos).length) setDragPos((p) => ({ ...p, ...pos }));
      if (Object.keys(dims).length) setMeasured((m) => ({ ...m, ...dims }));
      if (selectionChanged) setSelectedId(next);
    },
    [selectedId],
  );

  const onNodeDragStop = useCallback(
    (_: unknown, __: StepFlowNode, dragged: StepFlowNode[]) => {
      const positions: Record<string, { x: number; y: number }> = {};
      for (const n of dragged) positions[n.id] = n.position;
      change(setPositions(def, positions));
      setDragPos({});
    },
    [def, change],
  );

  const onEdgesChange = useCallback((changes: EdgeChange<ConnectionFlowEdge>[]) => {
    const selects = changes.filter((c) => c.type === "select");
    if (!selects.length) return;
    setSelectedEdges((prev) => {
      const s = new Set(prev);
      for (const c of selects) if (c.type === "select") (c.selected ? s.add(c.id) : s.delete(c.id));
      return s;
    });
  }, []);

  const onDelete = useCallback(
    ({ nodes: ns, edges: es }: { nodes: StepFlowNode[]; edges: ConnectionFlowEdge[] }) => {
      if (readOnly) return;
      change(
        removeElements(
          def,
          ns.map((n) => n.id),
          es.map((e) => e.data?.index ?? -1),
        ),
      );
      setSelectedEdges(new Set());
    },
    [def, change, readOnly],
  );

  const onConnect = useCallback((c: FlowConnection) => change(addConnection(def, c.source, c.sourceHandle, c.target)), [def, change]);

  const addStep = useCallback(
    (d: ActivityDescriptor, at?: { x: number; y: number }) => {
      if (readOnly) return;
      let position = at;
      if (!position) {
        const acts = def.root.activities;
        const anchor = acts.find((a) => a.id === selectedId) ?? null;
        const current = definitionToFlow(def).nodes;
        if (anchor) {
          const p = current.find((n) => n.id === anchor.id)!.position;
          position = { x: p.x + NODE_WIDTH + 70, y: p.y };
        } else if (current.length) {
          const right = current.reduce((a, b) => (b.position.x > a.position.x ? b : a));
          position = { x: right.position.x + NODE_WIDTH + 70, y: right.position.y };
        } else {
          position = { x: 0, y: 0 };
        }
        // Do not stack on an existing step.
        while (current.some((n) => Math.abs(n.position.x - position!.x) < 40 && Math.abs(n.position.y - position!.y) < 40)) position = { x: position.x, y: position.y + 110 };
      }
      const r = addActivity(def, d, position);
      change(r.definition);
      setSelectedId(r.id);
      if (!at) setTimeout(() => void rf.fitView({ padding: 0.2, maxZoom: 1.2, duration: 200 }), 50);
    },
    [def, selectedId, change, rf, readOnly],
  );

  const onDragOver = (e: DragEvent) => {
    if (readOnly || !e.dataTransfer.types.includes(DRAG_MIME)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  };
  const onDrop = (e: DragEvent) => {
    const type = e.dataTransfer.getData(DRAG_MIME);
    const d = descriptors.find((x) => x.type === type);
    if (!d || readOnly) return;
    e.preventDefault();
    const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    addStep(d, { x: p.x - NODE_WIDTH / 2, y: p.y - 30 });
  };

  // ---- Commands ----
  const problemsFrom = (e: ApiError, validated: WorkflowDefinition) =>
    mapErrors(
      e.errors.map((x) => ({ path: x.field, message: x.message, activityId: x.activityId })),
      validated,
    );

  const validate = async () => {
    setBusy("validate");
    setStatus(null);
    const sent = def;
    try {
      const r = await api<ValidationResult>("/api/v1/workflow-definitions/validate", { method: "POST", body: sent });
      const mapped = mapErrors(r.errors, sent);
      setErrors(mapped);
      setStatus(
        r.valid
          ? { tone: "ok", text: `Valid: ${sent.root.activities.length} steps, ${sent.root.connections.length} connections.` }
          : { tone: "error", text: `${mapped.length} problem${mapped.length === 1 ? "" : "s"} — see the list and the red steps.` },
      );
    } catch (e) {
      setStatus({ tone: "error", text: (e as Error).message });
    } finally {
      setBusy(null);
    }
  };

  /** Saves; returns the saved version, or null when it failed. */
  const save = async (): Promise<number | null> => {
    setBusy("save");
    setStatus(null);
    const sent = def;
    try {
      const r = await api<SaveResponse>("/api/v1/workflow-definitions", { method: "POST", body: sent });
      setErrors([]);
      setSaved(snapshot(sent));
      savedRef.current = snapshot(sent);
      setLoadedVersion(r.definition.version);
      setStatus({
        tone: "ok",
        text: r.created ? `Saved as version ${r.definition.version}.` : `No changes: version ${r.definition.version} is already the latest.`,
      });
      if (definitionId !== r.definition.definitionId || versionParam) {
        skipLoad.current = r.definition.definitionId;
        navigate(`/designer/${encodeURIComponent(r.definition.definitionId)}`, { replace: true });
      }
      return r.definition.version;
    } catch (e) {
      const err = asApiError(e);
      const mapped = problemsFrom(err, sent);
      setErrors(mapped);
      setStatus({ tone: "error", text: `Not saved: ${err.message}` });
      return null;
    } finally {
      setBusy(null);
    }
  };

  const run = async () => {
    if (dirty || loadedVersion === undefined) {
      const v = await save();
      if (v === null) return;
    }
    setRunOpen(true);
  };

  const exportFile = () => {
    const blob = new Blob([exportJson(def)], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = `${def.definitionId || "pipeline"}.json`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  const importDefinition = (d: WorkflowDefinition) => {
    change(d);
    setErrors([]);
    setSelectedId(null);
    setStatus({ tone: "info", text: `Imported ${d.definitionId} (${d.root.activities.length} steps) — not saved yet.` });
    fitSoon();
  };

  const selected = selectedId ? def.root.activities.find((a) => a.id === selectedId) ?? null : null;
  const selectedDescriptor = selected ? descriptors.find((d) => d.type === selected.type) ?? null : null;

  if (loading) return <Spinner label="Loading the definition…" />;
  if (loadError)
    return (
      <div className="dz-loadfail">
        <ErrorBanner error={loadError} onRetry={() => setReloadTick((t) => t + 1)} />
        <Link to="/pipelines">Back to the pipelines</Link> · <Link to="/designer">Start a new pipeline</Link>
      </div>
    );

  return (
    <div className="dz-root">
      <header className="dz-toolbar">
        <div className="dz-title">
          <span className="dz-name" title={def.description}>
            {def.name || def.definitionId || "Untitled"}
          </span>
          <span className="dz-sub mono">
            {def.definitionId}
            {loadedVersion ? ` · v${loadedVersion}` : " · not saved"}
            {versionParam && loadedVersion ? " (older version)" : ""}
          </span>
          {dirty && !readOnly && <span className="badge badge-warn" data-testid="dirty">Unsaved changes</span>}
          {readOnly && <span className="badge badge-muted">Read-only</span>}
          {definitionId && (
            <Link className="dz-small" to={`/pipelines/${encodeURIComponent(definitionId)}`}>
              Versions
            </Link>
          )}
        </div>
        <div className="dz-actions" role="toolbar" aria-label="Designer">
          <button className="btn btn-small" onClick={() => dispatch({ type: "undo" })} disabled={readOnly || hist.past.length === 0} title="Undo (Ctrl+Z)">
            Undo
          </button>
          <button className="btn btn-small" onClick={() => dispatch({ type: "redo" })} disabled={readOnly || hist.future.length === 0} title="Redo (Ctrl+Shift+Z)">
            Redo
          </button>
          <span className="dz-sep" />
          <button className="btn btn-small" onClick={() => (change(autoLayout(def)), fitSoon())} disabled={readOnly || def.root.activities.length === 0} title="Arrange the steps left to right">
            Auto-layout
          </button>
          <button className="btn btn-small" onClick={() => void rf.fitView({ padding: 0.2, maxZoom: 1.2, duration: 200 })} title="Fit the whole pipeline in view">
            Fit view
          </button>
          <span className="dz-sep" />
          <button className="btn btn-small" onClick={() => setImportOpen(true)} title="Load a definition from a file or pasted JSON">
            Import
          </button>
          <button className="btn btn-small" onClick={exportFile} title="Download the definition as JSON">
            Export
          </button>
          <span className="dz-sep" />
          <button className="btn btn-small" onClick={() => void validate()} disabled={busy !== null} title="Check the definition on the server without saving">
            {busy === "validate" ? <span className="spinner" aria-hidden /> : null}Validate
          </button>
          <button
            className="btn btn-small btn-primary"
            onClick={() => void save()}
            disabled={readOnly || busy !== null}
            title={readOnly ? "Operators only" : "Validate and save as a new version"}
          >
            {busy === "save" ? <span className="spinner" aria-hidden /> : null}Save
          </button>
          <button
            className="btn btn-small"
            onClick={() => void run()}
            disabled={readOnly || busy !== null}
            title={readOnly ? "Operators only" : dirty ? "Save, then start a run" : "Start a run"}
          >
            Run
          </button>
        </div>
      </header>
      {status && (
        <div className={`dz-status dz-status-${status.tone}`} role={status.tone === "error" ? "alert" : "status"} data-testid="designer-status">
          <span>{status.text}</span>
          <button className="btn btn-small btn-ghost" onClick={() => setStatus(null)} aria-label="Dismiss">
            ×
          </button>
        </div>
      )}
      <div className="dz-main">
        <div className="dz-left">
          {descriptorsLoading ? (
            <Spinner label="Loading activities…" />
          ) : descriptorsError ? (
            <div className="dz-pad">
              <ErrorBanner error={descriptorsError} onRetry={() => void loadDescriptors()} />
            </div>
          ) : (
            <Palette descriptors={descriptors} disabled={readOnly} onAdd={(d) => addStep(d)} />
          )}
        </div>
        <div className="dz-canvas" onDragOver={onDragOver} onDrop={onDrop} data-testid="designer-canvas">
          <ReactFlow<StepFlowNode, ConnectionFlowEdge>
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onNodeDragStop={onNodeDragStop}
            onConnect={onConnect}
            onDelete={onDelete}
            onPaneClick={() => setSelectedId(null)}
            isValidConnection={(c) => c.source !== c.target}
            nodesDraggable={!readOnly}
            nodesConnectable={!readOnly}
            edgesReconnectable={false}
            deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]}
            defaultEdgeOptions={{ interactionWidth: 16 }}
            fitView
            fitViewOptions={{ padding: 0.2, maxZoom: 1.2 }}
            minZoom={0.2}
          >
            <Background gap={20} />
            <Controls showInteractive={false} />
            {def.root.activities.length > 0 && <MiniMap pannable zoomable className="dz-minimap" />}
          </ReactFlow>
          {def.root.activities.length === 0 && (
            <div className="dz-canvas-empty">
              <div className="empty-title">An empty pipeline</div>
              <div>
                {readOnly
                  ? "There are no steps."
                  : "Drag an activity from the palette onto the canvas, or click one to add it. Connect steps by dragging from a port (Done, Failed, …) to the next step."}
              </div>
            </div>
          )}
        </div>
        <aside className="dz-right" aria-label="Properties">
          <ErrorList
            errors={errors}
            onSelect={(id) => {
              setSelectedId(id && def.root.activities.some((a) => a.id === id) ? id : null);
              const n = id ? nodes.find((x) => x.id === id) : undefined;
              if (n) void rf.setCenter(n.position.x + NODE_WIDTH / 2, n.position.y + 40, { zoom: rf.getZoom(), duration: 250 });
            }}
          />
          {selected ? (
            <StepPanel
              key={selected.id}
              definition={def}
              activity={selected}
              descriptor={selectedDescriptor}
              errors={errors}
              readOnly={readOnly}
              onChange={change}
              onRename={(from, to) => {
                change(renameActivity(def, from, to));
                setErrors((es) => es.map((e) => (e.activityId === from ? { ...e, activityId: to } : e)));
                setSelectedId(to);
              }}
              onDelete={() => change(removeElements(def, [selected.id]))}
            />
          ) : (
            <DefinitionPanel definition={def} errors={errors} readOnly={readOnly} onChange={change} />
          )}
        </aside>
      </div>
      <ImportModal open={importOpen} onClose={() => setImportOpen(false)} onLoad={importDefinition} />
      <RunModal open={runOpen} definitionId={def.definitionId} version={loadedVersion} inputs={def.inputs} onClose={() => setRunOpen(false)} />
      <Confirm
        open={blocker.state === "blocked"}
        title="Leave without saving?"
        message={`Your changes to ${def.definitionId || "this pipeline"} are not saved; leaving discards them.`}
        confirmLabel="Leave"
        danger
        onConfirm={() => blocker.proceed?.()}
        onCancel={() => blocker.reset?.()}
      />
    </div>
  );
}

function ImportModal({ open, onClose, onLoad }: { open: boolean; onClose: () => void; onLoad: (d: WorkflowDefinition) => void }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (open) {
      setText("");
      setError(null);
    }
  }, [open]);
  const load = (t: string) => {
    const r = parseDefinition(t);
    if ("error" in r) {
      setError(r.error);
      return;
    }
    onLoad(r.definition);
    onClose();
  };
  return (
    <Modal
      title="Import a definition"
      open={open}
      onClose={onClose}
      footer={
        <>
          <button className="btn" onClick={onClose}>
            Cancel
          </button>
          <button className="btn btn-primary" onClick={() => load(text)} disabled={!text.trim()}>
            Load into the canvas
          </button>
        </>
      }
    >
      <label className="field">
        <span className="label">A JSON file</span>
        <input
          type="file"
          accept=".json,application/json"
          aria-label="Definition file"
          onChange={async (e) => {
            const f = e.target.files?.[0];
            if (!f) return;
            const t = await f.text();
            setText(t);
            load(t);
          }}
        />
      </label>
      <label className="field">
        <span className="label">or paste the JSON</span>
        <textarea
          rows={10}
          aria-label="Definition JSON"
          value={text}
          spellCheck={false}
          aria-invalid={error ? "true" : undefined}
          placeholder='{ "definitionId": "…", "root": { "type": "Flowchart", "activities": [ … ], "connections": [ … ] } }'
          onChange={(e) => {
            setText(e.target.value);
            setError(null);
          }}
        />
      </label>
      {error && (
        <div className="banner banner-error" role="alert">
          {error}
        </div>
      )}
      <div className="help">The canvas is replaced (Undo brings it back); nothing is saved until you press Save.</div>
    </Modal>
  );
}
