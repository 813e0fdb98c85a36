// A read-only graph of a workflow definition with each step's live status (service and instance pages).
import { useCallback, useMemo } from "react";
import { Background, Handle, Position, ReactFlow, ReactFlowProvider, type NodeProps } from "@xyflow/react";
import type { WorkflowDefinition } from "../api/types";
import { Badge } from "../ui/kit";
import { duration, shortType } from "../ui/format";
import { buildGraph, type StepNode } from "./graphModel";
import type { StepStatusMap } from "./stepStatus";
import "./live.css";

function StepNodeView({ data }: NodeProps<StepNode>) {
  const live = data.live;
  const status = live?.status ?? "Pending";
  const title = live?.error ? `${live.error.type ?? "Error"}: ${live.error.message ?? ""}` : undefined;
  return (
    <div
      className={`step-node step-${status.toLowerCase()}${data.selected ? " step-selected" : ""}`}
      data-testid={`step-node-${data.activityId}`}
      data-status={status}
      title={title}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <div className="step-node-name" title={data.label}>
        {data.label}
      </div>
      <div className="step-node-type">{shortType(data.type)}</div>
      <div className="step-node-meta">
        <Badge value={status} />
        {status === "Retrying" && live ? (
          <span className="step-retry">
            attempt {live.attempts + (live.retryDelayMs != null ? 1 : 0)}
            {live.retryDelayMs != null && ` in ${duration(live.retryDelayMs)}`}
          </span>
        ) : (
          <span>{live && live.attempts > 1 ? `${live.attempts} attempts` : live?.attempts === 1 ? "1 attempt" : " "}</span>
        )}
        <span>{live?.durationMs != null ? duration(live.durationMs) : ""}</span>
      </div>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

const nodeTypes = { step: StepNodeView };
const fitViewOptions = { padding: 0.15, maxZoom: 1.1 };

export interface PipelineGraphProps {
  definition: WorkflowDefinition;
  statuses: StepStatusMap;
  selectedStep?: string | null;
  onSelectStep?: (activityId: string | null) => void;
  height?: number;
}

export function PipelineGraph({ definition, statuses, selectedStep = null, onSelectStep, height = 240 }: PipelineGraphProps) {
  const { nodes, edges } = useMemo(() => buildGraph(definition, statuses, selectedStep), [definition, statuses, selectedStep]);
  const onNodeClick = useCallback(
    (_: unknown, node: { id: string }) => onSelectStep?.(node.id === selectedStep ? null : node.id),
    [onSelectStep, selectedStep],
  );
  return (
    <div className="pipeline-graph" style={{ height }} data-testid="pipeline-graph">
      <ReactFlowProvider>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          fitView
          fitViewOptions={fitViewOptions}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={false}
          edgesFocusable={false}
          deleteKeyCode={null}
          zoomOnScroll={false}
          preventScrolling={false}
          minZoom={0.2}
          onNodeClick={onNodeClick}
        >
          <Background gap={18} size={1} />
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}
