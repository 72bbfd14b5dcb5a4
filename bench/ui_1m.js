#!/usr/bin/env node
// What the UI waits for at a million tokens (issue 13): the engine calls behind the first map paint,
// a zoom down to 64-token tiles, the mask overlay and a budget change, timed in this process
// through the engine that `sparsescope serve` runs (same handlers and compute workers; only the
// WebSocket hop is left out). The browser's own drawing does not grow with N (maps come pooled
// to the canvas's resolution), so it is timed by the e2e suite, not here.
//   node bench/ui_1m.js CAPTURE [--layer L] [--head H]
// Writes the "ui-1m" section of bench/RESULTS.md.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { writeResultsSection } from './results-section.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: options, positionals } = parseArgs({ allowPositionals: true, options: { layer: { type: 'string', default: '0' }, head: { type: 'string', default: '0' } } });
const capturePath = path.resolve(positionals[0] ?? '');
const load = (file) => import(pathToFileURL(path.join(root, 'dist/electron/engine', file)).href);
const { createEngine } = await load('handlers.js');
const { nodeWorkerSpawner } = await load('jobs/node-spawner.js');
const { methods } = await import(pathToFileURL(path.join(root, 'dist/contract/api.js')).href);

const engine = createEngine({ host: 'serve', roots: [path.dirname(capturePath)], cacheDir: mkdtempSync(path.join(tmpdir(), 'ui-1m-')), spawnWorker: nodeWorkerSpawner() });
const rows = [];
async function timed(name, run) {
  const started = performance.now();
  const result = await run();
  const ms = performance.now() - started;
  rows.push([name, ms]);
  console.error(`ui_1m: ${name}: ${ms.toFixed(0)} ms`);
  return result;
}
try {
  // Parameters go through the contract's schemas (defaults included), as serve's requests do.
  const handlers = new Proxy(engine.handlers, { get: (target, name) => (params) => target[name](methods[name].params.parse(params)) });
  const device = await handlers['device.info']({});
  const summary = await timed('capture.open', () => handlers['capture.open']({ path: capturePath }));
  const head = { captureId: summary.captureId, layer: Number(options.layer), head: Number(options.head) };
  const N = summary.seqLen;
  const pattern = { pattern: 'vertical_and_slash', a: 1000, b: 6096 };
  await timed('first map paint: pooledMap 512 px (1024 sampled rows), first call', () => handlers['head.pooledMap']({ ...head, resolution: 512 }));
  await timed('mask overlay: head.mask 512 px', () => handlers['head.mask']({ ...head, pattern, resolution: 512 }));
  await timed('tuning: head.evaluate (VS 1000/6096)', () => handlers['head.evaluate']({ ...head, pattern }));
  await timed('budget change: head.evaluate (VS 2000/8192)', () => handlers['head.evaluate']({ ...head, pattern: { ...pattern, a: 2000, b: 8192 } }));
  const zoom = { rowStart: N - 4096, rowEnd: N, colStart: N - 4096, colEnd: N };
  await timed('zoom to 64-token tiles: pooledMap of the last 4096 x 4096 at 64 px (exact rows)', () => handlers['head.pooledMap']({ ...head, resolution: 64, region: zoom, sampling: { mode: 'exact' } }));
  await timed('zoomed mask: head.mask of the same region at 64 px', () => handlers['head.mask']({ ...head, pattern, resolution: 64, region: zoom }));
  const gpu = device.cuda?.devices?.[0]?.name ?? 'no CUDA device';
  const body = [
    '## The UI at a million tokens (issue 13)',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${gpu}; commit ${process.env.BENCH_COMMIT ?? '-'}; \`node bench/ui_1m.js CAPTURE\` on a ${N}-token capture (${summary.numHeads} heads, ${summary.numKvHeads} kv heads, head dim ${summary.headDim}), layer ${head.layer} head ${head.head}.`,
    'Engine time of each call (the handlers and workers `sparsescope serve` runs, without the WebSocket hop); target: first paint and a budget change each well under 2 s.',
    '',
    '| call | ms |',
    '| --- | ---: |',
    ...rows.map(([name, ms]) => `| ${name} | ${ms.toFixed(0)} |`),
  ].join('\n');
  console.log(body);
  writeResultsSection('ui-1m', 'bench/ui_1m.js', body);
} finally {
  await engine.dispose();
}
