// Talking to the server: load, save (optimistic concurrency), validate, run, poll.
// Each function reads and updates the one store; components just call them.
import { api, ApiError } from "./api";
import { buildCatalogue } from "./catalogue";
import { formatMetric } from "./format";
import { graphKey } from "./graph";
import { selectCurrentGraph, selectDirty, useEditor } from "./store";
import type {
  BlocksResponse,
  Connection,
  Dataset,
  Graph,
  Paginated,
  Pipeline,
  PipelineVersion,
  Run,
  ValidationResponse,
} from "./types";
import { FINAL_RUN_STATUSES } from "./types";

const POLL_MS = 700;
let pollToken = 0;

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function init(pipelineId: number, readOnly: boolean): Promise<void> {
  const store = useEditor.getState();
  store.setReadOnly(readOnly);
  try {
    const [blocks, pipeline] = await Promise.all([
      api<BlocksResponse>("/api/blocks/"),
      api<Pipeline>(`/api/pipelines/${pipelineId}/`),
    ]);
    useEditor.getState().setCatalogue(buildCatalogue(blocks));
    useEditor.getState().loadPipeline(pipeline);
  } catch (e) {
    useEditor.getState().setLoadError(message(e));
    return;
  }
  void loadLatestRun(pipelineId);
}

async function loadLatestRun(pipelineId: number): Promise<void> {
  try {
    const page = await api<Paginated<Run>>(`/api/pipelines/${pipelineId}/runs/?limit=5`);
    const runs = page.results ?? [];
    if (!runs.length) return;
    const latest = await api<Run>(`/api/runs/${runs[0].id}/`);
    if (useEditor.getState().run) return; // a run started meanwhile wins
    useEditor.getState().setRun(latest);
    if (!FINAL_RUN_STATUSES.includes(latest.status)) pollRun(latest.id);
    // Older runs may know columns the latest one did not reach (e.g. it failed early).
    for (const r of runs.slice(1, 3)) {
      if (r.status === "succeeded") {
        const detail = await api<Run>(`/api/runs/${r.id}/`);
        useEditor.getState().rememberColumns(detail);
        break;
      }
    }
  } catch {
    // The editor works without run history; the badges just stay empty.
  }
}

export async function loadDatasets(): Promise<void> {
  try {
    const ws = useEditor.getState().pipeline?.workspace;
    const page = await api<Paginated<Dataset>>(`/api/datasets/?limit=200${ws ? `&workspace=${ws}` : ""}`);
    useEditor.getState().setDatasets(page.results ?? []);
  } catch {
    useEditor.getState().setDatasets([]);
  }
}

export async function loadConnections(): Promise<void> {
  try {
    const ws = useEditor.getState().pipeline?.workspace;
    const page = await api<Paginated<Connection>>(`/api/connections/?limit=200${ws ? `&workspace=${ws}` : ""}`);
    useEditor.getState().setConnections(page.results ?? []);
  } catch {
    useEditor.getState().setConnections([]);
  }
}

/** Rename the pipeline (its version moves on; unsaved graph edits stay unsaved). Null, or the server's refusal. */
export async function renamePipeline(name: string): Promise<string | null> {
  const s = useEditor.getState();
  if (!s.pipeline || s.readOnly) return "read-only";
  const version = s.pipeline.version;
  try {
    const p = await api<Pipeline>(`/api/pipelines/${s.pipeline.id}/`, { method: "PATCH", body: { version, name } });
    useEditor.getState().setPipelineMeta(p.version, p.name);
    document.title = `${p.name} · MLOps Studio`;
    return null;
  } catch (e) {
    // A taken name is a 409 naming the field; a stale version is the 409 that names current_version.
    if (e instanceof ApiError && e.body.field !== "name" && handleConflict(e, version))
      return "Someone else saved this pipeline meanwhile; reload it first.";
    return message(e);
  }
}

