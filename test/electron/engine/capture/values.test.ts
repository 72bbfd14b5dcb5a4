import { describe, expect, it } from 'vitest';

import type { DType } from '../../../../contract/api.js';
import { findBadValue, MAX_ABS_EXPONENT } from '../../../../electron/engine/capture/values.js';

const HEAD_DIM = 6;
const ITEM_BYTES: Record<DType, number> = { F32: 4, BF16: 2, F16: 2 };
/** Raw bits of a bad magnitude (the smallest one) and of the largest good one, per dtype. */
const EDGES: Record<DType, { bad: number; good: number }> = {
  F32: { bad: (127 + MAX_ABS_EXPONENT) << 23, good: ((127 + MAX_ABS_EXPONENT) << 23) - 1 },
  BF16: { bad: (127 + MAX_ABS_EXPONENT) << 7, good: ((127 + MAX_ABS_EXPONENT) << 7) - 1 },
  F16: { bad: 0x7c00, good: 0x7bff },
};

/** `count` good values (with sign bits, and the largest good magnitude here and there) at byte `offset` of a buffer. */
function goodValues(dtype: DType, count: number, offset: number): Uint8Array {
  const bytes = new Uint8Array(offset + count * ITEM_BYTES[dtype]).subarray(offset);
  for (let i = 0; i < count; i++) write(bytes, dtype, i, (i % 7 === 0 ? EDGES[dtype].good : (i * 37) % EDGES[dtype].good) | (i % 3 === 0 ? signBit(dtype) : 0));
  return bytes;
}

function signBit(dtype: DType): number {
  return dtype === 'F32' ? 0x80000000 : 0x8000;
}

function write(bytes: Uint8Array, dtype: DType, i: number, bits: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F32') view.setUint32(i * 4, bits >>> 0, true);
  else view.setUint16(i * 2, bits & 0xffff, true);
}

describe('findBadValue', () => {
  // 16-bit values are scanned two to a 32-bit word, 4096 words a chunk: positions at the edges of
  // each, at an odd start (a 16-bit value before the first word) and in an odd tail.
  const count = 2 * 4096 * 2 + 3;
  const positions = [0, 1, 2, 4095, 4096, 8191, 8192, 8193, 16383, 16384, count - 2, count - 1];
  const cases = (['BF16', 'F16', 'F32'] as const).flatMap((dtype) => [0, 2, 4].filter((offset) => offset % ITEM_BYTES[dtype] === 0).map((offset) => [dtype, offset] as const));

  it.each(cases)('finds the first bad %s value wherever it is (byte offset %i), and none in good data', (dtype, offset) => {
    expect(findBadValue(goodValues(dtype, count, offset), dtype, HEAD_DIM)).toBeNull();
    for (const at of positions) {
      for (const sign of [0, signBit(dtype)]) {
        const bytes = goodValues(dtype, count, offset);
        write(bytes, dtype, at, EDGES[dtype].bad | sign);
        write(bytes, dtype, count - 1, EDGES[dtype].bad); // a later bad value must not be the one reported
        expect(findBadValue(bytes, dtype, HEAD_DIM), `${dtype} at ${at}`).toMatchObject({ row: Math.floor(at / HEAD_DIM), dim: at % HEAD_DIM });
      }
    }
  });

  it('finds nothing in an empty slice at any offset', () => {
    for (const offset of [0, 1, 2, 3]) expect(findBadValue(new Uint8Array(8).subarray(offset, offset), 'BF16', HEAD_DIM)).toBeNull();
  });

  it('reads a 16-bit slice at an odd byte offset from a copy', () => {
    const bytes = goodValues('BF16', 100, 1);
    write(bytes, 'BF16', 50, 0x7fc0); // NaN
    expect(findBadValue(bytes, 'BF16', HEAD_DIM)).toMatchObject({ row: 8, dim: 2, value: NaN });
  });
});
