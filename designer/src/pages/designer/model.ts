// The designer's pure model: a workflow definition (the single source of truth) and its React Flow
// view. Every edit is a function from a definition to a new definition, so undo/redo is a snapshot
// history and nothing is lost on the way to the canvas and back.
//
// Connection convention (the same as workflows/*.json): the source port is always written
// ("Done", "Failed", "DryRun", ...); the target port is omitted. Connections read from a file keep
// whatever they had (a missing source port means Done for drawing, and stays missing).
import type { Edge, Node } from "@xyflow/react";
import type { ActivityDescriptor, ActivityNode, Connection, WorkflowDefinition } from "../../api/types";
import { layout } from "../../graph/layout";

export const DEFAULT_PORT = "Done";

export interface StepNodeData extends Record<string, unknown> {
  activity: ActivityNode;
  descriptor: ActivityDescriptor | null;
  /** The ports drawn as source handles: the descriptor's outcomes plus any port a connection uses. */
  ports: string[];
  errorCount: number;
  errors: string[];
  readOnly: boolean;
}

export type StepFlowNode = Node<StepNodeData, "step">;

export interface ConnectionEdgeData extends Record<string, unknown> {
  connection: Connection;
  index: number;
}

export type ConnectionFlowEdge = Edge<ConnectionEdgeData>;

/** A blank definition for a new pipeline. */
export function emptyDefinition(): WorkflowDefinition {
  return {
    definitionId: "new-pipeline",
    name: "New pipeline",
    description: "",
    inputs: [],
    root: { type: "Flowchart", activities: [], connections: [] },
  };
}

export function sourcePort(c: Connection): string {
  return c.source.port || DEFAULT_PORT;
}

export function positionOf(a: ActivityNode): { x: number; y: number } | undefined {
  const p = a.metadata?.designer?.position;
  return p && typeof p.x === "number" && typeof p.y === "number" ? { x: p.x, y: p.y } : undefined;
}

/** Returns a copy of the activity with its designer position set (other metadata kept). */
export function withPosition(a: ActivityNode, position: { x: number; y: number }): ActivityNode {
  const metadata = a.metadata ?? {};
  const designer = metadata.designer ?? {};
  return {
    ...a,
    metadata: { ...metadata, designer: { ...designer, position: { x: Math.round(position.x), y: Math.round(position.y) } } },
  };
}

function connections(def: WorkflowDefinition): Connection[] {
  return def.root.connections ?? [];
}

/** Positions for every activity: stored ones, and a dagre layout for those without. */
export function resolvePositions(def: WorkflowDefinition): Record<string, { x: number; y: number }> {
  const acts = def.root.activities ?? [];
  const missing = acts.some((a) => !positionOf(a));
  const auto = missing
    ? layout(
        acts.map((a) => ({ id: a.id })),
        connections(def).map((c) => ({ source: c.source.activity, target: c.target.activity })),
      )
    : {};
  const out: Record<string, { x: number; y: number }> = {};
  for (const a of acts) out[a.id] = positionOf(a) ?? auto[a.id] ?? { x: 0, y: 0 };
  return out;
}

export interface FlowOptions {
  descriptors?: ActivityDescriptor[];
  /** Error messages per activity id. */
  errors?: Record<string, string[]>;
  selectedId?: string | null;
  readOnly?: boolean;
}

