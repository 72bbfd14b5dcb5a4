#!/usr/bin/env node
// First step of `npm run build`: dist/build-info.json, the name, version and build date that
// `sparsescope --version` prints and the renderer bundle carries into its help overlay.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const info = { name: manifest.productName, version: manifest.version, builtAt: new Date().toISOString() };
mkdirSync(new URL('../dist/', import.meta.url), { recursive: true });
writeFileSync(new URL('../dist/build-info.json', import.meta.url), `${JSON.stringify(info, null, 2)}\n`);
