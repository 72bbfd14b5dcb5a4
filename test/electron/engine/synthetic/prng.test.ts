import { describe, expect, it } from 'vitest';
import { Rng, streamSeed } from '../../../../electron/engine/synthetic/prng.js';

describe('Rng', () => {
  it('repeats the same stream for the same seed and labels, and differs otherwise', () => {
    const draw = (rng: Rng): number[] => Array.from({ length: 8 }, () => rng.nextU32());
    expect(draw(new Rng(7, 1, 2))).toEqual(draw(new Rng(7, 1, 2)));
    expect(draw(new Rng(7, 1, 2))).not.toEqual(draw(new Rng(7, 2, 1)));
    expect(draw(new Rng(7))).not.toEqual(draw(new Rng(8)));
    expect(streamSeed(1, 2)).not.toBe(streamSeed(1, 3));
  });

  it('draws uniforms in [0, 1) with the right mean and normals with unit variance', () => {
    const rng = new Rng(1);
    const n = 20000;
    let sum = 0;
    let sumSq = 0;
    let normalSum = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      min = Math.min(min, u);
      max = Math.max(max, u);
      sum += u;
      const z = rng.normal();
      normalSum += z;
      sumSq += z * z;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(sum / n).toBeCloseTo(0.5, 1);
    expect(normalSum / n).toBeCloseTo(0, 1);
    expect(sumSq / n).toBeCloseTo(1, 1);
  });

  it('draws distinct sorted integers in range, and refuses impossible draws', () => {
    const values = new Rng(3).distinctSorted(50, 10, 70);
    expect(values).toHaveLength(50);
    expect(new Set(values).size).toBe(50);
    expect([...values]).toEqual([...values].sort((a, b) => a - b));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...values)).toBeLessThan(70);
    expect(() => new Rng(3).distinctSorted(5, 0, 4)).toThrow(/cannot draw 5 distinct values/);
  });

  it('picks weighted indices in proportion to their weights', () => {
    const rng = new Rng(5);
    const counts = [0, 0, 0];
    for (let i = 0; i < 10000; i++) counts[rng.weighted([1, 0, 3])]!++;
    expect(counts[1]).toBe(0);
    expect(counts[2]! / counts[0]!).toBeGreaterThan(2.6);
    expect(counts[2]! / counts[0]!).toBeLessThan(3.4);
  });
});
