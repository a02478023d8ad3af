// Uploaded datasets as the editor shows them: one entry per name with its versions,
// and the upload a `dataset.upload` node means (the server's dataset_resolve rules).
import type { Dataset, JsonValue } from "./types";

/** Each dataset name with its uploads, newest version first; names in alphabetical order. */
export function datasetSeries(datasets: Dataset[]): Map<string, Dataset[]> {
  const byName = new Map<string, Dataset[]>();
  for (const d of datasets) {
    const list = byName.get(d.name) ?? [];
    list.push(d);
    byName.set(d.name, list);
  }
  for (const list of byName.values()) list.sort((a, b) => b.version - a.version);
  return new Map([...byName].sort(([a], [b]) => a.localeCompare(b)));
}

/** The dataset name a node's `dataset` param means: a name, or the sha256 of one of its uploads (older graphs). */
export function datasetNameOf(datasets: Dataset[], ref: JsonValue | undefined): string | null {
  if (typeof ref !== "string" || !ref) return null;
  if (/^[0-9a-f]{64}$/.test(ref)) {
    // The newest upload with these bytes names it, as on the server.
    const uploads = datasets.filter((d) => d.sha256 === ref);
    if (uploads.length) return uploads.reduce((a, b) => (b.created_at > a.created_at ? b : a)).name;
  }
  return datasets.some((d) => d.name === ref) ? ref : null;
}

/** The upload a node loads when a run starts now: its pinned `version`, or the latest one. */
export function resolveDataset(datasets: Dataset[], ref: JsonValue | undefined, version: JsonValue | undefined): Dataset | null {
  const name = datasetNameOf(datasets, ref);
  if (name === null) return null;
  const list = datasetSeries(datasets.filter((d) => d.name === name)).get(name) ?? [];
  if (typeof version === "number") return list.find((d) => d.version === version) ?? null;
  return list[0] ?? null;
}
