import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { afterEach, describe, expect, it } from "vitest";
import { StepOutputs } from "../OutputsView";
import type { OutputProps } from "./common";
import { KIND_OF_PORT_TYPE, outputKind, stepOutputs } from "./kinds";
import { rendererFor, renderers } from "./registry";

const render = (summary: unknown) =>
  renderToStaticMarkup(createElement(StepOutputs, { summary: summary as never }));

describe("output renderers", () => {
  afterEach(() => {
    delete renderers.survival;
  });

  it("needs one registration for a new kind of output", () => {
    const summary = { outputs: { cohorts: { type: "report", kind: "survival", median_survival_days: 12 } } };
    expect(render(summary)).toContain("median survival days"); // shown generically before

    renderers.survival = ({ values }: OutputProps) =>
      createElement("p", { className: "survival" }, `median ${String(values.median_survival_days)}`);

    expect(render(summary)).toBe('<p class="survival">median 12</p>');
  });

  it("has a renderer for every kind a port type implies, and for tuning reports", () => {
    for (const kind of [...Object.values(KIND_OF_PORT_TYPE), "tuning"]) {
      expect(renderers[kind], kind).toBeDefined();
    }
    expect(rendererFor("nobody-registered-this")).toBe(renderers.json);
  });

  it("draws each output by its declared kind, not by the shape of its values", () => {
    // A report whose values look like a table is still drawn as the report it was declared.
    const html = render({
      outputs: {
        search: { type: "report", kind: "tuning", scoring: "f1", results: [{ rank: 1, params: { C: 1 }, mean_score: 0.9, std_score: 0.01 }] },
        rows: { type: "table", kind: "table", rows: 2, columns: [{ name: "a", dtype: "int64" }], preview: [[1], [2]] },
        odd: { type: "report", kind: "report", rows: 5, columns: [{ name: "x", dtype: "int64" }] },
      },
    });
    expect(html).toContain('data-testid="tuning-results"');
    expect(html).toContain("<code>C=1</code>");
    expect(html.match(/data-testid="table-preview"/g)).toHaveLength(1);
  });
});

describe("stepOutputs", () => {
  it("derives the kind of an old output without one from its port type", () => {
    expect(outputKind({ type: "model", steps: [] })).toBe("object");
    expect(outputKind({ type: "surprise" })).toBe("json");
    expect(outputKind({ type: "report", kind: "tuning" })).toBe("tuning");
  });

  it("takes metrics from summary.metrics and still shows them when no output lists them", () => {
    expect(stepOutputs({ metrics: { accuracy: 0.9 } })).toEqual([
      { port: "metrics", kind: "metrics", type: "metrics", values: { accuracy: 0.9 } },
    ]);
    const both = stepOutputs({
      metrics: { accuracy: 0.9 },
      outputs: { metrics: { type: "metrics", kind: "metrics", accuracy: 0.9 } },
    });
    expect(both).toHaveLength(1);
    expect(both[0].values).toEqual({ accuracy: 0.9 });
  });
});

describe("charts", () => {
  const spec = {
    title: "Distribution of age",
    description: "150 rows",
    data: { values: [{ bin_start: 0, bin_end: 1, count: 3 }] },
    mark: { type: "bar" },
    encoding: { x: { field: "bin_start", type: "quantitative" } },
  };

  it("renders a chart output as a vega-embed target named by its title until it is drawn", () => {
    const html = render({ outputs: { chart: { type: "chart", kind: "chart", ...spec } } });
    expect(html).toContain('data-testid="vega-chart"');
    expect(html).toContain('class="vega-chart-view"');
    expect(html).toContain("<strong>Distribution of age</strong> — 150 rows");
  });

  it("draws model.evaluate's charts inside the metrics output, and skips entries that are no spec", () => {
    const html = render({
      metrics: { accuracy: 0.9, charts: [spec, { title: "not a chart" }, "junk"] },
    });
    expect(html).toContain('data-testid="metrics-charts"');
    expect(html.match(/data-testid="vega-chart"/g)).toHaveLength(1);
    expect(html).not.toContain("not a chart");
  });
});

describe("Responsible AI reports", () => {
  it("draws a fairness report's parity numbers with their intervals and its metrics by group", () => {
    const html = render({
      outputs: {
        report: {
          type: "report",
          kind: "fairness",
          demographic_parity_ratio: 0.71,
          ci: { demographic_parity_ratio: [0.66, 0.77] },
          by_group: {
            "0": { count: 1040, selection_rate: 0.53, ci: { selection_rate: [0.5, 0.56] } },
            "1": { count: 460, selection_rate: 0.37 },
          },
          warnings: ["group '2' of 'group' has 12 row(s), fewer than 100: its rates are uncertain"],
        },
      },
    });
    expect(html).toContain('data-testid="rai-fairness"');
    expect(html).toContain("demographic parity ratio");
    expect(html).toContain("0.660 – 0.770");
    expect(html).toContain('data-testid="rai-by-group"');
    expect(html).toContain('title="0.500 – 0.560"');
    expect(html).toContain("fewer than 100");
  });

  it("says how to read a multiclass fairness report's parity numbers", () => {
    const note =
      "3 classes, each judged against the rest; the parity numbers are the worst over the classes " +
      "(largest differences, smallest ratio): demographic parity difference from class 'low'.";
    const html = render({
      outputs: {
        report: {
          type: "report",
          kind: "fairness",
          demographic_parity_difference: 0.19,
          note,
          by_group: { "0": { count: 526, accuracy: 0.72 }, "1": { count: 374, accuracy: 0.76 } },
        },
      },
    });
    expect(html).toContain('data-testid="rai-note"');
    expect(html).toContain("the worst over the classes");
    expect(html).toContain("demographic parity difference");
  });

  it("draws an explanation's importances, largest first as stored", () => {
    const html = render({
      outputs: {
        report: {
          type: "report",
          kind: "explanation",
          importances: [
            { feature: "credit_score", importance: 0.25, std: 0.01 },
            { feature: "zip_score", importance: 0.02, std: 0.005 },
          ],
        },
      },
    });
    expect(html).toContain('data-testid="rai-importances"');
    expect(html.indexOf("credit_score")).toBeLessThan(html.indexOf("zip_score"));
  });
});
