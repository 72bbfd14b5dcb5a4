import { describe, expect, it } from 'vitest';

import { loadNative } from '../../electron/engine/native.js';
import { inputsOf, maxAbsDiff, probabilityRow, randomProblem, rng, type Problem } from './reference.js';

const native = loadNative();
const seed = Date.now() >>> 0;
console.log(`pooled-map.test seed ${seed}`);

interface Region {
  rowStart: number;
  rowEnd: number;
  colStart: number;
  colEnd: number;
  rows: number;
  cols: number;
}

/** Brute-force pooled map from the spec: per cell, the mean over its used rows of the row's mass on the cell's columns, and the max P. */
function referenceMap(problem: Problem, region: Region, sampleRows: number[] | null) {
  const mean = new Float64Array(region.rows * region.cols);
  const max = new Float64Array(region.rows * region.cols);
  const rowsPerGridRow = new Array<number>(region.rows).fill(0);
  const used = (sampleRows ?? Array.from({ length: problem.seqLen }, (_, i) => i)).filter((i) => i >= region.rowStart && i < region.rowEnd);
  for (const i of used) {
    const gridRow = Math.floor(((i - region.rowStart) * region.rows) / (region.rowEnd - region.rowStart));
    rowsPerGridRow[gridRow]! += 1;
    const p = probabilityRow(problem, 0, i);
    for (let j = region.colStart; j < region.colEnd; j++) {
      const cell = gridRow * region.cols + Math.floor(((j - region.colStart) * region.cols) / (region.colEnd - region.colStart));
      mean[cell]! += p[j]!;
      max[cell] = Math.max(max[cell]!, p[j]!);
    }
  }
  rowsPerGridRow.forEach((count, g) => {
    for (let c = 0; c < region.cols && count > 0; c++) mean[g * region.cols + c]! /= count;
  });
  return { mean, max, rowsUsed: used.length };
}

/**
 * Probabilities are computed in fp32 from logits of magnitude up to ~20 (scale 1.5), where exp()
 * alone carries ~20 ulp of relative error: 1e-5 absolute on values <= 1, the f32 bound.
 */
const PROBABILITY_TOLERANCE = 1e-5;

describe('pooledMap (CPU) against the brute-force definition', () => {
  const problem = randomProblem({ dtype: 'BF16', numHeads: 1, numKvHeads: 1, seqLen: 333, headDim: 64 }, rng(seed), 1.5);
  const regions: [string, Region][] = [
    ['whole map', { rowStart: 0, rowEnd: 333, colStart: 0, colEnd: 333, rows: 10, cols: 10 }],
    ['zoomed region, uneven cells', { rowStart: 70, rowEnd: 300, colStart: 20, colEnd: 250, rows: 7, cols: 13 }],
    ['more cells than columns', { rowStart: 300, rowEnd: 333, colStart: 0, colEnd: 5, rows: 3, cols: 8 }],
  ];
  for (const [name, region] of regions) {
    it(`exact: ${name}`, async () => {
      const result = await native.pooledMap(inputsOf(problem, false), { backend: 'cpu', ...region, sampleRows: null }, {});
      const expected = referenceMap(problem, region, null);
      expect(result.rowsUsed).toBe(expected.rowsUsed);
      expect(maxAbsDiff(result.mean, expected.mean)).toBeLessThan(PROBABILITY_TOLERANCE);
      expect(maxAbsDiff(result.max, expected.max)).toBeLessThan(PROBABILITY_TOLERANCE);
    });
  }

  it('sampled rows: only the sample inside the region counts, and rowsUsed says how many', async () => {
    const region = { rowStart: 64, rowEnd: 333, colStart: 0, colEnd: 333, rows: 4, cols: 6 };
    const sample = [3, 64, 65, 100, 101, 222, 300, 332];
    const result = await native.pooledMap(inputsOf(problem, false), { backend: 'cpu', ...region, sampleRows: Int32Array.from(sample) });
    const expected = referenceMap(problem, region, sample);
    expect(result.rowsUsed).toBe(7);
    expect(maxAbsDiff(result.mean, expected.mean)).toBeLessThan(PROBABILITY_TOLERANCE);
    expect(maxAbsDiff(result.max, expected.max)).toBeLessThan(PROBABILITY_TOLERANCE);
  });

  it('every row of an exact full map carries mass 1 in total', async () => {
    const region = { rowStart: 0, rowEnd: 333, colStart: 0, colEnd: 333, rows: 333, cols: 9 };
    const result = await native.pooledMap(inputsOf(problem, false), { backend: 'cpu', ...region, sampleRows: null });
    for (let g = 0; g < 333; g++) {
      const total = Array.from(result.mean.subarray(g * 9, g * 9 + 9)).reduce((sum, x) => sum + x, 0);
      expect(total).toBeCloseTo(1, 5);
    }
  });

  it('rejects several heads, empty regions and unsorted samples', async () => {
    const two = randomProblem({ dtype: 'F32', numHeads: 2, numKvHeads: 1, seqLen: 64, headDim: 16 }, rng(seed + 1));
    const region = { rowStart: 0, rowEnd: 64, colStart: 0, colEnd: 64, rows: 4, cols: 4 };
    await expect(native.pooledMap(inputsOf(two, false), { backend: 'cpu', ...region, sampleRows: null })).rejects.toThrow(/takes one head/);
    await expect(native.pooledMap(inputsOf(problem, false), { backend: 'cpu', ...region, rowStart: 10, rowEnd: 10, sampleRows: null })).rejects.toThrow(
      /opts.rowEnd must be in \[11, 333\]/,
    );
    await expect(
      native.pooledMap(inputsOf(problem, false), { backend: 'cpu', ...region, sampleRows: Int32Array.from([5, 4]) }),
    ).rejects.toThrow(/opts.sampleRows must be strictly ascending/);
  });
});
