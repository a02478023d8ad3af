import { useReactFlow } from "@xyflow/react";
import { useEffect, useRef, useState, type ChangeEvent } from "react";
import { parseGraphFile, type BlockNode, type PortEdge } from "../graph";
import { layoutGraph } from "../layout";
import { cancelRun, save, startRun } from "../remote";
import { selectCanRedo, selectCanUndo, selectCurrentGraph, selectDirty, useEditor } from "../store";
import { saveState } from "../saveState";
import { FINAL_RUN_STATUSES } from "../types";
import { Icon } from "./Icon";

function exportGraph(): void {
  const s = useEditor.getState();
  const graph = selectCurrentGraph(s);
  const blob = new Blob([JSON.stringify(graph, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  const slug = (s.pipeline?.name ?? "pipeline").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  a.href = url;
  a.download = `${slug || "pipeline"}.graph.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function Toolbar() {
  const name = useEditor((s) => s.pipeline?.name ?? "");
  const draftRev = useEditor((s) => s.pipeline?.version ?? 0);
  const lastRunVersion = useEditor((s) => s.run?.version ?? null);
  const dirty = useEditor(selectDirty);
  const saving = useEditor((s) => s.saving);
  const starting = useEditor((s) => s.starting);
  const readOnly = useEditor((s) => s.readOnly);
  const canUndo = useEditor(selectCanUndo);
  const canRedo = useEditor(selectCanRedo);
  const conflict = useEditor((s) => s.conflict !== null);
  const running = useEditor((s) => s.run !== null && !FINAL_RUN_STATUSES.includes(s.run.status));
  const { getNodes, getEdges } = useReactFlow<BlockNode, PortEdge>();
  const fileInput = useRef<HTMLInputElement>(null);
  const s = useEditor.getState;

  const onImport = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = "";
    if (!file) return;
    try {
      const graph = parseGraphFile(await file.text());
      s().replaceGraph(graph);
      s().showToast(`Imported ${graph.nodes.length} blocks from ${file.name}; save to keep them`, "info");
    } catch (err) {
      s().showToast(`Could not import ${file.name}: ${err instanceof Error ? err.message : err}`);
    }
  };

  const autoLayout = () => {
    const nodes = getNodes();
    if (!nodes.length) return;
    s().setPositions(layoutGraph(nodes, getEdges()));
  };

  const state = saveState({ conflict, saving, dirty, readOnly, draftRev, lastRunVersion });

  return (
    <div className="ed-toolbar">
      <div className="ed-toolbar-left">
        <a className="ed-back" href="/pipelines/" title="All pipelines">
          <Icon name="back" />
        </a>
        <div className="ed-title">
          {readOnly ? (
            <div className="ed-name" title={name}>
              {name}
            </div>
          ) : (
            <NameMenu name={name} />
          )}
          <div className={`ed-save-state ed-save-state--${state.cls}`} data-testid="save-state" title={state.title}>
            {!readOnly && <span className="ed-save-dot" />}
            {state.text}
          </div>
        </div>
      </div>
      <div className="ed-toolbar-mid">
        {!readOnly && (
          <>
            <button className="ed-icon-btn" onClick={() => s().undo()} disabled={!canUndo} title="Undo (Ctrl+Z)" aria-label="Undo">
              <Icon name="undo" />
            </button>
            <button className="ed-icon-btn" onClick={() => s().redo()} disabled={!canRedo} title="Redo (Ctrl+Shift+Z)" aria-label="Redo">
              <Icon name="redo" />
            </button>
            <span className="ed-sep" />
            <button className="ed-tool-btn" onClick={autoLayout} title="Arrange the blocks left to right">
              <Icon name="layout" /> Auto-layout
            </button>
          </>
        )}
        <button className="ed-tool-btn" onClick={() => s().setHistoryOpen(true)} title="Saved versions of this pipeline">
          <Icon name="history" /> History
        </button>
        <button className="ed-tool-btn" onClick={exportGraph} title="Download the graph as JSON">
          <Icon name="download" /> Export
        </button>
        {!readOnly && (
          <>
            <button className="ed-tool-btn" onClick={() => fileInput.current?.click()} title="Load a graph JSON file">
              <Icon name="upload" /> Import
            </button>
            <input
              ref={fileInput}
              type="file"
              accept="application/json,.json"
              hidden
              onChange={onImport}
              data-testid="import-input"
            />
          </>
        )}
        <span className="ed-sep" />
        <button className="ed-icon-btn" onClick={() => s().setHelpOpen(true)} title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts">
          <Icon name="help" />
        </button>
      </div>
      <div className="ed-toolbar-right">
        {!readOnly && (
          <button
            className="ed-btn"
            onClick={() => void save()}
            disabled={saving || (!dirty && !conflict)}
            title="Save (Ctrl+S)"
            data-testid="save-button"
          >
            Save
          </button>
        )}
        {!readOnly &&
          (running ? (
            <button className="ed-btn ed-btn-danger" onClick={() => void cancelRun()} data-testid="cancel-button">
              <Icon name="stop" /> Cancel run
            </button>
          ) : (
            <>
            <button
              className="ed-btn"
              onClick={() => void startRun(false)}
              disabled={starting || saving}
              title="Run every step again, ignoring cached results"
              data-testid="run-fresh-button"
            >
              Run without cache
            </button>
            <button
              className="ed-btn ed-btn-primary"
              onClick={() => void startRun()}
              disabled={starting || saving}
              data-testid="run-button"
            >
              <Icon name="play" /> {starting ? "Starting…" : "Run"}
            </button>
            </>
          ))}
      </div>
    </div>
  );
}

/** The pipeline's name; for editors a menu to rename, duplicate or delete it (ManageDialog). */
function NameMenu({ name }: { name: string }) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const away = (e: MouseEvent) => {
      if (!box.current?.contains(e.target as Node)) setOpen(false);
    };
    const escape = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("mousedown", away);
    document.addEventListener("keydown", escape);
    return () => {
      document.removeEventListener("mousedown", away);
      document.removeEventListener("keydown", escape);
    };
  }, [open]);
  const pick = (action: "rename" | "duplicate" | "delete") => {
    setOpen(false);
    useEditor.getState().setManage(action);
  };
  return (
    <div className="ed-name-menu" ref={box}>
      <button
        className="ed-name-btn"
        onClick={() => setOpen(!open)}
        aria-haspopup="menu"
        aria-expanded={open}
        title={`${name}: rename, duplicate or delete`}
        data-testid="pipeline-menu"
      >
        <span className="ed-name">{name}</span>
        <Icon name="chevron" size={14} />
      </button>
      {open && (
        <div className="ed-menu" role="menu">
          <button role="menuitem" onClick={() => pick("rename")}>
            Rename…
          </button>
          <button role="menuitem" onClick={() => pick("duplicate")}>
            Duplicate…
          </button>
          <hr />
          <button role="menuitem" className="ed-menu-danger" onClick={() => pick("delete")}>
            Delete…
          </button>
        </div>
      )}
    </div>
  );
}
