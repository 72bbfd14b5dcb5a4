/**
 * Predicted full-row timings of one head (spec 2.2, a *predicted* speedup): a cost model of the
 * backend, measured once per engine process, turns what a head computes into milliseconds. The
 * interactive paths (head view, tune) use it, since timing a head's full rows on every budget
 * change would be far too slow there.
 *
 * Dense and sparse attention run one kernel over 64-row query blocks: per block, 64-wide key tiles
 * and loose key columns gathered 64 at a time. Its time is fitted as a cost per query row, per
 * score entry in tiles and per score entry in gathered columns (gathering makes those dearer; an
 * A-shape window computes its bounding tiles, more than its density says). Calibration times, on
 * the first tokens of a real head after a warm-up, the dense pre-fill and the sparse pre-fill of
 * budgets of every family, and fits those costs by non-negative least squares. The index build is
 * fitted per family as a cost per unit of indexWork.
 */
import type { HeadPattern, PatternName } from '../../../contract/api.js';
import type { AttentionInputs, NativeBackend, NativeModule, SparseIndex } from '../native-api.js';
import { BLOCK, encodePatterns, indexWork, mean, throwIfCancelled, timed, type Control } from './common.js';

/** What the attention kernel computes for one head. */
export interface KernelWork {
  rows: number;
  /** Score entries in 64 x 64 tiles (the causal mask is applied, not skipped). */
  tileEntries: number;
  /** Score entries of loose columns. */
  columnEntries: number;
}

/** Milliseconds per unit of each part of KernelWork. */
export interface KernelCost {
  perRow: number;
  perTileEntry: number;
  perColumnEntry: number;
}

export interface CostModel {
  kernel: KernelCost;
  /** Milliseconds per unit of indexWork, per family. */
  indexMsPerUnit: Record<PatternName, number>;
}

export interface PredictedTimes {
  denseMs: number;
  indexMs: number;
  sparseMs: number;
}

/**
 * Tokens the calibration times: enough that per-call overheads are small next to the work (a GPU
 * needs more work to fill than a CPU), few enough that calibrating takes about a second.
 */
const CALIBRATION_TOKENS: Record<NativeBackend, number> = { cpu: 4096, cuda: 32768 };

/** Budgets of every family, from tile-heavy to column-heavy, so the three kernel costs separate. */
const CALIBRATION_PATTERNS: readonly HeadPattern[] = [
  { pattern: 'vertical_and_slash', a: 30, b: 100 },
  { pattern: 'vertical_and_slash', a: 300, b: 1000 },
  { pattern: 'vertical_and_slash', a: 1000, b: 50 },
  { pattern: 'stream_llm', a: 16, b: 64 },
  { pattern: 'stream_llm', a: 128, b: 1024 },
  { pattern: 'block_sparse', a: 2, b: 0 },
  { pattern: 'xattention', a: 900, b: 8 },
  { pattern: 'flexprefill', a: 900, b: 100 },
  { pattern: 'block_sparse', a: 16, b: 0 },
  { pattern: 'dense', a: 0, b: 0 },
];

const rowsOfBlock = (block: number, seqLen: number): number => Math.min(BLOCK, seqLen - block * BLOCK);

/** The kernel's work for one head of an index. */
export function kernelWork(index: SparseIndex, head = 0): KernelWork {
  let tileEntries = 0;
  let columnEntries = 0;
  for (let block = 0; block < index.numBlocks; block++) {
    const rows = rowsOfBlock(block, index.seqLen);
    const slot = head * index.numBlocks + block;
    tileEntries += (index.tileOffsets[slot + 1]! - index.tileOffsets[slot]!) * BLOCK * rows;
    columnEntries += (index.colOffsets[slot + 1]! - index.colOffsets[slot]!) * rows;
  }
  return { rows: index.seqLen, tileEntries, columnEntries };
}

/** The kernel's work for the dense pre-fill of one head: every tile up to the diagonal. */
export function denseWork(seqLen: number): KernelWork {
  let tileEntries = 0;
  for (let block = 0; block * BLOCK < seqLen; block++) tileEntries += (block + 1) * BLOCK * rowsOfBlock(block, seqLen);
  return { rows: seqLen, tileEntries, columnEntries: 0 };
}

export function kernelMs(cost: KernelCost, work: KernelWork): number {
  return cost.perRow * work.rows + cost.perTileEntry * work.tileEntries + cost.perColumnEntry * work.columnEntries;
}

const TERMS = ['rows', 'tileEntries', 'columnEntries'] as const;