/** Definition → React Flow nodes and edges (the node and edge data carry the original objects). */
export function definitionToFlow(def: WorkflowDefinition, options: FlowOptions = {}): { nodes: StepFlowNode[]; edges: ConnectionFlowEdge[] } {
  const byType = new Map((options.descriptors ?? []).map((d) => [d.type, d]));
  const positions = resolvePositions(def);
  const conns = connections(def);
  const nodes: StepFlowNode[] = (def.root.activities ?? []).map((a) => {
    const descriptor = byType.get(a.type) ?? null;
    const ports = [...(descriptor?.outcomes?.length ? descriptor.outcomes : [DEFAULT_PORT, "Failed"])];
    for (const c of conns) if (c.source.activity === a.id && !ports.includes(sourcePort(c))) ports.push(sourcePort(c));
    const errors = options.errors?.[a.id] ?? [];
    return {
      id: a.id,
      type: "step",
      position: positions[a.id],
      selected: options.selectedId === a.id,
      data: { activity: a, descriptor, ports, errorCount: errors.length, errors, readOnly: !!options.readOnly },
    };
  });
  const edges: ConnectionFlowEdge[] = conns.map((c, index) => {
    const port = sourcePort(c);
    return {
      id: `c${index}`,
      source: c.source.activity,
      sourceHandle: port,
      target: c.target.activity,
      label: port === DEFAULT_PORT ? undefined : port,
      className: port === "Failed" ? "edge-failed" : undefined,
      data: { connection: c, index },
    };
  });
  return { nodes, edges };
}

/**
 * React Flow nodes and edges → definition. Everything but the activities and connections comes from
 * `base`; each activity is the node's original object with the node's position written to its
 * metadata; each connection is the edge's original object, or a new one (source port written) for an
 * edge drawn on the canvas.
 */
export function flowToDefinition(base: WorkflowDefinition, nodes: StepFlowNode[], edges: ConnectionFlowEdge[]): WorkflowDefinition {
  const activities = nodes.map((n) => withPosition({ ...n.data.activity, id: n.id }, n.position));
  const conns: Connection[] = edges.map((e) =>
    e.data?.connection && e.data.connection.source.activity === e.source && e.data.connection.target.activity === e.target
      ? e.data.connection
      : { source: { activity: e.source, port: e.sourceHandle || DEFAULT_PORT }, target: { activity: e.target } },
  );
  return { ...base, root: { ...base.root, activities, connections: conns } };
}

/** "ModelServeShim.Llm.HealthCheck" → "health-check". */
export function idBase(type: string): string {
  const short = type.slice(type.lastIndexOf(".") + 1) || "step";
  const kebab = short
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1-$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return kebab || "step";
}

/** The first free `<base>-N` (N from 1) for an activity type: delay-1, delay-2, ... */
export function uniqueId(type: string, existing: Iterable<string>): string {
  const taken = new Set(existing);
  const base = idBase(type);
  for (let n = 1; ; n++) {
    const id = `${base}-${n}`;
    if (!taken.has(id)) return id;
  }
}

export const ID_PATTERN = /^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$/;

/** Why `id` cannot be an activity id here, or null when it can. */
export function checkActivityId(def: WorkflowDefinition, currentId: string, id: string): string | null {
  if (!id) return "An id is required.";
  if (!ID_PATTERN.test(id)) return "Use lower-case letters, digits, '-', '_' or '.', starting and ending with a letter or digit (at most 63).";
  if (id !== currentId && def.root.activities.some((a) => a.id === id)) return `Another step is already called '${id}'.`;
  return null;
}

/** Adds a step of `descriptor`'s type at `position`; returns the definition and the new id. */
export function addActivity(
  def: WorkflowDefinition,
  descriptor: Pick<ActivityDescriptor, "type" | "displayName">,
  position: { x: number; y: number },
): { definition: WorkflowDefinition; id: string } {
  const id = uniqueId(descriptor.type, def.root.activities.map((a) => a.id));
  const activity = withPosition({ id, type: descriptor.type, displayName: descriptor.displayName, inputs: {} }, position);
  return { definition: { ...def, root: { ...def.root, activities: [...def.root.activities, activity] } }, id };
}

