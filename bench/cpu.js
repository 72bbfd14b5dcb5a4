#!/usr/bin/env node
// `npm run bench`: the CPU benchmarks of spec section 7, measured side by side in one run.
//  (a) our CPU dense attention vs a NumPy/BLAS dense causal reference (bench/numpy_dense.py)
//      on the same fp32 inputs: times, ratio, and the largest output difference;
//  (b) CPU sparse vs CPU dense at 16K on a synthetic capture with the searched config
//      (target recall 0.95): speedup = dense / (index + sparse), recall, density, and how many
//      heads the search gave their planted pattern family.
// Results are printed and written to the CPU section of bench/RESULTS.md.
// Needs the compiled engine (`npx tsc -p tsconfig.node.json`), the native addon, and python3
// with NumPy (Debian: apt-get install -y python3-numpy).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeResultsSection } from './results-section.js';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist', 'electron', 'engine');
if (!existsSync(join(dist, 'analysis', 'bench.js'))) {
  process.stderr.write('bench: the engine is not compiled; run `npx tsc -p tsconfig.node.json` (or `npm run build`) first\n');
  process.exit(2);
}
const { loadNative } = await import(join(dist, 'native.js'));
const { syntheticCapture } = await import(join(dist, 'synthetic', 'memory-capture.js'));
const { decodeFloats } = await import(join(dist, 'synthetic', 'float-codec.js'));
const { layerInputs, median, resolveBackend } = await import(join(dist, 'analysis', 'common.js'));
const { searchCapture } = await import(join(dist, 'analysis', 'search.js'));
const { benchCapture } = await import(join(dist, 'analysis', 'bench.js'));

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const REPEAT = option('repeat', 3);
const DENSE_SEQ = option('dense-seq', 4096);
const SPARSE_SEQ = option('sparse-seq', 16384);
const SHAPE = { layers: 1, heads: 8, kvHeads: 2, headDim: 128, seed: 0 };

const native = loadNative();
const { device } = resolveBackend(native, 'cpu');
const log = (text) => process.stdout.write(`${text}\n`);

/**
 * Some build machines set OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE to work around old OpenBLAS bugs;
 * they slow a current NumPy, so the reference runs without them (both together, this child only).
 */
