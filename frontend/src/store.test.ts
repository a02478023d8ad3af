import { beforeEach, describe, expect, it } from "vitest";
import { createEditorStore, selectCurrentGraph, selectDirty } from "./store";
import { catalogue } from "./testing";
import type { Pipeline } from "./types";

const pipeline: Pipeline = {
  id: 7,
  workspace: 1,
  name: "p",
  description: "",
  version: 3,
  created_by: "demo",
  created_at: "",
  updated_at: "",
  graph: {
    nodes: [
      { id: "load", block: "dataset.builtin", params: {}, position: { x: 0, y: 0 } },
      { id: "split", block: "data.split", params: {}, position: { x: 260, y: 0 } },
    ],
    edges: [{ source: "load", source_port: "table", target: "split", target_port: "table" }],
  },
};

let store: ReturnType<typeof createEditorStore>;
const s = () => store.getState();

beforeEach(() => {
  store = createEditorStore();
  s().setCatalogue(catalogue);
  s().loadPipeline(pipeline);
});

describe("editor store", () => {
  it("loads a pipeline clean and becomes dirty on edits", () => {
    expect(selectDirty(s())).toBe(false);
    s().updateParam("split", "test_size", 0.3);
    expect(selectDirty(s())).toBe(true);
    expect(selectCurrentGraph(s()).nodes[1].params).toEqual({ test_size: 0.3 });
  });

  it("undo restores a deleted node and its edges; redo deletes again", () => {
    s().selectNode("split");
    s().deleteSelection();
    expect(s().nodes.map((n) => n.id)).toEqual(["load"]);
    expect(s().edges).toHaveLength(0);
    s().undo();
    expect(s().nodes.map((n) => n.id)).toEqual(["load", "split"]);
    expect(s().edges).toHaveLength(1);
    expect(selectDirty(s())).toBe(false);
    s().redo();
    expect(s().nodes.map((n) => n.id)).toEqual(["load"]);
  });

  it("typing into one field is one undo step", () => {
    s().updateParam("split", "test_size", 0.3);
    s().updateParam("split", "test_size", 0.35);
    s().updateParam("split", "test_size", 0.4);
    s().undo();
    expect(s().nodes[1].data.params).toEqual({});
  });

  it("a new edit clears the redo stack", () => {
    s().addNode("model.train", { x: 0, y: 0 });
    s().undo();
    expect(s().future).toHaveLength(1);
    s().addNode("model.evaluate", { x: 0, y: 0 });
    expect(s().future).toHaveLength(0);
  });

  it("connect refuses with a reason and adds nothing", () => {
    const id = s().addNode("sklearn.linear_model.LogisticRegression", { x: 0, y: 0 })!;
    const problem = s().connect({ source: "load", sourceHandle: "table", target: id, targetHandle: "estimator" });
    expect(problem).toBe("table output cannot connect to estimator input");
    expect(s().edges).toHaveLength(1);
  });

  it("connect refuses a second edge into the same input", () => {
    const problem = s().connect({ source: "load", sourceHandle: "table", target: "split", targetHandle: "table" });
    expect(problem).toMatch(/already has a connection/);
  });

  it("connect adds a valid edge as an undoable step", () => {
    const id = s().addNode("model.train", { x: 0, y: 0 })!;
    expect(s().connect({ source: "split", sourceHandle: "train", target: id, targetHandle: "table" })).toBeNull();
    expect(s().edges).toHaveLength(2);
    s().undo();
    expect(s().edges).toHaveLength(1);
  });

  it("copy/paste duplicates the selection with new ids and the inner edges", () => {
    store.setState({ nodes: s().nodes.map((n) => ({ ...n, selected: true })) });
    expect(s().copySelection()).toBe(2);
    expect(s().paste()).toBe(2);
    expect(s().nodes.map((n) => n.id)).toEqual(["load", "split", "builtin", "split_2"]);
    const pasted = s().edges[1];
    expect([pasted.source, pasted.target]).toEqual(["builtin", "split_2"]);
    expect(s().nodes[3].position).toEqual({ x: 300, y: 40 });
  });

  it("a drag is one undo step", () => {
    s().onNodesChange([{ type: "position", id: "load", position: { x: 5, y: 5 }, dragging: true }]);
    s().onNodesChange([{ type: "position", id: "load", position: { x: 50, y: 50 }, dragging: true }]);
    s().onNodesChange([{ type: "position", id: "load", position: { x: 50, y: 50 }, dragging: false }]);
    expect(s().nodes[0].position).toEqual({ x: 50, y: 50 });
    s().undo();
    expect(s().nodes[0].position).toEqual({ x: 0, y: 0 });
  });

  it("read-only stores refuse edits", () => {
    s().setReadOnly(true);
    s().updateParam("split", "test_size", 0.3);
    s().selectNode("split");
    s().deleteSelection();
    expect(s().addNode("model.train", { x: 0, y: 0 })).toBeNull();
    expect(selectDirty(s())).toBe(false);
    expect(s().nodes).toHaveLength(2);
  });

  it("a rename moves the version and the name on but keeps unsaved edits unsaved", () => {
    s().updateParam("split", "test_size", 0.3);

    s().setPipelineMeta(4, "renamed");

    expect(s().pipeline).toMatchObject({ id: 7, name: "renamed", version: 4 });
    expect(selectDirty(s())).toBe(true);
  });

  it("markSaved records the new version and the saved graph", () => {
    s().updateParam("split", "test_size", 0.3);
    const key = JSON.stringify(selectCurrentGraph(s()));
    s().setConflict({ current: 4, yours: 3 });
    s().markSaved(4, key);
    expect(s().pipeline?.version).toBe(4);
    expect(s().conflict).toBeNull();
    expect(selectDirty(s())).toBe(false);
  });

  it("editing a param clears that param's server error only", () => {
    s().setValidation({ split: ["test_size: must be < 1 (got 2)", "input 'table' is not connected"] }, []);
    s().updateParam("split", "test_size", 0.5);
    expect(s().errors.split).toEqual(["input 'table' is not connected"]);
  });

  it("remembers output columns from run summaries", () => {
    s().setRun({
      id: 1, status: "succeeded", steps_total: 1, steps_done: 1, progress: 1, headline: null, error: "",
      steps: [{
        node_id: "load", block_key: "dataset.builtin", status: "succeeded", cache_hit: false, cached_from_run: null,
        summary: { outputs: { table: { type: "table", columns: [{ name: "target", dtype: "int64" }] } } },
        logs: "", warnings: [], error: "", error_detail: "", duration_seconds: 0.1,
      }],
    });
    expect(s().columns["load:table"]).toEqual([{ name: "target", dtype: "int64" }]);
    expect(s().steps.load.status).toBe("succeeded");
  });
});
