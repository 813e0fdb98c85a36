// The live pipeline graph's nodes and edges, built from a workflow definition and per-step statuses.
import type { Edge, Node } from "@xyflow/react";
import type { WorkflowDefinition } from "../api/types";
import { layout } from "../graph/layout";
import type { StepLive, StepStatusMap } from "./stepStatus";

export interface StepNodeData extends Record<string, unknown> {
  activityId: string;
  label: string;
  type: string;
  live: StepLive | null;
  selected: boolean;
}

export type StepNode = Node<StepNodeData, "step">;

/** Ports that need no label on their edge (the ordinary "it worked, go on" outcome). */
const DEFAULT_PORTS = new Set(["", "done", "default", "next", "output"]);

export function edgeLabel(port: string | undefined): string | undefined {
  return port && !DEFAULT_PORTS.has(port.toLowerCase()) ? port : undefined;
}

export function buildGraph(
  definition: WorkflowDefinition,
  statuses: StepStatusMap,
  selected: string | null,
): { nodes: StepNode[]; edges: Edge[] } {
  const activities = definition.root.activities ?? [];
  const connections = definition.root.connections ?? [];
  const allPlaced = activities.length > 0 && activities.every((a) => a.metadata?.designer?.position);
  const auto = allPlaced
    ? {}
    : layout(
        activities.map((a) => ({ id: a.id })),
        connections.map((c) => ({ source: c.source.activity, target: c.target.activity })),
      );
  const nodes: StepNode[] = activities.map((a) => ({
    id: a.id,
    type: "step",
    position: (allPlaced ? a.metadata?.designer?.position : auto[a.id]) ?? { x: 0, y: 0 },
    data: {
      activityId: a.id,
      label: a.displayName || a.id,
      type: a.type,
      live: statuses[a.id] ?? null,
      selected: a.id === selected,
    },
    draggable: false,
    connectable: false,
  }));
  const edges: Edge[] = connections.map((c, i) => {
    const targetStatus = statuses[c.target.activity]?.status;
    const label = edgeLabel(c.source.port);
    return {
      id: `e${i}-${c.source.activity}-${c.source.port ?? ""}-${c.target.activity}`,
      source: c.source.activity,
      target: c.target.activity,
      label,
      type: "smoothstep",
      animated: targetStatus === "Running" || targetStatus === "Retrying",
      className: label ? "edge-port" : undefined,
    };
  });
  return { nodes, edges };
}
