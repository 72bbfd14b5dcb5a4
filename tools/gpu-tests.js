#!/usr/bin/env node
// GPU tests of the CUDA backend (npm run test:gpu, on a machine with an NVIDIA GPU). Every kernel
// runs on fresh random inputs (N not a multiple of 64, GQA 1:1 and 4:1, D 64, 96 and 128, F16 and BF16)
// and is compared with the CPU backend of the same addon and with a float64 reference; indexes
// must equal the CPU ones bit for bit where both chose the same top-k (and the top-k agreement
// is reported), and the GPU's top-k itself (Vertical-Slash columns and offsets, Block-Sparse
// blocks) must be a top-k of the float64 estimate, near-ties aside. The CUDA code NaN-fills its outputs before each run, so an unwritten element fails.
// Both kernel paths run: the default (wgmma where the build and card allow; its sparse checks also
// with each step width of the Hopper kernel fixed, SPARSESCOPE_HOPPER_STEP_KEYS) and the portable
// mma.sync one (SPARSESCOPE_CUDA_PATH=portable). SPARSESCOPE_ADDON overrides the addon's path.
// Plain Node ESM without dependencies: loads native/build/Release/sparsescope.node directly.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { convertVerticalSlash, listIndex } from '../bench/gpu_index.js';
import { xattentionMasses } from '../test/native/xattention-masses.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = process.env.SPARSESCOPE_ADDON ?? path.join(root, 'native/build/Release/sparsescope.node');
const native = createRequire(import.meta.url)(path.resolve(addonPath));

