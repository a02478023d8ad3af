/**
 * The editor's save indicator, in the numbers people see elsewhere.
 *
 * Two counters exist and must not be confused: the draft's revision (the
 * pipeline's `version`, bumped on every save, used only to refuse a stale write)
 * and the snapshot number `vN` (a PipelineVersion, frozen when a run starts; what
 * History, run pages and lineage call "Version N"). So the indicator says
 * "draft rev 7" for the first and "v2" only for a snapshot.
 */
export interface SaveStateInput {
  conflict: boolean;
  saving: boolean;
  dirty: boolean;
  readOnly: boolean;
  /** The draft's revision (optimistic-concurrency counter). */
  draftRev: number;
  /** The snapshot number of the latest run, if there is one. */
  lastRunVersion: number | null;
}

export interface SaveState {
  text: string;
  cls: "conflict" | "saving" | "dirty" | "saved" | "readonly";
  title: string;
}

export function saveState(s: SaveStateInput): SaveState {
  const run = s.lastRunVersion != null ? ` · last run on v${s.lastRunVersion}` : "";
  const title =
    `Draft revision ${s.draftRev} (each save makes a new one). ` +
    (s.lastRunVersion != null
      ? `Version ${s.lastRunVersion} is the snapshot the last run used; History lists every snapshot.`
      : "A version (v1, v2 …) is frozen each time the pipeline runs.");
  if (s.readOnly) return { text: `Read-only · draft rev ${s.draftRev}${run}`, cls: "readonly", title };
  if (s.conflict) return { text: "Not saved — conflict", cls: "conflict", title };
  if (s.saving) return { text: "Saving…", cls: "saving", title };
  if (s.dirty) return { text: `Unsaved changes${run}`, cls: "dirty", title };
  return { text: `Saved · draft rev ${s.draftRev}${run}`, cls: "saved", title };
}
