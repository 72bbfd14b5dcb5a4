import { describe, expect, it } from 'vitest';
import { coverageDiffToPixels } from '../../../renderer/src/charts/colormap';

describe('the difference of two masks', () => {
  it('colours cells only A or only B computes, more opaque the larger the difference, and leaves agreement clear', () => {
    const a = Float32Array.from([1, 0, 0.5, 1]);
    const b = Float32Array.from([1, 1, 0, 0.75]);
    const pixels = coverageDiffToPixels(a, b, { onlyA: [200, 0, 0, 255], onlyB: [0, 0, 200, 255] });
    expect(Array.from(pixels.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(Array.from(pixels.subarray(4, 8))).toEqual([0, 0, 200, 255]);
    expect(Array.from(pixels.subarray(8, 12))).toEqual([200, 0, 0, Math.round(90 + 165 * 0.5)]);
    expect(pixels[15]).toBe(Math.round(90 + 165 * 0.25));
  });
});
