#!/usr/bin/env node
// One call of each kernel that misses its issue-14 target, for Nsight Compute (bench/gpu_profile.sh
// runs this under ncu): dense at 32K, Vertical-Slash on the band index at 128K, and the index build
// on random inputs at 128K (bf16, 32 q / 8 kv heads, head dim 128, the bench:gpu layer). No timing
// here: ncu replays each kernel and reads its counters.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { verticalSlashIndex } from './gpu_index.js';
import { HEADS, layerInputs, samePatterns } from './gpu_inputs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const native = createRequire(import.meta.url)(path.join(root, 'native/build/Release/sparsescope.node'));
const timed = { backend: 'cuda', output: false };
const range = (n) => Array.from({ length: n }, (_, i) => i);

const dense = layerInputs(32768);
await native.denseAttention(dense, timed);

const long = layerInputs(131072);
await native.sparseAttention(long, verticalSlashIndex(HEADS, 131072, range(1000), range(6096)), timed);
await native.buildIndex(long, samePatterns(1, 1000, 6096), { backend: 'cuda' });
console.error('profiled: dense 32K, VS band 128K, index build 128K');