const seed = Number(process.env.SEED ?? randomInt(2 ** 31));
let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed += 1;
  else failed += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `  ${detail}` : ''}`);
}

// The capture helper against its independent reference (tools/capture_check.py, PyTorch on the
// GPU); its counts join ours. SKIP_CAPTURE_CHECK=1 leaves it out.
function captureHelperCheck() {
  if (process.env.SKIP_CAPTURE_CHECK === '1') return;
  const run = spawnSync(process.env.PYTHON ?? 'python3', [path.join(root, 'tools/capture_check.py')], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  for (const line of output.split('\n')) if (/^(ok|FAIL) /.test(line)) console.log(`${line} [capture_hf]`);
  const counts = /^(\d+) passed, (\d+) failed$/m.exec(run.stdout ?? '');
  if (!counts) return check('capture_hf check ran', false, output.slice(-2000));
  passed += Number(counts[1]);
  failed += Number(counts[2]);
}

// ------------------------------------------------------------------ random inputs

function mulberry32(state) {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(seed);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function toBf16(value) {
  f32[0] = value;
  const bits = u32[0];
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff; // round to nearest even
}
function fromBf16(bits) {
  u32[0] = bits << 16;
  return f32[0];
}
function toF16(value) {
  f32[0] = value;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  let mantissa = bits & 0x7fffff;
  if (exponent <= 0) return sign; // inputs here are far from the subnormal range
  if (exponent >= 31) return sign | 0x7c00;
  let half = sign | (exponent << 10) | (mantissa >>> 13);
  mantissa &= 0x1fff;
  if (mantissa > 0x1000 || (mantissa === 0x1000 && half & 1)) half += 1;
  return half;
}
function fromF16(bits) {
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  const magnitude = exponent === 0 ? mantissa * 2 ** -24 : (1 + mantissa / 1024) * 2 ** (exponent - 15);
  return bits & 0x8000 ? -magnitude : magnitude;
}

// A tensor of `count` values drawn by `draw`, as raw bytes of `dtype` plus its float64 values.
function tensor(dtype, count, draw) {
  const bits = new Uint16Array(count);
  const values = new Float64Array(count);
  const encode = dtype === 'BF16' ? toBf16 : toF16;
  const decode = dtype === 'BF16' ? fromBf16 : fromF16;
  for (let i = 0; i < count; i += 1) {
    bits[i] = encode(draw(i));
    values[i] = decode(bits[i]);
  }
  return { bytes: new Uint8Array(bits.buffer), values };
}

// Q/K/V with some structure (a sink key, a few salient keys, local preference) so that the
// estimate has clear winners as well as near-ties.
function makeInputs({ dtype, heads, kvHeads, seqLen, headDim }) {
  const salient = new Set([0, 7, Math.floor(seqLen / 3), seqLen - 5]);
  const q = tensor(dtype, heads * seqLen * headDim, () => gaussian() * 1.5);
  const k = tensor(dtype, kvHeads * seqLen * headDim, (i) => {
    const row = Math.floor(i / headDim) % seqLen;
    return gaussian() + (salient.has(row) ? 2.5 : 0);
  });
  const v = tensor(dtype, kvHeads * seqLen * headDim, () => gaussian());
  const inputs = { dtype, numHeads: heads, numKvHeads: kvHeads, seqLen, headDim, q: q.bytes, k: k.bytes, v: v.bytes };
  return { inputs, values: { q: q.values, k: k.values, v: v.values } };
}

// ------------------------------------------------------------------ float64 references

// The keys row i of head h computes under `index` (null: dense causal), ascending.
function keySet(index, head, row) {
  if (!index) return Array.from({ length: row + 1 }, (_, j) => j);
  const slot = head * index.numBlocks + Math.floor(row / 64);
  const keys = new Set();
  const [nInit, nLocal] = [index.window[2 * head], index.window[2 * head + 1]];
  const allowed = (j) => j <= row && j < index.seqLen && (nInit < 0 || j < nInit || j > row - nLocal);
  for (let t = index.tileOffsets[slot]; t < index.tileOffsets[slot + 1]; t += 1)
    for (let j = index.tileStarts[t]; j < index.tileStarts[t] + 64; j += 1) if (allowed(j)) keys.add(j);
  for (let c = index.colOffsets[slot]; c < index.colOffsets[slot + 1]; c += 1)
    if (allowed(index.columns[c])) keys.add(index.columns[c]);
  return [...keys].sort((a, b) => a - b);
}

const kvHeadOf = ({ numHeads, numKvHeads }, head) => Math.floor(head / (numHeads / numKvHeads));

// Scaled scores q_i . k_j / sqrt(D) of row i of head h over `keys`.
function rowScores(case_, head, row, keys) {
  const { seqLen, headDim } = case_.inputs;
  const { q, k } = case_.values;
  const kvHead = kvHeadOf(case_.inputs, head);
  const scale = 1 / Math.sqrt(headDim);
  const qOffset = (head * seqLen + row) * headDim;
  return keys.map((j) => {
    const kOffset = (kvHead * seqLen + j) * headDim;
    let dot = 0;
    for (let d = 0; d < headDim; d += 1) dot += q[qOffset + d] * k[kOffset + d];
    return dot * scale;
  });
}

// out [D], lse, and recall against `denseLse` of row i of head h over `keys`.
function referenceRow(case_, head, row, keys) {
  const { seqLen, headDim } = case_.inputs;
  const { v } = case_.values;
  const kvHead = kvHeadOf(case_.inputs, head);
  const scores = rowScores(case_, head, row, keys);
  const max = Math.max(...scores);
  const weights = scores.map((s) => Math.exp(s - max));
  const sum = weights.reduce((a, b) => a + b, 0);
  const out = new Float64Array(headDim);
  keys.forEach((j, n) => {
    const vOffset = (kvHead * seqLen + j) * headDim;
    for (let d = 0; d < headDim; d += 1) out[d] += (weights[n] / sum) * v[vOffset + d];
  });
  return { out, lse: max + Math.log(sum) };
}

function sampleRows(seqLen, count) {
  const rows = new Set([0, 1, 63, 64, seqLen - 1, seqLen - 2]);
  while (rows.size < Math.min(count, seqLen)) rows.add(Math.floor(random() * seqLen));
  return Int32Array.from([...rows].filter((r) => r < seqLen).sort((a, b) => a - b));
}

function relativeError(actual, expected) {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i += 1) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return Math.sqrt(diff / Math.max(norm, 1e-30));
}
const hasNaN = (array) => array.some((x) => Number.isNaN(x));
const fmt = (x) => x.toExponential(2);

// Compares an attention result over `rows` (given to the op) with the float64 reference.
function compareAttention(name, case_, result, index, rows) {
  const { numHeads, headDim } = case_.inputs;
  const expectedOut = [];
  const expectedLse = [];
  for (let h = 0; h < numHeads; h += 1)
    for (const row of rows) {
      const reference = referenceRow(case_, h, row, keySet(index, h, row));
      expectedOut.push(...reference.out);
      expectedLse.push(reference.lse);
    }
  const outError = relativeError(result.out, expectedOut);
  let lseError = 0;
  expectedLse.forEach((lse, r) => (lseError = Math.max(lseError, Math.abs(result.lse[r] - lse))));
  const ok = !hasNaN(result.out) && !hasNaN(result.lse) && result.out.length === expectedOut.length && outError < 1e-2 && lseError < 2e-3;
  check(name, ok, `out rel err ${fmt(outError)}, lse max err ${fmt(lseError)} (D=${headDim})`);
}

// ------------------------------------------------------------------ index references

// Element by element, bit for bit on floats too (NaN equals NaN, -0 differs from 0).
const sameArray = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
const headSlice = (offsets, values, h) => values.slice(offsets[h], offsets[h + 1]);

// The Vertical-Slash estimate of spec 2.1 in float64: column and diagonal scores summed over the
// last min(lastQ, N) rows of the causal softmax.
function referenceEstimate(case_, head, lastQ) {
  const { seqLen } = case_.inputs;
  const vertical = new Float64Array(seqLen);
  const slash = new Float64Array(seqLen);
  for (let i = seqLen - Math.min(lastQ, seqLen); i < seqLen; i += 1) {
    const keys = keySet(null, head, i);
    const scores = rowScores(case_, head, i, keys);
    const max = Math.max(...scores);
    const sum = scores.reduce((total, s) => total + Math.exp(s - max), 0);
    keys.forEach((j, n) => {
      const p = Math.exp(scores[n] - max) / sum;
      vertical[j] += p;
      slash[i - j] += p;
    });
  }
  return { vertical, slash };
}

// Why `chosen` is not a top-`count` of `scores` (the first `forced` indices always kept), or null.
// Near-ties within TOP_K_TOLERANCE may go either way: fp32 sums on the GPU are not float64 ones
// (the CPU backend's choices pass with 1e-6; real gaps between scores are far larger).
const TOP_K_TOLERANCE = 1e-5;
function topKProblem(chosen, scores, count, forced) {
  if (chosen.length !== count) return `${chosen.length} chosen, expected ${count}`;
  const picked = new Set(chosen);
  const mustKeep = Math.min(forced, count, scores.length);
  for (let i = 0; i < mustKeep; i += 1) if (!picked.has(i)) return `forced ${i} left out`;
  let lowestChosen = Infinity;
  let highestLeft = -Infinity;
  scores.forEach((score, i) => {
    if (i < forced) return;
    if (picked.has(i)) lowestChosen = Math.min(lowestChosen, score);
    else highestLeft = Math.max(highestLeft, score);
  });
  return highestLeft > lowestChosen + TOP_K_TOLERANCE ? `left out a score of ${fmt(highestLeft)} over a chosen ${fmt(lowestChosen)}` : null;
}

// Checks the GPU's own top-k choices against the float64 estimate: Vertical-Slash columns and
// offsets, and Block-Sparse key blocks by pooled score (not only the index built from them).
function checkTopK(name, case_, patterns, index, lastQ = 64) {
  const { seqLen } = case_.inputs;
  const problems = [];
  for (let h = 0; h < case_.inputs.numHeads; h += 1) {
    const [pattern, a, b] = patterns.slice(3 * h, 3 * h + 3);
    if (pattern === PATTERN.vs) {
      const { vertical, slash } = referenceEstimate(case_, h, lastQ);
      const vProblem = topKProblem(headSlice(index.verticalOffsets, index.verticals, h), vertical, Math.min(seqLen, Math.max(a, 30)), 30);
      const sProblem = topKProblem(headSlice(index.slashOffsets, index.slashes, h), slash, Math.min(seqLen, Math.max(b, 50)), 100);
      if (vProblem) problems.push(`head ${h} verticals: ${vProblem}`);
      if (sProblem) problems.push(`head ${h} slashes: ${sProblem}`);
    } else if (pattern === PATTERN.block) {
      const blockProblem = blockTopKProblem(case_, h, index, a);
      if (blockProblem) problems.push(`head ${h} blocks: ${blockProblem}`);
    }
  }
  check(name, problems.length === 0, problems.slice(0, 3).join('; '));
}

// Mean of rows [64m, min(64m + 64, N)) of head h of a [heads, N, D] float64 tensor.
function pooledRow(values, head, m, { seqLen, headDim }) {
  const mean = new Float64Array(headDim);
  const end = Math.min(64 * m + 64, seqLen);
  for (let i = 64 * m; i < end; i += 1) for (let d = 0; d < headDim; d += 1) mean[d] += values[(head * seqLen + i) * headDim + d] / (end - 64 * m);
  return mean;
}

// Why query block m's key blocks (its tiles) are not the top-k by pooled score, diagonal kept, or null.
function blockTopKProblem(case_, head, index, topK) {
  for (let m = 0; m < index.numBlocks; m += 1) {
    const pooledQ = pooledRow(case_.values.q, head, m, case_.inputs);
    const scores = Array.from({ length: m + 1 }, (_, n) => {
      const pooledK = pooledRow(case_.values.k, kvHeadOf(case_.inputs, head), n, case_.inputs);
      return n === m ? Infinity : pooledQ.reduce((dot, x, d) => dot + x * pooledK[d], 0);
    });
    // Diagonal first, so topKProblem's forced index is it.
    const reordered = [scores[m], ...scores.slice(0, m)];
    const chosen = Array.from(blockSlice(index, head, m).tiles, (start) => (start / 64 === m ? 0 : start / 64 + 1));
    const problem = topKProblem(chosen, reordered, Math.min(m + 1, Math.max(topK, 1)), 1);
    if (problem) return `query block ${m}: ${problem}`;
  }
  return null;
}

function blockSlice(index, h, m) {
  const slot = h * index.numBlocks + m;
  return {
    tiles: index.tileStarts.slice(index.tileOffsets[slot], index.tileOffsets[slot + 1]),
    columns: index.columns.slice(index.colOffsets[slot], index.colOffsets[slot + 1]),
  };
}

function sameHeadIndex(a, b, h) {
  for (let m = 0; m < a.numBlocks; m += 1) {
    const x = blockSlice(a, h, m);
    const y = blockSlice(b, h, m);
    if (!sameArray(x.tiles, y.tiles) || !sameArray(x.columns, y.columns)) return false;
  }
  return a.density[h] === b.density[h] && a.window[2 * h] === b.window[2 * h] && a.window[2 * h + 1] === b.window[2 * h + 1];
}

// ------------------------------------------------------------------ the tests

const PATTERN = { dense: 0, vs: 1, stream: 2, block: 3 };

// The Hopper kernel runs sparse lists with 64- or 128-key steps, chosen per KV-head group from the
// index: on the default path the sparse checks run as chosen ('') and with each width fixed
// (SPARSESCOPE_HOPPER_STEP_KEYS), so both instances see every case.
const stepWidthsOf = (kernelPath) => (kernelPath === 'default' ? ['', '64', '128'] : ['']);
function patternsFor(heads, seqLen) {
  const choices = [
    [PATTERN.vs, 100, 200],
    [PATTERN.vs, 30, 50],
    [PATTERN.stream, 100, 200],
    [PATTERN.block, 3, 0],
    [PATTERN.vs, 500, 1000],
    [PATTERN.dense, 0, 0],
    [PATTERN.stream, 0, Math.min(seqLen, 90)],
    [PATTERN.vs, 1000, 6096],
  ];
  const patterns = new Int32Array(heads * 3);
  for (let h = 0; h < heads; h += 1) patterns.set(choices[h % choices.length], 3 * h);
  return patterns;
}

const topKStats = { heads: 0, verticalDiffer: 0, slashDiffer: 0 };

// Rows `rows` of every head of an all-rows result [H][N][width].
function pickRows(array, width, numHeads, seqLen, rows) {
  const picked = [];
  for (let h = 0; h < numHeads; h += 1)
    for (const r of rows) picked.push(...array.subarray((h * seqLen + r) * width, (h * seqLen + r + 1) * width));
  return Float32Array.from(picked);
}

async function runCase(shape, kernelPath) {
  const label = `${shape.dtype} N=${shape.seqLen} H=${shape.heads}/${shape.kvHeads} D=${shape.headDim} [${kernelPath}]`;
  const case_ = makeInputs(shape);
  const { inputs } = case_;
  const rows = sampleRows(shape.seqLen, 24);

  // Dense: all rows (checked on samples) and a row selection.
  const denseAll = await native.denseAttention(inputs, { backend: 'cuda' });
  const pick = (array, width) => pickRows(array, width, shape.heads, shape.seqLen, rows);
  check(`dense all rows written ${label}`, !hasNaN(denseAll.out) && !hasNaN(denseAll.lse));
  compareAttention(`dense vs float64 ${label}`, case_, { out: pick(denseAll.out, shape.headDim), lse: pick(denseAll.lse, 1) }, null, rows);
  const denseRows = await native.denseAttention(inputs, { backend: 'cuda', rows });
  compareAttention(`dense rows vs float64 ${label}`, case_, denseRows, null, rows);
  const denseCpu = await native.denseAttention(inputs, { backend: 'cpu', rows });
  const cpuError = relativeError(denseRows.out, denseCpu.out);
  check(`dense vs CPU ${label}`, cpuError < 1e-2, `rel err ${fmt(cpuError)}`);

  // Index: GPU vs CPU.
  const patterns = patternsFor(shape.heads, shape.seqLen);
  const gpuIndex = await native.buildIndex(inputs, patterns, { backend: 'cuda' });
  const cpuIndex = await native.buildIndex(inputs, patterns, { backend: 'cpu' });
  let identical = true;
  let conversionOk = true;
  for (let h = 0; h < shape.heads; h += 1) {
    const isVs = patterns[3 * h] === PATTERN.vs;
    if (isVs) {
      topKStats.heads += 1;
      const gpuV = headSlice(gpuIndex.verticalOffsets, gpuIndex.verticals, h);
      const gpuS = headSlice(gpuIndex.slashOffsets, gpuIndex.slashes, h);
      const sameV = sameArray(gpuV, headSlice(cpuIndex.verticalOffsets, cpuIndex.verticals, h));
      const sameS = sameArray(gpuS, headSlice(cpuIndex.slashOffsets, cpuIndex.slashes, h));
      if (!sameV) topKStats.verticalDiffer += 1;
      if (!sameS) topKStats.slashDiffer += 1;
      for (let m = 0; m < gpuIndex.numBlocks; m += 1) {
        const expected = convertVerticalSlash(gpuV, gpuS, m);
        const actual = blockSlice(gpuIndex, h, m);
        if (!sameArray(actual.tiles, expected.tiles) || !sameArray(actual.columns, expected.columns)) conversionOk = false;
      }
      if (sameV && sameS && !sameHeadIndex(gpuIndex, cpuIndex, h)) identical = false;
    } else if (!sameHeadIndex(gpuIndex, cpuIndex, h)) identical = false;
  }
  check(`index equals CPU bit for bit (same top-k) ${label}`, identical);
  check(`index conversion of the GPU top-k matches the reference ${label}`, conversionOk);
  checkTopK(`GPU top-k (verticals, slashes, blocks) vs float64 estimate ${label}`, case_, patterns, gpuIndex);

  // Sparse attention and recall on the CPU's index (identical kernels' input for both backends).
  const sparseCpu = await native.sparseAttention(inputs, cpuIndex, { backend: 'cpu', rows });
  for (const stepKeys of stepWidthsOf(kernelPath)) {
    process.env.SPARSESCOPE_HOPPER_STEP_KEYS = stepKeys;
    const sparseLabel = stepKeys ? `${label} steps ${stepKeys}` : label;
    const sparse = await native.sparseAttention(inputs, cpuIndex, { backend: 'cuda', rows });
    compareAttention(`sparse vs float64 ${sparseLabel}`, case_, sparse, cpuIndex, rows);
    // All rows run the kernel with several query blocks per CTA sharing their lists' chunks.
    const sparseAll = await native.sparseAttention(inputs, cpuIndex, { backend: 'cuda' });
    check(`sparse all rows written ${sparseLabel}`, !hasNaN(sparseAll.out) && !hasNaN(sparseAll.lse));
    compareAttention(`sparse all rows vs float64 ${sparseLabel}`, case_, { out: pick(sparseAll.out, shape.headDim), lse: pick(sparseAll.lse, 1) }, cpuIndex, rows);
    const sparseCpuError = relativeError(sparse.out, sparseCpu.out);
    check(`sparse vs CPU ${sparseLabel}`, sparseCpuError < 1e-2, `rel err ${fmt(sparseCpuError)}`);
  }
  process.env.SPARSESCOPE_HOPPER_STEP_KEYS = '';

  const recall = await native.recall(inputs, cpuIndex, { backend: 'cuda', rows, denseLse: denseRows.lse });
  const recallCpu = await native.recall(inputs, cpuIndex, { backend: 'cpu', rows, denseLse: denseRows.lse });
  let recallError = 0;
  let recallCpuError = 0;
  for (let h = 0; h < shape.heads; h += 1)
    rows.forEach((row, r) => {
      const dense = referenceRow(case_, h, row, keySet(null, h, row)).lse;
      const partial = referenceRow(case_, h, row, keySet(cpuIndex, h, row)).lse;
      const at = h * rows.length + r;
      recallError = Math.max(recallError, Math.abs(recall.recall[at] - Math.exp(partial - dense)));
      recallCpuError = Math.max(recallCpuError, Math.abs(recall.recall[at] - recallCpu.recall[at]));
    });
  check(`recall vs float64 ${label}`, !hasNaN(recall.recall) && recallError < 2e-3, `max err ${fmt(recallError)}`);
  check(`recall vs CPU ${label}`, recallCpuError < 2e-3, `max err ${fmt(recallCpuError)}`);

  // Pooled map of head 0 over a region, sampled rows, GPU vs CPU.
  const headInputs = {
    ...inputs,
    numHeads: 1,
    numKvHeads: 1,
    q: inputs.q.subarray(0, shape.seqLen * shape.headDim * 2),
    k: inputs.k.subarray(0, shape.seqLen * shape.headDim * 2),
    v: undefined,
  };
  const region = { rowStart: 10, rowEnd: shape.seqLen, colStart: 3, colEnd: shape.seqLen - 7, rows: 17, cols: 23 };
  for (const sample of [null, rows]) {
    const opts = { ...region, sampleRows: sample };
    const gpuMap = await native.pooledMap(headInputs, { backend: 'cuda', ...opts });
    const cpuMap = await native.pooledMap(headInputs, { backend: 'cpu', ...opts });
    const meanError = relativeError(gpuMap.mean, cpuMap.mean);
    const maxError = relativeError(gpuMap.max, cpuMap.max);
    check(
      `pooled map vs CPU (${sample ? 'sampled' : 'all'} rows) ${label}`,
      gpuMap.rowsUsed === cpuMap.rowsUsed && meanError < 1e-2 && maxError < 1e-2 && !hasNaN(gpuMap.mean),
      `mean rel err ${fmt(meanError)}, max rel err ${fmt(maxError)}, rows ${gpuMap.rowsUsed}`,
    );
  }
}

// A config's sparse_attention_last_q reaches the estimate: GPU and CPU agree with fewer rows.
async function lastQCase(kernelPath) {
  const shape = { dtype: 'BF16', heads: 4, kvHeads: 2, seqLen: 777, headDim: 128 };
  const case_ = makeInputs(shape);
  const { inputs } = case_;
  const patterns = new Int32Array(shape.heads * 3);
  for (let h = 0; h < shape.heads; h += 1) patterns.set([PATTERN.vs, 100 + 50 * h, 200], 3 * h);
  for (const lastQ of [1, 16, 63]) {
    const gpuIndex = await native.buildIndex(inputs, patterns, { backend: 'cuda', lastQ });
    const cpuIndex = await native.buildIndex(inputs, patterns, { backend: 'cpu', lastQ });
    let identical = true;
    for (let h = 0; h < shape.heads; h += 1) {
      const sameV = sameArray(headSlice(gpuIndex.verticalOffsets, gpuIndex.verticals, h), headSlice(cpuIndex.verticalOffsets, cpuIndex.verticals, h));
      const sameS = sameArray(headSlice(gpuIndex.slashOffsets, gpuIndex.slashes, h), headSlice(cpuIndex.slashOffsets, cpuIndex.slashes, h));
      topKStats.heads += 1;
      if (!sameV) topKStats.verticalDiffer += 1;
      if (!sameS) topKStats.slashDiffer += 1;
      if (sameV && sameS && !sameHeadIndex(gpuIndex, cpuIndex, h)) identical = false;
    }
    check(`index with lastQ ${lastQ} equals CPU bit for bit (same top-k) [${kernelPath}]`, identical);
    checkTopK(`GPU top-k with lastQ ${lastQ} vs float64 estimate [${kernelPath}]`, case_, patterns, gpuIndex, lastQ);
  }
}

// The conversion hands a block's ranges (Vertical-Slash) or chosen blocks (Block-Sparse) to its
// warp 32 at a time: a long layer with sparse, spread slashes gives blocks of more than 32 ranges
// and a top_k above 32 more than 32 blocks, so the rounds after the first are covered.
async function conversionRoundsCase() {
  const shape = { dtype: 'BF16', heads: 4, kvHeads: 2, seqLen: 16384, headDim: 128 };
  const { inputs } = makeInputs(shape);
  const patterns = Int32Array.from([PATTERN.vs, 1000, 400, PATTERN.block, 40, 0, PATTERN.vs, 300, 300, PATTERN.dense, 0, 0]);
  const gpuIndex = await native.buildIndex(inputs, patterns, { backend: 'cuda' });
  const cpuIndex = await native.buildIndex(inputs, patterns, { backend: 'cpu' });
  const lastBlock = gpuIndex.numBlocks - 1;
  let identical = true;
  let conversionOk = true;
  let mostRanges = 0;
  for (let h = 0; h < shape.heads; h += 1) {
    if (patterns[3 * h] !== PATTERN.vs) {
      if (!sameHeadIndex(gpuIndex, cpuIndex, h)) identical = false;
      continue;
    }
    const gpuV = headSlice(gpuIndex.verticalOffsets, gpuIndex.verticals, h);
    const gpuS = headSlice(gpuIndex.slashOffsets, gpuIndex.slashes, h);
    for (let m = 0; m < gpuIndex.numBlocks; m += 1) {
      const expected = convertVerticalSlash(gpuV, gpuS, m);
      const actual = blockSlice(gpuIndex, h, m);
      if (!sameArray(actual.tiles, expected.tiles) || !sameArray(actual.columns, expected.columns)) conversionOk = false;
    }
    const tiles = convertVerticalSlash(gpuV, gpuS, lastBlock).tiles;
    mostRanges = Math.max(mostRanges, tiles.filter((start, i) => i === 0 || start !== tiles[i - 1] + 64).length);
    const sameTopK = sameArray(gpuV, headSlice(cpuIndex.verticalOffsets, cpuIndex.verticals, h)) && sameArray(gpuS, headSlice(cpuIndex.slashOffsets, cpuIndex.slashes, h));
    if (sameTopK && !sameHeadIndex(gpuIndex, cpuIndex, h)) identical = false;
  }
  const chosenInLast = blockSlice(gpuIndex, 1, lastBlock).tiles.length;
  check('conversion rounds: the last block has more than 32 ranges and 32 chosen blocks', mostRanges > 32 && chosenInLast > 32, `ranges ${mostRanges}, chosen ${chosenInLast}`);
  check('conversion rounds: index equals CPU bit for bit (same top-k)', identical);
  check('conversion rounds: conversion of the GPU top-k matches the reference', conversionOk);
}

// ------------------------------------------------------------------ method estimates (issue 15)

// XAttention's block masses in float64 (test/native/xattention-masses.js), flat [M * M].
const xattentionMasses64 = (case_, head, stride, blockSize) => Float64Array.from(xattentionMasses(case_.inputs, case_.values.q, case_.values.k, head, stride, blockSize).flat());

// FlexPrefill's token scores (ops/flexprefill_index.h) in float64: the last B rows' softmax summed
// per key (vertical) and per offset (slash), divided by B.
function flexprefillScores64(case_, head, blockSize) {
  const { vertical, slash } = referenceEstimate(case_, head, blockSize);
  return { vertical: vertical.map((x) => x / blockSize), slash: slash.map((x) => x / blockSize) };
}

const ESTIMATE_TOLERANCE = 1e-5; // relative: fp32 probabilities (tensor-core sums, exp2f) vs float64
function compareEstimate(name, actual, expected) {
  const error = relativeError(actual, expected);
  check(name, actual.length === expected.length && !hasNaN(actual) && error < ESTIMATE_TOLERANCE, `rel err ${fmt(error)}`);
}

// The GPU's masses and token scores against float64 (and the CPU's against the same), N a
// multiple of neither the block nor the stride, blocks of fewer and of more than 64 groups.
async function methodEstimatesCase() {
  const xattentionShapes = [
    { dtype: 'BF16', heads: 4, kvHeads: 2, seqLen: 300, headDim: 128, stride: 8, blockSize: 128 },
    { dtype: 'F16', heads: 2, kvHeads: 1, seqLen: 333, headDim: 64, stride: 4, blockSize: 64 },
    { dtype: 'BF16', heads: 2, kvHeads: 2, seqLen: 400, headDim: 96, stride: 16, blockSize: 192 },
    { dtype: 'BF16', heads: 2, kvHeads: 1, seqLen: 290, headDim: 64, stride: 1, blockSize: 128 }, // 128 groups a block
    { dtype: 'F16', heads: 2, kvHeads: 1, seqLen: 700, headDim: 128, stride: 64, blockSize: 64 }, // one group a block
  ];
  for (const { stride, blockSize, ...shape } of xattentionShapes) {
    const case_ = makeInputs(shape);
    const head = shape.heads - 1; // its KV head is not 0
    const label = `${shape.dtype} N=${shape.seqLen} D=${shape.headDim} S=${stride} B=${blockSize} head ${head}`;
    const expected = xattentionMasses64(case_, head, stride, blockSize);
    for (const backend of ['cuda', 'cpu']) {
      const { masses } = await native.methodEstimate(case_.inputs, { backend, method: 'xattention', head, stride, blockSize });
      compareEstimate(`xattention masses (${backend}) vs float64 ${label}`, masses, expected);
    }
  }
  const flexprefillShapes = [
    { dtype: 'BF16', heads: 4, kvHeads: 2, seqLen: 300, headDim: 128, blockSize: 128 },
    { dtype: 'F16', heads: 2, kvHeads: 1, seqLen: 777, headDim: 96, blockSize: 256 },
    { dtype: 'BF16', heads: 2, kvHeads: 2, seqLen: 1100, headDim: 64, blockSize: 1024 },
    { dtype: 'F16', heads: 2, kvHeads: 1, seqLen: 128, headDim: 64, blockSize: 128 }, // N = B
  ];
  for (const { blockSize, ...shape } of flexprefillShapes) {
    const case_ = makeInputs(shape);
    const head = shape.heads - 1;
    const label = `${shape.dtype} N=${shape.seqLen} D=${shape.headDim} B=${blockSize} head ${head}`;
    const expected = flexprefillScores64(case_, head, blockSize);
    for (const backend of ['cuda', 'cpu']) {
      const { vertical, slash } = await native.methodEstimate(case_.inputs, { backend, method: 'flexprefill', head, blockSize });
      compareEstimate(`flexprefill vertical scores (${backend}) vs float64 ${label}`, vertical, expected.vertical);
      compareEstimate(`flexprefill slash scores (${backend}) vs float64 ${label}`, slash, expected.slash);
    }
  }
}

// Kept key blocks of each method block of head h, read back from the index's tiles.
function keptBlocks(index, h, blockSize) {
  return Array.from({ length: Math.ceil(index.seqLen / blockSize) }, (_, m) => [...new Set(Array.from(blockSlice(index, h, (m * blockSize) / 64).tiles, (start) => Math.floor(start / blockSize)))]);
}

// Why `kept` (per query block) is not XAttention's choice for the float64 masses, or null. The
// comparisons the choice makes (mass against mass in the descending order, the cumulative mass
// against tau times the row's total) may go either way within TOP_K_TOLERANCE of the row's total:
// fp32 probabilities on the GPU are not the CPU's.
function xattentionChoiceProblem(kept, masses, blocks, thresholdThousandths) {
  for (let m = 0; m < blocks; m += 1) {
    const row = masses.subarray(m * blocks, m * blocks + m + 1);
    const total = row.reduce((a, b) => a + b, 0);
    const tol = TOP_K_TOLERANCE * total;
    const required = (total * thresholdThousandths) / 1000;
    const chosen = new Set(kept[m]);
    if (!chosen.has(0) || !chosen.has(m)) return `query block ${m}: first or diagonal block left out`;
    const others = [...chosen].filter((n) => n !== 0 && n !== m).sort((a, b) => row[b] - row[a]);
    const leftOut = Array.from({ length: Math.max(0, m - 1) }, (_, i) => i + 1).filter((n) => !chosen.has(n));
    const lowest = others.length ? row[others[others.length - 1]] : Infinity;
    if (leftOut.some((n) => row[n] > lowest + tol)) return `query block ${m}: a heavier block left out`;
    let cumulative = row[0] + (m > 0 ? row[m] : 0);
    for (const n of others) {
      if (cumulative >= required + tol) return `query block ${m}: block ${n} kept past the threshold`;
      cumulative += row[n];
    }
    if (leftOut.length && cumulative < required - tol) return `query block ${m}: stopped below the threshold`;
  }
  return null;
}

// XAttention and FlexPrefill heads among MInference's on the CUDA backend: the index equals the
// CPU builder's (ops/xattention_index.h, flexprefill_index.h), and recall over it is the CPU's.
// An XAttention head may differ where its choice is right for the float64 masses up to near-ties
// (xattention_estimate.cu); FlexPrefill heads must equal the CPU's (these inputs decide far from ties).
// `slabBlocks`: SPARSESCOPE_XATTENTION_SLAB_BLOCKS, so the masses come in several slabs a head
// (each not a multiple of every head's CTA) as they do at 1M tokens.
async function methodsCase(kernelPath, slabBlocks = '') {
  const shape = { dtype: 'BF16', heads: 8, kvHeads: 2, seqLen: 1500, headDim: 128 };
  const case_ = makeInputs(shape);
  const { inputs } = case_;
  const [XATTENTION, FLEXPREFILL] = [4, 5];
  const choices = [[XATTENTION, 900, 8], [PATTERN.vs, 100, 200], [FLEXPREFILL, 900, 100], [XATTENTION, 500, 16], [PATTERN.block, 3, 0], [FLEXPREFILL, 950, 1000], [XATTENTION, 1000, 4], [PATTERN.stream, 100, 200]];
  const patterns = Int32Array.from(choices.flat());
  for (const opts of [{}, { xattentionBlockSize: 64, flexprefillBlockSize: 256, flexprefillMinBudget: 0 }]) {
    process.env.SPARSESCOPE_XATTENTION_SLAB_BLOCKS = slabBlocks;
    const gpuIndex = await native.buildIndex(inputs, patterns, { backend: 'cuda', ...opts }).finally(() => {
      process.env.SPARSESCOPE_XATTENTION_SLAB_BLOCKS = '';
    });
    const cpuIndex = await native.buildIndex(inputs, patterns, { backend: 'cpu', ...opts });
    const differing = choices.flatMap(([id], h) => (id >= XATTENTION && !sameHeadIndex(gpuIndex, cpuIndex, h) ? [h] : []));
    const blockSize = opts.xattentionBlockSize ?? 128;
    const blocks = Math.ceil(shape.seqLen / blockSize);
    const unexplained = differing.flatMap((h) => {
      const [id, threshold, stride] = choices[h];
      if (id !== XATTENTION) return [`head ${h}: flexprefill`];
      const problem = xattentionChoiceProblem(keptBlocks(gpuIndex, h, blockSize), xattentionMasses64(case_, h, stride, blockSize), blocks, threshold);
      return problem ? [`head ${h}: ${problem}`] : [];
    });
    check(`xattention / flexprefill heads equal the CPU's (xattention near-ties aside) ${JSON.stringify(opts)}${slabBlocks ? ` slabs of ${slabBlocks}` : ''} [${kernelPath}]`, unexplained.length === 0, `differing heads ${differing}; ${unexplained.join('; ')}`);
    const rows = Int32Array.from(sampleRows(shape.seqLen, 16));
    const denseLse = (await native.denseAttention(inputs, { backend: 'cuda', rows })).lse;
    const gpuRecall = (await native.recall(inputs, gpuIndex, { backend: 'cuda', rows, denseLse })).recall;
    const cpuRecall = (await native.recall(inputs, cpuIndex, { backend: 'cpu', rows, denseLse })).recall;
    const worst = gpuRecall.reduce((max, r, i) => Math.max(max, Math.abs(r - cpuRecall[i])), 0);
    check(`recall over method indexes matches the CPU's ${JSON.stringify(opts)}${slabBlocks ? ` slabs of ${slabBlocks}` : ''} [${kernelPath}]`, worst < 1e-4, fmt(worst));
  }
}

