/**
 * A plain TypeScript implementation of NativeModule (CPU only, float64 accumulation) following
 * spec 2.1 literally. Tests use it where the native addon is not built, and as the reference
 * the analysis logic is checked against. Slow (O(rows x N x D)); for small captures only.
 */
import { computedIntervals } from '../../../../electron/engine/analysis/index-geometry.js';
import { relativeError } from '../../../../electron/engine/analysis/common.js';
import type { AttentionInputs, AttentionResult, HeadPatterns, NativeModule, OutputErrorResult, PooledMapResult, RecallResult, SparseIndex } from '../../../../electron/engine/native-api.js';
import { decodeFloats } from '../../../../electron/engine/synthetic/float-codec.js';
import { flexprefillChoice, xattentionKept, xattentionMasses } from '../../../native/methods-reference.js';
import type { Problem } from '../../../native/reference.js';

const BLOCK = 64;

interface Decoded {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array | null;
}

const decodedCache = new WeakMap<Uint8Array, Decoded>();

function decode(inputs: AttentionInputs): Decoded {
  let decoded = decodedCache.get(inputs.q);
  if (!decoded || (inputs.v && !decoded.v)) {
    decoded = { q: decodeFloats(inputs.q, inputs.dtype), k: decodeFloats(inputs.k, inputs.dtype), v: inputs.v ? decodeFloats(inputs.v, inputs.dtype) : null };
    decodedCache.set(inputs.q, decoded);
  }
  return decoded;
}

/** Scaled scores of row i of head h against keys 0..i. */
function scores(inputs: AttentionInputs, d: Decoded, h: number, i: number): Float64Array {
  const { seqLen: n, headDim: dim } = inputs;
  const kvHead = Math.floor(h / (inputs.numHeads / inputs.numKvHeads));
  const qOff = (h * n + i) * dim;
  const scale = 1 / Math.sqrt(dim);
  const out = new Float64Array(i + 1);
  for (let j = 0; j <= i; j++) {
    const kOff = (kvHead * n + j) * dim;
    let dot = 0;
    for (let x = 0; x < dim; x++) dot += d.q[qOff + x]! * d.k[kOff + x]!;
    out[j] = dot * scale;
  }
  return out;
}

function logSumExp(values: Float64Array, keep: (j: number) => boolean = () => true): number {
  let max = -Infinity;
  for (let j = 0; j < values.length; j++) if (keep(j)) max = Math.max(max, values[j]!);
  let sum = 0;
  for (let j = 0; j < values.length; j++) if (keep(j)) sum += Math.exp(values[j]! - max);
  return max + Math.log(sum);
}

function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** Row output and LSE over the keys `keep` selects. */
function attendRow(inputs: AttentionInputs, d: Decoded, h: number, i: number, keep: (j: number) => boolean, out: Float32Array, outOffset: number): number {
  const s = scores(inputs, d, h, i);
  const lse = logSumExp(s, keep);
  const kvHead = Math.floor(h / (inputs.numHeads / inputs.numKvHeads));
  const dim = inputs.headDim;
  const acc = new Float64Array(dim);
  for (let j = 0; j < s.length; j++) {
    if (!keep(j)) continue;
    const p = Math.exp(s[j]! - lse);
    const vOff = (kvHead * inputs.seqLen + j) * dim;
    for (let x = 0; x < dim; x++) acc[x]! += p * d.v![vOff + x]!;
  }
  out.set(acc, outOffset);
  return lse;
}

function keepFromIndex(index: SparseIndex, h: number, i: number): (j: number) => boolean {
  const mask = new Uint8Array(i + 1);
  for (const [from, to] of computedIntervals(index, h, i)) mask.fill(1, from, to);
  return (j) => mask[j] === 1;
}

function topK(scoresByKey: Float64Array, k: number, forced: (j: number) => boolean): number[] {
  const order = Array.from(scoresByKey.keys()).sort((a, b) => {
    const fa = forced(a) ? 1 : 0;
    const fb = forced(b) ? 1 : 0;
    return fb - fa || scoresByKey[b]! - scoresByKey[a]! || a - b;
  });
  return order.slice(0, k).sort((a, b) => a - b);
}

interface HeadIndex {
  tiles: number[][];
  columns: number[][];
  window: [number, number];
  verticals: number[];
  slashes: number[];
}

