import { describe, expect, it } from "vitest";
import { inputColumns } from "./columns";
import { graphToFlow } from "./graph";
import { branchFor, checkValue, fieldModel, initialValue, splitErrors } from "./params";
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
