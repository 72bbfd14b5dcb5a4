#!/usr/bin/env node
// What a target-recall search pays per head at long context, op by op, on one head (random bf16,
// head dim 128, q/k/v resident on the device as the search keeps them): the dense log-sum-exp of
// every evaluated row, full-row index builds of two Vertical-Slash budgets and one of its sampled
// rows, recall on all rows and on the sample, the full sparse pass, and the output error. Each op
// is timed from the call to its promise settling (upload, kernel, download and the JS arrays it
// returns, as the search sees it), median of REPEATS after a warm-up; the index's size says how
// much of that is moving index lists.
// Needs dist/ built (the engine's rows and pattern encoding).
//   node bench/gpu_head_ops.js     Env: SEQ (1048576), REPEATS (2), SPARSESCOPE_ADDON, BACKEND (cuda)
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { HEAD_DIM, medianMs, randomBf16 } from './gpu_inputs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const native = createRequire(import.meta.url)(path.resolve(process.env.SPARSESCOPE_ADDON ?? path.join(root, 'native/build/Release/sparsescope.node')));
const seqLen = Number(process.env.SEQ ?? 1 << 20);
const repeats = Number(process.env.REPEATS ?? 2);
const backend = process.env.BACKEND ?? 'cuda'; // BACKEND=cpu: a smoke test of the script at a small SEQ
const { encodePatterns, evaluatedRows } = await import(pathToFileURL(path.join(root, 'dist/electron/engine/analysis/common.js')).href);

const values = seqLen * HEAD_DIM;
const head = { dtype: 'BF16', numHeads: 1, numKvHeads: 1, seqLen, headDim: HEAD_DIM, q: randomBf16(values, 0x9e3779b9), k: randomBf16(values, 0x85ebca6b), v: randomBf16(values, 0xc2b2ae35) };
const inputs = backend === 'cuda' ? { ...head, resident: native.residentInputs(head) } : head;
// The search's rows: every evaluated row, and its default sample.
const allRows = evaluatedRows(seqLen, { mode: 'exact' });
const sampledRows = evaluatedRows(seqLen, { mode: 'sampled', rows: 512, seed: 0 });

/** Median wall time of `run` (call to settled promise) over REPEATS after a warm-up, and its last result. */
async function time(run) {
  let result;
  const ms = await medianMs(async () => {
    const start = performance.now();
    result = await run();
    return { ms: performance.now() - start };
  }, repeats);
  return { ms, result };
}

const patterns = (pattern, a, b) => encodePatterns([{ pattern, a, b }]);
const indexMiB = (index) => (['tileOffsets', 'tileStarts', 'colOffsets', 'columns'].reduce((sum, key) => sum + index[key].byteLength, 0) / 2 ** 20).toFixed(1);
const rows = [];
const add = (op, { ms }, detail = '') => {
  rows.push({ op, ms: Number(ms.toFixed(1)), detail });
  console.error(`${op.padEnd(52)} ${ms.toFixed(1).padStart(9)} ms  ${detail}`);
};

const dense = await time(() => native.denseAttention(inputs, { backend, rows: allRows, output: 'lse' }));
add('dense LSE, all evaluated rows', dense, `${allRows.length} rows`);
add('dense LSE, 512 sampled rows', await time(() => native.denseAttention(inputs, { backend, rows: sampledRows, output: 'lse' })));
const sampledLse = (await native.denseAttention(inputs, { backend, rows: sampledRows, output: 'lse' })).lse;
for (const [a, b] of [
  [1000, 1000],
  [3000, 300],
]) {
  const label = `VS (${a}, ${b})`;
  const built = await time(() => native.buildIndex(inputs, patterns('vertical_and_slash', a, b), { backend }));
  const index = built.result;
  add(`${label}: index build, all rows`, built, `${indexMiB(index)} MiB of lists, density ${index.density[0].toFixed(4)}, addon's own ${index.ms.toFixed(1)} ms`);
  const forRows = await time(() => native.buildIndex(inputs, patterns('vertical_and_slash', a, b), { backend, rows: sampledRows }));
  add(`${label}: index build, 512 sampled rows`, forRows, `${indexMiB(forRows.result)} MiB`);
  add(`${label}: recall, all rows`, await time(() => native.recall(inputs, index, { backend, rows: allRows, denseLse: dense.result.lse })));
  add(`${label}: recall, 512 sampled rows (index for them)`, await time(() => native.recall(inputs, forRows.result, { backend, rows: sampledRows, denseLse: sampledLse })));
  add(`${label}: sparse pass, all rows, no output`, await time(() => native.sparseAttention(inputs, index, { backend, output: false })));
  add(`${label}: output error, all rows`, await time(() => native.outputError(inputs, index, { backend, rows: allRows })));
}
const small = await native.buildIndex(inputs, patterns('stream_llm', 16, 64), { backend });
add('A-shape (16, 64): sparse pass, all rows, no output', await time(() => native.sparseAttention(inputs, small, { backend, output: false })), `${indexMiB(small)} MiB of lists`);
if (inputs.resident) native.releaseResident(inputs.resident);
console.log(JSON.stringify({ seqLen, headDim: HEAD_DIM, repeats, device: backend === 'cuda' ? native.deviceInfo().cuda.devices[0].name : 'cpu', rows }, null, 1));
