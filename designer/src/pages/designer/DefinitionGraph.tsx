// A read-only drawing of a definition (the versions page), with the designer's step nodes.
import { useMemo } from "react";
import { Background, Controls, ReactFlow, ReactFlowProvider } from "@xyflow/react";
import type { ActivityDescriptor, WorkflowDefinition } from "../../api/types";
import { definitionToFlow, type ConnectionFlowEdge, type StepFlowNode } from "./model";
import { nodeTypes } from "./StepNode";
import "./designer.css";

export function DefinitionGraph({ definition, descriptors }: { definition: WorkflowDefinition; descriptors: ActivityDescriptor[] }) {
  const { nodes, edges } = useMemo(() => definitionToFlow(definition, { descriptors, readOnly: true }), [definition, descriptors]);
  return (
    <ReactFlowProvider>
      <ReactFlow<StepFlowNode, ConnectionFlowEdge>
        key={`${definition.definitionId}/${definition.version ?? ""}`}
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        deleteKeyCode={null}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1.1 }}
        minZoom={0.2}
      >
        <Background gap={20} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </ReactFlowProvider>
  );
}