// The Block-Sparse choice past 327,680 tokens (5120 blocks), where 8 query blocks' scores no longer
// fit in shared memory and go to a global scratch, several launches a head (block_select.cu): the
// blocks chosen must equal the CPU's, at a length that takes that path by itself and, with
// SPARSESCOPE_BLOCK_SELECT_SLAB_GROUPS, at a short one in two launches, the second short.
async function blockSparseLongCase() {
  const cases = [
    { shape: { dtype: 'BF16', heads: 2, kvHeads: 1, seqLen: 330_000, headDim: 64 }, slabGroups: '', topK: [7, 40] },
    { shape: { dtype: 'F16', heads: 4, kvHeads: 2, seqLen: 4000, headDim: 128 }, slabGroups: '3', topK: [3, 1, 63, 10] },
  ];
  for (const { shape, slabGroups, topK } of cases) {
    const { inputs } = makeInputs(shape);
    const patterns = Int32Array.from(topK.flatMap((k) => [PATTERN.block, k, 0]));
    process.env.SPARSESCOPE_BLOCK_SELECT_SLAB_GROUPS = slabGroups;
    const gpuIndex = await native.buildIndex(inputs, patterns, { backend: 'cuda' }).finally(() => {
      process.env.SPARSESCOPE_BLOCK_SELECT_SLAB_GROUPS = '';
    });
    const cpuIndex = await native.buildIndex(inputs, patterns, { backend: 'cpu' });
    const differing = topK.flatMap((_, h) => (sameHeadIndex(gpuIndex, cpuIndex, h) ? [] : [h]));
    check(`Block-Sparse choice from global scores equals the CPU's N=${shape.seqLen} D=${shape.headDim}${slabGroups ? `, ${slabGroups} thread blocks a head per launch` : ''}`, differing.length === 0, `differing heads ${differing}`);
  }
}

