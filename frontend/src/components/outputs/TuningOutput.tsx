import { formatMetric } from "../../format";
import { OutputTitle, type OutputProps } from "./common";

interface Candidate {
  rank: number | null;
  params: Record<string, unknown>;
  mean_score: number | null;
  std_score: number | null;
  error?: string | null;
}

function params(p: Record<string, unknown>): string {
  return Object.entries(p ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(", ");
}

/** kind "tuning": the search's candidates, best first, with mean ± std of the CV score. */
export function TuningOutput({ port, type, values }: OutputProps) {
  const rows = (values.results as Candidate[] | undefined) ?? [];
  const scoring = String(values.scoring ?? "score");
  return (
    <section className="ed-out-section" data-testid={`output-${port}`}>
      <OutputTitle port={port} type={type}>
        <span className="ed-muted ed-small">
          {" "}
          {String(values.candidates ?? rows.length)} candidates × {String(values.folds ?? "?")} folds
        </span>
      </OutputTitle>
      <div className="ed-scroll ed-preview">
        <table className="ed-table" data-testid="tuning-results">
          <thead>
            <tr>
              <th>#</th>
              <th>Parameters</th>
              <th>Mean {scoring} ± std</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                <td>{r.rank ?? "—"}</td>
                <td>
                  <code>{params(r.params)}</code>
                </td>
                <td>
                  {r.mean_score != null ? (
                    `${formatMetric(r.mean_score)} ± ${r.std_score != null ? formatMetric(r.std_score) : "—"}`
                  ) : (
                    <span title={r.error ?? ""}>failed</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