function verticalSlashIndex(inputs: AttentionInputs, d: Decoded, h: number, vertical: number, slash: number, lastQRows: number): HeadIndex {
  const n = inputs.seqLen;
  const blocks = Math.ceil(n / BLOCK);
  const v = Math.min(n, Math.max(vertical, 30));
  const s = Math.min(n, Math.max(slash, 50));
  const lastQ = Math.min(lastQRows, n);
  const verticalScore = new Float64Array(n);
  const slashScore = new Float64Array(n);
  for (let i = n - lastQ; i < n; i++) {
    const row = scores(inputs, d, h, i);
    const lse = logSumExp(row);
    for (let j = 0; j <= i; j++) {
      const p = Math.exp(row[j]! - lse);
      verticalScore[j]! += p;
      slashScore[i - j]! += p;
    }
  }
  const verticals = topK(verticalScore, v, (j) => j < 30);
  const slashes = topK(slashScore, s, (o) => o < 100);
  const tiles: number[][] = [];
  const columns: number[][] = [];
  for (let m = 0; m < blocks; m++) {
    const end = Math.min(n, (m + 1) * BLOCK);
    const windows = slashes.filter((o) => o < end).map((o) => Math.max(end - o, BLOCK)).map((e) => [e - BLOCK, e] as [number, number]).sort((a, b) => a[0] - b[0]);
    const ranges: [number, number][] = [];
    for (const [a, b] of windows) {
      const last = ranges[ranges.length - 1];
      if (last && a <= last[1]) last[1] = Math.max(last[1], b);
      else ranges.push([a, b]);
    }
    const blockTiles: number[] = [];
    for (const [a, b] of ranges) {
      let t = Math.max(a, blockTiles.length ? blockTiles[blockTiles.length - 1]! + BLOCK : a);
      for (; t < b; t += BLOCK) blockTiles.push(t);
    }
    tiles.push(blockTiles);
    columns.push(verticals.filter((j) => j < end && !blockTiles.some((t) => j >= t && j < t + BLOCK)));
  }
  return { tiles, columns, window: [-1, -1], verticals, slashes };
}

function blockSparseIndex(inputs: AttentionInputs, d: Decoded, h: number, topKBlocks: number): HeadIndex {
  const { seqLen: n, headDim: dim } = inputs;
  const blocks = Math.ceil(n / BLOCK);
  const kvHead = Math.floor(h / (inputs.numHeads / inputs.numKvHeads));
  const pool = (data: Float32Array, head: number): Float64Array[] =>
    Array.from({ length: blocks }, (_, b) => {
      const mean = new Float64Array(dim);
      const end = Math.min(n, (b + 1) * BLOCK);
      for (let i = b * BLOCK; i < end; i++) for (let x = 0; x < dim; x++) mean[x]! += data[(head * n + i) * dim + x]! / (end - b * BLOCK);
      return mean;
    });
  const pq = pool(d.q, h);
  const pk = pool(d.k, kvHead);
  const tiles = pq.map((qm, m) => {
    const blockScores = Float64Array.from({ length: m + 1 }, (_, b) => qm.reduce((sum, value, x) => sum + value * pk[b]![x]!, 0));
    return topK(blockScores, Math.min(topKBlocks, m + 1), (b) => b === m).map((b) => b * BLOCK);
  });
  return { tiles, columns: tiles.map(() => []), window: [-1, -1], verticals: [], slashes: [] };
}

function boundingIndex(n: number, keepBlock: (m: number, b: number) => boolean, window: [number, number]): HeadIndex {
  const blocks = Math.ceil(n / BLOCK);
  const tiles = Array.from({ length: blocks }, (_, m) => Array.from({ length: m + 1 }, (_, b) => b).filter((b) => keepBlock(m, b)).map((b) => b * BLOCK));
  return { tiles, columns: tiles.map(() => []), window, verticals: [], slashes: [] };
}

/** The tiles of a method's kept key blocks (blocks of `blockSize` rows and keys). */
function methodIndex(n: number, blockSize: number, kept: number[][]): HeadIndex {
  return boundingIndex(n, (m, b) => kept[Math.floor((m * BLOCK) / blockSize)]!.includes(Math.floor((b * BLOCK) / blockSize)), [-1, -1]);
}

