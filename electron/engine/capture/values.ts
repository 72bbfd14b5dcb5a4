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

/** The first bad value of a [rows, headDim] slice of little-endian `dtype` bytes, or null. */
export function findBadValue(bytes: Uint8Array, dtype: DType, headDim: number): BadValue | null {
  const { mask, from, itemBytes } = BAD_FROM[dtype];
  const aligned = bytes.byteOffset % itemBytes === 0 ? bytes : bytes.slice();
  const elements = aligned.byteLength / itemBytes;
  const words = itemBytes === 4 ? new Uint32Array(aligned.buffer, aligned.byteOffset, elements) : new Uint16Array(aligned.buffer, aligned.byteOffset, elements);
  for (let i = 0; i < elements; i++) {
    if ((words[i]! & mask) >= from) return { row: Math.floor(i / headDim), dim: i % headDim, value: decode(words[i]!, dtype) };
  }
  return null;
}

/** What is wrong with a bad value, for a message that already names where it is. */
export function badValueText({ dim, value }: BadValue): string {
  if (Number.isNaN(value)) return `holds NaN (dim ${dim}): a capture must hold finite numbers`;
  if (!Number.isFinite(value)) return `holds ${value > 0 ? '' : '-'}infinity (dim ${dim}): a capture must hold finite numbers`;
  return `holds ${value.toExponential(2)} (dim ${dim}): beyond ±2^${MAX_ABS_EXPONENT}, where attention scores overflow fp32`;
}
