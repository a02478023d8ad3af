/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Built assets are served by Django (whitenoise) from frontend/dist at /static/;
// templates find the hashed entries through .vite/manifest.json (keyed by source
// path): src/main.tsx is the editor, src/runGraph.tsx the run page's read-only
// graph, src/charts.ts the run page's charts (vega-embed is a dynamic import: its own chunks,
// loaded only where a chart is shown). Code both use (React, React Flow, the store, the node component) lands
// in shared chunks that the manifest lists under "imports".
export default defineConfig({
  base: "/static/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    manifest: true,
    sourcemap: false,
    // vega-embed (vega + vega-lite) is one ~850 kB lazy chunk, loaded only when a chart is shown.
    chunkSizeWarningLimit: 900,
    rollupOptions: { input: ["src/main.tsx", "src/runGraph.tsx", "src/charts.ts"] },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
