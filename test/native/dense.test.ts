import { describe, expect, it } from 'vitest';

import { loadNative } from '../../electron/engine/native.js';
import type { NativeDType } from '../../electron/engine/native-api.js';
import { attendRow, inputsOf, maxAbsDiff, randomProblem, relativeError, rng, type Problem } from './reference.js';

const native = loadNative();
const seed = Date.now() >>> 0;
console.log(`dense.test seed ${seed}`);

// The issue asks < 1e-5 for f32 and < 1e-2 for bf16/f16; since the reference uses the same rounded
// inputs, every dtype is held to the f32 bound.
const TOLERANCE = 1e-5;

function reference(problem: Problem, rows: number[]) {
  const out = new Float64Array(problem.numHeads * rows.length * problem.headDim);
  const lse = new Float64Array(problem.numHeads * rows.length);
  for (let h = 0; h < problem.numHeads; h++) {
    rows.forEach((i, r) => {
      const row = attendRow(problem, h, i);
      out.set(row.out, (h * rows.length + r) * problem.headDim);
      lse[h * rows.length + r] = row.lse;
    });
  }
  return { out, lse };
}

const allRows = (n: number) => Array.from({ length: n }, (_, i) => i);

const shapes: { seqLen: number; numHeads: number; numKvHeads: number; headDim: number }[] = [
  { seqLen: 1, numHeads: 1, numKvHeads: 1, headDim: 64 },
  { seqLen: 63, numHeads: 2, numKvHeads: 2, headDim: 128 },
  { seqLen: 130, numHeads: 4, numKvHeads: 1, headDim: 64 },
  { seqLen: 333, numHeads: 4, numKvHeads: 1, headDim: 16 },
  { seqLen: 200, numHeads: 2, numKvHeads: 1, headDim: 17 },
];
const dtypes: NativeDType[] = ['F32', 'BF16', 'F16'];

describe('denseAttention (CPU) against the float64 reference', () => {
  for (const dtype of dtypes) {
    for (const shape of shapes) {
      it(`${dtype} N=${shape.seqLen} H=${shape.numHeads}/${shape.numKvHeads} D=${shape.headDim}`, async () => {
        const problem = randomProblem({ dtype, ...shape }, rng(seed + shape.seqLen + shape.headDim));
        const result = await native.denseAttention(inputsOf(problem), { backend: 'cpu' });
        const expected = reference(problem, allRows(shape.seqLen));
        expect(result.out.length).toBe(expected.out.length);
        expect(relativeError(result.out, expected.out)).toBeLessThan(TOLERANCE);
        expect(maxAbsDiff(result.lse, expected.lse)).toBeLessThan(TOLERANCE * 10);
        expect(result.ms).toBeGreaterThanOrEqual(0);
      });
    }
  }

  it('computes only the requested rows, equal to the same rows of the full call', async () => {
    const problem = randomProblem({ dtype: 'BF16', seqLen: 301, numHeads: 4, numKvHeads: 2, headDim: 64 }, rng(seed + 7));
    const rows = Int32Array.from([0, 5, 63, 64, 65, 190, 300]);
    const full = await native.denseAttention(inputsOf(problem), { backend: 'cpu' });
    const some = await native.denseAttention(inputsOf(problem), { backend: 'cpu', rows });
    expect(some.out.length).toBe(4 * rows.length * 64);
    for (let h = 0; h < 4; h++) {
      rows.forEach((i, r) => {
        expect(some.lse[h * rows.length + r]).toBe(full.lse[h * 301 + i]);
        expect(Array.from(some.out.subarray((h * rows.length + r) * 64, (h * rows.length + r + 1) * 64))).toEqual(
          Array.from(full.out.subarray((h * 301 + i) * 64, (h * 301 + i + 1) * 64)),
        );
      });
    }
  });

  it('opts.output false runs for the time only: no output and no LSE come back', async () => {
    const problem = randomProblem({ dtype: 'BF16', seqLen: 200, numHeads: 2, numKvHeads: 1, headDim: 32 }, rng(seed + 8));
    const timed = await native.denseAttention(inputsOf(problem), { backend: 'cpu', output: false });
    expect([timed.out.length, timed.lse.length]).toEqual([0, 0]);
    expect(timed.ms).toBeGreaterThanOrEqual(0);
  });

  it('keeps large score ranges finite (online softmax rescaling)', async () => {
    const problem = randomProblem({ dtype: 'F32', seqLen: 257, numHeads: 1, numKvHeads: 1, headDim: 64 }, rng(seed + 11), 4);
    const result = await native.denseAttention(inputsOf(problem), { backend: 'cpu' });
    const expected = reference(problem, allRows(257));
    expect(relativeError(result.out, expected.out)).toBeLessThan(TOLERANCE);
    expect(relativeError(result.lse, expected.lse)).toBeLessThan(TOLERANCE);
  });
});