async function rejects(name, promise, pattern) {
  try {
    await promise;
    check(name, false, 'resolved');
  } catch (error) {
    check(name, pattern.test(error.message), error.message);
  }
}

// Neighbouring query blocks (which one CTA of the Hopper kernel computes together) with different
// lists, so that each block sits out long runs of the other's chunks: the kernel must hand back
// the stage it holds in time (else it hangs) and alternate the loose columns of the two lists.
// `allTiles`: even blocks take every tile up to the diagonal and no columns; otherwise their
// last two tiles and every fifth earlier key. Odd blocks: the diagonal tile and every third earlier key.
async function unevenListsCase(kernelPath, allTiles, headDim, stepKeys) {
  const shape = { dtype: 'BF16', heads: 4, kvHeads: 2, seqLen: 3000, headDim };
  const label = `${allTiles ? 'tiles vs columns' : 'columns vs columns'} N=${shape.seqLen} D=${headDim}${stepKeys ? ` steps ${stepKeys}` : ''} [${kernelPath}]`;
  const case_ = makeInputs(shape);
  const keysBefore = (end, step) => Array.from({ length: Math.max(0, Math.ceil(end / step)) }, (_, i) => i * step);
  const index = listIndex(shape.heads, shape.seqLen, (m) => {
    if (m % 2 === 1) return { tiles: [m * 64], columns: keysBefore(m * 64, 3) };
    if (allTiles) return { tiles: Array.from({ length: m + 1 }, (_, t) => t * 64), columns: [] };
    return { tiles: m > 0 ? [(m - 1) * 64, m * 64] : [0], columns: keysBefore((m - 1) * 64, 5) };
  });
  const rows = sampleRows(shape.seqLen, 24);
  process.env.SPARSESCOPE_HOPPER_STEP_KEYS = stepKeys;
  const all = await native.sparseAttention(case_.inputs, index, { backend: 'cuda' }).finally(() => {
    process.env.SPARSESCOPE_HOPPER_STEP_KEYS = '';
  });
  check(`uneven lists, all rows written ${label}`, !hasNaN(all.out) && !hasNaN(all.lse));
  const pick = (array, width) => pickRows(array, width, shape.heads, shape.seqLen, rows);
  compareAttention(`uneven lists vs float64 ${label}`, case_, { out: pick(all.out, shape.headDim), lse: pick(all.lse, 1) }, index, rows);
}

