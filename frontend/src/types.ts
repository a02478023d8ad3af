// Shapes of the JSON the API speaks (see DESIGN.md, "HTTP contracts").
//
// API payloads are aliases of the types generated from the OpenAPI schema
// (api-schema.d.ts, `make api-types`; a test fails when it is stale), so the
// editor and the API cannot drift apart. Only JSON-typed fields that the schema
// leaves open (graphs, parameter schemas, summaries) are narrowed here, and the
// shapes the editor builds itself (graph JSON, JSON Schema) stay hand-written.

import type { components } from "./api-schema";

type Schemas = components["schemas"];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface JsonSchema {
  type?: string | string[];
  enum?: JsonValue[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  pattern?: string;
  default?: JsonValue;
  title?: string;
  description?: string;
  items?: JsonSchema;
}

export interface ParamsSchema {
  type: "object";
  properties: Record<string, JsonSchema>;
  required?: string[];
}

export type PortSpec = Pick<Schemas["PortOut"], "name" | "type" | "required"> &
  Partial<Pick<Schemas["PortOut"], "description">>;

export type BlockSpec = Omit<Schemas["BlockOut"], "params_schema" | "inputs" | "outputs"> & {
  params_schema: ParamsSchema;
  inputs: PortSpec[];
  outputs: PortSpec[];
};

export type BlocksResponse = Omit<Schemas["BlockCatalogueOut"], "blocks"> & { blocks: BlockSpec[] };

// --- Graph JSON (stored, exchanged, exported) --------------------------------

export interface GraphNode {
  id: string;
  block: string;
  params: Record<string, JsonValue>;
  position: { x: number; y: number };
  label?: string;
  cache?: string;
  [extra: string]: unknown;
}

export interface GraphEdge {
  source: string;
  source_port: string;
  target: string;
  target_port: string;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export type Pipeline = Omit<Schemas["PipelineOut"], "graph"> & { graph: Graph };

export type PipelineVersion = Omit<Schemas["PipelineVersionOut"], "graph"> & { graph: Graph };

export type ValidationResponse = Schemas["ValidationOut"];

// --- Runs ----------------------------------------------------------------------

export type RunStatus = Schemas["RunStatusEnum"];
export type StepStatus = Schemas["StepStatusEnum"];

export interface Headline {
  name: string;
  value: number;
}

export interface ColumnInfo {
  name: string;
  dtype: string;
}

export interface OutputSummary {
  type: string;
  rows?: number;
  columns?: ColumnInfo[];
  preview?: JsonValue[][];
  steps?: { name: string; class: string }[];
  [extra: string]: unknown;
}

export interface Metrics {
  headline?: Headline;
  confusion_matrix?: { labels: JsonValue[]; matrix: number[][] };
  [name: string]: unknown;
}

// The editor keeps the part of a run and its steps that it shows (the run page
// hands it no more); picking the fields from the generated types keeps their
// names and types those of the API.
export type StepRun = Pick<
  Schemas["StepOut"],
  "node_id" | "block_key" | "status" | "cache_hit" | "cached_from_run" | "logs" | "error" | "error_detail" | "duration_seconds"
> & {
  summary: { metrics?: Metrics; outputs?: Record<string, OutputSummary> } | null;
  warnings: string[];
};

export type Run = Pick<Schemas["RunOut"], "id" | "status" | "steps_total" | "steps_done" | "progress" | "error"> &
  Partial<Pick<Schemas["RunOut"], "created_at" | "version">> & {
    headline: Headline | null;
    graph?: Graph;
    steps?: StepRun[];
  };

/** A page of a list endpoint (`?limit=&offset=`). */
export type Paginated<T> = Omit<Schemas["PaginatedRunListOutList"], "results"> & { results: T[] };

export type Dataset = Omit<Schemas["DatasetOut"], "columns" | "preview"> & {
  columns: ColumnInfo[];
  preview: JsonValue[][];
};

export type Connection = Schemas["ConnectionOut"];

export const FINAL_RUN_STATUSES: RunStatus[] = ["succeeded", "failed", "cancelled"];
