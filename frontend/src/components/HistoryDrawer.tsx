import { useEffect, useState } from "react";
import { loadVersions, restoreGraph } from "../remote";
import { selectDirty, useEditor } from "../store";
import type { PipelineVersion } from "../types";
import { Icon } from "./Icon";

function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function HistoryDrawer() {
  const open = useEditor((s) => s.historyOpen);
  const readOnly = useEditor((s) => s.readOnly);
  const [versions, setVersions] = useState<PipelineVersion[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<number | null>(null);

  useEffect(() => {
    if (!open) return;
    setVersions(null);
    setError(null);
    loadVersions()
      .then(setVersions)
      .catch((e) => setError(e instanceof Error ? e.message : String(e)));
  }, [open]);

  if (!open) return null;
  const close = () => useEditor.getState().setHistoryOpen(false);

  const restore = async (v: PipelineVersion) => {
    if (selectDirty(useEditor.getState()) && !window.confirm("Restoring replaces your unsaved changes. Continue?")) return;
    setBusy(v.number);
    const ok = await restoreGraph(v.graph, `version ${v.number}`);
    setBusy(null);
    if (ok) close();
  };

  return (
    <div className="ed-overlay" onMouseDown={(e) => e.target === e.currentTarget && close()}>
      <aside className="ed-drawer" role="dialog" aria-label="Version history" data-testid="history-drawer">
        <div className="ed-drawer-head">
          <h2>Version history</h2>
          <button className="ed-icon-btn" onClick={close} aria-label="Close">
            <Icon name="close" />
          </button>
        </div>
        <p className="ed-muted ed-small ed-drawer-note">
          A version is frozen each time the pipeline runs. Restoring one makes it the current draft (saved as a new
          edit, nothing is lost).
        </p>
        <div className="ed-drawer-body">
          {error && <div className="ed-field-errors">{error}</div>}
          {!versions && !error && <div className="ed-spinner ed-spinner-sm" />}
          {versions && versions.length === 0 && (
            <p className="ed-muted">No versions yet. Run the pipeline to record one.</p>
          )}
          {versions?.map((v) => (
            <div className="ed-version" key={v.number} data-testid={`version-${v.number}`}>
              <div className="ed-version-main">
                <div className="ed-version-title">
                  Version {v.number}
                  <span className="ed-muted ed-small"> · {v.graph?.nodes?.length ?? 0} blocks</span>
                </div>
                <div className="ed-muted ed-small">
                  {when(v.created_at)}
                  {v.created_by ? ` · ${v.created_by}` : ""}
                </div>
                {v.message && <div className="ed-small">{v.message}</div>}
              </div>
              {!readOnly && (
                <button className="ed-btn ed-btn-sm" disabled={busy !== null} onClick={() => void restore(v)}>
                  {busy === v.number ? "Restoring…" : "Restore"}
                </button>
              )}
            </div>
          ))}
        </div>
      </aside>
    </div>
  );
}
