import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// Static build embedded by Tauri (no dev server: `cargo build` always embeds ui/dist).
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: "dist",
    target: "safari15",
    // Keep CSS in a file: the CSP has no 'unsafe-inline' for styles.
    cssCodeSplit: false,
    assetsInlineLimit: 0,
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
