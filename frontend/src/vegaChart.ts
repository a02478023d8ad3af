// Draws a Vega-Lite spec with vega-embed. vega, vega-lite and vega-embed are large, so they are
// imported here on first use only: pages and editor sessions without a chart never load them.

/** What drawChart leaves behind: call `finalize` when the element goes away. */
export interface DrawnChart {
  finalize(): void;
}

/** Vega-Lite spec as the server built it (pipelines/blocks/charts.py). */
export type ChartSpec = Record<string, unknown>;

/** Draw `spec` into `element` as SVG, with tooltips and without the export/editor menu. */
export async function drawChart(element: HTMLElement, spec: ChartSpec): Promise<DrawnChart> {
  const { default: embed } = await import("vega-embed");
  // The server puts the description in words next to the chart; Vega would also use it as
  // the SVG's aria label, which is what it is for.
  const result = await embed(element, spec as never, { actions: false, renderer: "svg", tooltip: true });
  return { finalize: () => result.finalize() };
}

/** The title of a spec (a string or `{text}`), for headings and fallbacks. */
export function chartTitle(spec: ChartSpec): string {
  const title = spec.title as string | { text?: string } | undefined;
  return typeof title === "string" ? title : (title?.text ?? "");
}

/** Whether `value` looks like a drawable Vega-Lite spec (a view, a layer or a concat). */
export function isChartSpec(value: unknown): value is ChartSpec {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const spec = value as ChartSpec;
  return Boolean(spec.mark || spec.layer || spec.concat || spec.hconcat || spec.vconcat || spec.facet);
}

/**
 * `spec` sized to the width of the element it is drawn into (the editor's narrow Outputs panel);
 * concatenated panels (a profile) keep their own sizes and scroll instead.
 */
export function fitToWidth(spec: ChartSpec): ChartSpec {
  if (spec.concat || spec.hconcat || spec.vconcat || spec.facet) return spec;
  return { ...spec, width: "container", autosize: { type: "fit-x", contains: "padding" } };
}
