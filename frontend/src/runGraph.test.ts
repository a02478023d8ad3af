import { beforeEach, describe, expect, it } from "vitest";
import { stepBadge } from "./components/BlockNode";
import { showRunGraph, type RunGraphData } from "./runGraphData";
import { createEditorStore } from "./store";
import { catalogue } from "./testing";

const data: RunGraphData = {
  run: { id: 12, status: "failed", steps_total: 3, steps_done: 3, headline: null, error: "step 'train' failed" },
  pipeline: { id: 7, name: "p", workspace: 1, version: 2 },
  graph: {
    nodes: [
      { id: "load", block: "dataset.builtin", params: {}, position: { x: 0, y: 0 } },
      { id: "split", block: "data.split", params: {}, position: { x: 260, y: 0 } },
      { id: "evaluate", block: "model.evaluate", params: {}, position: { x: 520, y: 0 } },
    ],
    edges: [{ source: "load", source_port: "table", target: "split", target_port: "table" }],
  },
  steps: [
    { node_id: "load", block_key: "dataset.builtin", status: "succeeded", cache_hit: true, cached_from_run: 9, headline: null, error: "" },
    { node_id: "split", block_key: "data.split", status: "failed", cache_hit: false, cached_from_run: null, headline: null, error: "boom" },
    {
      node_id: "evaluate",
      block_key: "model.evaluate",
      status: "succeeded",
      cache_hit: false,
      cached_from_run: null,
      headline: { name: "accuracy", value: 0.95 },
      error: "",
    },
  ],
};

let store: ReturnType<typeof createEditorStore>;
const s = () => store.getState();

beforeEach(() => {
  store = createEditorStore();
  showRunGraph(store, data, catalogue);
});

describe("run graph", () => {
  it("shows the run's graph with every step keyed by node", () => {
    expect(s().nodes.map((n) => n.id)).toEqual(["load", "split", "evaluate"]);
    expect(s().edges[0].data?.portType).toBe("table");
    expect(s().steps.split.error).toBe("boom");
    expect(s().steps.evaluate.summary?.metrics?.headline).toEqual({ name: "accuracy", value: 0.95 });
  });

  it("names the node status the way the editor badges it", () => {
    expect(stepBadge(s().steps.load)?.cls).toBe("cached");
    expect(stepBadge(s().steps.split)?.cls).toBe("failed");
    expect(stepBadge(s().steps.evaluate)?.cls).toBe("succeeded");
    expect(stepBadge(undefined)).toBeNull();
  });

  it("is read-only: nodes select but do not move, and nothing can be connected", () => {
    s().onNodesChange([
      { type: "position", id: "load", position: { x: 500, y: 500 }, dragging: false },
      { type: "select", id: "load", selected: true },
    ]);
    const load = s().nodes.find((n) => n.id === "load")!;
    expect(load.position).toEqual({ x: 0, y: 0 });
    expect(load.selected).toBe(true);
    expect(s().connect({ source: "split", sourceHandle: "train", target: "evaluate", targetHandle: "table" })).not.toBeNull();
    expect(s().edges).toHaveLength(1);
  });
});