// Inputs kept on the device (residentInputs, what the search does per head) give every op the
// results of a call that uploads them, bit for bit; a released or foreign handle is refused.
async function residentCase() {
  const shape = { dtype: 'BF16', heads: 4, kvHeads: 2, seqLen: 1000, headDim: 128 };
  const { inputs } = makeInputs(shape);
  const resident = native.residentInputs(inputs);
  const onDevice = { ...inputs, resident };
  const rows = sampleRows(shape.seqLen, 40);
  const patterns = patternsFor(shape.heads, shape.seqLen);
  const ops = [
    ['dense', (x) => native.denseAttention(x, { backend: 'cuda', rows }), (r) => [r.out, r.lse]],
    ['index', (x) => native.buildIndex(x, patterns, { backend: 'cuda' }), (r) => [r.tileStarts, r.columns, r.verticals, r.slashes, r.density]],
  ];
  for (const [name, run, parts] of ops) {
    const [uploaded, held] = [parts(await run(inputs)), parts(await run(onDevice))];
    check(`resident inputs: ${name} equals the uploading call`, uploaded.every((array, i) => sameArray(array, held[i])));
  }
  const index = await native.buildIndex(inputs, patterns, { backend: 'cuda' });
  const sparse = [await native.sparseAttention(inputs, index, { backend: 'cuda', rows }), await native.sparseAttention(onDevice, index, { backend: 'cuda', rows })];
  check('resident inputs: sparse equals the uploading call', sameArray(sparse[0].out, sparse[1].out) && sameArray(sparse[0].lse, sparse[1].lse));
  const denseLse = (await native.denseAttention(inputs, { backend: 'cuda', rows })).lse;
  const recalls = [await native.recall(inputs, index, { backend: 'cuda', rows, denseLse }), await native.recall(onDevice, index, { backend: 'cuda', rows, denseLse })];
  check('resident inputs: recall equals the uploading call', sameArray(recalls[0].recall, recalls[1].recall));
  const one = { ...inputs, numHeads: 1, numKvHeads: 1, q: inputs.q.subarray(0, inputs.q.length / 4), k: inputs.k.subarray(0, inputs.k.length / 2), v: undefined };
  const oneResident = native.residentInputs(one);
  const map = (x) => native.pooledMap(x, { backend: 'cuda', rowStart: 0, rowEnd: 1000, colStart: 0, colEnd: 1000, rows: 50, cols: 50, sampleRows: null });
  const maps = [await map(one), await map({ ...one, resident: oneResident })];
  // Cells sum their rows with float atomics, in no fixed order: the mean agrees to rounding, the max exactly.
  check('resident inputs: pooled map equals the uploading call', relativeError(maps[1].mean, maps[0].mean) < 1e-6 && sameArray(maps[0].max, maps[1].max), `mean rel err ${fmt(relativeError(maps[1].mean, maps[0].mean))}`);
  await rejects('resident inputs: another shape is refused', Promise.resolve().then(() => native.denseAttention({ ...one, v: one.k, resident }, { backend: 'cuda' })), /another shape or dtype/);
  await rejects('resident inputs: values wanted but not resident are refused', Promise.resolve().then(() => native.denseAttention({ ...one, v: one.k, resident: oneResident }, { backend: 'cuda' })), /has no v/);
  native.releaseResident(resident);
  native.releaseResident(oneResident);
  await rejects('resident inputs: a released handle is refused', Promise.resolve().then(() => native.denseAttention(onDevice, { backend: 'cuda' })), /was released/);
}

