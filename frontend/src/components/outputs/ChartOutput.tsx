import { isChartSpec } from "../../vegaChart";
import { OutputTitle, type OutputProps } from "./common";
import { VegaChart } from "./VegaChart";

/** kind "chart": a Vega-Lite spec computed on the server, drawn with vega-embed. */
export function ChartOutput({ port, type, values }: OutputProps) {
  return (
    <section className="ed-out-section" data-testid={`output-${port}`}>
      <OutputTitle port={port} type={type} />
      {isChartSpec(values) ? <VegaChart spec={values} /> : <p className="ed-muted ed-small">No chart to draw.</p>}
    </section>
  );
}
