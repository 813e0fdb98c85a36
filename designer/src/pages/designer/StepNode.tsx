// A step on the canvas: display name and id, the short type, one target handle (left) and one
// labelled source handle per outcome port (right; the handle id is the port name).
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { shortType } from "../../ui/format";
import type { StepFlowNode } from "./model";

export function StepNode({ data, selected }: NodeProps<StepFlowNode>) {
  const { activity, ports, errorCount, errors, descriptor } = data;
  const invalid = errorCount > 0;
  const title = activity.displayName || descriptor?.displayName || activity.id;
  return (
    <div
      className={`dz-node${selected ? " selected" : ""}${invalid ? " invalid" : ""}${descriptor ? "" : " unknown"}`}
      data-testid={`designer-node-${activity.id}`}
      data-invalid={invalid ? "true" : undefined}
      title={invalid ? errors.join("\n") : descriptor?.description}
      style={{ minHeight: Math.max(64, 26 + ports.length * 22) }}
    >
      <Handle type="target" position={Position.Left} className="dz-handle dz-target" isConnectable={!data.readOnly} />
      <div className="dz-node-head">
        <span className="dz-node-title">{title}</span>
        {invalid && (
          <span className="dz-node-errors" data-testid={`node-errors-${activity.id}`} aria-label={`${errorCount} problem${errorCount === 1 ? "" : "s"}`}>
            {errorCount}
          </span>
        )}
      </div>
      <div className="dz-node-id mono">{activity.id}</div>
      <div className="dz-node-type">{shortType(activity.type)}{!descriptor && " (unknown type)"}</div>
      <div className="dz-ports">
        {ports.map((port, i) => (
          <div key={port} className={`dz-port dz-port-${port.toLowerCase()}`} style={{ top: 14 + i * 22 }}>
            <span className="dz-port-label">{port}</span>
            <Handle
              type="source"
              id={port}
              position={Position.Right}
              className={`dz-handle dz-source dz-source-${port.toLowerCase()}`}
              isConnectable={!data.readOnly}
              title={`${port}: drag to a step to connect`}
            />
          </div>
        ))}
      </div>
    </div>
  );
}

export const nodeTypes = { step: StepNode };
