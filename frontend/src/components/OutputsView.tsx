import { useEditor } from "../store";
import type { StepRun } from "../types";
import { stepBadge } from "./BlockNode";
import { stepOutputs } from "./outputs/kinds";
import { rendererFor } from "./outputs/registry";

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
      <StepOutputs summary={step.summary} />
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

/** Every output of a step, each drawn by the renderer of the kind the server declared for it. */
export function StepOutputs({ summary }: { summary: StepRun["summary"] }) {
  return (
    <>
      {stepOutputs(summary).map((o) => {
        const Renderer = rendererFor(o.kind);
        return <Renderer key={o.port} port={o.port} type={o.type} values={o.values} />;
      })}
    </>
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
