import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// notes: 0

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: {
      "/api": { target: "http://localhost:8080", changeOrigin: true },
    },
  },
  build: {
    sourcemap: true,
    rollupOptions: {
      output: { manualChunks: { admin: ["react-admin", "ra-data-simple-rest"] } },
    },
  },
  test: { environment: "jsdom" },
});