/** Renames a step and every connection that names it. */
export function renameActivity(def: WorkflowDefinition, from: string, to: string): WorkflowDefinition {
  if (from === to) return def;
  const ren = (id: string) => (id === from ? to : id);
  return {
    ...def,
    root: {
      ...def.root,
      activities: def.root.activities.map((a) => (a.id === from ? { ...a, id: to } : a)),
      connections: connections(def).map((c) =>
        c.source.activity === from || c.target.activity === from
          ? { source: { ...c.source, activity: ren(c.source.activity) }, target: { ...c.target, activity: ren(c.target.activity) } }
          : c,
      ),
    },
  };
}

/** Replaces one step (looked up by id) with `update(step)`. */
export function updateActivity(def: WorkflowDefinition, id: string, update: (a: ActivityNode) => ActivityNode): WorkflowDefinition {
  return { ...def, root: { ...def.root, activities: def.root.activities.map((a) => (a.id === id ? update(a) : a)) } };
}

/** Removes steps (and their connections) and connections by index. */
export function removeElements(def: WorkflowDefinition, activityIds: string[], connectionIndexes: number[] = []): WorkflowDefinition {
  const ids = new Set(activityIds);
  const idx = new Set(connectionIndexes);
  return {
    ...def,
    root: {
      ...def.root,
      activities: def.root.activities.filter((a) => !ids.has(a.id)),
      connections: connections(def).filter((c, i) => !idx.has(i) && !ids.has(c.source.activity) && !ids.has(c.target.activity)),
    },
  };
}

/** Adds a connection from `source`'s `port` to `target` (no self-connections, no duplicates). */
export function addConnection(def: WorkflowDefinition, source: string, port: string | null | undefined, target: string): WorkflowDefinition {
  const p = port || DEFAULT_PORT;
  if (source === target) return def;
  if (connections(def).some((c) => c.source.activity === source && sourcePort(c) === p && c.target.activity === target)) return def;
  const c: Connection = { source: { activity: source, port: p }, target: { activity: target } };
  return { ...def, root: { ...def.root, connections: [...connections(def), c] } };
}

/** Writes positions (e.g. from auto-layout) into the steps' metadata. */
export function setPositions(def: WorkflowDefinition, positions: Record<string, { x: number; y: number }>): WorkflowDefinition {
  return {
    ...def,
    root: { ...def.root, activities: def.root.activities.map((a) => (positions[a.id] ? withPosition(a, positions[a.id]) : a)) },
  };
}

/** Dagre positions for every step. */
export function autoLayout(def: WorkflowDefinition): WorkflowDefinition {
  const pos = layout(
    def.root.activities.map((a) => ({ id: a.id })),
    connections(def).map((c) => ({ source: c.source.activity, target: c.target.activity })),
  );
  return setPositions(def, pos);
}

/** Parses text as a definition; returns an error message for anything that is not one. */
export function parseDefinition(text: string): { definition: WorkflowDefinition } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: `Not valid JSON: ${(e as Error).message}` };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return { error: "The JSON is not an object." };
  const v = value as Record<string, unknown>;
  if (typeof v.definitionId !== "string") return { error: "The JSON has no \"definitionId\" string." };
  const root = v.root as Record<string, unknown> | undefined;
  if (!root || typeof root !== "object" || !Array.isArray(root.activities)) return { error: "The JSON has no \"root.activities\" array." };
  if (root.connections !== undefined && !Array.isArray(root.connections)) return { error: "\"root.connections\" is not an array." };
  for (const [i, a] of (root.activities as unknown[]).entries()) {
    if (!a || typeof a !== "object" || typeof (a as Record<string, unknown>).id !== "string" || typeof (a as Record<string, unknown>).type !== "string")
      return { error: `root.activities[${i}] needs an "id" and a "type".` };
  }
  const def = value as WorkflowDefinition;
  if (!def.root.connections) def.root.connections = [];
  return { definition: def };
}

/** The definition as a file: without the server-assigned version. */
export function exportJson(def: WorkflowDefinition): string {
  const { version: _version, ...rest } = def;
  return JSON.stringify(rest, null, 2) + "\n";
}