/** Least squares over the chosen terms (the others zero), or null when singular. */
function leastSquares(points: readonly { work: KernelWork; ms: number }[], terms: readonly (typeof TERMS)[number][]): number[] | null {
  // Normal equations on terms scaled to their largest value, which keeps them well conditioned.
  const scale = terms.map((term) => Math.max(...points.map((p) => p.work[term])) || 1);
  const column = (p: { work: KernelWork }, t: number): number => p.work[terms[t]!] / scale[t]!;
  const n = terms.length;
  const a = Array.from({ length: n }, (_, i) => [...Array.from({ length: n }, (_, j) => points.reduce((s, p) => s + column(p, i) * column(p, j), 0)), points.reduce((s, p) => s + column(p, i) * p.ms, 0)]);
  for (let i = 0; i < n; i++) {
    const pivot = a.slice(i).reduce((best, row, r) => (Math.abs(row[i]!) > Math.abs(a[best]![i]!) ? i + r : best), i);
    [a[i], a[pivot]] = [a[pivot]!, a[i]!];
    if (Math.abs(a[i]![i]!) < 1e-12) return null;
    for (let r = 0; r < n; r++) {
      if (r === i) continue;
      const f = a[r]![i]! / a[i]![i]!;
      for (let c = i; c <= n; c++) a[r]![c]! -= f * a[i]![c]!;
    }
  }
  return a.map((row, i) => row[n]! / row[i]! / scale[i]!);
}

/**
 * Non-negative least squares for the three kernel costs: the best fit over every subset of the
 * terms whose coefficients are all non-negative (timing noise can push one below zero).
 */
export function fitKernelCost(points: readonly { work: KernelWork; ms: number }[]): KernelCost {
  let best: { cost: KernelCost; residual: number } | null = null;
  for (let mask = 1; mask < 1 << TERMS.length; mask++) {
    const terms = TERMS.filter((_, t) => mask & (1 << t));
    const solution = leastSquares(points, terms);
    if (!solution || solution.some((value) => value < 0)) continue;
    const coefficient = (term: (typeof TERMS)[number]): number => (terms.includes(term) ? solution[terms.indexOf(term)]! : 0);
    const cost = { perRow: coefficient('rows'), perTileEntry: coefficient('tileEntries'), perColumnEntry: coefficient('columnEntries') };
    const residual = points.reduce((sum, p) => sum + (kernelMs(cost, p.work) - p.ms) ** 2, 0);
    if (!best || residual < best.residual) best = { cost, residual };
  }
  return best?.cost ?? { perRow: 0, perTileEntry: 0, perColumnEntry: 0 };
}

/** The first `tokens` tokens of a one-head input (layout [1, N, D], so a prefix is a subarray). */
function prefixOf(inputs: AttentionInputs, tokens: number): AttentionInputs {
  const bytes = (inputs.q.byteLength / inputs.seqLen) * tokens;
  return { ...inputs, seqLen: tokens, q: inputs.q.subarray(0, bytes), k: inputs.k.subarray(0, bytes), ...(inputs.v ? { v: inputs.v.subarray(0, bytes) } : {}) };
}

async function calibrate(native: NativeModule, inputs: AttentionInputs, backend: NativeBackend): Promise<CostModel> {
  const dense = await timed(1, () => native.denseAttention(inputs, { backend }));
  const points = [{ work: denseWork(inputs.seqLen), ms: dense.ms }];
  const indexCosts = new Map<PatternName, number[]>();
  for (const pattern of CALIBRATION_PATTERNS) {
    const encoded = encodePatterns([pattern]);
    const index = await timed(1, () => native.buildIndex(inputs, encoded, { backend }));
    const sparse = await timed(1, () => native.sparseAttention(inputs, index.result, { backend }));
    points.push({ work: kernelWork(index.result), ms: sparse.ms });
    indexCosts.set(pattern.pattern, [...(indexCosts.get(pattern.pattern) ?? []), index.ms / indexWork(pattern, inputs.seqLen)]);
  }
  const indexMsPerUnit = Object.fromEntries([...indexCosts].map(([family, costs]) => [family, mean(costs)])) as Record<PatternName, number>;
  return { kernel: fitKernelCost(points), indexMsPerUnit };
}

/** Calibrated models of this engine process, by native module, backend and input shape. */
const calibrated = new WeakMap<NativeModule, Map<string, Promise<CostModel>>>();

/**
 * The cost model of `backend` for heads shaped like `head` (a one-head input: its dtype and head
 * dim matter), calibrated on the head's first tokens the first time and kept for the process.
 * Calibrating is short and shared by concurrent callers, so no caller's cancel stops it; a failed
 * calibration is not kept.
 */
export async function costModel(native: NativeModule, head: AttentionInputs, backend: NativeBackend, control?: Control): Promise<CostModel> {
  const tokens = Math.min(head.seqLen, CALIBRATION_TOKENS[backend]);
  const key = `${backend} ${head.dtype} D${head.headDim} N${tokens}`;
  const models = calibrated.get(native) ?? new Map<string, Promise<CostModel>>();
  calibrated.set(native, models);
  let model = models.get(key);
  if (!model) {
    model = calibrate(native, prefixOf(head, tokens), backend);
    models.set(key, model);
    model.catch(() => models.delete(key));
  }
  const result = await model;
  throwIfCancelled(control);
  return result;
}

/** Full-row times of one head with `pattern` and its one-head `index`, as the model predicts them. */
export function predictTimes(model: CostModel, pattern: HeadPattern, index: SparseIndex): PredictedTimes {
  return {
    denseMs: kernelMs(model.kernel, denseWork(index.seqLen)),
    indexMs: model.indexMsPerUnit[pattern.pattern] * indexWork(pattern, index.seqLen),
    sparseMs: kernelMs(model.kernel, kernelWork(index)),
  };
}
