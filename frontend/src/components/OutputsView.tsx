import { formatMetric } from "../format";
import { useEditor } from "../store";
import type { JsonValue, Metrics, OutputSummary, StepRun } from "../types";
import { stepBadge } from "./BlockNode";

export function OutputsView({ id }: { id: string }) {
  const step = useEditor((s) => s.steps[id]);
  const runId = useEditor((s) => s.run?.id);
  if (!step) {
    return (
      <div className="ed-insp-pad ed-outputs-empty" data-testid="outputs">
        <p>No results for this block yet.</p>
        <p className="ed-muted">Press Run: each block's metrics, table preview and logs show up here.</p>
      </div>
    );
  }
  return (
    <div className="ed-outputs" data-testid="outputs">
      <StepHeader step={step} runId={runId} />
      {step.error && <StepError step={step} />}
      {step.summary?.metrics && <MetricsView metrics={step.summary.metrics} />}
      {Object.entries(step.summary?.outputs ?? {}).map(([port, out]) =>
        out.type === "metrics" && step.summary?.metrics ? null : <OutputView key={port} port={port} out={out} />,
      )}
      {step.warnings?.length > 0 && (
        <section className="ed-out-section">
          <h3>Warnings</h3>
          <ul className="ed-warnings">
            {step.warnings.map((w, i) => (
              <li key={i}>{w}</li>
            ))}
          </ul>
        </section>
      )}
      <section className="ed-out-section">
        <h3>Logs</h3>
        {step.logs ? <pre className="ed-logs">{step.logs}</pre> : <p className="ed-muted ed-small">No log output.</p>}
      </section>
    </div>
  );
}

function StepHeader({ step, runId }: { step: StepRun; runId?: number }) {
  const badge = stepBadge(step)!;
  return (
    <div className="ed-out-head">
      <span className={`ed-badge ed-badge--${badge.cls}`}>
        <span className="ed-badge-dot" />
        {badge.label}
      </span>
      {step.duration_seconds != null && <span className="ed-muted ed-small">{step.duration_seconds.toFixed(2)} s</span>}
      {step.cache_hit && step.cached_from_run != null && (
        <a className="ed-small" href={`/runs/${step.cached_from_run}/`} data-testid="cached-from">
          cached — from run {step.cached_from_run}
        </a>
      )}
      {runId != null && (
        <a className="ed-small ed-out-runlink" href={`/runs/${runId}/`}>
          run #{runId} →
        </a>
      )}
    </div>
  );
}

function StepError({ step }: { step: StepRun }) {
  return (
    <section className="ed-out-section">
      <div className="ed-step-error" role="alert">
        <div className="ed-step-error-msg">{step.error}</div>
        {step.error_detail && (
          <details>
            <summary>Details</summary>
            <pre>{step.error_detail}</pre>
          </details>
        )}
      </div>
    </section>
  );
}

function MetricsView({ metrics }: { metrics: Metrics }) {
  const scalars = Object.entries(metrics).filter(
    ([k, v]) => k !== "headline" && (typeof v === "number" || typeof v === "string"),
  );
  const cm = metrics.confusion_matrix;
  const headline = metrics.headline;
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
      {cm && cm.matrix?.length > 0 && (
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
    </section>
  );
}

function cell(v: JsonValue): string {
  if (v === null) return "—";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function OutputView({ port, out }: { port: string; out: OutputSummary }) {
  const cols = out.columns ?? [];
  return (
    <section className="ed-out-section" data-testid={`output-${port}`}>
      <h3>
        Output <code>{port}</code> <span className="ed-chip">{out.type}</span>
        {out.rows != null && (
          <span className="ed-muted ed-small">
            {" "}
            {out.rows.toLocaleString()} rows × {cols.length} columns
          </span>
        )}
      </h3>
      {out.steps && (
        <ol className="ed-steps">
          {out.steps.map((st, i) => (
            <li key={i}>
              <code>{st.class}</code>
            </li>
          ))}
        </ol>
      )}
      {out.preview && cols.length > 0 && (
        <div className="ed-scroll ed-preview">
          <table className="ed-table" data-testid="table-preview">
            <thead>
              <tr>
                {cols.map((c) => (
                  <th key={c.name} title={`${c.name} (${c.dtype})`}>
                    <div className="ed-col-name">{c.name}</div>
                    <div className="ed-col-type">{c.dtype}</div>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {out.preview.slice(0, 20).map((row, i) => (
                <tr key={i}>
                  {row.map((v, j) => (
                    <td key={j}>{cell(v)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {!out.preview && cols.length > 0 && (
        <div className="ed-col-list">
          {cols.map((c) => (
            <span key={c.name} className="ed-chip">
              {c.name} <span className="ed-muted">{c.dtype}</span>
            </span>
          ))}
        </div>
      )}
    </section>
  );
}
