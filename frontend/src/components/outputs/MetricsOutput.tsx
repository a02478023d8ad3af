import { formatMetric } from "../../format";
import { isChartSpec } from "../../vegaChart";
import type { OutputProps } from "./common";
import { VegaChart } from "./VegaChart";

interface Confusion {
  labels: unknown[];
  matrix: number[][];
}

function confusion(v: unknown): Confusion | null {
  const cm = v as Partial<Confusion> | null;
  return cm && Array.isArray(cm.labels) && Array.isArray(cm.matrix) && cm.matrix.length > 0 ? (cm as Confusion) : null;
}

/** kind "metrics": the headline, scalar metrics and the confusion matrix. */
export function MetricsOutput({ values }: OutputProps) {
  const scalars = Object.entries(values).filter(
    ([k, v]) => k !== "headline" && (typeof v === "number" || typeof v === "string"),
  );
  const cm = confusion(values.confusion_matrix);
  const headline = values.headline as { name: string; value: number } | undefined;
  // model.evaluate's charts (ROC, precision-recall, calibration, residuals, importances).
  const charts = Array.isArray(values.charts) ? values.charts.filter(isChartSpec) : [];
  return (
    <section className="ed-out-section" data-testid="metrics">
      <h3>Metrics</h3>
      {headline && (
        <div className="ed-headline">
          <span className="ed-headline-value">{formatMetric(headline.value)}</span>
          <span className="ed-headline-name">{headline.name}</span>
        </div>
      )}
      <table className="ed-kv">
        <tbody>
          {scalars.map(([k, v]) => (
            <tr key={k}>
              <th>{k.replace(/_/g, " ")}</th>
              <td>{typeof v === "number" ? formatMetric(v) : String(v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {cm && (
        <>
          <h4>Confusion matrix</h4>
          <div className="ed-scroll">
            <table className="ed-cm" data-testid="confusion-matrix">
              <thead>
                <tr>
                  <th className="ed-cm-corner">true ↓ / predicted →</th>
                  {cm.labels.map((l, i) => (
                    <th key={i}>{String(l)}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {cm.matrix.map((row, i) => {
                  const total = row.reduce((a, b) => a + b, 0) || 1;
                  return (
                    <tr key={i}>
                      <th>{String(cm.labels[i])}</th>
                      {row.map((v, j) => (
                        <td
                          key={j}
                          className={i === j ? "is-diag" : v ? "is-off" : ""}
                          style={{ ["--share" as string]: String(v / total) }}
                        >
                          {v}
                        </td>
                      ))}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
      {charts.length > 0 && (
        <div className="charts-row" data-testid="metrics-charts">
          {charts.map((spec, i) => (
            <VegaChart key={i} spec={spec} />
          ))}
        </div>
      )}
    </section>
  );
}
