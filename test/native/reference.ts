/**
 * Float64 JavaScript reference for the native module tests: input encoding in each dtype, dense
 * causal attention, the computed sets of every pattern written from the spec's definitions by
 * brute force (independently of the native merge code), recall, pooled map.
 */
import { PATTERN_ID, type NativeDType, type SparseIndex } from '../../electron/engine/native-api.js';

export const BLOCK = 64;

// ---------------------------------------------------------------------------------------------
// Random inputs and dtype encoding

/** Mulberry32: a seeded PRNG so a failing run can be replayed from its printed seed. */
export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function toBf16Bits(value: number): number {
  f32[0] = value;
  const bits = u32[0]!;
  // Round to nearest even on the dropped 16 bits.
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

function fromBf16Bits(bits: number): number {
  u32[0] = bits << 16;
  return f32[0]!;
}

function toF16Bits(value: number): number {
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= 65520) return sign | 0x7c00;
  if (magnitude < 2 ** -24 / 2) return sign;
  let exponent = Math.floor(Math.log2(magnitude));
  if (exponent < -14) {
    return sign | Math.round(magnitude / 2 ** -24); // subnormal (round half even is not needed: ties are measure-zero)
  }
  let mantissa = Math.round((magnitude / 2 ** exponent - 1) * 1024);
  if (mantissa === 1024) {
    mantissa = 0;
    exponent += 1;
  }
  return sign | ((exponent + 15) << 10) | mantissa;
}

function fromF16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** A tensor as the native module receives it (raw bytes) and as the reference sees it (decoded). */
export interface EncodedTensor {
  bytes: Uint8Array;
  values: Float64Array;
}

export function encode(values: ArrayLike<number>, dtype: NativeDType): EncodedTensor {
  const decoded = new Float64Array(values.length);
  if (dtype === 'F32') {
    const array = Float32Array.from(values);
    decoded.set(array);
    return { bytes: new Uint8Array(array.buffer), values: decoded };
  }
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    bits[i] = dtype === 'BF16' ? toBf16Bits(values[i]!) : toF16Bits(values[i]!);
    decoded[i] = dtype === 'BF16' ? fromBf16Bits(bits[i]!) : fromF16Bits(bits[i]!);
  }
  return { bytes: new Uint8Array(bits.buffer), values: decoded };
}

export interface Problem {
  dtype: NativeDType;
  numHeads: number;
  numKvHeads: number;
  seqLen: number;
  headDim: number;
  q: EncodedTensor;
  k: EncodedTensor;
  v: EncodedTensor;
}

export function randomProblem(
  shape: { dtype: NativeDType; numHeads: number; numKvHeads: number; seqLen: number; headDim: number },
  random: () => number,
  scale = 1,
): Problem {
  const sample = (heads: number) =>
    encode(Array.from({ length: heads * shape.seqLen * shape.headDim }, () => gaussian(random) * scale), shape.dtype);
  return { ...shape, q: sample(shape.numHeads), k: sample(shape.numKvHeads), v: sample(shape.numKvHeads) };
}

/** The native AttentionInputs of a problem. */
export function inputsOf(problem: Problem, withValues = true) {
  const { dtype, numHeads, numKvHeads, seqLen, headDim } = problem;
  return { dtype, numHeads, numKvHeads, seqLen, headDim, q: problem.q.bytes, k: problem.k.bytes, ...(withValues ? { v: problem.v.bytes } : {}) };
}

/**
 * A problem with planted structure over small Gaussian noise, three query heads on one kv head:
 * head 0's queries share a direction that the keys at `verticalColumns` align with (vertical
 * lines), head 1's queries carry a rotating component that makes q_i . k_j peak at
 * i - j = slashOffset (a slash line), head 2's carry both.
 */
export function plantedProblem(seqLen: number, verticalColumns: number[], slashOffset: number, random: () => number): Problem {
  const numHeads = 3;
  const headDim = 64;
  const q = new Float64Array(numHeads * seqLen * headDim);
  const k = new Float64Array(seqLen * headDim);
  const v = new Float64Array(seqLen * headDim);
  for (let i = 0; i < q.length; i++) q[i] = 0.3 * gaussian(random);
  for (let i = 0; i < k.length; i++) {
    k[i] = 0.3 * gaussian(random);
    v[i] = gaussian(random);
  }
  const frequencies = Array.from({ length: 12 }, (_, f) => (2 * Math.PI) / (7 + 53 * f));
  for (let h = 0; h < numHeads; h++) {
    for (let i = 0; i < seqLen; i++) {
      const row = (h * seqLen + i) * headDim;
      if (h !== 1) q[row]! += 3;
      if (h !== 0)
        frequencies.forEach((w, f) => {
          q[row + 2 + 2 * f]! += 1.6 * Math.cos(w * i);
          q[row + 3 + 2 * f]! += 1.6 * Math.sin(w * i);
        });
    }
  }
  for (let j = 0; j < seqLen; j++) {
    const row = j * headDim;
    if (verticalColumns.includes(j)) k[row]! += 20;
    frequencies.forEach((w, f) => {
      k[row + 2 + 2 * f]! += 1.6 * Math.cos(w * (j + slashOffset));
      k[row + 3 + 2 * f]! += 1.6 * Math.sin(w * (j + slashOffset));
    });
  }
  return { dtype: 'F32', numHeads, numKvHeads: 1, seqLen, headDim, q: encode(q, 'F32'), k: encode(k, 'F32'), v: encode(v, 'F32') };
}

