import { formatMetric } from "../../format";
import { isChartSpec } from "../../vegaChart";
import { OutputTitle, type OutputProps } from "./common";
import { VegaChart } from "./VegaChart";

// The numbers people act on, first (pipelines/blocks/rai.py report fields).
const HEADLINES = [
  "label_rate_difference",
  "label_rate_ratio",
  "demographic_parity_difference",
  "demographic_parity_ratio",
  "equalized_odds_difference",
  "mae_difference",
  "mae_ratio",
  "expected_value",
];
const TITLES: Record<string, string> = { bias: "Dataset bias", fairness: "Fairness", explanation: "Explanation" };
const MAX_IMPORTANCES = 20;

type Interval = [number, number];
interface Importance {
  feature: string;
  importance: number;
  std: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function interval(v: unknown): string {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === "number")) return "";
  const [low, high] = v as Interval;
  return `${formatMetric(low)} – ${formatMetric(high)}`;
}

const label = (name: string) => name.replace(/_/g, " ");

/**
 * kinds "bias", "fairness", "explanation": a Responsible AI report — its parity numbers with
 * their bootstrap intervals, the metrics by group, warnings, importances and its charts.
 */
export function RaiReportOutput({ port, type, values, kind }: OutputProps & { kind: string }) {
  const ci = isRecord(values.ci) ? values.ci : {};
  const headlines = HEADLINES.filter((name) => typeof values[name] === "number");
  const groups = isRecord(values.by_group) ? Object.entries(values.by_group).filter(([, v]) => isRecord(v)) : [];
  const metrics: string[] = [];
  for (const [, v] of groups) {
    for (const [name, value] of Object.entries(v as Record<string, unknown>)) {
      if (typeof value === "number" && !metrics.includes(name)) metrics.push(name);
    }
  }
  const importances = Array.isArray(values.importances) ? (values.importances as Importance[]) : [];
  const warnings = Array.isArray(values.warnings) ? values.warnings.filter((w) => typeof w === "string") : [];
  const charts = Array.isArray(values.charts) ? values.charts.filter(isChartSpec) : [];
  // A multiclass fairness report says how to read its parity numbers (the worst over classes).
  const note = typeof values.note === "string" ? values.note : "";
  return (
    <section className="ed-out-section" data-testid={`rai-${kind}`}>
      <OutputTitle port={port} type={type}>
        <span className="ed-muted ed-small"> {TITLES[kind] ?? kind}</span>
      </OutputTitle>
      {note && (
        <p className="ed-small" data-testid="rai-note">
          {note}
        </p>
      )}
      {warnings.length > 0 && (
        <ul className="ed-warnings">
          {warnings.map((w, i) => (
            <li key={i}>{String(w)}</li>
          ))}
        </ul>
      )}
      {headlines.length > 0 && (
        <table className="ed-kv">
          <tbody>
            {headlines.map((name) => (
              <tr key={name}>
                <th>{label(name)}</th>
                <td>
                  {formatMetric(values[name])}
                  {interval(ci[name]) && <span className="ed-muted ed-small"> ({interval(ci[name])})</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {groups.length > 0 && (
        <div className="ed-scroll ed-preview">
          <table className="ed-table" data-testid="rai-by-group">
            <thead>
              <tr>
                <th>group</th>
                {metrics.map((m) => (
                  <th key={m}>{label(m)}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {groups.map(([group, v]) => {
                const row = v as Record<string, unknown>;
                const intervals = isRecord(row.ci) ? row.ci : {};
                return (
                  <tr key={group}>
                    <th>{group}</th>
                    {metrics.map((m) => (
                      <td key={m} title={interval(intervals[m] ?? row[`${m}_ci`])}>
                        {formatMetric(row[m])}
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {importances.length > 0 && (
        <div className="ed-scroll ed-preview">
          <table className="ed-table" data-testid="rai-importances">
            <thead>
              <tr>
                <th>feature</th>
                <th>importance</th>
                <th>std</th>
              </tr>
            </thead>
            <tbody>
              {importances.slice(0, MAX_IMPORTANCES).map((i) => (
                <tr key={i.feature}>
                  <td>{i.feature}</td>
                  <td>{formatMetric(i.importance)}</td>
                  <td>{formatMetric(i.std)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {charts.length > 0 && (
        <div className="charts-row" data-testid="rai-charts">
          {charts.map((spec, i) => (
            <VegaChart key={i} spec={spec} />
          ))}
        </div>
      )}
    </section>
  );
}

/** One renderer per kind; each knows its kind for the title. */
export const BiasOutput = (props: OutputProps) => <RaiReportOutput {...props} kind="bias" />;
export const FairnessOutput = (props: OutputProps) => <RaiReportOutput {...props} kind="fairness" />;
export const ExplanationOutput = (props: OutputProps) => <RaiReportOutput {...props} kind="explanation" />;
