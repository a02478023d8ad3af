import { memo, useEffect, useMemo, useRef, useState } from "react";
import "../../charts.css";
import { chartTitle, drawChart, fitToWidth, type ChartSpec } from "../../vegaChart";

/**
 * One Vega-Lite chart drawn by vega-embed (loaded on first use). Until it is drawn, and on the
 * server render, it shows the chart's title and description in words.
 */
export const VegaChart = memo(function VegaChart({ spec }: { spec: ChartSpec }) {
  const view = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<"drawing" | "drawn" | "failed">("drawing");
  // Summaries are rebuilt on every poll: redraw only when the spec itself changed.
  const text = useMemo(() => JSON.stringify(spec), [spec]);
  useEffect(() => {
    const parsed = fitToWidth(JSON.parse(text) as ChartSpec);
    const element = view.current;
    if (!element) return;
    let cancelled = false;
    let drawn: { finalize(): void } | null = null;
    setState("drawing");
    drawChart(element, parsed).then(
      (chart) => {
        if (cancelled) chart.finalize();
        else {
          drawn = chart;
          setState("drawn");
        }
      },
      () => !cancelled && setState("failed"),
    );
    return () => {
      cancelled = true;
      drawn?.finalize();
    };
  }, [text]);
  const description = typeof spec.description === "string" ? spec.description : "";
  return (
    <figure className={`vega-chart${state === "drawn" ? " is-drawn" : ""}`} data-testid="vega-chart" data-state={state}>
      <p className="ed-muted ed-small vega-chart-fallback">
        <strong>{chartTitle(spec)}</strong>
        {description && ` — ${description}`}
        {state === "failed" && " (the chart could not be drawn)"}
      </p>
      <div ref={view} className="vega-chart-view" />
    </figure>
  );
});
