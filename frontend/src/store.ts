// The one editor store. Components read it through selectors; network code
// (remote.ts) calls its actions. Everything here is synchronous and testable.
import { applyEdgeChanges, applyNodeChanges } from "@xyflow/react";
import type { EdgeChange, NodeChange, XYPosition } from "@xyflow/react";
import { create } from "zustand";
import type { Catalogue } from "./catalogue";
import {
  connectionProblem,
  flowNodeToGraph,
  flowToGraph,
  graphKey,
  graphNodeToFlow,
  graphToFlow,
  makeEdge,
  newNodeId,
  type BlockNode,
  type ConnectionLike,
  type PortEdge,
} from "./graph";
import type { ColumnInfo, Connection, Dataset, Graph, GraphEdge, GraphNode, JsonValue, Pipeline, Run, StepRun } from "./types";

interface Snapshot {
  nodes: BlockNode[];
  edges: PortEdge[];
}

export interface Toast {
  id: number;
  message: string;
  kind: "error" | "info" | "success";
}

export interface Conflict {
  current: number | null;
  yours: number;
}

export interface PipelineMeta {
  id: number;
  name: string;
  workspace: number;
  version: number;
}

const HISTORY_LIMIT = 100;

export interface EditorState {
  catalogue: Catalogue | null;
  pipeline: PipelineMeta | null;
  readOnly: boolean;
  loadError: string | null;

  nodes: BlockNode[];
  edges: PortEdge[];
  savedKey: string;

  past: Snapshot[];
  future: Snapshot[];
  historyTag: string | null;
  dragging: boolean;
  clipboard: { nodes: GraphNode[]; edges: GraphEdge[] } | null;
  pasteCount: number;

  errors: Record<string, string[]>;
  graphErrors: string[];

  run: Run | null;
  steps: Record<string, StepRun>;
  /** Columns of each output seen in any loaded run, keyed "node:port". */
  columns: Record<string, ColumnInfo[]>;
  datasets: Dataset[] | null;
  connections: Connection[] | null;

  saving: boolean;
  starting: boolean;
  conflict: Conflict | null;
  toast: Toast | null;
  tab: "params" | "outputs";
  historyOpen: boolean;
  helpOpen: boolean;
  /** The open rename / duplicate / delete dialog of the pipeline, if any. */
  manage: ManageAction | null;
  /** Bumped when the whole view should be re-fitted (load, import, layout). */
  fitRequest: number;

  setCatalogue: (c: Catalogue) => void;
  setReadOnly: (readOnly: boolean) => void;
  setLoadError: (message: string | null) => void;
  loadPipeline: (p: Pipeline) => void;
  markSaved: (version: number, key: string, name?: string) => void;
  /** The server changed the pipeline's name (and so its version) but not the graph: local edits stay unsaved. */
  setPipelineMeta: (version: number, name: string) => void;
  onNodesChange: (changes: NodeChange<BlockNode>[]) => void;
  onEdgesChange: (changes: EdgeChange<PortEdge>[]) => void;
  connect: (conn: ConnectionLike) => string | null;
  addNode: (blockKey: string, position: XYPosition) => string | null;
  deleteSelection: () => void;
  updateParam: (nodeId: string, name: string, value: JsonValue | undefined) => void;
  renameNode: (nodeId: string, label: string) => void;
  setNodeCache: (nodeId: string, alwaysRerun: boolean) => void;
  selectNode: (nodeId: string | null) => void;
  copySelection: () => number;
  paste: () => number;
  undo: () => void;
  redo: () => void;
  setPositions: (positions: Record<string, XYPosition>) => void;
  replaceGraph: (graph: Graph) => void;
  setValidation: (errors: Record<string, string[]>, graphErrors: string[]) => void;
  setRun: (run: Run | null) => void;
  rememberColumns: (run: Run) => void;
  setDatasets: (d: Dataset[]) => void;
  setConnections: (c: Connection[]) => void;
  setSaving: (v: boolean) => void;
  setStarting: (v: boolean) => void;
  setConflict: (c: Conflict | null) => void;
  showToast: (message: string, kind?: Toast["kind"]) => void;
  dismissToast: () => void;
  setTab: (tab: EditorState["tab"]) => void;
  setHistoryOpen: (v: boolean) => void;
  setHelpOpen: (v: boolean) => void;
  setManage: (action: ManageAction | null) => void;
}

