// Test helpers: a small catalogue shaped like GET /api/blocks/.
import { buildCatalogue } from "./catalogue";
import type { BlockSpec, BlocksResponse } from "./types";

function block(key: string, category: string, inputs: [string, string, boolean?][], outputs: [string, string][], extra: Partial<BlockSpec> = {}): BlockSpec {
  return {
    key,
    label: key.split(".").pop()!,
    category,
    description: `the ${key} block`,
    version: "1",
    curated: true,
    tags: [],
    inputs: inputs.map(([name, type, required]) => ({ name, type, required: required ?? true })),
    outputs: outputs.map(([name, type]) => ({ name, type, required: true })),
    params_schema: { type: "object", properties: {} },
    column_params: [],
    ...extra,
  };
}

export const BLOCKS: BlocksResponse = {
  port_types: ["table", "estimator", "model", "metrics", "report", "chart"],
  blocks: [
    block("dataset.builtin", "Data", [], [["table", "table"]], {
      params_schema: { type: "object", properties: { name: { type: "string", enum: ["iris", "breast_cancer"], default: "iris" } } },
    }),
    block("data.split", "Data", [["table", "table"]], [["train", "table"], ["test", "table"]], {
      column_params: ["stratify_column"],
      params_schema: {
        type: "object",
        properties: {
          test_size: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.25 },
          stratify_column: { type: ["string", "null"], default: null },
        },
      },
    }),
    block("sklearn.preprocessing.StandardScaler", "Preprocessing", [["estimator", "estimator", false]], [["estimator", "estimator"]]),
    block("sklearn.linear_model.LogisticRegression", "Classification", [["estimator", "estimator", false]], [["estimator", "estimator"]], {
      params_schema: { type: "object", properties: { C: { type: "number", exclusiveMinimum: 0, default: 1.0 } } },
    }),
    block("model.train", "Training", [["estimator", "estimator"], ["table", "table"]], [["model", "model"]], {
      column_params: ["target"],
      params_schema: { type: "object", properties: { target: { type: "string", default: "target" } } },
    }),
    block("model.evaluate", "Evaluation", [["model", "model"], ["table", "table"]], [["metrics", "metrics"]]),
    block("sklearn.svm.LinearSVC", "Classification", [["estimator", "estimator", false]], [["estimator", "estimator"]], { curated: false }),
  ],
};

export const catalogue = buildCatalogue(BLOCKS);
