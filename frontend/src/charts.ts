// The run page's charts: every `[data-vega-chart]` figure carries its Vega-Lite spec in a JSON
// <script> (templates/pages/outputs/chart_figure.html); this draws each into its view element.
// vega-embed loads only if the page has a chart (drawChart imports it on first use).
import "./charts.css";
import { drawChart, isChartSpec } from "./vegaChart";

function drawAll(): void {
  document.querySelectorAll<HTMLElement>("[data-vega-chart]").forEach((figure) => {
    const source = figure.querySelector('script[type="application/json"]');
    const view = figure.querySelector<HTMLElement>(".vega-chart-view");
    if (!source || !view || figure.dataset.drawn) return;
    figure.dataset.drawn = "1";
    let spec: unknown;
    try {
      spec = JSON.parse(source.textContent ?? "");
    } catch {
      return; // the text fallback stays
    }
    if (!isChartSpec(spec)) return;
    drawChart(view, spec).then(
      () => figure.classList.add("is-drawn"),
      (error: unknown) => {
        figure.classList.add("is-failed");
        view.insertAdjacentText("beforeend", ` (the chart could not be drawn: ${String(error)})`);
      },
    );
  });
}

drawAll();
