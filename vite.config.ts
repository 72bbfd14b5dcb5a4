import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The renderer is one static bundle loaded by both hosts: Electron (file://) and `sparsescope serve`.
// It carries dist/build-info.json, written by the first step of `npm run build`, for its help overlay.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  define: { __SPARSESCOPE_BUILD__: readFileSync(new URL('./dist/build-info.json', import.meta.url), 'utf8') },
  build: { outDir: '../dist/renderer', emptyOutDir: true, sourcemap: true },
});