// ---------------------------------------------------------------------------------------------
// Scores and dense attention

function kvHead(problem: Problem, head: number): number {
  return Math.floor(head / (problem.numHeads / problem.numKvHeads));
}

/** s_ij = q_i . k_j / sqrt(D) for all j (no mask), float64. */
export function scoreRow(problem: Problem, head: number, i: number): Float64Array {
  const { seqLen: n, headDim: d } = problem;
  const kv = kvHead(problem, head);
  const scores = new Float64Array(n);
  const qOffset = (head * n + i) * d;
  for (let j = 0; j < n; j++) {
    const kOffset = (kv * n + j) * d;
    let dot = 0;
    for (let x = 0; x < d; x++) dot += problem.q.values[qOffset + x]! * problem.k.values[kOffset + x]!;
    scores[j] = dot / Math.sqrt(d);
  }
  return scores;
}

/** Attention of row i over the keys j <= i where allowed(j), float64: output row and natural LSE. */
export function attendRow(problem: Problem, head: number, i: number, allowed: (j: number) => boolean = () => true) {
  const { seqLen: n, headDim: d } = problem;
  const scores = scoreRow(problem, head, i);
  let max = -Infinity;
  for (let j = 0; j <= i; j++) if (allowed(j)) max = Math.max(max, scores[j]!);
  const out = new Float64Array(d);
  if (max === -Infinity) return { out, lse: -Infinity };
  let sum = 0;
  const kv = kvHead(problem, head);
  for (let j = 0; j <= i; j++) {
    if (!allowed(j)) continue;
    const p = Math.exp(scores[j]! - max);
    sum += p;
    const vOffset = (kv * n + j) * d;
    for (let x = 0; x < d; x++) out[x]! += p * problem.v.values[vOffset + x]!;
  }
  for (let x = 0; x < d; x++) out[x]! /= sum;
  return { out, lse: max + Math.log(sum) };
}

/** Causal probabilities P[i, j] for j <= i (zeros above the diagonal). */
export function probabilityRow(problem: Problem, head: number, i: number): Float64Array {
  const scores = scoreRow(problem, head, i);
  let max = -Infinity;
  for (let j = 0; j <= i; j++) max = Math.max(max, scores[j]!);
  let sum = 0;
  for (let j = 0; j <= i; j++) sum += Math.exp(scores[j]! - max);
  const p = new Float64Array(problem.seqLen);
  for (let j = 0; j <= i; j++) p[j] = Math.exp(scores[j]! - max) / sum;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Computed sets, from the spec text

/** Per query block, the key set as a predicate over (row i, key j); causality applied by callers. */
export type BlockMask = (i: number, j: number) => boolean;

/**
 * Vertical-Slash computed set of query block m, written from the spec: each chosen offset
 * o < end (end = 64m + 64) covers [e - 64, e) with e = max(end - o, 64); overlapping or touching
 * windows merge into ranges of whole 64-wide tiles (a range grows by one tile when a window ends
 * past it by at most 64, else a new range starts); chosen columns outside every range and before
 * the last range's end are loose columns.
 */
export function verticalSlashBlock(m: number, verticals: number[], slashes: number[]): { tiles: number[]; columns: number[] } {
  const end = m * BLOCK + BLOCK;
  const windowEnds = slashes.filter((o) => o < end).map((o) => Math.max(end - o, BLOCK)).sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const e of windowEnds) {
    const last = ranges[ranges.length - 1];
    if (!last || e > last[1] + BLOCK) ranges.push([e - BLOCK, e]);
    else if (e > last[1]) last[1] += BLOCK;
  }
  const tiles = ranges.flatMap(([start, stop]) => Array.from({ length: (stop - start) / BLOCK }, (_, t) => start + t * BLOCK));
  const lastEnd = ranges[ranges.length - 1]![1];
  const columns = verticals.filter((v) => v < lastEnd && !ranges.some(([start, stop]) => v >= start && v < stop)).sort((a, b) => a - b);
  return { tiles, columns };
}

/** Indices of the `count` largest values, ties to the lower index, ascending. */
export function topK(scores: ArrayLike<number>, count: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => (scores[b]! - scores[a]! || a - b));
  return order.slice(0, count).sort((a, b) => a - b);
}

