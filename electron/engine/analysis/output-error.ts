/**
 * Why a head's sparse output differs from dense: per sampled query row, the relative output error
 * and the computed mass, and which skipped keys carried the missing mass, summed by key column and
 * by diagonal (i - j). Rows are streamed one at a time against the dense log-sum-exp, so memory is
 * O(N) and work is the skipped keys of the sampled rows (bounded by SCORE_BUDGET).
 */
import type { OutputErrorBreakdown, ParsedParams, RowSampling } from '../../../contract/api.js';
import type { Capture } from '../capture/types.js';
import type { NativeModule, SparseIndex } from '../native-api.js';
import { decodeFloats } from '../synthetic/float-codec.js';
import { evaluatedRows, nativeControl, relativeError, resolveBackend, throwIfCancelled, type Control } from './common.js';
import { CachedHead } from './head.js';
import { HeadCache } from './head-cache.js';
import { computedIntervals } from './index-geometry.js';

/** Multiply-adds of q.k one call may spend in JavaScript: rows are cut so rows x N x D stays below. */
export const SCORE_BUDGET = 1 << 28;

/** Fewest rows a call uses, however long the sequence. */
const MIN_ROWS = 16;

type Params = Omit<ParsedParams<'head.outputError'>, 'captureId'>;

/** Rows the budget allows for an N-token head of dimension D, never more than asked. */
export function affordableRows(requested: number, seqLen: number, headDim: number): number {
  return Math.max(Math.min(requested, MIN_ROWS), Math.min(requested, Math.floor(SCORE_BUDGET / (seqLen * headDim))));
}

/** Indices of the `top` largest positive values, largest first. */
export function topIndices(values: Float64Array, top: number): number[] {
  const chosen: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (!(values[i]! > 0)) continue;
    if (chosen.length === top && values[i]! <= values[chosen[top - 1]!]!) continue;
    let at = Math.min(chosen.length, top - 1);
    while (at > 0 && values[chosen[at - 1]!]! < values[i]!) at--;
    chosen.splice(at, 0, i);
    if (chosen.length > top) chosen.pop();
  }
  return chosen;
}

export interface MissedMass {
  /** Computed mass of each row. */
  rowRecall: Float32Array<ArrayBuffer>;
  /** Missed mass per key column and per diagonal offset, summed over the rows. */
  byColumn: Float64Array;
  byDiagonal: Float64Array;
}

/**
 * Attention mass of each row's skipped keys, from the rows' dense log-sum-exp: P[i, j] =
 * exp(q_i.k_j / sqrt(D) - lse_i) for every causal j outside the row's computed intervals.
 */
export function missedMass(q: Float32Array, k: Float32Array, headDim: number, index: SparseIndex, rows: Int32Array, lse: Float32Array, control?: Control): MissedMass {
  const seqLen = index.seqLen;
  const scale = 1 / Math.sqrt(headDim);
  const byColumn = new Float64Array(seqLen);
  const byDiagonal = new Float64Array(seqLen);
  const rowRecall = new Float32Array(rows.length);
  rows.forEach((i, r) => {
    if (r % 16 === 0) throwIfCancelled(control);
    const qOffset = i * headDim;
    let missed = 0;
    let next = 0;
    const visitSkipped = (from: number, to: number): void => {
      for (let j = from; j < to; j++) {
        let dot = 0;
        const kOffset = j * headDim;
        for (let d = 0; d < headDim; d++) dot += q[qOffset + d]! * k[kOffset + d]!;
        const p = Math.exp(dot * scale - lse[r]!);
        missed += p;
        byColumn[j]! += p;
        byDiagonal[i - j]! += p;
      }
    };
    for (const [from, to] of computedIntervals(index, 0, i)) {
      visitSkipped(next, from);
      next = to;
    }
    visitSkipped(next, i + 1);
    rowRecall[r] = Math.min(1, Math.max(0, 1 - missed));
  });
  return { rowRecall, byColumn, byDiagonal };
}

export async function outputError(native: NativeModule, capture: Capture, params: Params, control?: Control, cache = new HeadCache()): Promise<OutputErrorBreakdown> {
  const started = performance.now();
  const { backend } = resolveBackend(native, params.backend, capture.summary);
  const { seqLen, headDim, dtype } = capture.summary;
  const sampling: RowSampling = { mode: 'sampled', rows: affordableRows(params.rows, seqLen, headDim), seed: params.seed };
  const rows = evaluatedRows(seqLen, sampling);
  const head = new CachedHead(native, capture, cache, params.layer, params.head, backend, control);
  const inputs = await head.inputs();
  const dense = await head.dense(sampling, rows);
  const index = await head.index(params.pattern, params.lastQ, params.methodSettings);
  throwIfCancelled(control);
  const sparse = await native.sparseAttention(inputs, index, { backend, rows }, nativeControl(control));
  const rowError = Float32Array.from(rows, (_, r) => relativeError(sparse.out, dense.out, r * headDim, headDim));
  const missed = missedMass(decodeFloats(inputs.q, dtype), decodeFloats(inputs.k, dtype), headDim, index, rows, dense.lse, control);
  const perRow = 1 / Math.max(1, rows.length);
  return {
    rows: Array.from(rows),
    rowError,
    rowRecall: missed.rowRecall,
    outputRelError: relativeError(sparse.out, dense.out),
    missingMass: missed.byColumn.reduce((sum, mass) => sum + mass, 0) * perRow,
    topColumns: topIndices(missed.byColumn, params.top).map((column) => ({ column, mass: missed.byColumn[column]! * perRow })),
    topDiagonals: topIndices(missed.byDiagonal, params.top).map((offset) => ({ offset, mass: missed.byDiagonal[offset]! * perRow })),
    rowsRequested: params.rows,
    backend,
    ms: performance.now() - started,
  };
}