export type ManageAction = "rename" | "duplicate" | "delete";

let toastSeq = 0;

function stripSelection(nodes: BlockNode[]): BlockNode[] {
  return nodes.map((n) => (n.selected ? { ...n, selected: false } : n));
}

export const createEditorStore = () =>
  create<EditorState>()((set, get) => {
    /** Record the current graph for undo, unless ``tag`` continues the last edit. */
    const remember = (tag: string | null = null) => {
      const s = get();
      if (tag !== null && tag === s.historyTag) return;
      const past = [...s.past, { nodes: s.nodes, edges: s.edges }].slice(-HISTORY_LIMIT);
      set({ past, future: [], historyTag: tag });
    };
    const clearNodeErrors = (ids: string[]) => {
      const errors = { ...get().errors };
      let changed = false;
      for (const id of ids) if (errors[id]) (delete errors[id], (changed = true));
      if (changed) set({ errors });
    };

    return {
      catalogue: null,
      pipeline: null,
      readOnly: false,
      loadError: null,
      nodes: [],
      edges: [],
      savedKey: graphKey({ nodes: [], edges: [] }),
      past: [],
      future: [],
      historyTag: null,
      dragging: false,
      clipboard: null,
      pasteCount: 0,
      errors: {},
      graphErrors: [],
      run: null,
      steps: {},
      columns: {},
      datasets: null,
      connections: null,
      saving: false,
      starting: false,
      conflict: null,
      toast: null,
      tab: "params",
      historyOpen: false,
      helpOpen: false,
      manage: null,
      fitRequest: 0,

      setCatalogue: (catalogue) => {
        const { nodes } = get();
        const edges = get().edges.map((e) =>
          makeEdge(
            { source: e.source, source_port: e.sourceHandle ?? "", target: e.target, target_port: e.targetHandle ?? "" },
            catalogue,
            nodes,
          ),
        );
        set({ catalogue, edges });
      },
      setReadOnly: (readOnly) => set({ readOnly }),
      setLoadError: (loadError) => set({ loadError }),

      loadPipeline: (p) => {
        const { nodes, edges } = graphToFlow(p.graph ?? { nodes: [], edges: [] }, get().catalogue);
        set({
          pipeline: { id: p.id, name: p.name, workspace: p.workspace, version: p.version },
          nodes,
          edges,
          savedKey: graphKey(flowToGraph(nodes, edges)),
          past: [],
          future: [],
          historyTag: null,
          errors: {},
          graphErrors: [],
          conflict: null,
          fitRequest: get().fitRequest + 1,
        });
      },

      setPipelineMeta: (version, name) => {
        const pipeline = get().pipeline;
        if (!pipeline) return;
        set({ pipeline: { ...pipeline, version, name } });
      },

      markSaved: (version, key, name) => {
        const pipeline = get().pipeline;
        if (!pipeline) return;
        set({ pipeline: { ...pipeline, version, name: name ?? pipeline.name }, savedKey: key, conflict: null });
      },

      onNodesChange: (changes) => {
        const s = get();
        if (s.readOnly) {
          changes = changes.filter((c) => c.type === "select" || c.type === "dimensions");
        }
        // Deletion goes through deleteSelection (one undo step for nodes + edges).
        changes = changes.filter((c) => c.type !== "remove");
        const moving = changes.some((c) => c.type === "position" && c.dragging);
        const moved = changes.some((c) => c.type === "position");
        if (moving && !s.dragging) {
          remember();
          set({ dragging: true });
        } else if (moved && !moving && !s.dragging) {
          remember(); // a move without a drag (e.g. keyboard arrows)
        }
        if (s.dragging && moved && !moving) set({ dragging: false, historyTag: null });
        set({ nodes: applyNodeChanges(changes, get().nodes) });
      },

      onEdgesChange: (changes) => {
        const keep = changes.filter((c) => c.type === "select");
        if (keep.length) set({ edges: applyEdgeChanges(keep, get().edges) });
      },

      connect: (conn) => {
        const s = get();
        if (s.readOnly) return "this pipeline is read-only for you";
        const problem = connectionProblem(conn, s.nodes, s.edges, s.catalogue);
        if (problem) return problem;
        remember();
        const edge = makeEdge(
          { source: conn.source!, source_port: conn.sourceHandle!, target: conn.target!, target_port: conn.targetHandle! },
          s.catalogue,
          s.nodes,
        );
        set({ edges: [...s.edges, edge] });
        clearNodeErrors([conn.target!]);
        return null;
      },

      addNode: (blockKey, position) => {
        const s = get();
        if (s.readOnly || !s.catalogue?.byKey[blockKey]) return null;
        remember();
        const id = newNodeId(blockKey, s.nodes.map((n) => n.id));
        const node: BlockNode = {
          ...graphNodeToFlow({ id, block: blockKey, params: {}, position }),
          selected: true,
        };
        set({ nodes: [...stripSelection(s.nodes), node], edges: s.edges.map((e) => ({ ...e, selected: false })), tab: "params" });
        return id;
      },

      deleteSelection: () => {
        const s = get();
        if (s.readOnly) return;
        const gone = new Set(s.nodes.filter((n) => n.selected).map((n) => n.id));
        const edges = s.edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target));
        if (!gone.size && edges.length === s.edges.length) return;
        remember();
        const touched = s.edges.filter((e) => !edges.includes(e)).map((e) => e.target);
        set({ nodes: s.nodes.filter((n) => !gone.has(n.id)), edges });
        clearNodeErrors(touched);
      },

      updateParam: (nodeId, name, value) => {
        const s = get();
        if (s.readOnly) return;
        remember(`param:${nodeId}:${name}`);
        set({
          nodes: s.nodes.map((n) => {
            if (n.id !== nodeId) return n;
            const params = { ...n.data.params };
            if (value === undefined) delete params[name];
            else params[name] = value;
            return { ...n, data: { ...n.data, params } };
          }),
        });
        const left = (s.errors[nodeId] ?? []).filter((m) => !m.startsWith(`${name}: `));
        set({ errors: { ...get().errors, [nodeId]: left } });
      },

      renameNode: (nodeId, label) => {
        const s = get();
        if (s.readOnly) return;
        remember(`label:${nodeId}`);
        const clean = label.trim();
        set({
          nodes: s.nodes.map((n) => {
            if (n.id !== nodeId) return n;
            const data = { ...n.data };
            if (clean) data.label = clean;
            else delete data.label;
            return { ...n, data };
          }),
        });
      },

      setNodeCache: (nodeId, alwaysRerun) => {
        const s = get();
        if (s.readOnly) return;
        remember();
        set({
          nodes: s.nodes.map((n) => {
            if (n.id !== nodeId) return n;
            const data = { ...n.data };
            if (alwaysRerun) data.cache = "always_rerun";
            else delete data.cache;
            return { ...n, data };
          }),
        });
      },

      selectNode: (nodeId) =>
        set({
          nodes: get().nodes.map((n) => {
            const selected = n.id === nodeId;
            return n.selected === selected ? n : { ...n, selected };
          }),
        }),

      copySelection: () => {
        const s = get();
        const picked = s.nodes.filter((n) => n.selected);
        if (!picked.length) return 0;
        const ids = new Set(picked.map((n) => n.id));
        const graph = flowToGraph(
          picked,
          s.edges.filter((e) => ids.has(e.source) && ids.has(e.target)),
        );
        set({ clipboard: structuredClone(graph), pasteCount: 0 });
        return picked.length;
      },

      paste: () => {
        const s = get();
        if (s.readOnly || !s.clipboard?.nodes.length) return 0;
        remember();
        const offset = 40 * (s.pasteCount + 1);
        const taken = s.nodes.map((n) => n.id);
        const rename = new Map<string, string>();
        const added: BlockNode[] = s.clipboard.nodes.map((gn) => {
          const id = newNodeId(gn.block, [...taken, ...rename.values()]);
          rename.set(gn.id, id);
          const node = graphNodeToFlow(structuredClone({ ...gn, id }));
          return { ...node, position: { x: node.position.x + offset, y: node.position.y + offset }, selected: true };
        });
        const nodes = [...stripSelection(s.nodes), ...added];
        const addedEdges = s.clipboard.edges.map((e) =>
          makeEdge(
            { ...e, source: rename.get(e.source)!, target: rename.get(e.target)! },
            s.catalogue,
            nodes,
          ),
        );
        set({ nodes, edges: [...s.edges, ...addedEdges], pasteCount: s.pasteCount + 1 });
        return added.length;
      },

      undo: () => {
        const s = get();
        const prev = s.past[s.past.length - 1];
        if (!prev || s.readOnly) return;
        set({
          past: s.past.slice(0, -1),
          future: [{ nodes: s.nodes, edges: s.edges }, ...s.future],
          nodes: prev.nodes,
          edges: prev.edges,
          historyTag: null,
        });
      },

      redo: () => {
        const s = get();
        const next = s.future[0];
        if (!next || s.readOnly) return;
        set({
          future: s.future.slice(1),
          past: [...s.past, { nodes: s.nodes, edges: s.edges }],
          nodes: next.nodes,
          edges: next.edges,
          historyTag: null,
        });
      },

      setPositions: (positions) => {
        const s = get();
        if (s.readOnly) return;
        remember();
        set({
          nodes: s.nodes.map((n) => (positions[n.id] ? { ...n, position: positions[n.id] } : n)),
          fitRequest: s.fitRequest + 1,
        });
      },

      replaceGraph: (graph) => {
        const s = get();
        if (s.readOnly) return;
        remember();
        const { nodes, edges } = graphToFlow(graph, s.catalogue);
        set({ nodes, edges, errors: {}, graphErrors: [], fitRequest: s.fitRequest + 1 });
      },

      setValidation: (errors, graphErrors) => set({ errors, graphErrors }),

      setRun: (run) => {
        const steps: Record<string, StepRun> = {};
        for (const step of run?.steps ?? []) steps[step.node_id] = step;
        set({ run, steps });
        if (run) get().rememberColumns(run);
      },

      rememberColumns: (run) => {
        const columns = { ...get().columns };
        let changed = false;
        for (const step of run.steps ?? []) {
          for (const [port, out] of Object.entries(step.summary?.outputs ?? {})) {
            if (out.columns?.length) {
              columns[`${step.node_id}:${port}`] = out.columns;
              changed = true;
            }
          }
        }
        if (changed) set({ columns });
      },

      setDatasets: (datasets) => set({ datasets }),
      setConnections: (connections) => set({ connections }),
      setSaving: (saving) => set({ saving }),
      setStarting: (starting) => set({ starting }),
      setConflict: (conflict) => set({ conflict }),
      showToast: (message, kind = "error") => set({ toast: { id: ++toastSeq, message, kind } }),
      dismissToast: () => set({ toast: null }),
      setTab: (tab) => set({ tab }),
      setHistoryOpen: (historyOpen) => set({ historyOpen }),
      setHelpOpen: (helpOpen) => set({ helpOpen }),
      setManage: (manage) => set({ manage }),
    };
  });

