// Graph JSON <-> React Flow nodes/edges, and the rules for wiring ports.
// Plain functions with no React or store imports, so they are easy to test.
import type { Edge, Node } from "@xyflow/react";
import type { Catalogue } from "./catalogue";
import type { Graph, GraphEdge, GraphNode, JsonValue } from "./types";

export interface BlockNodeData extends Record<string, unknown> {
  block: string;
  params: Record<string, JsonValue>;
  label?: string;
  cache?: string;
  /** Keys of the stored node we do not edit (e.g. timeout_seconds), kept on save. */
  extra?: Record<string, unknown>;
}
export type BlockNode = Node<BlockNodeData, "block">;
export interface PortEdgeData extends Record<string, unknown> {
  portType?: string;
}
export type PortEdge = Edge<PortEdgeData>;

const NODE_KEYS = new Set(["id", "block", "params", "position", "label", "cache"]);

export function edgeId(e: GraphEdge): string {
  return `${e.source}:${e.source_port}->${e.target}:${e.target_port}`;
}

export function makeEdge(e: GraphEdge, catalogue?: Catalogue | null, nodes?: BlockNode[]): PortEdge {
  let portType: string | undefined;
  if (catalogue && nodes) {
    const src = nodes.find((n) => n.id === e.source);
    portType = src && catalogue.byKey[src.data.block]?.outputs.find((p) => p.name === e.source_port)?.type;
  }
  const color = portType && catalogue ? catalogue.portColor[portType] : undefined;
  return {
    id: edgeId(e),
    source: e.source,
    sourceHandle: e.source_port,
    target: e.target,
    targetHandle: e.target_port,
    data: { portType },
    style: color ? { stroke: color } : undefined,
  };
}

export function graphNodeToFlow(n: GraphNode): BlockNode {
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(n)) if (!NODE_KEYS.has(k)) extra[k] = v;
  const data: BlockNodeData = { block: n.block, params: { ...(n.params ?? {}) } };
  if (n.label) data.label = n.label;
  if (n.cache) data.cache = n.cache;
  if (Object.keys(extra).length) data.extra = extra;
  return {
    id: n.id,
    type: "block",
    position: { x: Number(n.position?.x ?? 0), y: Number(n.position?.y ?? 0) },
    data,
  };
}

export function graphToFlow(graph: Graph, catalogue?: Catalogue | null): { nodes: BlockNode[]; edges: PortEdge[] } {
  const nodes = (graph.nodes ?? []).map(graphNodeToFlow);
  const edges = (graph.edges ?? []).map((e) => makeEdge(e, catalogue, nodes));
  return { nodes, edges };
}

export function flowNodeToGraph(n: BlockNode): GraphNode {
  const out: GraphNode = {
    ...(n.data.extra ?? {}),
    id: n.id,
    block: n.data.block,
    params: { ...n.data.params },
    position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
  };
  if (n.data.label) out.label = n.data.label;
  if (n.data.cache) out.cache = n.data.cache;
  return out;
}

export function flowToGraph(nodes: BlockNode[], edges: PortEdge[]): Graph {
  return {
    nodes: nodes.map(flowNodeToGraph),
    edges: edges.map((e) => ({
      source: e.source,
      source_port: e.sourceHandle ?? "",
      target: e.target,
      target_port: e.targetHandle ?? "",
    })),
  };
}

/** A stable string for "has the graph changed since it was saved". */
export function graphKey(graph: Graph): string {
  return JSON.stringify(graph);
}

/** A readable, unused node id derived from the block key ("split", "split_2", …). */
export function newNodeId(blockKey: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const last = blockKey.split(".").pop() ?? "node";
  const base = last.replace(/[^A-Za-z0-9_]+/g, "_").toLowerCase() || "node";
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) {
    const id = `${base}_${i}`;
    if (!used.has(id)) return id;
  }
}

export interface ConnectionLike {
  source: string | null;
  sourceHandle?: string | null;
  target: string | null;
  targetHandle?: string | null;
}

/**
 * Why this connection may not be made, or null if it may.
 * Rules: output port to input port of the same type, at most one edge into an
 * input, no self-loops, no cycles.
 */