// outputError on the device (dense and sparse in chunks of rows, only sums back) equals the error of
// the outputs the attention ops return, on the device's own outputs and, to kernel rounding, the CPU's.
async function outputErrorCase() {
  const shape = { dtype: 'BF16', heads: 4, kvHeads: 2, seqLen: 3000, headDim: 128 };
  const { inputs } = makeInputs(shape);
  const rows = sampleRows(shape.seqLen, 300);
  const index = await native.buildIndex(inputs, patternsFor(shape.heads, shape.seqLen), { backend: 'cuda' });
  const dense = await native.denseAttention(inputs, { backend: 'cuda', rows });
  const sparse = await native.sparseAttention(inputs, index, { backend: 'cuda', rows });
  const length = rows.length * shape.headDim;
  const expected = Array.from({ length: shape.heads }, (_, h) => relativeError(sparse.out.subarray(h * length, (h + 1) * length), dense.out.subarray(h * length, (h + 1) * length)));
  for (const chunkRows of [undefined, 7]) {
    const { relError } = await native.outputError(inputs, index, { backend: 'cuda', rows, ...(chunkRows ? { chunkRows } : {}) });
    const worst = Math.max(...expected.map((e, h) => Math.abs(relError[h] - e) / Math.max(e, 1e-6)));
    // A chunk of few rows may take another kernel path than the whole selection: rounding apart.
    check(`outputError (cuda${chunkRows ? `, ${chunkRows}-row chunks` : ''}) equals the error of the returned outputs`, worst < 2e-3, `worst relative gap ${fmt(worst)}; errors ${expected.map(fmt).join(', ')}`);
  }
  const cpu = await native.outputError(inputs, index, { backend: 'cpu', rows });
  const gap = Math.max(...expected.map((e, h) => Math.abs(cpu.relError[h] - e)));
  check('outputError: cuda and cpu agree', gap < 5e-3, `max abs gap ${fmt(gap)}`);
  const lseOnly = await native.denseAttention(inputs, { backend: 'cuda', rows, output: 'lse' });
  check("dense output 'lse' (cuda): the LSE alone, equal to the full call's", lseOnly.out.length === 0 && sameArray(lseOnly.lse, dense.lse));
}

