import { ReactFlowProvider } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { createRoot } from "react-dom/client";
import { App, type EditorConfig } from "./components/App";
import "./editor.css";

const root = document.getElementById("editor-root");
const configEl = document.getElementById("editor-config");
if (root && configEl) {
  const config = JSON.parse(configEl.textContent || "{}") as EditorConfig;
  createRoot(root).render(
    <ReactFlowProvider>
      <App config={config} />
    </ReactFlowProvider>,
  );
}
