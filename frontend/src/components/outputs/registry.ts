// One renderer per output kind. A new kind of output (drift, fairness, explanations …)
// is one component and one line here; the Outputs tab needs no other change.
import type { ComponentType } from "react";
import { ChartOutput } from "./ChartOutput";
import type { OutputProps } from "./common";
import { JsonOutput } from "./JsonOutput";
import { FALLBACK_KIND } from "./kinds";
import { MetricsOutput } from "./MetricsOutput";
import { ObjectOutput } from "./ObjectOutput";
import { BiasOutput, ExplanationOutput, FairnessOutput } from "./RaiReportOutput";
import { TableOutput } from "./TableOutput";
import { TuningOutput } from "./TuningOutput";

export type OutputRenderer = ComponentType<OutputProps>;

export const renderers: Record<string, OutputRenderer> = {
  metrics: MetricsOutput,
  table: TableOutput,
  object: ObjectOutput,
  tuning: TuningOutput,
  chart: ChartOutput,
  report: JsonOutput,
  bias: BiasOutput,
  fairness: FairnessOutput,
  explanation: ExplanationOutput,
  [FALLBACK_KIND]: JsonOutput,
};

/** The renderer of `kind`; kinds nobody registered yet are shown as JSON. */
export function rendererFor(kind: string): OutputRenderer {
  return renderers[kind] ?? renderers[FALLBACK_KIND];
}
