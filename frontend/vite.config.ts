/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Built assets are served by Django (whitenoise) from frontend/dist at /static/;
// templates find the hashed entries through .vite/manifest.json (keyed by source
// path): src/main.tsx is the editor, src/runGraph.tsx the run page's read-only
// graph. Code both use (React, React Flow, the store, the node component) lands
// in shared chunks that the manifest lists under "imports".
export default defineConfig({
  base: "/static/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    manifest: true,
    sourcemap: false,
    chunkSizeWarningLimit: 800,
    rollupOptions: { input: ["src/main.tsx", "src/runGraph.tsx"] },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
