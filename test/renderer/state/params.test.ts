import { describe, expect, it } from 'vitest';
import { paramSpecs, sliderToValue, valueToSlider } from '../../../renderer/src/state/params';

describe('tuning parameters', () => {
  it('gives each pattern its MInference parameter names and floors', () => {
    expect(paramSpecs('vertical_and_slash', 8192).map((s) => [s.label, s.min, s.max])).toEqual([
      ['vertical_size', 30, 8192],
      ['slash_size', 50, 8192],
    ]);
    expect(paramSpecs('block_sparse', 8200).map((s) => s.max)).toEqual([129]);
    expect(paramSpecs('dense', 8192)).toEqual([]);
  });

  it('maps the log slider onto the whole range and back', () => {
    const spec = { min: 30, max: 131072 };
    expect(sliderToValue(0, spec)).toBe(30);
    expect(sliderToValue(1000, spec)).toBe(131072);
    for (const value of [30, 100, 1000, 6096, 65536]) {
      expect(Math.abs(sliderToValue(valueToSlider(value, spec), spec) - value) / value).toBeLessThan(0.01);
    }
  });
});
