import { describe, expect, it } from "vitest";
import { buildCatalogue } from "./catalogue";
import { inputColumns } from "./columns";
import { estimatorConsumer, graphToFlow } from "./graph";
import { BLOCKS } from "./testing";
import type { BlockSpec } from "./types";

const prepColumns: BlockSpec = {
  key: "prep.columns",
  label: "Column groups",
  category: "Preprocessing",
  description: "",
  version: "1",
  curated: true,
  tags: [],
  inputs: ["estimator", "group_1", "group_2"].map((name) => ({ name, type: "estimator", required: false })),
  outputs: [{ name: "estimator", type: "estimator", required: true }],
  params_schema: { type: "object", properties: { group_1_columns: { type: "array", default: [] } } },
  column_params: ["group_1_columns"],
};
const catalogue = buildCatalogue({ ...BLOCKS, blocks: [...BLOCKS.blocks, prepColumns] });
const at = { x: 0, y: 0 };

describe("columns for the parameters of estimator steps", () => {
  const { nodes, edges } = graphToFlow(
    {
      nodes: [
        { id: "load", block: "dataset.builtin", params: {}, position: at },
        { id: "split", block: "data.split", params: {}, position: at },
        { id: "scale", block: "sklearn.preprocessing.StandardScaler", params: {}, position: at },
        { id: "cols", block: "prep.columns", params: {}, position: at },
        { id: "logreg", block: "sklearn.linear_model.LogisticRegression", params: {}, position: at },
        { id: "train", block: "model.train", params: {}, position: at },
        { id: "loose", block: "prep.columns", params: {}, position: at },
      ],
      edges: [
        { source: "load", source_port: "table", target: "split", target_port: "table" },
        { source: "scale", source_port: "estimator", target: "cols", target_port: "group_1" },
        { source: "cols", source_port: "estimator", target: "logreg", target_port: "estimator" },
        { source: "logreg", source_port: "estimator", target: "train", target_port: "estimator" },
        { source: "split", source_port: "train", target: "train", target_port: "table" },
      ],
    },
    catalogue,
  );
  const cols = [
    { name: "city", dtype: "str" },
    { name: "churned", dtype: "int64" },
  ];

  it("follow the estimator wires, through groups and later steps, to the training node", () => {
    expect(estimatorConsumer("cols", nodes, edges, catalogue)).toBe("train");
    expect(estimatorConsumer("scale", nodes, edges, catalogue)).toBe("train");
  });

  it("are the columns of the table the model trains on", () => {
    const ctx = { nodes, edges, catalogue, datasets: null, columns: { "load:table": cols } };
    expect(inputColumns("cols", ctx)).toEqual(cols);
  });

  it("are unknown for a step that is not wired to a training node", () => {
    const ctx = { nodes, edges, catalogue, datasets: null, columns: { "load:table": cols } };
    expect(estimatorConsumer("loose", nodes, edges, catalogue)).toBeNull();
    expect(inputColumns("loose", ctx)).toBeNull();
  });
});
