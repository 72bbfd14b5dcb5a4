/**
 * Capture values the kernels can compute with: finite, and small enough that no attention score
 * overflows fp32. Checked on the raw bits (one compare per element, no decoding), so a head can be
 * checked as it is read, whichever of its rows a measure goes on to use.
 */
import type { DType } from '../../../contract/api.js';
import { fromBf16, fromF16 } from '../synthetic/float-codec.js';

/**
 * |x| < 2^40: a dot product of two rows stays below head_dim x 2^80, far from fp32's 2^128 (block
 * sums of 64 rows too). Real activations are many orders of magnitude smaller.
 */
export const MAX_ABS_EXPONENT = 40;

/**
 * The magnitude bits (sign cleared) from which a value is bad: Inf and NaN, and from 2^40 up where
 * the dtype can hold it. F16 tops out at 65504, so only its Inf and NaN are bad.
 */
const BAD_FROM: Readonly<Record<DType, { mask: number; from: number; itemBytes: 2 | 4 }>> = {
  F32: { mask: 0x7fffffff, from: (127 + MAX_ABS_EXPONENT) << 23, itemBytes: 4 },
  BF16: { mask: 0x7fff, from: (127 + MAX_ABS_EXPONENT) << 7, itemBytes: 2 },
  F16: { mask: 0x7fff, from: 0x7c00, itemBytes: 2 },
};

export interface BadValue {
  row: number;
  dim: number;
  value: number;
}

function decode(bits: number, dtype: DType): number {
  if (dtype === 'BF16') return fromBf16(bits);
  if (dtype === 'F16') return fromF16(bits);
  return new Float32Array(new Uint32Array([bits]).buffer)[0]!;
}

/** 32-bit words flagged together: one branch per chunk keeps the scan's inner loop branch-free. */
const CHUNK_WORDS = 4096;

/**
 * The first chunk of CHUNK_WORDS words holding a bad value, or -1. Each word's flag has the sign
 * bit (of either half, for two 16-bit values) set where a magnitude is `from` or more: for 16-bit
 * values, magnitude + 0x8000 - from reaches bit 15 exactly then and cannot carry into the other
 * half; for 32-bit ones, from - 1 - magnitude goes negative. A whole capture is checked as it is
 * read (12 GiB at 1M tokens): 0.74 ns a value here against 2.19 for one compare per element.
 */
function firstFlaggedChunk(words: Int32Array, pairs: boolean, from: number): number {
  const halves = (0x8000 - from) * 0x10001;
  for (let start = 0; start < words.length; start += CHUNK_WORDS) {
    const end = Math.min(words.length, start + CHUNK_WORDS);
    let flags = 0;
    if (pairs) for (let i = start; i < end; i++) flags |= (words[i]! & 0x7fff7fff) + halves;
    else for (let i = start; i < end; i++) flags |= from - 1 - (words[i]! & 0x7fffffff);
    if (flags & (pairs ? 0x80008000 : 0x80000000)) return start;
  }
  return -1;
}

/** The first bad value of a [rows, headDim] slice of little-endian `dtype` bytes, or null. */
export function findBadValue(bytes: Uint8Array, dtype: DType, headDim: number): BadValue | null {
  const { mask, from, itemBytes } = BAD_FROM[dtype];
  const aligned = bytes.byteOffset % itemBytes === 0 ? bytes : bytes.slice();
  const elements = aligned.byteLength / itemBytes;
  if (elements === 0) return null;
  const values = itemBytes === 4 ? new Uint32Array(aligned.buffer, aligned.byteOffset, elements) : new Uint16Array(aligned.buffer, aligned.byteOffset, elements);
  const firstBad = (start: number, end: number): number => {
    for (let i = start; i < Math.min(end, elements); i++) if ((values[i]! & mask) >= from) return i;
    return -1;
  };
  // Elements before the first 4-byte boundary (one 16-bit value at most), the words, the tail.
  const lead = Math.min(elements, ((4 - (aligned.byteOffset % 4)) % 4) / itemBytes);
  const perWord = 4 / itemBytes;
  const words = new Int32Array(aligned.buffer, aligned.byteOffset + lead * itemBytes, Math.floor((elements - lead) / perWord));
  let at = firstBad(0, lead);
  if (at < 0) {
    const chunk = firstFlaggedChunk(words, itemBytes === 2, from);
    if (chunk >= 0) at = firstBad(lead + chunk * perWord, lead + (chunk + CHUNK_WORDS) * perWord);
  }
  if (at < 0) at = firstBad(lead + words.length * perWord, elements);
  return at < 0 ? null : { row: Math.floor(at / headDim), dim: at % headDim, value: decode(values[at]!, dtype) };
}

/** What is wrong with a bad value, for a message that already names where it is. */
export function badValueText({ dim, value }: BadValue): string {
  if (Number.isNaN(value)) return `holds NaN (dim ${dim}): a capture must hold finite numbers`;
  if (!Number.isFinite(value)) return `holds ${value > 0 ? '' : '-'}infinity (dim ${dim}): a capture must hold finite numbers`;
  return `holds ${value.toExponential(2)} (dim ${dim}): beyond ±2^${MAX_ABS_EXPONENT}, where attention scores overflow fp32`;
}
