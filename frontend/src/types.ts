// Shapes of the JSON the API speaks (see DESIGN.md, "HTTP contracts").

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

export interface PortSpec {
  name: string;
  type: string;
  required: boolean;
  description?: string;
}

export interface BlockSpec {
  key: string;
  label: string;
  category: string;
  description: string;
  version: string;
  curated: boolean;
  tags: string[];
  inputs: PortSpec[];
  outputs: PortSpec[];
  params_schema: ParamsSchema;
  column_params: string[];
}

export interface BlocksResponse {
  port_types: string[];
  blocks: BlockSpec[];
}

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

export interface Pipeline {
  id: number;
  workspace: number;
  name: string;
  description: string;
  graph: Graph;
  version: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface PipelineVersion {
  number: number;
  graph: Graph;
  created_by: string | null;
  created_at: string;
  message: string;
}

export interface ValidationResponse {
  valid: boolean;
  errors: Record<string, string[]>;
  graph_errors: string[];
}

// --- Runs ----------------------------------------------------------------------

export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export type StepStatus = "pending" | "queued" | "running" | "succeeded" | "failed" | "skipped" | "cancelled";

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

export interface StepRun {
  node_id: string;
  block_key: string;
  status: StepStatus;
  cache_hit: boolean;
  cached_from_run: number | null;
  summary: { metrics?: Metrics; outputs?: Record<string, OutputSummary> } | null;
  logs: string;
  warnings: string[];
  error: string;
  error_detail: string;
  duration_seconds: number | null;
}

export interface Run {
  id: number;
  status: RunStatus;
  steps_total: number;
  steps_done: number;
  progress: number;
  headline: Headline | null;
  error: string;
  graph?: Graph;
  steps?: StepRun[];
  created_at?: string;
}

export interface Paginated<T> {
  count?: number;
  results: T[];
}

export interface Dataset {
  id: number;
  name: string;
  sha256: string;
  columns: ColumnInfo[];
}

export const FINAL_RUN_STATUSES: RunStatus[] = ["succeeded", "failed", "cancelled"];