function numpyEnv() {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

// (a) dense: ours vs NumPy on the same fp32 inputs --------------------------------------------
async function denseVsNumpy() {
  const capture = syntheticCapture({ ...SHAPE, seqLen: DENSE_SEQ, dtype: 'F32' });
  const inputs = await layerInputs(capture, 0);
  const dir = mkdtempSync(join(tmpdir(), 'sparsescope-bench-'));
  try {
    for (const name of ['q', 'k', 'v']) writeFileSync(join(dir, `${name}.f32`), inputs[name]);
    const python = JSON.parse(
      execFileSync('python3', [join(root, 'bench', 'numpy_dense.py'), '--dir', dir, '--heads', String(SHAPE.heads), '--kv-heads', String(SHAPE.kvHeads), '--seq', String(DENSE_SEQ), '--dim', String(SHAPE.headDim), '--repeat', String(REPEAT)], {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
        env: numpyEnv(),
      }),
    );
    await native.denseAttention(inputs, { backend: 'cpu' }); // warm-up
    const times = [];
    let result;
    for (let r = 0; r < REPEAT; r++) {
      result = await native.denseAttention(inputs, { backend: 'cpu' });
      times.push(result.ms);
    }
    const reference = decodeFloats(readFileSync(join(dir, 'out.f32')), 'F32');
    let worst = 0;
    for (let i = 0; i < reference.length; i++) worst = Math.max(worst, Math.abs(result.out[i] - reference[i]) / (1 + Math.abs(reference[i])));
    return { oursMs: median(times), numpyMs: python.ms, numpyVersion: python.numpy, blas: python.blas, maxDiff: worst };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// (b) sparse vs dense at 16K with the searched config -------------------------------------------
async function sparseVsDense() {
  const capture = syntheticCapture({ ...SHAPE, seqLen: SPARSE_SEQ, dtype: 'BF16' });
  const started = performance.now();
  const searched = await searchCapture(native, capture, { mode: 'target-recall', targetRecall: 0.95, sampling: { mode: 'sampled', rows: 512, seed: 0 } }, 'cpu');
  const searchSeconds = (performance.now() - started) / 1000;
  const planted = capture.summary.planted;
  const recovered = searched.report.heads.filter((head) => planted[head.layer][head.head].pattern === head.pattern).length;
  const { report } = await benchCapture(native, capture, { config: searched.config, sweep: [], backend: 'cpu', repeat: REPEAT });
  const meanDensity = report.heads.reduce((sum, head) => sum + head.density, 0) / report.heads.length;
  return { report, recovered, heads: report.heads.length, meanDensity, searchSeconds };
}

function machine() {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /Model name:\s*(.+)/.exec(execFileSync('lscpu', { encoding: 'utf8' }))?.[1]?.trim() ?? model;
  } catch {
    // lscpu missing: keep Node's CPU model string
  }
  return `${model}, ${cpus().length} logical cores`;
}

log(`device: ${device}`);
log(`(a) dense causal attention, fp32, H=${SHAPE.heads}, Hkv=${SHAPE.kvHeads}, D=${SHAPE.headDim}, N=${DENSE_SEQ}, median of ${REPEAT}`);
const dense = await denseVsNumpy();
log(`    ours ${dense.oursMs.toFixed(1)} ms, NumPy ${dense.numpyMs.toFixed(1)} ms, ours/NumPy time ratio ${(dense.oursMs / dense.numpyMs).toFixed(2)}, max |diff| ${dense.maxDiff.toExponential(2)}`);
log(`(b) sparse vs dense, bf16, N=${SPARSE_SEQ}, searched config (target recall 0.95)`);
const sparse = await sparseVsDense();
const t = sparse.report.totals;
log(
  `    dense ${t.denseMs.toFixed(1)} ms, index ${t.indexMs.toFixed(1)} ms, sparse ${t.sparseMs.toFixed(1)} ms, speedup ${t.speedup.toFixed(2)}x, mean recall ${t.meanRecall.toFixed(4)} (min ${t.minRecall.toFixed(4)}), mean density ${sparse.meanDensity.toFixed(4)}, planted family recovered ${sparse.recovered}/${sparse.heads}`,
);

const section = `## CPU

- Date: ${new Date().toISOString().slice(0, 10)}
- Machine: ${machine()} (shared build box; other jobs may have been running)
- Command: \`npx tsc -p tsconfig.node.json && npm run bench\` (repeat ${REPEAT}, median)
- Backend: ${device}

### Dense: ours vs NumPy/BLAS (fp32, H=${SHAPE.heads}, Hkv=${SHAPE.kvHeads}, D=${SHAPE.headDim}, N=${DENSE_SEQ}, causal)

| implementation | ms | ratio (ours / NumPy) |
| --- | ---: | ---: |
| ours (native CPU) | ${dense.oursMs.toFixed(1)} | ${(dense.oursMs / dense.numpyMs).toFixed(2)} |
| NumPy ${dense.numpyVersion} (${dense.blas}, its default threads) | ${dense.numpyMs.toFixed(1)} | 1.00 |

Largest output difference, |ours - NumPy| / (1 + |NumPy|): ${dense.maxDiff.toExponential(2)}.
NumPy runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (build-machine workarounds that slow a current OpenBLAS).

### Sparse vs dense at ${SPARSE_SEQ} tokens (bf16, synthetic capture seed ${SHAPE.seed}, H=${SHAPE.heads}, Hkv=${SHAPE.kvHeads}, D=${SHAPE.headDim})

Config from \`search --target-recall 0.95\` (${sparse.searchSeconds.toFixed(1)} s); full pre-fill of the layer, all heads.

| dense ms | index ms | sparse ms | speedup | mean recall | min recall | mean density | planted family recovered |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| ${t.denseMs.toFixed(1)} | ${t.indexMs.toFixed(1)} | ${t.sparseMs.toFixed(1)} | ${t.speedup.toFixed(2)}x | ${t.meanRecall.toFixed(4)} | ${t.minRecall.toFixed(4)} | ${sparse.meanDensity.toFixed(4)} | ${sparse.recovered}/${sparse.heads} |

Target (issue 3): sparse >= 3x faster than dense at 16K: ${t.speedup >= 3 ? 'met' : 'NOT met'}.`;

log(`wrote the CPU section of ${writeResultsSection('cpu', 'bench/cpu.js', section)}`);
