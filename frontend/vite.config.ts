/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Built assets are served by Django (whitenoise) from frontend/dist at /static/;
// the editor template finds the hashed entry through .vite/manifest.json.
export default defineConfig({
  base: "/static/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    manifest: true,
    sourcemap: false,
    chunkSizeWarningLimit: 800,
    rollupOptions: { input: "src/main.tsx" },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
