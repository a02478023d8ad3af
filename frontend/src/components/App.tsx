import { useEffect } from "react";
import { init } from "../remote";
import { selectDirty, useEditor } from "../store";
import { Canvas } from "./Canvas";
import { HelpDialog } from "./HelpDialog";
import { HistoryDrawer } from "./HistoryDrawer";
import { Inspector } from "./Inspector";
import { ManageDialog } from "./ManageDialog";
import { Palette } from "./Palette";
import { RunBar } from "./RunBar";
import { Toolbar } from "./Toolbar";
import { useShortcuts } from "./useShortcuts";

export interface EditorConfig {
  pipeline_id: number;
  read_only: boolean;
}

export function App({ config }: { config: EditorConfig }) {
  const ready = useEditor((s) => s.catalogue !== null && s.pipeline !== null);
  const loadError = useEditor((s) => s.loadError);
  const dirty = useEditor(selectDirty);

  useEffect(() => {
    void init(config.pipeline_id, config.read_only);
  }, [config.pipeline_id, config.read_only]);

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  useShortcuts();

  if (loadError) {
    return (
      <div className="ed-root ed-center">
        <div className="ed-card ed-load-error" role="alert">
          <h2>The editor could not load</h2>
          <p>{loadError}</p>
          <button className="ed-btn" onClick={() => window.location.reload()}>
            Try again
          </button>
        </div>
      </div>
    );
  }
  if (!ready) {
    return (
      <div className="ed-root ed-center">
        <div className="ed-spinner" aria-label="Loading" />
      </div>
    );
  }
  return (
    <div className="ed-root" data-testid="editor">
      <Toolbar />
      <RunBar />
      <div className="ed-body">
        <Palette />
        <Canvas />
        <Inspector />
      </div>
      <HistoryDrawer />
      <HelpDialog />
      <ManageDialog />
    </div>
  );
}