export const useEditor = createEditorStore();

// --- Selectors ------------------------------------------------------------------

let dirtyCache: { nodes: BlockNode[]; edges: PortEdge[]; key: string } | null = null;

/** The current graph as stored JSON (memoised on the node/edge arrays). */
export function currentGraphKey(s: Pick<EditorState, "nodes" | "edges">): string {
  if (!dirtyCache || dirtyCache.nodes !== s.nodes || dirtyCache.edges !== s.edges) {
    dirtyCache = { nodes: s.nodes, edges: s.edges, key: graphKey(flowToGraph(s.nodes, s.edges)) };
  }
  return dirtyCache.key;
}

export const selectDirty = (s: EditorState) => currentGraphKey(s) !== s.savedKey;
export const selectCurrentGraph = (s: Pick<EditorState, "nodes" | "edges">): Graph => flowToGraph(s.nodes, s.edges);
export const selectSelectedId = (s: EditorState): string | null => {
  let found: string | null = null;
  for (const n of s.nodes) {
    if (n.selected) {
      if (found) return null; // several selected: no single inspector target
      found = n.id;
    }
  }
  return found;
};
export const selectSelectedCount = (s: EditorState) => s.nodes.reduce((k, n) => k + (n.selected ? 1 : 0), 0);
export const selectCanUndo = (s: EditorState) => s.past.length > 0;
export const selectCanRedo = (s: EditorState) => s.future.length > 0;

/** Nodes serialised for "is this node id still the same block" checks. */
export function nodeAsGraph(s: EditorState, id: string): GraphNode | null {
  const n = s.nodes.find((x) => x.id === id);
  return n ? flowNodeToGraph(n) : null;
}
