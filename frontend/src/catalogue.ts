// The block catalogue from GET /api/blocks/, indexed for the editor.
// Palette, port colours and parameter forms are all derived from it.
import type { BlockSpec, BlocksResponse } from "./types";

export interface Catalogue {
  blocks: BlockSpec[];
  byKey: Record<string, BlockSpec>;
  portTypes: string[];
  categories: string[];
  portColor: Record<string, string>;
  categoryColor: Record<string, string>;
}

// Colours are assigned in catalogue order, so a new port type or category gets
// the next colour without anyone editing a list here.
const PORT_PALETTE = ["#2f7de1", "#d9822b", "#8e5bd9", "#1f9d6b", "#c2417a", "#4b8f9e", "#9a7b27"];
const CATEGORY_PALETTE = [
  "#2f7de1", "#7a5af5", "#1f9d6b", "#d9822b", "#c2417a", "#0f8ea3", "#8a6d3b", "#5b6b7f", "#b3472d",
];

export function buildCatalogue(response: BlocksResponse): Catalogue {
  const byKey: Record<string, BlockSpec> = {};
  const categories: string[] = [];
  for (const block of response.blocks) {
    byKey[block.key] = block;
    if (!categories.includes(block.category)) categories.push(block.category);
  }
  const portTypes = [...response.port_types];
  for (const block of response.blocks) {
    for (const port of [...block.inputs, ...block.outputs]) {
      if (!portTypes.includes(port.type)) portTypes.push(port.type);
    }
  }
  const portColor: Record<string, string> = {};
  portTypes.forEach((t, i) => (portColor[t] = PORT_PALETTE[i % PORT_PALETTE.length]));
  const categoryColor: Record<string, string> = {};
  categories.forEach((c, i) => (categoryColor[c] = CATEGORY_PALETTE[i % CATEGORY_PALETTE.length]));
  return { blocks: response.blocks, byKey, portTypes, categories, portColor, categoryColor };
}

/** Blocks matching every word of ``query`` (label, key, description, tags), best first. */
export function searchBlocks(catalogue: Catalogue, query: string): BlockSpec[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return catalogue.blocks.filter((b) => b.curated);
  const scored: { block: BlockSpec; score: number }[] = [];
  for (const block of catalogue.blocks) {
    const label = block.label.toLowerCase();
    const key = block.key.toLowerCase();
    const haystack = `${label} ${key} ${block.description.toLowerCase()} ${block.tags.join(" ").toLowerCase()} ${block.category.toLowerCase()}`;
    if (!words.every((w) => haystack.includes(w))) continue;
    let score = 0;
    for (const w of words) {
      if (label.startsWith(w)) score += 8;
      else if (label.includes(w)) score += 5;
      if (key.endsWith(w) || key.split(".").pop()!.startsWith(w)) score += 4;
      else if (key.includes(w)) score += 2;
    }
    if (block.curated) score += 3;
    scored.push({ block, score });
  }
  scored.sort((a, b) => b.score - a.score || a.block.label.localeCompare(b.block.label));
  return scored.map((s) => s.block);
}

/** Group blocks by category, in catalogue category order. */
export function groupByCategory(catalogue: Catalogue, blocks: BlockSpec[]): [string, BlockSpec[]][] {
  const groups = new Map<string, BlockSpec[]>();
  for (const c of catalogue.categories) groups.set(c, []);
  for (const b of blocks) groups.get(b.category)?.push(b);
  return [...groups.entries()].filter(([, list]) => list.length > 0);
}
