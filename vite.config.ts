import { readFileSync } from 'node:fs';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { appCspMeta } from './contract/csp';

/** The app's one CSP (contract/csp.ts) as the page's first meta tag. */
const cspMeta: Plugin = {
  name: 'sparsescope-csp',
  transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: appCspMeta() }, injectTo: 'head-prepend' }],
};

// The renderer is one static bundle loaded by both hosts: Electron (file://) and `sparsescope serve`.
// It carries dist/build-info.json, written by the first step of `npm run build`, for its help overlay.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react(), cspMeta],
  define: { __SPARSESCOPE_BUILD__: readFileSync(new URL('./dist/build-info.json', import.meta.url), 'utf8') },
  build: { outDir: '../dist/renderer', emptyOutDir: true, sourcemap: true },
});
