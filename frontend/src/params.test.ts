import { describe, expect, it } from "vitest";
import { inputColumns } from "./columns";
import { graphToFlow } from "./graph";
import { branchFor, checkField, checkValue, fieldModel, initialValue, splitErrors } from "./params";
import { catalogue } from "./testing";

describe("parameter schemas", () => {
  it("turns a nullable anyOf into branches plus a none flag", () => {
    const m = fieldModel({ anyOf: [{ type: "integer", minimum: 0 }, { type: "null" }], default: 0 });
    expect(m.nullable).toBe(true);
    expect(m.branches.map((b) => b.kind)).toEqual(["integer"]);
  });

  it("keeps several non-null branches to pick from", () => {
    const m = fieldModel({ anyOf: [{ type: "string", enum: ["auto", "scale"] }, { type: "number", minimum: 0 }] });
    expect(m.branches.map((b) => b.kind)).toEqual(["enum", "number"]);
    expect(branchFor(m, "scale")).toBe(0);
    expect(branchFor(m, 0.5)).toBe(1);
    expect(branchFor(m, null)).toBe(-1);
  });

  it("reads type lists such as ['string', 'null']", () => {
    const m = fieldModel({ type: ["string", "null"], default: null });
    expect(m).toMatchObject({ nullable: true, branches: [{ kind: "string" }] });
  });

  it("checks bounds with the server's wording", () => {
    const [b] = fieldModel({ type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 }).branches;
    expect(checkValue(b, 0)).toBe("must be > 0");
    expect(checkValue(b, 1)).toBe("must be < 1");
    expect(checkValue(b, 0.5)).toBeNull();
    const [i] = fieldModel({ type: "integer", minimum: 1 }).branches;
    expect(checkValue(i, 1.5)).toBe("must be a whole number");
    expect(checkValue(i, 0)).toBe("must be ≥ 1");
  });

  it("starts a switched-to branch at a value inside the bounds", () => {
    const [b] = fieldModel({ type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 }).branches;
    expect(initialValue(b)).toBe(0.5);
    const [i] = fieldModel({ type: "integer", exclusiveMinimum: 0 }).branches;
    expect(initialValue(i)).toBe(1);
  });

  it("splits server errors by parameter", () => {
    expect(splitErrors(["C: must be > 0 (got -1)", "input 'estimator' is not connected"], ["C"])).toEqual({
      byParam: { C: ["must be > 0 (got -1)"] },
      other: ["input 'estimator' is not connected"],
    });
  });
});

describe("column suggestions", () => {
  const { nodes, edges } = graphToFlow(
    {
      nodes: [
        { id: "load", block: "dataset.builtin", params: {}, position: { x: 0, y: 0 } },
        { id: "split", block: "data.split", params: {}, position: { x: 0, y: 0 } },
        { id: "train", block: "model.train", params: {}, position: { x: 0, y: 0 } },
      ],
      edges: [
        { source: "load", source_port: "table", target: "split", target_port: "table" },
        { source: "split", source_port: "train", target: "train", target_port: "table" },
      ],
    },
    catalogue,
  );
  const cols = [{ name: "target", dtype: "int64" }];

  it("come from a run's summary of the upstream output", () => {
    const ctx = { nodes, edges, catalogue, datasets: null, columns: { "split:train": cols } };
    expect(inputColumns("train", ctx)).toEqual(cols);
  });

  it("pass through a train/test split", () => {
    const ctx = { nodes, edges, catalogue, datasets: null, columns: { "load:table": cols } };
    expect(inputColumns("train", ctx)).toEqual(cols);
  });

  it("are unknown without a run", () => {
    expect(inputColumns("train", { nodes, edges, catalogue, datasets: null, columns: {} })).toBeNull();
  });
});

describe("int-or-float parameters (sklearn's Interval(Integral) | Interval(RealNotInt))", () => {
  // GradientBoosting's min_samples_split, as pipelines/blocks/schema.py serves it.
  const minSamplesSplit = {
    anyOf: [
      { type: "integer" as const, minimum: 2 },
      { type: "number" as const, exclusiveMinimum: 0, maximum: 1 },
    ],
    default: 2,
  };

  it("keeps a bounded integer branch as an alternative to the fraction", () => {
    const m = fieldModel(minSamplesSplit);
    expect(m.branches.map((b) => b.kind)).toEqual(["integer", "number"]);
  });

  it("accepts a count such as 5 in the integer branch, not flagged by the fraction's bound", () => {
    const m = fieldModel(minSamplesSplit);
    const i = branchFor(m, 5);
    expect(m.branches[i].kind).toBe("integer");
    expect(checkField(m, m.branches[i], 5)).toBeNull();
  });

  it("accepts a fraction such as 0.5 and also 1 in the number branch", () => {
    const m = fieldModel(minSamplesSplit);
    expect(m.branches[branchFor(m, 0.5)].kind).toBe("number");
    expect(checkField(m, m.branches[branchFor(m, 0.5)], 0.5)).toBeNull();
    expect(m.branches[branchFor(m, 1)].kind).toBe("number");
    expect(checkField(m, m.branches[branchFor(m, 1)], 1)).toBeNull();
  });

  it("names both alternatives when a value fits neither", () => {
    const m = fieldModel(minSamplesSplit);
    expect(checkField(m, m.branches[branchFor(m, 1.5)], 1.5)).toBe(
      "must be a whole number with 2 ≤ value or a number with 0 < value ≤ 1",
    );
    expect(checkField(m, m.branches[branchFor(m, 0)], 0)).toMatch(/^must be a whole number with 2 ≤ value or/);
  });

  it("still drops an integer branch that a number branch covers", () => {
    const m = fieldModel({ anyOf: [{ type: "integer", minimum: 0 }, { type: "number", minimum: 0 }] });
    expect(m.branches.map((b) => b.kind)).toEqual(["number"]);
  });
});
