import { describe, expect, it } from 'vitest';
import { buildLut, colourBarTicks, coverageToPixels, lutColour, LUT_SIZE, rampPosition, valuesToPixels } from '../../../renderer/src/charts/colormap';

// A grey ramp makes the expected LUT index readable straight from the red channel.
const grey = buildLut((t) => `rgb(${Math.round(t * 255)}, ${Math.round(t * 255)}, ${Math.round(t * 255)})`);
const EMPTY = [1, 2, 3, 4] as const;

describe('colour mapping', () => {
  it('builds a 256-entry opaque RGBA table from an interpolator', () => {
    expect(grey.length).toBe(LUT_SIZE * 4);
    expect([...grey.subarray(0, 4)]).toEqual([0, 0, 0, 255]);
    expect([...grey.subarray(255 * 4)]).toEqual([255, 255, 255, 255]);
  });

  it('maps linearly against the largest cell, and empty cells to the empty colour', () => {
    const { pixels, vmax } = valuesToPixels(new Float32Array([0.5, 0.25, 0, 0.125]), grey, { scale: 'linear', empty: EMPTY });
    expect(vmax).toBe(0.5);
    expect([pixels[0], pixels[4], pixels[12]]).toEqual([255, 128, 64]);
    expect([...pixels.subarray(8, 12)]).toEqual([...EMPTY]);
  });

  it('maps log values over the given decades below the maximum and clamps beneath', () => {
    const values = new Float32Array([1, 0.1, 0.01, 1e-9]);
    const { pixels } = valuesToPixels(values, grey, { scale: 'log', decades: 2, empty: EMPTY });
    expect([pixels[0], pixels[4], pixels[8], pixels[12]]).toEqual([255, 128, 0, 0]);
    expect(pixels[15]).toBe(255);
  });

  it('veils the uncomputed share of causal cells only', () => {
    const pixels = coverageToPixels(new Float32Array([1, 0, 0.5, 0]), (i) => i !== 3, [10, 20, 30, 200]);
    expect([pixels[3], pixels[7], pixels[11], pixels[15]]).toEqual([0, 200, 100, 0]);
    expect([...pixels.subarray(4, 7)]).toEqual([10, 20, 30]);
  });

  it('places values on the ramp as the canvas does, for the colour bar and the readout', () => {
    const log = { scale: 'log' as const, vmax: 0.5, decades: 2 };
    expect(rampPosition(0.5, log)).toBe(1);
    expect(rampPosition(0.05, log)).toBeCloseTo(0.5, 12);
    expect(rampPosition(1e-9, log)).toBe(0);
    expect(rampPosition(0.25, { scale: 'linear', vmax: 0.5, decades: 5 })).toBe(0.5);
    expect(lutColour(grey, 0.5)).toBe('rgb(128, 128, 128)');
  });

  it('labels the colour bar with round linear steps, or one tick per decade of the log scale', () => {
    expect(colourBarTicks({ scale: 'linear', vmax: 0.047, decades: 5 })).toEqual([0, 0.01, 0.02, 0.03, 0.04]);
    expect(colourBarTicks({ scale: 'log', vmax: 0.047, decades: 5 })).toEqual([1e-6, 1e-5, 1e-4, 1e-3, 1e-2].map((v) => expect.closeTo(v, 15)));
    expect(colourBarTicks({ scale: 'log', vmax: 0, decades: 5 })).toEqual([]);
  });
});
