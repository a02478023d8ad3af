// Which kind of output a step produced, as the server declared it when it stored the
// summary (pipelines/execution/summaries.py). The renderers map is keyed by it.
import type { JsonValue } from "../../types";

/** The kind each port type implies, for summaries stored before kinds were declared. */
export const KIND_OF_PORT_TYPE: Record<string, string> = {
  table: "table",
  estimator: "object",
  model: "object",
  metrics: "metrics",
  report: "report",
  chart: "chart",
};
export const FALLBACK_KIND = "json";

export type OutputValues = Record<string, unknown>;

/** One output of a step: port, kind, port type and its summary values (without "type"/"kind"). */
export interface StepOutput {
  port: string;
  kind: string;
  type: string;
  values: OutputValues;
}

interface Summary {
  metrics?: unknown;
  outputs?: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The declared kind of a stored output; old entries without one: the kind of their port type. */
export function outputKind(entry: Record<string, unknown>): string {
  if (typeof entry.kind === "string" && entry.kind) return entry.kind;
  return KIND_OF_PORT_TYPE[String(entry.type ?? "")] ?? FALLBACK_KIND;
}

/**
 * A step's outputs in port order, each with its kind (the mirror of summaries.step_outputs):
 * metrics come from `summary.metrics`, and a summary that has metrics but no outputs entry
 * for them still shows them.
 */
export function stepOutputs(summary: Summary | null | undefined): StepOutput[] {
  if (!isRecord(summary)) return [];
  let metrics = isRecord(summary.metrics) ? summary.metrics : null;
  const outputs = isRecord(summary.outputs) ? summary.outputs : {};
  const shown: StepOutput[] = [];
  for (const [port, entry] of Object.entries(outputs)) {
    if (!isRecord(entry)) continue;
    const kind = outputKind(entry);
    let values: OutputValues = Object.fromEntries(Object.entries(entry).filter(([k]) => k !== "type" && k !== "kind"));
    if (kind === "metrics" && metrics) {
      values = metrics;
      metrics = null;
    }
    shown.push({ port, kind, type: String(entry.type ?? ""), values });
  }
  if (metrics) shown.unshift({ port: "metrics", kind: "metrics", type: "metrics", values: metrics });
  return shown;
}

/** A cell of a table preview. */
export function cell(v: JsonValue | unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