/** Save pending edits, then copy the saved draft into a new pipeline and open it. Null, or the refusal. */
export async function duplicatePipeline(name: string): Promise<string | null> {
  const s = useEditor.getState();
  if (!s.pipeline || s.readOnly) return "read-only";
  if (selectDirty(s) && !(await save())) return "Save your changes first: the copy is made from the saved draft.";
  try {
    const copy = await api<Pipeline>(`/api/pipelines/${s.pipeline.id}/duplicate/`, {
      method: "POST",
      body: name ? { name } : {},
    });
    window.location.assign(`/pipelines/${copy.id}/edit/`);
    return null;
  } catch (e) {
    return message(e);
  }
}

/** Delete the pipeline with its runs and go back to the list. Null, or the server's refusal. */
export async function deletePipeline(): Promise<string | null> {
  const s = useEditor.getState();
  if (!s.pipeline || s.readOnly) return "read-only";
  try {
    await api(`/api/pipelines/${s.pipeline.id}/`, { method: "DELETE" });
    useEditor.getState().markSaved(s.pipeline.version, graphKey(selectCurrentGraph(useEditor.getState())));
    window.location.assign("/pipelines/");
    return null;
  } catch (e) {
    return message(e);
  }
}

function handleConflict(e: ApiError, yours: number): boolean {
  if (e.status !== 409 && e.status !== 412) return false;
  const current = typeof e.body.current_version === "number" ? e.body.current_version : null;
  useEditor.getState().setConflict({ current, yours });
  return true;
}

/** PATCH the graph with the version we edited. False if it did not save. */
export async function save(): Promise<boolean> {
  const s = useEditor.getState();
  if (!s.pipeline || s.readOnly) return false;
  if (s.saving) return false;
  if (s.conflict) {
    s.showToast("Reload the pipeline first: someone else saved a newer version.");
    return false;
  }
  if (!selectDirty(s)) return true;
  const graph = selectCurrentGraph(s);
  const key = graphKey(graph);
  const version = s.pipeline.version;
  s.setSaving(true);
  try {
    const p = await api<Pipeline>(`/api/pipelines/${s.pipeline.id}/`, {
      method: "PATCH",
      body: { version, graph },
    });
    useEditor.getState().markSaved(p.version, key, p.name);
    return true;
  } catch (e) {
    if (e instanceof ApiError && handleConflict(e, version)) return false;
    useEditor.getState().showToast(`Could not save: ${message(e)}`);
    return false;
  } finally {
    useEditor.getState().setSaving(false);
  }
}

/** Throw away local changes and load what the server has now. */
export async function reload(): Promise<void> {
  const s = useEditor.getState();
  if (!s.pipeline) return;
  try {
    const p = await api<Pipeline>(`/api/pipelines/${s.pipeline.id}/`);
    useEditor.getState().loadPipeline(p);
    useEditor.getState().showToast(`Loaded the saved draft (rev ${p.version})`, "info");
  } catch (e) {
    useEditor.getState().showToast(`Could not reload: ${message(e)}`);
  }
}

export async function validate(): Promise<ValidationResponse | null> {
  const s = useEditor.getState();
  if (!s.pipeline) return null;
  try {
    const res = await api<ValidationResponse>(`/api/pipelines/${s.pipeline.id}/validate/`, {
      method: "POST",
      body: { graph: selectCurrentGraph(s) },
    });
    useEditor.getState().setValidation(res.errors ?? {}, res.graph_errors ?? []);
    return res;
  } catch (e) {
    useEditor.getState().showToast(`Could not validate: ${message(e)}`);
    return null;
  }
}

function problemCount(errors: Record<string, string[]>, graphErrors: string[]): number {
  return Object.values(errors).reduce((k, list) => k + list.length, 0) + graphErrors.length;
}

function reportInvalid(errors: Record<string, string[]>, graphErrors: string[]): void {
  const n = problemCount(errors, graphErrors);
  const first = graphErrors[0] ?? Object.entries(errors).find(([, l]) => l.length)?.[1][0];
  useEditor
    .getState()
    .showToast(`Fix ${n} problem${n === 1 ? "" : "s"} before running${first ? `: ${first}` : ""}`);
}

