// Entry for the run detail page (/runs/<id>/): mounts the read-only graph into
// #run-graph-root from the JSON the page embeds (#run-graph-data) and the block
// catalogue. If the catalogue cannot be loaded, the server-drawn SVG the page
// keeps in <noscript id="run-graph-fallback"> is shown instead.
import { ReactFlowProvider } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { createRoot } from "react-dom/client";
import { api } from "./api";
import { buildCatalogue } from "./catalogue";
import { RunGraph } from "./components/RunGraph";
import "./editor.css";
import { showRunGraph, type RunGraphData } from "./runGraphData";
import { useEditor } from "./store";
import type { BlocksResponse } from "./types";

function showFallback(root: HTMLElement): void {
  const fallback = document.getElementById("run-graph-fallback");
  // With scripting on, a <noscript>'s content is its markup as text (server-escaped SVG).
  const template = document.createElement("template");
  template.innerHTML = fallback?.textContent ?? "";
  root.replaceWith(template.content);
}

async function mount(): Promise<void> {
  const root = document.getElementById("run-graph-root");
  const dataEl = document.getElementById("run-graph-data");
  if (!root || !dataEl) return;
  try {
    const data = JSON.parse(dataEl.textContent || "{}") as RunGraphData;
    const blocks = await api<BlocksResponse>("/api/blocks/");
    showRunGraph(useEditor, data, buildCatalogue(blocks));
  } catch (e) {
    console.warn("run graph: showing the static picture", e);
    showFallback(root);
    return;
  }
  root.classList.add("is-ready");
  createRoot(root).render(
    <ReactFlowProvider>
      <RunGraph />
    </ReactFlowProvider>,
  );
}

void mount();
