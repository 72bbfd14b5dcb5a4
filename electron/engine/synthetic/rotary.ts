/**
 * The synthetic capture's rotary side: which RoPE pairs are positional and which semantic (the
 * channel layout every layer shares), and each head's rows rotated to their positions, CHUNK_ROWS
 * at a time.
 */
import type { SyntheticOptions } from './generator.js';

export const ROPE_THETA = 1e8;
/** A pair is "semantic" when it turns by at most this many radians over the whole sequence. */
const SEMANTIC_MAX_TURN = 0.3;
const MAX_TOPICS = 12;
const MAX_SALIENT_CHANNELS = 4;

/** Sequence geometry shared by every layer: rotary frequencies and the channel layout. */
export interface Geometry {
  seqLen: number;
  headDim: number;
  half: number;
  freqs: Float64Array;
  /** Pairs 0..positionalPairs-1 are positional; the rest are semantic. */
  positionalPairs: number;
  sinkDim: number;
  salientDims: number[];
  topicDims: number[];
}

export function buildGeometry(options: SyntheticOptions): Geometry {
  const { seqLen, headDim } = options;
  const half = headDim / 2;
  const freqs = new Float64Array(half);
  let positionalPairs = half;
  for (let k = 0; k < half; k++) {
    freqs[k] = ROPE_THETA ** ((-2 * k) / headDim);
    if (positionalPairs === half && freqs[k]! * seqLen <= SEMANTIC_MAX_TURN) positionalPairs = k;
  }
  // Semantic dims, stillest first: both dims of each slow pair are independent channels.
  const semantic: number[] = [];
  for (let k = half - 1; k >= positionalPairs; k--) semantic.push(k, k + half);
  const group = options.heads / options.kvHeads;
  const salientCount = Math.min(group, MAX_SALIENT_CHANNELS);
  const needed = 1 + salientCount + 2;
  if (semantic.length < needed) {
    throw new Error(
      `synthetic capture: head dim ${headDim} is too small for ${seqLen} tokens (${semantic.length} slow rotary dims, ${needed} needed); use a larger head dim or fewer tokens`,
    );
  }
  const topicCount = Math.min(MAX_TOPICS, semantic.length - 1 - salientCount);
  return {
    seqLen,
    headDim,
    half,
    freqs,
    positionalPairs,
    sinkDim: semantic[0]!,
    salientDims: semantic.slice(1, 1 + salientCount),
    topicDims: semantic.slice(1 + salientCount, 1 + salientCount + topicCount),
  };
}

/** Rows a head is produced in at a time, so a head's memory stays bounded however long the sequence. */
export const CHUNK_ROWS = 1 << 16;

/** cos/sin of w_k * position for positions [start, start + rows) and every pair. */
interface RopeTable {
  start: number;
  cos: Float32Array;
  sin: Float32Array;
}

function ropeTable(geometry: Geometry, start: number, rows: number): RopeTable {
  const { half, freqs } = geometry;
  const cos = new Float32Array(rows * half);
  const sin = new Float32Array(rows * half);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < half; k++) {
      const angle = (start + r) * freqs[k]!;
      cos[r * half + k] = Math.cos(angle);
      sin[r * half + k] = Math.sin(angle);
    }
  }
  return { start, cos, sin };
}

/** Rotate `row` (HF layout: pair k = dims k and k + D/2) to position i, scale, store at `out`. */
function ropeInto(row: Float64Array, i: number, geometry: Geometry, table: RopeTable, out: Float32Array, offset: number, scale: number): void {
  const { half } = geometry;
  const at = (i - table.start) * half;
  for (let k = 0; k < half; k++) {
    const c = table.cos[at + k]!;
    const s = table.sin[at + k]!;
    const x = row[k]!;
    const y = row[k + half]!;
    out[offset + k] = scale * (x * c - y * s);
    out[offset + k + half] = scale * (y * c + x * s);
  }
}

/**
 * A head's [N, D] rows in chunks of CHUNK_ROWS, each row built in logit units by `fill` (which
 * draws from the head's own stream in row order, so chunking does not change a value), then rotated.
 */
export function* rotatedRows(geometry: Geometry, fill: (row: Float64Array, i: number) => void): Generator<Float32Array> {
  const { seqLen, headDim } = geometry;
  const scale = headDim ** 0.25;
  const row = new Float64Array(headDim);
  for (let start = 0; start < seqLen; start += CHUNK_ROWS) {
    const rows = Math.min(CHUNK_ROWS, seqLen - start);
    const table = ropeTable(geometry, start, rows);
    const out = new Float32Array(rows * headDim);
    for (let r = 0; r < rows; r++) {
      fill(row, start + r);
      ropeInto(row, start + r, geometry, table, out, r * headDim, scale);
    }
    yield out;
  }
}