/** Save if needed, validate, start a run and follow it. ``useCache: false`` re-runs every step. */
export async function startRun(useCache = true): Promise<void> {
  const s = useEditor.getState();
  if (!s.pipeline || s.readOnly || s.starting) return;
  if (!s.nodes.length) {
    s.showToast("Add some blocks first: drag a dataset from the left.", "info");
    return;
  }
  s.setStarting(true);
  try {
    if (selectDirty(useEditor.getState()) && !(await save())) return;
    const res = await validate();
    if (!res) return;
    if (!res.valid) {
      reportInvalid(res.errors ?? {}, res.graph_errors ?? []);
      return;
    }
    const run = await api<Run>(`/api/pipelines/${s.pipeline.id}/runs/`, {
      method: "POST",
      body: { use_cache: useCache },
    });
    useEditor.getState().setRun({ ...run, steps: run.steps ?? [] });
    pollRun(run.id);
  } catch (e) {
    if (e instanceof ApiError && e.body.valid === false) {
      const errors = (e.body.errors ?? {}) as Record<string, string[]>;
      const graphErrors = (e.body.graph_errors ?? []) as string[];
      useEditor.getState().setValidation(errors, graphErrors);
      reportInvalid(errors, graphErrors);
    } else {
      useEditor.getState().showToast(`Could not start the run: ${message(e)}`);
    }
  } finally {
    useEditor.getState().setStarting(false);
  }
}

export function pollRun(runId: number): void {
  const token = ++pollToken;
  let failures = 0;
  const tick = async () => {
    if (token !== pollToken) return;
    try {
      const run = await api<Run>(`/api/runs/${runId}/`);
      if (token !== pollToken) return;
      failures = 0;
      useEditor.getState().setRun(run);
      if (FINAL_RUN_STATUSES.includes(run.status)) {
        const s = useEditor.getState();
        if (run.status === "succeeded") {
          const h = run.headline;
          s.showToast(`Run #${run.id} succeeded${h ? ` · ${h.name} ${formatMetric(h.value)}` : ""}`, "success");
        } else if (run.status === "failed") {
          s.showToast(`Run #${run.id} failed${run.error ? `: ${run.error}` : ""}`);
        }
        return;
      }
    } catch {
      if (++failures > 20) {
        useEditor.getState().showToast("Lost track of the run; reload the page to see its state.");
        return;
      }
    }
    setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS);
}

export async function cancelRun(): Promise<void> {
  const run = useEditor.getState().run;
  if (!run) return;
  try {
    await api(`/api/runs/${run.id}/cancel/`, { method: "POST", body: {} });
  } catch (e) {
    useEditor.getState().showToast(`Could not cancel: ${message(e)}`);
  }
}

export async function loadVersions(): Promise<PipelineVersion[]> {
  const s = useEditor.getState();
  if (!s.pipeline) return [];
  const page = await api<Paginated<PipelineVersion>>(`/api/pipelines/${s.pipeline.id}/versions/?limit=100`);
  return page.results ?? [];
}

/** Make ``graph`` the pipeline's draft on the server (a new version), then show it. */
export async function restoreGraph(graph: Graph, label: string): Promise<boolean> {
  const s = useEditor.getState();
  if (!s.pipeline || s.readOnly) return false;
  const version = s.pipeline.version;
  try {
    const p = await api<Pipeline>(`/api/pipelines/${s.pipeline.id}/`, {
      method: "PATCH",
      body: { version, graph },
    });
    const store = useEditor.getState();
    store.replaceGraph(p.graph);
    store.markSaved(p.version, graphKey(selectCurrentGraph(useEditor.getState())), p.name);
    store.showToast(`Restored ${label}`, "success");
    return true;
  } catch (e) {
    if (e instanceof ApiError && handleConflict(e, version)) return false;
    useEditor.getState().showToast(`Could not restore: ${message(e)}`);
    return false;
  }
}