/** The inputs as the float64 method references (test/native/methods-reference.ts) read them. */
function asProblem(inputs: AttentionInputs, d: Decoded): Problem {
  const tensor = (bytes: Uint8Array, values: Float32Array | null) => ({ bytes, values: Float64Array.from(values ?? []) });
  return { dtype: inputs.dtype, numHeads: inputs.numHeads, numKvHeads: inputs.numKvHeads, seqLen: inputs.seqLen, headDim: inputs.headDim, q: tensor(inputs.q, d.q), k: tensor(inputs.k, d.k), v: tensor(inputs.v ?? new Uint8Array(), d.v) };
}

function toSparseIndex(n: number, heads: HeadIndex[], ms: number): SparseIndex {
  const blocks = Math.ceil(n / BLOCK);
  const csr = (lists: number[][]): { offsets: Int32Array; values: Int32Array } => {
    const offsets = new Int32Array(lists.length + 1);
    lists.forEach((list, r) => (offsets[r + 1] = offsets[r]! + list.length));
    return { offsets, values: Int32Array.from(lists.flat()) };
  };
  const tiles = csr(heads.flatMap((head) => head.tiles));
  const columns = csr(heads.flatMap((head) => head.columns));
  const verticals = csr(heads.map((head) => head.verticals));
  const slashes = csr(heads.map((head) => head.slashes));
  const index: SparseIndex = {
    numHeads: heads.length,
    seqLen: n,
    numBlocks: blocks,
    tileOffsets: tiles.offsets,
    tileStarts: tiles.values,
    colOffsets: columns.offsets,
    columns: columns.values,
    window: Int32Array.from(heads.flatMap((head) => head.window)),
    verticalOffsets: verticals.offsets,
    verticals: verticals.values,
    slashOffsets: slashes.offsets,
    slashes: slashes.values,
    density: new Float64Array(heads.length),
    ms,
  };
  const causal = (n * (n + 1)) / 2;
  for (let h = 0; h < heads.length; h++) {
    let computed = 0;
    for (let i = 0; i < n; i++) for (const [from, to] of computedIntervals(index, h, i)) computed += to - from;
    index.density[h] = computed / causal;
  }
  return index;
}

/** Probability rows cached per (q buffer, head, row): the search measures many patterns on the same rows. */
const probabilityCache = new WeakMap<Uint8Array, Map<number, Float64Array>>();

function probabilities(inputs: AttentionInputs, d: Decoded, h: number, i: number, lse: number): Float64Array {
  let perQ = probabilityCache.get(inputs.q);
  if (!perQ) probabilityCache.set(inputs.q, (perQ = new Map()));
  const key = h * inputs.seqLen + i;
  let row = perQ.get(key);
  if (!row) {
    row = scores(inputs, d, h, i).map((s) => Math.exp(s - lse));
    perQ.set(key, row);
  }
  return row;
}

/** Attention of the wanted rows (all rows by default) of every head over the keys `keepOf(h, i)` keeps. */
function attendRows(inputs: AttentionInputs, rows: Int32Array | undefined, keepOf: (h: number, i: number) => (j: number) => boolean): { out: Float32Array; lse: Float32Array } {
  const d = decode(inputs);
  const wanted = rows ?? allRows(inputs.seqLen);
  const out = new Float32Array(inputs.numHeads * wanted.length * inputs.headDim);
  const lse = new Float32Array(inputs.numHeads * wanted.length);
  for (let h = 0; h < inputs.numHeads; h++) {
    wanted.forEach((i, r) => (lse[h * wanted.length + r] = attendRow(inputs, d, h, i, keepOf(h, i), out, (h * wanted.length + r) * inputs.headDim)));
  }
  return { out, lse };
}

