import { formatMetric } from "../format";
import { useEditor } from "../store";
import { FINAL_RUN_STATUSES } from "../types";
import { Icon } from "./Icon";

/** The current (or last) run: status, overall progress, headline, link to its page. */
export function RunBar() {
  const run = useEditor((s) => s.run);
  if (!run) return null;
  const live = !FINAL_RUN_STATUSES.includes(run.status);
  const total = run.steps_total || run.steps?.length || 0;
  const done = run.steps_done ?? 0;
  const pct = total ? Math.round((100 * done) / total) : live ? 0 : 100;
  const cached = (run.steps ?? []).filter((st) => st.cache_hit).length;
  const failed = (run.steps ?? []).find((st) => st.status === "failed");
  return (
    <div className={`ed-runbar ed-runbar--${run.status}`} data-testid="run-bar" data-status={run.status}>
      <span className={`ed-badge ed-badge--${run.status}`}>
        <span className="ed-badge-dot" />
        {run.status}
      </span>
      <span className="ed-runbar-label">
        {live ? "Run" : "Last run"} <b>#{run.id}</b>
      </span>
      <div
        className="ed-progress"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={done}
        aria-label="Run progress"
      >
        <span style={{ width: `${pct}%` }} />
      </div>
      <span className="ed-runbar-count" data-testid="run-progress">
        {done}/{total} steps{cached ? ` · ${cached} cached` : ""}
      </span>
      {run.headline && (
        <span className="ed-runbar-headline" data-testid="run-headline">
          {run.headline.name} <b>{formatMetric(run.headline.value)}</b>
        </span>
      )}
      {run.status === "failed" && (
        <span className="ed-runbar-error" title={run.error}>
          {failed ? `failed at ${failed.node_id}` : run.error}
        </span>
      )}
      <a className="ed-runbar-link" href={`/runs/${run.id}/`} target="_blank" rel="noopener noreferrer" title="Opens the run page in a new tab">
        Run details <Icon name="external" size={13} />
      </a>
    </div>
  );
}