// A dense call with output 'lse' on resident inputs (the exact probe's, for recall) keeps its output
// on the device, and outputError over the same rows reads it (denseKept) instead of a dense pass of
// its own: the same errors, whole or in chunks of rows, for a layer and for one head; over other
// rows, or on inputs that are not resident, it runs dense itself.
async function keptDenseCase() {
  const shape = { dtype: 'BF16', heads: 4, kvHeads: 2, seqLen: 5000, headDim: 128 };
  const { inputs } = makeInputs(shape);
  const rows = sampleRows(shape.seqLen, 400);
  const otherRows = rows.filter((_, r) => r % 2 === 0);
  const index = await native.buildIndex(inputs, patternsFor(shape.heads, shape.seqLen), { backend: 'cuda' });
  const headOne = { ...inputs, numHeads: 1, numKvHeads: 1, q: inputs.q.subarray(0, inputs.q.length / 4), k: inputs.k.subarray(0, inputs.k.length / 2), v: inputs.v.subarray(0, inputs.v.length / 2) };
  const headIndex = await native.buildIndex(headOne, Int32Array.from([PATTERN.vs, 100, 200]), { backend: 'cuda' });
  for (const [label, layer, layerIndex] of [['4 heads', inputs, index], ['one head', headOne, headIndex]]) {
    const resident = native.residentInputs(layer);
    try {
      const onDevice = { ...layer, resident };
      const plain = await native.outputError(layer, layerIndex, { backend: 'cuda', rows });
      check(`kept dense (${label}): inputs that are not resident run dense`, plain.denseKept === false);
      await native.denseAttention(onDevice, { backend: 'cuda', rows, output: 'lse' });
      for (const chunkRows of [undefined, 37]) {
        const kept = await native.outputError(onDevice, layerIndex, { backend: 'cuda', rows, ...(chunkRows ? { chunkRows } : {}) });
        const gap = Math.max(...Array.from(plain.relError, (e, h) => Math.abs(kept.relError[h] - e) / Math.max(e, 1e-6)));
        // Each row's output is the same kernel's either way; chunks of few rows may take another path.
        check(`kept dense (${label}${chunkRows ? `, ${chunkRows}-row chunks` : ''}): outputError reads the kept output, same errors`, kept.denseKept === true && gap < 2e-3, `denseKept ${kept.denseKept}, worst relative gap ${fmt(gap)}`);
      }
      const other = await native.outputError(onDevice, layerIndex, { backend: 'cuda', rows: otherRows });
      const otherPlain = await native.outputError(layer, layerIndex, { backend: 'cuda', rows: otherRows });
      check(`kept dense (${label}): other rows run dense`, other.denseKept === false && sameArray(other.relError, otherPlain.relError));
    } finally {
      native.releaseResident(resident);
    }
  }
}

