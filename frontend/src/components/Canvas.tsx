import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type FinalConnectionState,
  type InternalNode,
  type IsValidConnection,
  type OnConnectEnd,
} from "@xyflow/react";
import { useCallback, useEffect, useRef, type DragEvent } from "react";
import { connectionProblem, type BlockNode, type PortEdge } from "../graph";
import { reload } from "../remote";
import { useEditor } from "../store";
import { nodeTypes } from "./BlockNode";
import { Toast } from "./Toast";

const fitViewOptions = { padding: 0.2, maxZoom: 1.1 };
export const BLOCK_MIME = "application/x-mlops-block";

function describeFailedConnection(state: FinalConnectionState<InternalNode>): string | null {
  const from = state.fromHandle;
  const to = state.toHandle;
  if (!from || !to || !state.fromNode || !state.toNode) return null;
  if (from.type === to.type) {
    return from.type === "source"
      ? "outputs connect to inputs: drag to a port on the left side of a block"
      : "inputs connect to outputs: drag to a port on the right side of a block";
  }
  const s = useEditor.getState();
  const conn =
    from.type === "source"
      ? { source: from.nodeId, sourceHandle: from.id ?? null, target: to.nodeId, targetHandle: to.id ?? null }
      : { source: to.nodeId, sourceHandle: to.id ?? null, target: from.nodeId, targetHandle: from.id ?? null };
  return connectionProblem(conn, s.nodes, s.edges, s.catalogue);
}

// A new block's size before it is measured (BlockNode's width; a typical height).
const DROP_W = 190;
const DROP_H = 90;

export function Canvas() {
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const readOnly = useEditor((s) => s.readOnly);
  const fitRequest = useEditor((s) => s.fitRequest);
  const onNodesChange = useEditor((s) => s.onNodesChange);
  const onEdgesChange = useEditor((s) => s.onEdgesChange);
  const { screenToFlowPosition, fitView, getZoom } = useReactFlow<BlockNode, PortEdge>();
  const firstFit = useRef(true);
  // Fit the loaded graph once; an empty canvas keeps the default view, so the
  // first dropped block stays where it was dropped.
  const fitOnMount = useRef(nodes.length > 0).current;

  useEffect(() => {
    if (firstFit.current) {
      firstFit.current = false; // the initial fit is done by the fitView prop
      return;
    }
    const t = setTimeout(() => void fitView({ ...fitViewOptions, duration: 250 }), 30);
    return () => clearTimeout(t);
  }, [fitRequest, fitView]);

  const isValidConnection: IsValidConnection<PortEdge> = useCallback((c) => {
    const s = useEditor.getState();
    return !s.readOnly && connectionProblem(c, s.nodes, s.edges, s.catalogue) === null;
  }, []);

  const onConnect = useCallback((c: Connection) => {
    const problem = useEditor.getState().connect(c);
    if (problem) useEditor.getState().showToast(problem);
  }, []);

  const onConnectEnd: OnConnectEnd = useCallback((_event, state) => {
    if (state.isValid !== false || useEditor.getState().readOnly) return;
    const problem = describeFailedConnection(state);
    if (problem) useEditor.getState().showToast(problem);
  }, []);

  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(BLOCK_MIME)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
    }
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const key = e.dataTransfer.getData(BLOCK_MIME);
      if (!key) return;
      e.preventDefault();
      // The block's top-left corner, so that the cursor holds it near its title; kept
      // inside the visible canvas, so that a drop just past the palette's edge does
      // not leave half the block behind the palette.
      const zoom = getZoom();
      const rect = e.currentTarget.getBoundingClientRect();
      const w = DROP_W * zoom;
      const h = DROP_H * zoom;
      const margin = 12;
      const left = Math.min(Math.max(e.clientX - w / 2, rect.left + margin), Math.max(rect.left + margin, rect.right - w - margin));
      const top = Math.min(Math.max(e.clientY - 30 * zoom, rect.top + margin), Math.max(rect.top + margin, rect.bottom - h - margin));
      const p = screenToFlowPosition({ x: left, y: top });
      useEditor.getState().addNode(key, { x: Math.round(p.x), y: Math.round(p.y) });
    },
    [screenToFlowPosition, getZoom],
  );

  return (
    <div className="ed-canvas" onDragOver={onDragOver} onDrop={onDrop} data-testid="canvas">
      <Banners />
      <Toast />
      <ReactFlow<BlockNode, PortEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        deleteKeyCode={null}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        fitView={fitOnMount}
        fitViewOptions={fitViewOptions}
        minZoom={0.2}
        maxZoom={2}
        defaultEdgeOptions={{ type: "default" }}
        proOptions={{ hideAttribution: true }}
      >
        <Background variant={BackgroundVariant.Dots} gap={18} size={1.2} color="#cfd4dc" />
        <Controls showInteractive={false} />
        {nodes.length > 0 && <MiniMap pannable zoomable nodeColor={minimapColor} nodeStrokeWidth={2} nodeBorderRadius={6} style={{ width: 168, height: 112 }} maskColor="rgba(240, 242, 245, 0.6)" />}
      </ReactFlow>
      {nodes.length === 0 && <EmptyState readOnly={readOnly} />}
    </div>
  );
}

