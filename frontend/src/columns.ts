// Which columns a table output will have, as far as the editor can know:
// from a run's step summary, from an uploaded dataset's stored columns, or
// passed through a block that keeps the columns (train/test split).
import type { Catalogue } from "./catalogue";
import { resolveDataset } from "./datasets";
import type { BlockNode, PortEdge } from "./graph";
import { estimatorConsumer, upstreamTable } from "./graph";
import type { ColumnInfo, Dataset } from "./types";

const PASS_THROUGH = new Set(["data.split"]);

export function outputColumns(
  nodeId: string,
  port: string,
  ctx: {
    nodes: BlockNode[];
    edges: PortEdge[];
    catalogue: Catalogue | null;
    columns: Record<string, ColumnInfo[]>;
    datasets: Dataset[] | null;
  },
  depth = 0,
): ColumnInfo[] | null {
  const seen = ctx.columns[`${nodeId}:${port}`];
  if (seen) return seen;
  const node = ctx.nodes.find((n) => n.id === nodeId);
  if (!node || depth > 20) return null;
  if (node.data.block === "dataset.upload") {
    const ds = ctx.datasets ? resolveDataset(ctx.datasets, node.data.params.dataset, node.data.params.version) : null;
    return ds?.columns?.length ? ds.columns : null;
  }
  if (PASS_THROUGH.has(node.data.block)) {
    const up = upstreamTable(nodeId, ctx.nodes, ctx.edges, ctx.catalogue);
    return up ? outputColumns(up.node, up.port, ctx, depth + 1) : null;
  }
  return null;
}

/**
 * Columns of the table flowing into ``nodeId``, or null if unknown. For an
 * estimator step (e.g. prep.columns), which takes no table: the columns of the
 * table that the model.train its chain ends in trains on.
 */
export function inputColumns(nodeId: string, ctx: Parameters<typeof outputColumns>[2]): ColumnInfo[] | null {
  let up = upstreamTable(nodeId, ctx.nodes, ctx.edges, ctx.catalogue);
  if (!up) {
    const consumer = estimatorConsumer(nodeId, ctx.nodes, ctx.edges, ctx.catalogue);
    up = consumer ? upstreamTable(consumer, ctx.nodes, ctx.edges, ctx.catalogue) : null;
  }
  return up ? outputColumns(up.node, up.port, ctx) : null;
}
