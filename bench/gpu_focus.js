#!/usr/bin/env node
// A/B timing of the sparse rows of bench/gpu.js for several builds of the addon in one process
// (the same card and inputs): index build for all heads (VS 1000/6096, estimated), our VS
// kernel on the band index and our dense kernel. Env: ADDONS (comma-separated addon paths, default the built one),
// SEQ_LENS (default 131072), REPEATS (5). Every build's index must equal the first build's.
import { createRequire } from 'node:module';
import path from 'node:path';

import { verticalSlashIndex } from './gpu_index.js';
import { HEADS, layerInputs, medianMs, samePatterns } from './gpu_inputs.js';

const addonPaths = (process.env.ADDONS ?? 'native/build/Release/sparsescope.node').split(',');
const seqLens = (process.env.SEQ_LENS ?? '131072').split(',').map(Number);
const repeats = Number(process.env.REPEATS ?? 5);
const addons = addonPaths.map((file) => createRequire(import.meta.url)(path.resolve(file)));
const range = (n) => Array.from({ length: n }, (_, i) => i);
const indexFields = ['tileOffsets', 'tileStarts', 'colOffsets', 'columns', 'verticals', 'slashes'];
const sameIndex = (a, b) =>
  indexFields.every((field) => a[field].length === b[field].length && a[field].every((x, i) => x === b[field][i]));

let mismatches = 0;
for (const seqLen of seqLens) {
  const inputs = layerInputs(seqLen);
  const band = verticalSlashIndex(HEADS, seqLen, range(1000), range(6096));
  const vsPatterns = samePatterns(1, 1000, 6096);
  let reference;
  for (const [i, native] of addons.entries()) {
    let index;
    const indexMs = await medianMs(async () => (index = await native.buildIndex(inputs, vsPatterns, { backend: 'cuda' })), repeats);
    reference ??= index;
    const same = sameIndex(index, reference);
    if (!same) mismatches += 1;
    const bandMs = await medianMs(() => native.sparseAttention(inputs, band, { backend: 'cuda' }), repeats);
    const denseMs = await medianMs(() => native.denseAttention(inputs, { backend: 'cuda' }), repeats);
    console.log(
      `N=${seqLen} ${addonPaths[i]}: index build ${indexMs.toFixed(3)} ms (index ${same ? 'equal to' : 'DIFFERS from'} the first build's), VS band ${bandMs.toFixed(2)} ms, dense ${denseMs.toFixed(2)} ms`,
    );
  }
}
process.exit(mismatches ? 1 : 0);
