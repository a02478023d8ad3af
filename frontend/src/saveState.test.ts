import { describe, expect, it } from "vitest";
import { saveState } from "./saveState";

const base = { conflict: false, saving: false, dirty: false, readOnly: false, draftRev: 5, lastRunVersion: null };

describe("saveState", () => {
  it("names the draft revision, never as a version number, before any run", () => {
    const s = saveState(base);
    expect(s.text).toBe("Saved · draft rev 5");
    expect(s.text).not.toMatch(/\bv\d/);
  });

  it("names the snapshot of the last run with the number History and lineage use", () => {
    expect(saveState({ ...base, lastRunVersion: 1 }).text).toBe("Saved · draft rev 5 · last run on v1");
  });

  it("keeps the last run's version while there are unsaved changes", () => {
    expect(saveState({ ...base, dirty: true, lastRunVersion: 2 }).text).toBe("Unsaved changes · last run on v2");
  });

  it("says read-only with the same numbers", () => {
    const s = saveState({ ...base, readOnly: true, lastRunVersion: 3 });
    expect(s.text).toBe("Read-only · draft rev 5 · last run on v3");
    expect(s.cls).toBe("readonly");
  });

  it("puts a conflict before everything else", () => {
    expect(saveState({ ...base, conflict: true, saving: true, dirty: true }).cls).toBe("conflict");
  });
});
