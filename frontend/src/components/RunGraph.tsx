// The run detail page's graph: the editor's canvas, read-only. Same store, same
// node component (BlockNodeView via nodeTypes); clicking a node opens its step
// section further down the server-rendered page.
import { Background, BackgroundVariant, Controls, ReactFlow, type NodeMouseHandler } from "@xyflow/react";
import type { BlockNode, PortEdge } from "../graph";
import { useEditor } from "../store";
import { nodeTypes } from "./BlockNode";

const fitViewOptions = { padding: 0.12, maxZoom: 1 };

/** Open and scroll to ``<details id="step-<node>">``; false if the page has none. */
export function openStep(nodeId: string): boolean {
  const section = document.getElementById(`step-${nodeId}`);
  if (!section) return false;
  if (section instanceof HTMLDetailsElement) section.open = true;
  section.scrollIntoView({ behavior: "smooth", block: "start" });
  history.replaceState(null, "", `#step-${nodeId}`);
  return true;
}

const onNodeClick: NodeMouseHandler<BlockNode> = (_event, node) => void openStep(node.id);

export function RunGraph() {
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const onNodesChange = useEditor((s) => s.onNodesChange);
  return (
    <div className="ed-embed" data-testid="run-graph">
      <ReactFlow<BlockNode, PortEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onNodeClick={onNodeClick}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable
        edgesFocusable={false}
        deleteKeyCode={null}
        fitView
        fitViewOptions={fitViewOptions}
        minZoom={0.1}
        maxZoom={1.5}
        // The page scrolls: the wheel scrolls it, zoom is on the buttons (or pinch).
        zoomOnScroll={false}
        preventScrolling={false}
        zoomOnDoubleClick={false}
        defaultEdgeOptions={{ type: "default" }}
        proOptions={{ hideAttribution: true }}
      >
        <Background variant={BackgroundVariant.Dots} gap={18} size={1.2} color="#cfd4dc" />
        <Controls showInteractive={false} position="bottom-right" />
      </ReactFlow>
    </div>
  );
}