function minimapColor(node: BlockNode): string {
  const c = useEditor.getState().catalogue;
  const block = c?.byKey[node.data.block];
  return block ? c!.categoryColor[block.category] : "#98a2b3";
}

function EmptyState({ readOnly }: { readOnly: boolean }) {
  if (readOnly) {
    return (
      <div className="ed-empty">
        <div className="ed-empty-card">
          <h2>This pipeline is empty</h2>
          <p>You can view this workspace but not edit it.</p>
        </div>
      </div>
    );
  }
  return (
    <div className="ed-empty" data-testid="empty-state">
      <div className="ed-empty-card">
        <div className="ed-empty-icon" aria-hidden="true">
          <svg viewBox="0 0 48 48" width="44" height="44">
            <rect x="4" y="14" width="16" height="20" rx="4" />
            <rect x="28" y="6" width="16" height="14" rx="4" />
            <rect x="28" y="28" width="16" height="14" rx="4" />
            <path d="M20 24h4a4 4 0 0 0 4-4v-7M24 24a4 4 0 0 1 4 4v7" fill="none" />
          </svg>
        </div>
        <h2>Drag a dataset from the left to start</h2>
        <p>
          Open <b>Data</b> in the block list and drag <b>Built-in dataset</b> onto the canvas. Then add more
          blocks, connect an output (right side) to an input (left side), and press <b>Run</b>.
        </p>
        <p className="ed-muted ed-small">Press ? for keyboard shortcuts.</p>
      </div>
    </div>
  );
}

function Banners() {
  const conflict = useEditor((s) => s.conflict);
  const readOnly = useEditor((s) => s.readOnly);
  const graphErrors = useEditor((s) => s.graphErrors);
  return (
    <div className="ed-banners">
      {conflict && (
        <div className="ed-banner ed-banner--conflict" role="alert" data-testid="conflict-banner">
          <span>
            <b>Someone else saved this pipeline</b>
            {conflict.current !== null ? ` (draft rev ${conflict.current})` : ""}. Reload to get their changes — your
            unsaved edits here will be discarded (export them first if you need them).
          </span>
          <button className="ed-btn ed-btn-sm ed-btn-primary" onClick={() => void reload()}>
            Reload
          </button>
        </div>
      )}
      {readOnly && (
        <div className="ed-banner ed-banner--info">
          Read-only: your role in this workspace is viewer. You can look at the pipeline and its runs.
        </div>
      )}
      {graphErrors.length > 0 && (
        <div className="ed-banner ed-banner--error" role="alert">
          {graphErrors.map((m) => (
            <div key={m}>{m}</div>
          ))}
        </div>
      )}
    </div>
  );
}