/** MInference's vertical and slash choice from the last min(lastQRows, N) queries (64: MInference's), float64. */
export function verticalSlashChoice(problem: Problem, head: number, verticalSize: number, slashSize: number, lastQRows = 64) {
  const n = problem.seqLen;
  const lastQ = Math.min(lastQRows, n);
  const vertical = new Float64Array(n);
  const slash = new Float64Array(n);
  for (let i = n - lastQ; i < n; i++) {
    const p = probabilityRow(problem, head, i);
    for (let j = 0; j <= i; j++) {
      vertical[j]! += p[j]!;
      slash[i - j]! += p[j]!;
    }
  }
  for (let j = 0; j < Math.min(30, n); j++) vertical[j] = Infinity;
  for (let o = 0; o < Math.min(100, n); o++) slash[o] = Infinity;
  const vCount = Math.min(n, Math.max(verticalSize, 30));
  const sCount = Math.min(n, Math.max(slashSize, 50));
  return { vertical, slash, verticals: topK(vertical, vCount), slashes: topK(slash, sCount), vCount, sCount };
}

/** Block-sparse kept key blocks per query block: fp64 mean pooling, top min(m+1, max(k,1)), diagonal kept. */
export function blockSparseChoice(problem: Problem, head: number, topKBlocks: number): number[][] {
  const { seqLen: n, headDim: d } = problem;
  const blocks = Math.ceil(n / BLOCK);
  const pool = (values: Float64Array, h: number, m: number) => {
    const mean = new Float64Array(d);
    const end = Math.min(m * BLOCK + BLOCK, n);
    for (let i = m * BLOCK; i < end; i++) for (let x = 0; x < d; x++) mean[x]! += values[(h * n + i) * d + x]!;
    for (let x = 0; x < d; x++) mean[x]! /= end - m * BLOCK;
    return mean;
  };
  const kv = kvHead(problem, head);
  const pooledQ = Array.from({ length: blocks }, (_, m) => pool(problem.q.values, head, m));
  const pooledK = Array.from({ length: blocks }, (_, m) => pool(problem.k.values, kv, m));
  return pooledQ.map((q, m) => {
    const scores = Array.from({ length: m + 1 }, (_, b) => (b === m ? Infinity : q.reduce((sum, x, i) => sum + x * pooledK[b]![i]!, 0)));
    return topK(scores, Math.min(m + 1, Math.max(topKBlocks, 1)));
  });
}

export function tileMask(tilesPerBlock: number[][], columnsPerBlock: number[][] = []): BlockMask {
  return (i, j) => {
    const m = Math.floor(i / BLOCK);
    return tilesPerBlock[m]!.some((s) => j >= s && j < s + BLOCK) || (columnsPerBlock[m] ?? []).includes(j);
  };
}

export function streamMask(nInit: number, nLocal: number): BlockMask {
  return (i, j) => j < nInit || j > i - nLocal;
}

/** Causal entries the mask computes / N(N+1)/2. */
export function maskDensity(n: number, mask: BlockMask): number {
  let entries = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) if (mask(i, j)) entries++;
  return entries / ((n * (n + 1)) / 2);
}

/** sum_{j <= i, mask(i, j)} P[i, j] per row, [H, rows.length] head-major. */
export function maskRecall(problem: Problem, rows: number[], maskOfHead: (head: number) => BlockMask): Float64Array {
  const recall = new Float64Array(problem.numHeads * rows.length);
  for (let h = 0; h < problem.numHeads; h++) {
    const mask = maskOfHead(h);
    rows.forEach((i, r) => {
      const p = probabilityRow(problem, h, i);
      let sum = 0;
      for (let j = 0; j <= i; j++) if (mask(i, j)) sum += p[j]!;
      recall[h * rows.length + r] = sum;
    });
  }
  return recall;
}

/** A head's pattern as native buildIndex takes it: [PATTERN_ID, a, b]. */
export type Pattern = [id: number, a: number, b: number];

/** A head of every family at about 1000 tokens, the method heads included (the builders assemble those apart). */
export const EVERY_FAMILY: readonly Pattern[] = [
  [1, 30, 120],
  [2, 16, 128],
  [3, 3, 0],
  [0, 0, 0],
  [4, 900, 8],
  [5, 950, 100],
];

/** The computed set of head h as the reference defines it (VS from the index's own choice). */
export function referenceMask(problem: Problem, index: SparseIndex, pattern: Pattern, head: number): BlockMask {
  const blocks = Math.ceil(problem.seqLen / BLOCK);
  const [id, a, b] = pattern;
  if (id === PATTERN_ID.stream_llm) return streamMask(a, b);
  if (id === PATTERN_ID.dense) return () => true;
  if (id === PATTERN_ID.block_sparse) {
    return tileMask(blockSparseChoice(problem, head, a).map((kept) => kept.map((n) => n * BLOCK)));
  }
  const verticals = Array.from(index.verticals.subarray(index.verticalOffsets[head]!, index.verticalOffsets[head + 1]!));
  const slashes = Array.from(index.slashes.subarray(index.slashOffsets[head]!, index.slashOffsets[head + 1]!));
  const merged = Array.from({ length: blocks }, (_, m) => verticalSlashBlock(m, verticals, slashes));
  return tileMask(merged.map((x) => x.tiles), merged.map((x) => x.columns));
}

// ---------------------------------------------------------------------------------------------
// Comparisons

/** ||a - b||_F / ||b||_F */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i]! - expected[i]!) ** 2;
    norm += expected[i]! ** 2;
  }
  return Math.sqrt(diff / Math.max(norm, 1e-300));
}

export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
  return max;
}
