import { describe, expect, it } from 'vitest';

import { loadNative } from '../../electron/engine/native.js';
import { PATTERN_ID } from '../../electron/engine/native-api.js';
import { attendRow, inputsOf, maskRecall, maxAbsDiff, probabilityRow, randomProblem, referenceMask, relativeError, rng, type Pattern } from './reference.js';

const native = loadNative();
const seed = Date.now() >>> 0;
console.log(`head-dims.test seed ${seed}`);

// The head dims of real models (Phi-3 has 96, GPT-2 and Qwen 64, Llama 128, Gemma 256; 80 for
// models like Phi-2): the CPU backend computes every one, whatever the CUDA build supports.
const HEAD_DIMS = [64, 80, 96, 128, 256];
const TOLERANCE = 1e-5; // the reference uses the same rounded inputs: the f32 bound of dense.test

describe('real head dims on the CPU backend: dense, index, sparse, recall, pooled map against float64', () => {
  for (const headDim of HEAD_DIMS) {
    it(`D=${headDim} (BF16, N=200, GQA 4/2)`, async () => {
      const seqLen = 200;
      const problem = randomProblem({ dtype: 'BF16', numHeads: 4, numKvHeads: 2, seqLen, headDim }, rng(seed + headDim), 0.8);
      const rows = Int32Array.from([0, 1, 63, 64, 100, 150, 198, 199]);

      const dense = await native.denseAttention(inputsOf(problem), { backend: 'cpu', rows });
      const expectedOut = new Float64Array(4 * rows.length * headDim);
      const expectedLse = new Float64Array(4 * rows.length);
      for (let h = 0; h < 4; h++)
        rows.forEach((i, r) => {
          const row = attendRow(problem, h, i);
          expectedOut.set(row.out, (h * rows.length + r) * headDim);
          expectedLse[h * rows.length + r] = row.lse;
        });
      expect(relativeError(dense.out, expectedOut)).toBeLessThan(TOLERANCE);
      expect(maxAbsDiff(dense.lse, expectedLse)).toBeLessThan(TOLERANCE * 10);

      const patterns: Pattern[] = [
        [PATTERN_ID.vertical_and_slash, 30, 60],
        [PATTERN_ID.stream_llm, 16, 40],
        [PATTERN_ID.block_sparse, 2, 0],
        [PATTERN_ID.dense, 0, 0],
      ];
      const index = await native.buildIndex(inputsOf(problem, false), Int32Array.from(patterns.flat()), { backend: 'cpu' });
      const masks = patterns.map((pattern, h) => referenceMask(problem, index, pattern, h));
      const sparse = await native.sparseAttention(inputsOf(problem), index, { backend: 'cpu', rows });
      const sparseOut = new Float64Array(4 * rows.length * headDim);
      for (let h = 0; h < 4; h++) rows.forEach((i, r) => sparseOut.set(attendRow(problem, h, i, (j) => masks[h]!(i, j)).out, (h * rows.length + r) * headDim));
      expect(relativeError(sparse.out, sparseOut)).toBeLessThan(TOLERANCE);

      const { recall } = await native.recall(inputsOf(problem, false), index, { backend: 'cpu', rows, denseLse: dense.lse });
      expect(maxAbsDiff(recall, maskRecall(problem, Array.from(rows), (h) => masks[h]!))).toBeLessThan(TOLERANCE);

      // Pooled map of head 0, one cell per column over rows 100..199: each cell is P[i, j].
      const head = { ...inputsOf(problem, false), numHeads: 1, numKvHeads: 1, q: problem.q.bytes.subarray(0, seqLen * headDim * 2), k: problem.k.bytes.subarray(0, seqLen * headDim * 2) };
      const map = await native.pooledMap(head, { backend: 'cpu', rowStart: 100, rowEnd: 200, colStart: 0, colEnd: 200, rows: 100, cols: 200, sampleRows: null });
      const expectedMap = new Float64Array(100 * 200);
      for (let i = 100; i < 200; i++) expectedMap.set(probabilityRow(problem, 0, i), (i - 100) * 200);
      expect(maxAbsDiff(map.mean, expectedMap)).toBeLessThan(TOLERANCE);
    });
  }
});

describe('deviceInfo names the head dims the CUDA build computes', () => {
  it('64, 96 and 128 when CUDA is compiled in, none otherwise', () => {
    const { cuda } = native.deviceInfo();
    expect(cuda.headDims).toEqual(cuda.compiled ? [64, 96, 128] : []);
  });
});
