import { describe, expect, it } from "vitest";
import { datasetNameOf, datasetSeries, resolveDataset } from "./datasets";
import type { Dataset } from "./types";

const SHA = (c: string) => c.repeat(64);

function upload(id: number, name: string, version: number, sha: string, created_at: string): Dataset {
  return { id, name, version, sha256: sha, created_at, columns: [{ name: `c${id}`, dtype: "int64" }] } as unknown as Dataset;
}

const sales1 = upload(1, "sales", 1, SHA("a"), "2026-01-01T00:00:00Z");
const sales2 = upload(2, "sales", 2, SHA("b"), "2026-01-02T00:00:00Z");
const copy = upload(3, "copy", 1, SHA("b"), "2026-01-03T00:00:00Z");
const all = [sales2, copy, sales1];

describe("datasets", () => {
  it("groups uploads by name, newest version first, names sorted", () => {
    const series = datasetSeries(all);
    expect([...series.keys()]).toEqual(["copy", "sales"]);
    expect(series.get("sales")!.map((d) => d.version)).toEqual([2, 1]);
  });

  it("follows the latest version unless one is pinned", () => {
    expect(resolveDataset(all, "sales", null)?.id).toBe(2);
    expect(resolveDataset(all, "sales", undefined)?.id).toBe(2);
    expect(resolveDataset(all, "sales", 1)?.id).toBe(1);
    expect(resolveDataset(all, "sales", 7)).toBeNull();
    expect(resolveDataset(all, "nope", null)).toBeNull();
  });

  it("reads a sha256 of older graphs as the dataset of the newest upload holding those bytes", () => {
    expect(datasetNameOf(all, SHA("a"))).toBe("sales");
    expect(datasetNameOf(all, SHA("b"))).toBe("copy");
    expect(resolveDataset(all, SHA("a"), null)?.id).toBe(2);
    expect(datasetNameOf(all, SHA("c"))).toBeNull();
    expect(datasetNameOf(all, 5)).toBeNull();
  });
});
