import { describe, expect, it } from "vitest";
import { searchBlocks } from "./catalogue";
import { connectionProblem, flowToGraph, graphToFlow, newNodeId, parseGraphFile } from "./graph";
import { catalogue } from "./testing";
import type { Graph } from "./types";

const graph: Graph = {
  nodes: [
    { id: "load", block: "dataset.builtin", params: { name: "breast_cancer" }, position: { x: 0, y: 0 } },
    { id: "split", block: "data.split", params: { test_size: 0.25 }, position: { x: 260, y: 0 }, label: "Hold out 25%" },
    { id: "scale", block: "sklearn.preprocessing.StandardScaler", params: {}, position: { x: 0, y: 200 } },
    { id: "logreg", block: "sklearn.linear_model.LogisticRegression", params: { C: 1 }, position: { x: 260, y: 200 }, cache: "always_rerun" },
    { id: "train", block: "model.train", params: { target: "target" }, position: { x: 520, y: 100 }, timeout_seconds: 60 },
    { id: "evaluate", block: "model.evaluate", params: {}, position: { x: 780, y: 100 } },
  ],
  edges: [
    { source: "load", source_port: "table", target: "split", target_port: "table" },
    { source: "scale", source_port: "estimator", target: "logreg", target_port: "estimator" },
    { source: "logreg", source_port: "estimator", target: "train", target_port: "estimator" },
    { source: "split", source_port: "train", target: "train", target_port: "table" },
    { source: "train", source_port: "model", target: "evaluate", target_port: "model" },
  ],
};

describe("graph <-> React Flow conversion", () => {
  it("round-trips a graph unchanged, keeping labels, cache flags and unknown keys", () => {
    const { nodes, edges } = graphToFlow(graph, catalogue);
    expect(flowToGraph(nodes, edges)).toEqual(graph);
  });

  it("uses port names as handle ids and colours edges by port type", () => {
    const { edges } = graphToFlow(graph, catalogue);
    const e = edges.find((x) => x.source === "split")!;
    expect(e.sourceHandle).toBe("train");
    expect(e.targetHandle).toBe("table");
    expect(e.data?.portType).toBe("table");
    expect(e.style?.stroke).toBe(catalogue.portColor.table);
  });

  it("rounds positions when saving", () => {
    const { nodes, edges } = graphToFlow(graph, catalogue);
    nodes[0] = { ...nodes[0], position: { x: 10.6, y: -3.2 } };
    expect(flowToGraph(nodes, edges).nodes[0].position).toEqual({ x: 11, y: -3 });
  });
});

describe("connection rules", () => {
  const { nodes, edges } = graphToFlow(graph, catalogue);
  const check = (source: string, sourceHandle: string, target: string, targetHandle: string) =>
    connectionProblem({ source, sourceHandle, target, targetHandle }, nodes, edges, catalogue);

  it("accepts an output into a free input of the same type", () => {
    expect(check("split", "test", "evaluate", "table")).toBeNull();
  });

  it("refuses ports of different types, naming both types", () => {
    expect(check("load", "table", "logreg", "estimator")).toBe("table output cannot connect to estimator input");
    expect(check("train", "model", "evaluate", "table")).toBe("model output cannot connect to table input");
  });

  it("refuses a second edge into an input", () => {
    expect(check("split", "test", "train", "table")).toMatch(/input 'table' of train already has a connection/);
  });

  it("refuses self-loops and cycles", () => {
    expect(check("logreg", "estimator", "logreg", "estimator")).toMatch(/itself/);
    expect(check("logreg", "estimator", "scale", "estimator")).toMatch(/cycle/);
  });

  it("refuses unknown ports", () => {
    expect(check("load", "nope", "split", "table")).toMatch(/output/);
  });
});

describe("helpers", () => {
  it("derives readable, unique node ids", () => {
    expect(newNodeId("data.split", [])).toBe("split");
    expect(newNodeId("data.split", ["split", "split_2"])).toBe("split_3");
    expect(newNodeId("sklearn.linear_model.LogisticRegression", [])).toBe("logisticregression");
  });

  it("searches every block, curated first, and shows curated ones without a query", () => {
    expect(searchBlocks(catalogue, "").map((b) => b.key)).not.toContain("sklearn.svm.LinearSVC");
    expect(searchBlocks(catalogue, "linearsvc").map((b) => b.key)).toEqual(["sklearn.svm.LinearSVC"]);
    expect(searchBlocks(catalogue, "logistic")[0].key).toBe("sklearn.linear_model.LogisticRegression");
  });

  it("parses exported files and explains bad ones", () => {
    expect(parseGraphFile(JSON.stringify(graph))).toEqual(graph);
    expect(parseGraphFile(JSON.stringify({ name: "x", graph })).nodes).toHaveLength(6);
    expect(() => parseGraphFile("{")).toThrow(/not valid JSON/);
    expect(() => parseGraphFile('{"nodes": [{"id": "a"}]}')).toThrow(/node #1/);
    expect(() => parseGraphFile('{"nodes": [{"id": "a", "block": "x"}, {"id": "a", "block": "y"}], "edges": []}')).toThrow(/twice/);
  });
});