export function referenceNative(): NativeModule & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const count = (name: string): void => void (calls[name] = (calls[name] ?? 0) + 1);
  const timed = <T>(run: () => T): T & { ms: number } => {
    const start = performance.now();
    const result = run();
    return Object.assign(result as object, { ms: performance.now() - start }) as T & { ms: number };
  };
  return {
    calls,
    deviceInfo: () => ({ cpuThreads: 1, cuda: { compiled: false, available: false, reason: 'reference implementation', headDims: [], devices: [] } }),
    async denseAttention(inputs, { rows }): Promise<AttentionResult> {
      count('denseAttention');
      return timed(() => attendRows(inputs, rows, () => () => true));
    },
    async pooledMap(inputs, opts): Promise<PooledMapResult> {
      count('pooledMap');
      return timed(() => {
        const d = decode(inputs);
        const { rowStart, rowEnd, colStart, colEnd, rows, cols } = opts;
        const sample = opts.sampleRows ?? Int32Array.from({ length: rowEnd - rowStart }, (_, r) => rowStart + r);
        const mean = new Float32Array(rows * cols);
        const max = new Float32Array(rows * cols);
        const rowsInCell = new Int32Array(rows);
        for (const i of sample) {
          const r = Math.min(rows - 1, Math.floor(((i - rowStart) * rows) / (rowEnd - rowStart)));
          rowsInCell[r]!++;
          const s = scores(inputs, d, 0, i);
          const lse = logSumExp(s);
          for (let j = colStart; j < Math.min(colEnd, i + 1); j++) {
            const c = Math.min(cols - 1, Math.floor(((j - colStart) * cols) / (colEnd - colStart)));
            const p = Math.exp(s[j]! - lse);
            mean[r * cols + c]! += p;
            max[r * cols + c] = Math.max(max[r * cols + c]!, p);
          }
        }
        for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (rowsInCell[r]) mean[r * cols + c]! /= rowsInCell[r]!;
        return { mean, max, rowsUsed: sample.length };
      });
    },
    async buildIndex(inputs, patterns: HeadPatterns, { lastQ = 64, xattentionBlockSize = 128, flexprefillBlockSize = 128, flexprefillMinBudget = 512 }): Promise<SparseIndex> {
      count('buildIndex');
      const start = performance.now();
      const d = decode(inputs);
      const n = inputs.seqLen;
      const heads: HeadIndex[] = [];
      for (let h = 0; h < inputs.numHeads; h++) {
        const [id, a, b] = [patterns[3 * h]!, patterns[3 * h + 1]!, patterns[3 * h + 2]!];
        if (id === 0) heads.push(boundingIndex(n, () => true, [-1, -1]));
        else if (id === 1) heads.push(verticalSlashIndex(inputs, d, h, a, b, lastQ));
        else if (id === 2) {
          heads.push(boundingIndex(n, (m, blk) => blk * BLOCK < a || (blk + 1) * BLOCK > m * BLOCK - b + 1, [a, b]));
        } else if (id === 3) heads.push(blockSparseIndex(inputs, d, h, a));
        else if (id === 4) heads.push(methodIndex(n, xattentionBlockSize, xattentionKept(xattentionMasses(asProblem(inputs, d), h, b, xattentionBlockSize), a)));
        else if (id === 5) {
          const choice = flexprefillChoice(asProblem(inputs, d), h, a, b, flexprefillBlockSize, flexprefillMinBudget);
          heads.push(choice.dense ? boundingIndex(n, () => true, [-1, -1]) : methodIndex(n, flexprefillBlockSize, choice.kept));
        } else throw new Error(`unknown pattern id ${id}`);
      }
      return toSparseIndex(n, heads, performance.now() - start);
    },
    async sparseAttention(inputs, index, { rows }): Promise<AttentionResult> {
      count('sparseAttention');
      return timed(() => attendRows(inputs, rows, (h, i) => keepFromIndex(index, h, i)));
    },
    async outputError(inputs, index, { rows }): Promise<OutputErrorResult> {
      count('outputError');
      return timed(() => {
        const dense = attendRows(inputs, rows, () => () => true).out;
        const sparse = attendRows(inputs, rows, (h, i) => keepFromIndex(index, h, i)).out;
        const length = dense.length / inputs.numHeads;
        return { relError: Float64Array.from({ length: inputs.numHeads }, (_, h) => relativeError(sparse, dense, h * length, length)) };
      });
    },
    async recall(inputs, index, { rows, denseLse }): Promise<RecallResult> {
      count('recall');
      return timed(() => {
        const d = decode(inputs);
        const recall = new Float32Array(inputs.numHeads * rows.length);
        for (let h = 0; h < inputs.numHeads; h++) {
          rows.forEach((i, r) => {
            const p = probabilities(inputs, d, h, i, denseLse[h * rows.length + r]!);
            let mass = 0;
            for (const [from, to] of computedIntervals(index, h, i)) for (let j = from; j < to; j++) mass += p[j]!;
            recall[h * rows.length + r] = mass;
          });
        }
        return { recall };
      });
    },
  };
}
