import { describe, expect, it } from 'vitest';

import { loadNative } from '../../electron/engine/native.js';
import { attendRow, inputsOf, randomProblem, referenceMask, relativeError, rng, type Pattern } from './reference.js';

const native = loadNative();
const seed = Date.now() >>> 0;
console.log(`output-error.test seed ${seed}`);

describe('outputError (CPU): sparse against dense without either output leaving the addon', () => {
  const seqLen = 333;
  const patterns: Pattern[] = [
    [1, 20, 60],
    [2, 16, 64],
    [3, 2, 0],
    [0, 0, 0],
  ];
  const problem = randomProblem({ dtype: 'F32', numHeads: 4, numKvHeads: 2, seqLen, headDim: 64 }, rng(seed), 0.8);
  const rows = Int32Array.from([0, 5, 63, 64, 100, 190, 250, 300, 331, 332]);

  it('equals the float64 error of the masked attention per head, in one chunk or many', async () => {
    const index = await native.buildIndex(inputsOf(problem, false), Int32Array.from(patterns.flat()), { backend: 'cpu' });
    const expected = patterns.map((pattern, h) => {
      const mask = referenceMask(problem, index, pattern, h);
      const dense = rows.reduce<number[]>((all, i) => [...all, ...attendRow(problem, h, i).out], []);
      const sparse = rows.reduce<number[]>((all, i) => [...all, ...attendRow(problem, h, i, (j) => mask(i, j)).out], []);
      return relativeError(sparse, dense);
    });
    // The masks lose mass on three heads; the dense head has no error at all.
    expect(Math.min(...expected.slice(0, 3))).toBeGreaterThan(1e-3);
    expect(expected[3]).toBe(0);
    for (const chunkRows of [undefined, 1, 3, rows.length]) {
      const { relError } = await native.outputError(inputsOf(problem), index, { backend: 'cpu', rows, ...(chunkRows ? { chunkRows } : {}) });
      expect(relError).toBeInstanceOf(Float64Array);
      relError.forEach((value, h) => expect(Math.abs(value - expected[h]!)).toBeLessThan(1e-5 * Math.max(1, expected[h]!)));
    }
  });

  it('takes every row when none are given, matching the JS comparison of both outputs', async () => {
    const index = await native.buildIndex(inputsOf(problem, false), Int32Array.from(patterns.flat()), { backend: 'cpu' });
    const dense = await native.denseAttention(inputsOf(problem), { backend: 'cpu' });
    const sparse = await native.sparseAttention(inputsOf(problem), index, { backend: 'cpu' });
    const length = seqLen * 64;
    const { relError } = await native.outputError(inputsOf(problem), index, { backend: 'cpu', chunkRows: 100 });
    relError.forEach((value, h) => expect(value).toBeCloseTo(relativeError(sparse.out.subarray(h * length, (h + 1) * length), dense.out.subarray(h * length, (h + 1) * length)), 6));
  });

  it('sums a chunk of more than 2^20 values per head in slices on the pool, matching the JS comparison', async () => {
    // 2 heads x 8500 rows x D 128: 1.09M values a head, so two slices each, added in order.
    const long = randomProblem({ dtype: 'BF16', numHeads: 2, numKvHeads: 1, seqLen: 8500, headDim: 128 }, rng(seed + 1), 0.8);
    const index = await native.buildIndex(inputsOf(long, false), Int32Array.from([1, 30, 100, 3, 4, 0]), { backend: 'cpu' });
    const dense = await native.denseAttention(inputsOf(long), { backend: 'cpu' });
    const sparse = await native.sparseAttention(inputsOf(long), index, { backend: 'cpu' });
    const length = 8500 * 128;
    const { relError } = await native.outputError(inputsOf(long), index, { backend: 'cpu' });
    relError.forEach((value, h) => {
      const expected = relativeError(sparse.out.subarray(h * length, (h + 1) * length), dense.out.subarray(h * length, (h + 1) * length));
      expect(expected).toBeGreaterThan(1e-3);
      expect(Math.abs(value - expected)).toBeLessThan(1e-9 * expected);
    });
  });

  it("dense with output 'lse' returns the LSE alone, equal to the full call's", async () => {
    const full = await native.denseAttention(inputsOf(problem), { backend: 'cpu', rows });
    const lseOnly = await native.denseAttention(inputsOf(problem), { backend: 'cpu', rows, output: 'lse' });
    expect(lseOnly.out.length).toBe(0);
    expect(lseOnly.lse).toEqual(full.lse);
  });

  it('rejects bad options with errors that name them', async () => {
    const index = await native.buildIndex(inputsOf(problem, false), Int32Array.from(patterns.flat()), { backend: 'cpu' });
    await expect(native.outputError(inputsOf(problem), index, { backend: 'cpu', chunkRows: 0 })).rejects.toThrow(/chunkRows/);
    await expect(native.outputError(inputsOf(problem, false), index, { backend: 'cpu' })).rejects.toThrow(/inputs\.v/);
    await expect(native.outputError(inputsOf(problem), index, { backend: 'cpu', rows: Int32Array.from([5, 3]) })).rejects.toThrow(/rows/);
    await expect(native.denseAttention(inputsOf(problem), { backend: 'cpu', output: 'out' as never })).rejects.toThrow(/boolean or 'lse'/);
    await expect(native.buildIndex(inputsOf(problem, false), Int32Array.from(patterns.flat()), { backend: 'cpu', output: 'lse' } as never)).rejects.toThrow(/must be a boolean/);
  });

  it('stops when cancelled', async () => {
    const index = await native.buildIndex(inputsOf(problem, false), Int32Array.from(patterns.flat()), { backend: 'cpu' });
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    cancel[0] = 1;
    await expect(native.outputError(inputsOf(problem), index, { backend: 'cpu', chunkRows: 10 }, { cancel })).rejects.toThrow(/cancelled/);
  });
});