export function connectionProblem(
  conn: ConnectionLike,
  nodes: BlockNode[],
  edges: PortEdge[],
  catalogue: Catalogue | null,
): string | null {
  if (!catalogue) return "the block catalogue is still loading";
  const src = nodes.find((n) => n.id === conn.source);
  const tgt = nodes.find((n) => n.id === conn.target);
  if (!src || !tgt) return "both ends must be blocks on the canvas";
  if (src.id === tgt.id) return "a block cannot connect to itself";
  const srcBlock = catalogue.byKey[src.data.block];
  const tgtBlock = catalogue.byKey[tgt.data.block];
  if (!srcBlock || !tgtBlock) return `unknown block ${!srcBlock ? src.data.block : tgt.data.block}`;
  const out = srcBlock.outputs.find((p) => p.name === conn.sourceHandle);
  const inp = tgtBlock.inputs.find((p) => p.name === conn.targetHandle);
  if (!out || !inp) return "connect an output (right side) to an input (left side)";
  if (out.type !== inp.type) return `${out.type} output cannot connect to ${inp.type} input`;
  const occupied = edges.some((e) => e.target === tgt.id && e.targetHandle === inp.name);
  if (occupied) {
    const name = tgt.data.label || tgtBlock.label;
    return `input '${inp.name}' of ${name} already has a connection`;
  }
  if (reaches(tgt.id, src.id, edges)) return "this connection would create a cycle";
  return null;
}

function reaches(from: string, to: string, edges: PortEdge[]): boolean {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (!next.has(e.source)) next.set(e.source, []);
    next.get(e.source)!.push(e.target);
  }
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    if (id === to) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(next.get(id) ?? []));
  }
  return false;
}

/** The (node, output port) feeding ``nodeId``'s first table-typed input, if wired. */
export function upstreamTable(
  nodeId: string,
  nodes: BlockNode[],
  edges: PortEdge[],
  catalogue: Catalogue | null,
): { node: string; port: string } | null {
  const node = nodes.find((n) => n.id === nodeId);
  const block = node && catalogue?.byKey[node.data.block];
  if (!block) return null;
  for (const inp of block.inputs) {
    if (inp.type !== "table") continue;
    const e = edges.find((x) => x.target === nodeId && x.targetHandle === inp.name);
    if (e) return { node: e.source, port: e.sourceHandle ?? "" };
  }
  return null;
}

/**
 * The node that trains on the steps ``nodeId`` (an estimator block) adds to: follow
 * the ``estimator`` wires downstream (through further steps, or into a prep.columns
 * group) to the first node that also takes a table, e.g. model.train or model.tune.
 */
export function estimatorConsumer(
  nodeId: string,
  nodes: BlockNode[],
  edges: PortEdge[],
  catalogue: Catalogue | null,
): string | null {
  const seen = new Set<string>();
  let current = nodeId;
  while (!seen.has(current)) {
    seen.add(current);
    const node = nodes.find((n) => n.id === current);
    const block = node && catalogue?.byKey[node.data.block];
    if (!block) return null;
    const port = block.outputs.find((o) => o.type === "estimator");
    const edge = port && edges.find((e) => e.source === current && e.sourceHandle === port.name);
    if (!edge) return null;
    const next = nodes.find((n) => n.id === edge.target);
    const nextBlock = next && catalogue?.byKey[next.data.block];
    if (!nextBlock) return null;
    if (nextBlock.inputs.some((i) => i.type === "table")) return edge.target;
    current = edge.target;
  }
  return null;
}

/** Parse and check an imported graph file; throws Error with a readable message. */
export function parseGraphFile(text: string): Graph {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error("the file is not valid JSON");
  }
  const obj = data as { graph?: unknown };
  // Accept a bare graph or a whole pipeline object with a "graph" key.
  const graph = (obj && typeof obj === "object" && "graph" in obj ? obj.graph : data) as Graph;
  if (!graph || typeof graph !== "object" || !Array.isArray(graph.nodes) || !Array.isArray(graph.edges ?? [])) {
    throw new Error("the file has no 'nodes' list: is it a pipeline graph?");
  }
  const ids = new Set<string>();
  for (const [i, n] of graph.nodes.entries()) {
    if (!n || typeof n.id !== "string" || typeof n.block !== "string") {
      throw new Error(`node #${i + 1} needs a string 'id' and 'block'`);
    }
    if (ids.has(n.id)) throw new Error(`node id '${n.id}' is used twice`);
    ids.add(n.id);
  }
  for (const [i, e] of (graph.edges ?? []).entries()) {
    for (const f of ["source", "source_port", "target", "target_port"] as const) {
      if (!e || typeof e[f] !== "string") throw new Error(`edge #${i + 1} needs a string '${f}'`);
    }
  }
  return { nodes: graph.nodes, edges: graph.edges ?? [] };
}
