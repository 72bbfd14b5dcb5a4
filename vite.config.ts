import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The renderer is one static bundle loaded by both hosts: Electron (file://) and `sparsescope serve`.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: { outDir: '../dist/renderer', emptyOutDir: true, sourcemap: true },
});