// An index built for some rows (a search's sample) on the device: in their blocks the full index's
// lists, elsewhere none, the whole density, and the same recall on those rows; refused elsewhere.
async function indexForRowsCase() {
  const shape = { dtype: 'BF16', heads: 6, kvHeads: 2, seqLen: 5000, headDim: 128 };
  const { inputs } = makeInputs(shape);
  const patterns = Int32Array.from([1, 100, 600, 2, 64, 256, 3, 5, 0, 0, 0, 0, 4, 900, 8, 5, 950, 100]);
  const rows = sampleRows(shape.seqLen, 60);
  const full = await native.buildIndex(inputs, patterns, { backend: 'cuda' });
  const partial = await native.buildIndex(inputs, patterns, { backend: 'cuda', rows });
  const wanted = new Set(Array.from(rows, (row) => Math.floor(row / 64)));
  const list = (index, offsets, values, slot) => Array.from(index[values].subarray(index[offsets][slot], index[offsets][slot + 1])).join();
  let mismatched = 0;
  let emptied = 0;
  for (let slot = 0; slot < shape.heads * full.numBlocks; slot++) {
    const keep = wanted.has(slot % full.numBlocks);
    for (const [offsets, values] of [['tileOffsets', 'tileStarts'], ['colOffsets', 'columns']]) {
      const [whole, part] = [list(full, offsets, values, slot), list(partial, offsets, values, slot)];
      if (keep ? whole !== part : part !== '') mismatched++;
      if (!keep && whole !== '') emptied++;
    }
  }
  check('index for rows (cuda): the full lists in the rows\' blocks, none elsewhere', mismatched === 0 && emptied > 0, `${mismatched} lists differ, ${emptied} emptied`);
  check('index for rows (cuda): the whole index\'s density', sameArray(full.density, partial.density));
  const { lse: denseLse } = await native.denseAttention(inputs, { backend: 'cuda', rows, output: 'lse' });
  const recalls = [await native.recall(inputs, full, { backend: 'cuda', rows, denseLse }), await native.recall(inputs, partial, { backend: 'cuda', rows, denseLse })];
  check('index for rows (cuda): recall on its rows equals the full index\'s', sameArray(recalls[0].recall, recalls[1].recall));
  await rejects('index for rows (cuda): refused for all rows', Promise.resolve().then(() => native.sparseAttention(inputs, partial, { backend: 'cuda' })), /built for 60 rows/);
}

async function errorCases() {
  const { inputs } = makeInputs({ dtype: 'BF16', heads: 2, kvHeads: 1, seqLen: 100, headDim: 64 });
  await rejects('F32 input is refused with a message', native.denseAttention({ ...inputs, dtype: 'F32', q: new Uint8Array(2 * 100 * 64 * 4), k: new Uint8Array(100 * 64 * 4), v: new Uint8Array(100 * 64 * 4) }, { backend: 'cuda' }), /F32|CPU/);
  for (const headDim of [32, 80])
    await rejects(
      `head_dim ${headDim} is refused with a message naming the supported ones`,
      native.denseAttention({ ...inputs, headDim, q: new Uint8Array(2 * 100 * headDim * 2), k: new Uint8Array(100 * headDim * 2), v: new Uint8Array(100 * headDim * 2) }, { backend: 'cuda' }),
      new RegExp(`head_dim 64, 96, 128, not ${headDim}`),
    );
  const cancel = new Int32Array(new SharedArrayBuffer(4));
  cancel[0] = 1;
  await rejects('a set cancel flag rejects with "cancelled"', native.denseAttention(inputs, { backend: 'cuda' }, { cancel }), /^cancelled$/);
}

const shapes = [
  { dtype: 'BF16', heads: 4, kvHeads: 4, seqLen: 333, headDim: 64 },
  { dtype: 'F16', heads: 8, kvHeads: 2, seqLen: 1000, headDim: 128 },
  { dtype: 'BF16', heads: 8, kvHeads: 2, seqLen: 777, headDim: 128 },
  { dtype: 'F16', heads: 4, kvHeads: 1, seqLen: 130, headDim: 64 },
  { dtype: 'BF16', heads: 8, kvHeads: 8, seqLen: 2113, headDim: 128 },
  { dtype: 'BF16', heads: 2, kvHeads: 2, seqLen: 40, headDim: 64 },
  { dtype: 'F16', heads: 4, kvHeads: 2, seqLen: 50, headDim: 128 }, // one query block: the Hopper kernel's second is empty
  // D = 96 tiles are 64-byte swizzled (three 32-column blocks), D = 64 one 128-byte block.
  { dtype: 'BF16', heads: 8, kvHeads: 2, seqLen: 1000, headDim: 96 },
  { dtype: 'F16', heads: 4, kvHeads: 4, seqLen: 333, headDim: 96 },
  { dtype: 'BF16', heads: 4, kvHeads: 1, seqLen: 2113, headDim: 96 },
  { dtype: 'F16', heads: 4, kvHeads: 2, seqLen: 50, headDim: 96 },
  { dtype: 'BF16', heads: 8, kvHeads: 2, seqLen: 1000, headDim: 64 },
  { dtype: 'F16', heads: 4, kvHeads: 2, seqLen: 50, headDim: 64 },
];

const info = native.deviceInfo();
console.log(`seed ${seed}; device ${JSON.stringify(info.cuda.devices[0] ?? info.cuda.reason)}`);
check('CUDA compiled and available', info.cuda.compiled && info.cuda.available, info.cuda.reason ?? '');
check('deviceInfo lists head dims 64, 96, 128', JSON.stringify(info.cuda.headDims) === '[64,96,128]', JSON.stringify(info.cuda.headDims));
if (info.cuda.available) {
  // Both kernel paths: the default (wgmma on sm_90a builds and Hopper cards) and mma.sync.
  for (const kernelPath of ['default', 'portable']) {
    process.env.SPARSESCOPE_CUDA_PATH = kernelPath;
    for (const shape of shapes) {
      try {
        await runCase(shape, kernelPath);
      } catch (error) {
        check(`case ${JSON.stringify(shape)} [${kernelPath}] ran`, false, error.stack);
      }
    }
    try {
      await lastQCase(kernelPath);
    } catch (error) {
      check(`lastQ case [${kernelPath}] ran`, false, error.stack);
    }
    try {
      if (kernelPath === 'default') await conversionRoundsCase(); // the conversion has one path
    } catch (error) {
      check('conversion rounds case ran', false, error.stack);
    }
    try {
      if (kernelPath === 'default') await methodEstimatesCase(); // one kernel family for both paths
      await methodsCase(kernelPath);
      if (kernelPath === 'default') await methodsCase(kernelPath, '2');
    } catch (error) {
      check(`methods case [${kernelPath}] ran`, false, error.stack);
    }
    for (const headDim of [64, 96, 128])
      for (const allTiles of [true, false])
        for (const stepKeys of stepWidthsOf(kernelPath)) {
          try {
            await unevenListsCase(kernelPath, allTiles, headDim, stepKeys);
          } catch (error) {
            check(`uneven lists case D=${headDim}${stepKeys ? ` steps ${stepKeys}` : ''} [${kernelPath}] ran`, false, error.stack);
          }
        }
  }
  await errorCases();
  for (const [name, run] of [['resident inputs', residentCase], ['index for rows', indexForRowsCase], ['outputError', outputErrorCase], ['kept dense output', keptDenseCase], ['long Block-Sparse', blockSparseLongCase]]) {
    try {
      await run();
    } catch (error) {
      check(`${name} case ran`, false, error.stack);
    }
  }
  const { heads, verticalDiffer, slashDiffer } = topKStats;
  console.log(`top-k sets differing from the CPU's (fp32 sums, last-ulp near-ties): verticals ${verticalDiffer}/${heads} heads, slashes ${slashDiffer}/${heads} heads`);
}
captureHelperCheck();
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
