#!/usr/bin/env node
// GPU benchmark of the CUDA backend (run by bench/gpu.sh): bf16, H=32, Hkv=8, D=128, causal, at
// each N of SEQ_LENS. Times are the addon's `ms` for backend 'cuda' (device events around the
// kernels, transfers excluded), median of REPEATS after one warm-up. SDPA baselines come from
// bench/gpu_sdpa.py (JSON lines in the file named by SDPA_JSON). Prints a table with ratios and,
// with RESULT_JSON set, writes every number there (bench/gpu_report.js turns it into the "gpu"
// section of bench/RESULTS.md). With MINFERENCE_EXPORT set, the inputs, index and output of the
// band-index row at the largest N are written to that folder for bench/gpu_minference.py.
// SPARSESCOPE_ADDON overrides the addon's path.
import { createRequire } from 'node:module';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { exportBand } from './gpu_band_export.js';
import { verticalSlashIndex } from './gpu_index.js';
import { HEADS, HEAD_DIM, KV_HEADS, layerInputs, medianMs, samePatterns } from './gpu_inputs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = process.env.SPARSESCOPE_ADDON ?? path.join(root, 'native/build/Release/sparsescope.node');
const native = createRequire(import.meta.url)(path.resolve(addonPath));

const seqLens = (process.env.SEQ_LENS ?? '32768,131072').split(',').map(Number);
const repeats = Number(process.env.REPEATS ?? 5);
const exportDir = process.env.MINFERENCE_EXPORT || null;
const exportSeqLen = Math.max(...seqLens);
const median = (run) => medianMs(run, repeats);
// Timed calls keep no output (the CUDA kernels still write it; only the copy into JS is skipped).
const timed = { backend: 'cuda', output: false };

const range = (n) => Array.from({ length: n }, (_, i) => i);
const causalFlops = (n) => 4 * HEADS * HEAD_DIM * (n * (n + 1)) / 2;
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

function readSdpa() {
  const file = process.env.SDPA_JSON;
  if (!file || !existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

const device = native.deviceInfo().cuda.devices[0];
if (!device) {
  console.error('no CUDA device: the GPU benchmark needs one');
  process.exit(1);
}
const results = { device, date: new Date().toISOString(), repeats, seqLens, heads: HEADS, kvHeads: KV_HEADS, headDim: HEAD_DIM, rows: [], errors: [] };
const sdpa = readSdpa();
// Written after each N, so that a failure at a later N still leaves the earlier rows to report.
const save = () => process.env.RESULT_JSON && writeFileSync(process.env.RESULT_JSON, JSON.stringify(results, null, 2));

for (const seqLen of seqLens) {
  try {
    await measure(seqLen);
  } catch (error) {
    results.errors.push({ seqLen, error: String(error?.message ?? error).split('\n')[0] });
    console.error(`N=${seqLen} failed: ${error?.stack ?? error}`);
  }
  save();
}

async function measure(seqLen) {
  const inputs = layerInputs(seqLen);
  const row = (key, name, ms, extra = {}) => {
    results.rows.push({ seqLen, key, name, ms, ...extra });
    console.error(`N=${seqLen} ${name}: ${ms.toFixed(2)} ms`);
  };
  const denseMs = await median(() => native.denseAttention(inputs, timed));
  row('dense', 'ours dense', denseMs, { tflops: causalFlops(seqLen) / denseMs / 1e9 });
  process.env.SPARSESCOPE_CUDA_PATH = 'portable';
  try {
    const portableMs = await median(() => native.denseAttention(inputs, timed));
    row('dense-portable', 'ours dense, portable mma.sync path', portableMs, { tflops: causalFlops(seqLen) / portableMs / 1e9 });
  } finally {
    process.env.SPARSESCOPE_CUDA_PATH = '';
  }
  for (const baseline of sdpa.filter((s) => s.seqLen === seqLen && s.ms)) row(baseline.backend, baseline.backend, baseline.ms, { tflops: baseline.tflops });

  const verticals = range(1000);
  const slashes = range(6096);
  const band = verticalSlashIndex(HEADS, seqLen, verticals, slashes);
  const bandMs = await median(() => native.sparseAttention(inputs, band, timed));
  row('vs-band', 'ours VS, band index (1000 v, 0..6095)', bandMs);
  if (exportDir && seqLen === exportSeqLen) {
    try {
      await exportBand(native, inputs, band, { dir: exportDir, verticals, slashes, ms: bandMs });
      console.error(`N=${seqLen} band inputs, index and output written to ${exportDir} for bench/gpu_minference.py`);
    } catch (error) {
      results.exportError = `exporting the band inputs failed: ${String(error?.message ?? error).split('\n')[0]}`;
      console.error(`N=${seqLen} ${results.exportError}`);
    }
  }

  const vsPatterns = samePatterns(1, 1000, 6096);
  let estimated;
  const indexMs = await median(async () => (estimated = await native.buildIndex(inputs, vsPatterns, { backend: 'cuda' })));
  row('index-random', 'index build, all heads (VS 1000/6096)', indexMs);
  row('vs-estimated', 'ours VS, estimated index', await median(() => native.sparseAttention(inputs, estimated, timed)), {
    density: mean([...estimated.density]),
  });

  const aShapePatterns = samePatterns(2, 1024, 4096);
  const aShape = await native.buildIndex(inputs, aShapePatterns, { backend: 'cuda' });
  row('a-shape', 'ours A-shape (1024, 4096)', await median(() => native.sparseAttention(inputs, aShape, timed)), {
    density: mean([...aShape.density]),
  });
}

const cudnn = (n) => results.rows.find((r) => r.seqLen === n && r.key === 'sdpa_cudnn')?.ms;
const ours = (n) => results.rows.find((r) => r.seqLen === n && r.key === 'dense')?.ms;
console.log(`\n${device.name} (cc ${device.computeCapability}), bf16 H=${HEADS} Hkv=${KV_HEADS} D=${HEAD_DIM}, median of ${repeats}`);
console.log('| N | kernel | ms | TFLOP/s | ours dense / this | cuDNN / this | density |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of results.rows) {
  const vsCudnn = cudnn(r.seqLen) ? (cudnn(r.seqLen) / r.ms).toFixed(2) : '-';
  console.log(
    `| ${r.seqLen} | ${r.name} | ${r.ms.toFixed(2)} | ${r.tflops ? r.tflops.toFixed(0) : '-'} | ${ours(r.seqLen) ? (ours(r.seqLen) / r.ms).toFixed(2) : '-'} | ${vsCudnn} | ${r.density !== undefined ? r.density.toFixed(4) : '-'} |`,
  );
}
process.exit(results.errors.length ? 1 : 0);
