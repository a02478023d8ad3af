// The run detail page's read-only graph: the JSON the page embeds
// (<script id="run-graph-data">) and how it fills the one editor store.
// No React and no network here, so it is easy to test.
import type { Catalogue } from "./catalogue";
import type { createEditorStore } from "./store";
import type { Graph, Headline, Run, RunStatus, StepRun, StepStatus } from "./types";

/** One step as the page embeds it: just what a node shows. */
export interface RunGraphStep {
  node_id: string;
  block_key: string;
  status: StepStatus;
  cache_hit: boolean;
  cached_from_run: number | null;
  headline: Headline | null;
  error: string;
}

export interface RunGraphData {
  run: { id: number; status: RunStatus; steps_total: number; steps_done: number; headline: Headline | null; error: string };
  pipeline: { id: number; name: string; workspace: number; version: number };
  graph: Graph;
  steps: RunGraphStep[];
}

type EditorStore = ReturnType<typeof createEditorStore>;

function toStepRun(step: RunGraphStep): StepRun {
  return {
    node_id: step.node_id,
    block_key: step.block_key,
    status: step.status,
    cache_hit: step.cache_hit,
    cached_from_run: step.cached_from_run,
    summary: step.headline ? { metrics: { headline: step.headline } } : null,
    logs: "",
    warnings: [],
    error: step.error,
    error_detail: "",
    duration_seconds: null,
  };
}

/** Put the run's pipeline version and step states into ``store``, read-only. */
export function showRunGraph(store: EditorStore, data: RunGraphData, catalogue: Catalogue): void {
  const s = store.getState();
  s.setReadOnly(true);
  s.setCatalogue(catalogue);
  s.loadPipeline({
    ...data.pipeline,
    description: "",
    graph: data.graph ?? { nodes: [], edges: [] },
    created_by: "",
    created_at: "",
    updated_at: "",
  });
  const run: Run = {
    ...data.run,
    progress: data.run.steps_total ? data.run.steps_done / data.run.steps_total : 0,
    steps: (data.steps ?? []).map(toStepRun),
  };
  s.setRun(run);
}
