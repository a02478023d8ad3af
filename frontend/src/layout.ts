// Auto-layout: left-to-right layers with dagre.
import dagre from "@dagrejs/dagre";
import type { XYPosition } from "@xyflow/react";
import type { BlockNode, PortEdge } from "./graph";

const DEFAULT_W = 190;
const DEFAULT_H = 96;

export function layoutGraph(nodes: BlockNode[], edges: PortEdge[]): Record<string, XYPosition> {
  const g = new dagre.graphlib.Graph();
  // Room between blocks (rows and columns) so that they never look stuck together and
  // an edge between neighbouring rows stays visible.
  g.setGraph({ rankdir: "LR", nodesep: 64, ranksep: 110, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) {
    g.setNode(n.id, { width: n.measured?.width ?? DEFAULT_W, height: n.measured?.height ?? DEFAULT_H });
  }
  for (const e of edges) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const out: Record<string, XYPosition> = {};
  for (const n of nodes) {
    const p = g.node(n.id);
    const w = n.measured?.width ?? DEFAULT_W;
    const h = n.measured?.height ?? DEFAULT_H;
    out[n.id] = { x: Math.round(p.x - w / 2), y: Math.round(p.y - h / 2) };
  }
  return out;
}
