import { describe, expect, it } from 'vitest';
import { decodeFloats, encodeFloats, fromBf16, fromF16, toBf16, toF16 } from '../../../../electron/engine/synthetic/float-codec.js';

describe('float codec', () => {
  it('encodes known bf16 and f16 bit patterns', () => {
    expect(toBf16(1)).toBe(0x3f80);
    expect(toBf16(-2)).toBe(0xc000);
    expect(toF16(1)).toBe(0x3c00);
    expect(toF16(-2)).toBe(0xc000);
    expect(toF16(65504)).toBe(0x7bff);
    expect(toF16(1e6)).toBe(0x7c00); // overflow -> infinity
    expect(toF16(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(fromF16(0x0001)).toBe(2 ** -24);
    expect(fromBf16(0x3f80)).toBe(1);
  });

  it('rounds to nearest even', () => {
    // 1 + 2^-8 lies halfway between bf16 1 and 1 + 2^-7: ties go to the even mantissa (1).
    expect(fromBf16(toBf16(1 + 2 ** -8))).toBe(1);
    expect(fromBf16(toBf16(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6);
    // f16: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
    expect(fromF16(toF16(1 + 2 ** -11))).toBe(1);
    expect(fromF16(toF16(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
  });

  it('round-trips arrays within each dtype precision', () => {
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10 ** ((i % 7) - 3));
    expect(decodeFloats(encodeFloats(values, 'F32'), 'F32')).toEqual(values);
    for (const [dtype, tolerance] of [['BF16', 2 ** -8], ['F16', 2 ** -10]] as const) {
      const back = decodeFloats(encodeFloats(values, dtype), dtype);
      values.forEach((v, i) => {
        if (Math.abs(v) > 1e-4) expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * tolerance);
      });
    }
  });
});
