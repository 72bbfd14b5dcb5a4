import { describe, expect, it } from 'vitest';

import { loadNative } from '../../electron/engine/native.js';
import { PATTERN_ID } from '../../electron/engine/native-api.js';
import {
  BLOCK,
  attendRow,
  blockSparseChoice,
  encode,
  gaussian,
  inputsOf,
  maskDensity,
  maskRecall,
  plantedProblem,
  randomProblem,
  referenceMask,
  relativeError,
  rng,
  streamMask,
  tileMask,
  verticalSlashBlock,
  verticalSlashChoice,
  type Pattern,
  type Problem,
} from './reference.js';

const native = loadNative();
const seed = Date.now() >>> 0;
console.log(`sparse.test seed ${seed}`);

const patternsOf = (heads: Pattern[]) => Int32Array.from(heads.flat());

function blockSlice(array: Int32Array, offsets: Int32Array, slot: number): number[] {
  return Array.from(array.subarray(offsets[slot]!, offsets[slot + 1]!));
}
function headSlice(array: Int32Array, offsets: Int32Array, head: number): number[] {
  return Array.from(array.subarray(offsets[head]!, offsets[head + 1]!));
}

async function denseLseOf(problem: Problem, rows: Int32Array) {
  return (await native.denseAttention(inputsOf(problem), { backend: 'cpu', rows })).lse;
}

/** Native chose a top-k of `scores` up to float32 near-ties at the boundary. */
function expectTopK(chosen: number[], scores: Float64Array, count: number) {
  expect(chosen.length).toBe(count);
  expect(new Set(chosen).size).toBe(count);
  const sorted = Array.from(scores).sort((x, y) => y - x);
  const kth = sorted[count - 1]!;
  const tolerance = 1e-4;
  for (const index of chosen) expect(scores[index]!).toBeGreaterThanOrEqual(kth - tolerance);
  scores.forEach((score, index) => {
    if (score > kth + tolerance) expect(chosen).toContain(index);
  });
}

describe('buildIndex vertical_and_slash (CPU)', () => {
  it('estimates planted verticals and slashes and merges them by the MInference rule', async () => {
    const seqLen = 700;
    const planted = [137, 402, 555];
    const problem = plantedProblem(seqLen, planted, 300, rng(seed));
    const patterns: Pattern[] = [
      [PATTERN_ID.vertical_and_slash, 40, 120],
      [PATTERN_ID.vertical_and_slash, 40, 120],
      [PATTERN_ID.vertical_and_slash, 10, 10],
    ];
    const index = await native.buildIndex(inputsOf(problem, false), patternsOf(patterns), { backend: 'cpu' });
    expect(index.numBlocks).toBe(Math.ceil(seqLen / BLOCK));
    expect(Array.from(index.window)).toEqual([-1, -1, -1, -1, -1, -1]);
    for (let h = 0; h < 3; h++) {
      const [, vSize, sSize] = patterns[h]!;
      const choice = verticalSlashChoice(problem, h, vSize, sSize);
      const verticals = headSlice(index.verticals, index.verticalOffsets, h);
      const slashes = headSlice(index.slashes, index.slashOffsets, h);
      expectTopK(verticals, choice.vertical, choice.vCount);
      expectTopK(slashes, choice.slash, choice.sCount);
      expect(verticals).toEqual([...verticals].sort((x, y) => x - y));
      for (let m = 0; m < index.numBlocks; m++) {
        const expected = verticalSlashBlock(m, verticals, slashes);
        const slot = h * index.numBlocks + m;
        expect(blockSlice(index.tileStarts, index.tileOffsets, slot), `head ${h} block ${m} tiles`).toEqual(expected.tiles);
        expect(blockSlice(index.columns, index.colOffsets, slot), `head ${h} block ${m} columns`).toEqual(expected.columns);
      }
      expect(index.density[h]).toBeCloseTo(maskDensity(seqLen, referenceMask(problem, index, patterns[h]!, h)), 12);
    }
    // Heads 0 and 1 have room beyond the forced columns and offsets: the planted lines are chosen.
    const verticals0 = headSlice(index.verticals, index.verticalOffsets, 0);
    for (const column of planted) expect(verticals0).toContain(column);
    expect(headSlice(index.slashes, index.slashOffsets, 1)).toContain(300);
    // Head 2 clamps to 30 verticals and 50 offsets, so only the forced ones (lower index wins ties).
    expect(headSlice(index.verticals, index.verticalOffsets, 2)).toEqual(Array.from({ length: 30 }, (_, j) => j));
    expect(headSlice(index.slashes, index.slashOffsets, 2)).toEqual(Array.from({ length: 50 }, (_, o) => o));
  });

  it('scores offsets beyond N - last_q from the rows that reach them, as MInference does', async () => {
    const seqLen = 200;
    const problem = plantedProblem(seqLen, [], 170, rng(seed + 2)); // offset 170 > N - 64: only rows 170.. reach it
    const index = await native.buildIndex(inputsOf(problem, false), patternsOf([[0, 0, 0], [PATTERN_ID.vertical_and_slash, 30, 110], [0, 0, 0]]), { backend: 'cpu' });
    const choice = verticalSlashChoice(problem, 1, 30, 110);
    const slashes = headSlice(index.slashes, index.slashOffsets, 1);
    expectTopK(slashes, choice.slash, choice.sCount);
    expect(slashes.filter((offset) => offset > seqLen - 64).length).toBeGreaterThan(0);
  });

  it("takes the estimate's rows from opts.lastQ (a config's sparse_attention_last_q)", async () => {
    const seqLen = 700;
    const problem = plantedProblem(seqLen, [137, 402, 555], 300, rng(seed + 3));
    const patterns: Pattern[] = Array(3).fill([PATTERN_ID.vertical_and_slash, 60, 150]);
    for (const lastQ of [1, 8, 63]) {
      const index = await native.buildIndex(inputsOf(problem, false), patternsOf(patterns), { backend: 'cpu', lastQ });
      for (let h = 0; h < 3; h++) {
        const choice = verticalSlashChoice(problem, h, 60, 150, lastQ);
        expectTopK(headSlice(index.verticals, index.verticalOffsets, h), choice.vertical, choice.vCount);
        expectTopK(headSlice(index.slashes, index.slashOffsets, h), choice.slash, choice.sCount);
      }
    }
    const withDefault = await native.buildIndex(inputsOf(problem, false), patternsOf(patterns), { backend: 'cpu' });
    const with64 = await native.buildIndex(inputsOf(problem, false), patternsOf(patterns), { backend: 'cpu', lastQ: 64 });
    expect(with64.slashes).toEqual(withDefault.slashes);
    for (const lastQ of [0, 65, 1.5]) {
      await expect(native.buildIndex(inputsOf(problem, false), patternsOf(patterns), { backend: 'cpu', lastQ })).rejects.toThrow(/opts\.lastQ/);
    }
  });

  it('opts.output false builds for the time only: every array comes back empty', async () => {
    const problem = randomProblem({ dtype: 'BF16', numHeads: 2, numKvHeads: 1, seqLen: 300, headDim: 16 }, rng(seed + 2));
    const patterns = patternsOf([[PATTERN_ID.vertical_and_slash, 30, 50], [PATTERN_ID.block_sparse, 2, 0]]);
    const timed = await native.buildIndex(inputsOf(problem, false), patterns, { backend: 'cpu', output: false });
    expect(timed).toMatchObject({ numHeads: 2, seqLen: 300, numBlocks: 5 });
    expect(timed.ms).toBeGreaterThanOrEqual(0);
    for (const key of ['tileOffsets', 'tileStarts', 'colOffsets', 'columns', 'window', 'verticalOffsets', 'verticals', 'slashOffsets', 'slashes', 'density'] as const) {
      expect(timed[key], key).toHaveLength(0);
    }
    const index = await native.buildIndex(inputsOf(problem, false), patterns, { backend: 'cpu' });
    expect(index.tileStarts.length).toBeGreaterThan(0);
    await expect(native.buildIndex(inputsOf(problem, false), patterns, { backend: 'cpu', output: 1 as unknown as boolean })).rejects.toThrow(/opts\.output must be a boolean/);
  });

  it('clamps budgets to N on tiny inputs', async () => {
    const problem = randomProblem({ dtype: 'BF16', numHeads: 1, numKvHeads: 1, seqLen: 20, headDim: 16 }, rng(seed + 1));
    const index = await native.buildIndex(inputsOf(problem, false), patternsOf([[PATTERN_ID.vertical_and_slash, 1000, 6096]]), { backend: 'cpu' });
    expect(Array.from(index.verticals)).toEqual(Array.from({ length: 20 }, (_, j) => j));
    expect(Array.from(index.slashes)).toEqual(Array.from({ length: 20 }, (_, o) => o));
    expect(index.density[0]).toBe(1);
  });
});

describe('buildIndex stream_llm and block_sparse (CPU)', () => {
  it('stream_llm: 64-aligned bounding tiles, the exact window, exact density', async () => {
    const seqLen = 333;
    const problem = randomProblem({ dtype: 'F32', numHeads: 2, numKvHeads: 2, seqLen, headDim: 16 }, rng(seed + 2));
    const patterns: Pattern[] = [
      [PATTERN_ID.stream_llm, 10, 70],
      [PATTERN_ID.stream_llm, 100, 0],
    ];
    const index = await native.buildIndex(inputsOf(problem, false), patternsOf(patterns), { backend: 'cpu' });
    expect(Array.from(index.window)).toEqual([10, 70, 100, 0]);
    for (let h = 0; h < 2; h++) {
      const mask = streamMask(patterns[h]![1], patterns[h]![2]);
      expect(index.density[h]).toBeCloseTo(maskDensity(seqLen, mask), 12);
      for (let m = 0; m < index.numBlocks; m++) {
        // Exactly the 64-aligned tiles holding at least one computed entry of the block.
        const needed = new Set<number>();
        for (let i = m * BLOCK; i < Math.min(m * BLOCK + BLOCK, seqLen); i++)
          for (let j = 0; j <= i; j++) if (mask(i, j)) needed.add(Math.floor(j / BLOCK) * BLOCK);
        expect(blockSlice(index.tileStarts, index.tileOffsets, h * index.numBlocks + m)).toEqual([...needed].sort((x, y) => x - y));
      }
    }
  });

  it('block_sparse: top-k pooled key blocks with the diagonal always kept', async () => {
    const seqLen = 600;
    const problem = randomProblem({ dtype: 'BF16', numHeads: 4, numKvHeads: 2, seqLen, headDim: 64 }, rng(seed + 3));
    const patterns: Pattern[] = [0, 1, 3, 100].map((k): Pattern => [PATTERN_ID.block_sparse, k, 0]);
    const index = await native.buildIndex(inputsOf(problem, false), patternsOf(patterns), { backend: 'cpu' });
    for (let h = 0; h < 4; h++) {
      const kept = blockSparseChoice(problem, h, patterns[h]![1]);
      for (let m = 0; m < index.numBlocks; m++) {
        expect(blockSlice(index.tileStarts, index.tileOffsets, h * index.numBlocks + m)).toEqual(kept[m]!.map((n) => n * BLOCK));
      }
      expect(index.density[h]).toBeCloseTo(maskDensity(seqLen, tileMask(kept.map((blocks) => blocks.map((n) => n * BLOCK)))), 12);
    }
    expect(index.density[3]).toBe(1);
  });

  it('rejects unknown pattern ids and negative parameters', async () => {
    const problem = randomProblem({ dtype: 'F32', numHeads: 2, numKvHeads: 1, seqLen: 64, headDim: 16 }, rng(seed + 4));
    await expect(native.buildIndex(inputsOf(problem, false), patternsOf([[0, 0, 0], [7, 0, 0]]), { backend: 'cpu' })).rejects.toThrow(
      /head 1 has unknown pattern id 7/,
    );
    await expect(native.buildIndex(inputsOf(problem, false), patternsOf([[1, -5, 0], [0, 0, 0]]), { backend: 'cpu' })).rejects.toThrow(
      /head 0 has a negative parameter/,
    );
    await expect(native.buildIndex(inputsOf(problem, false), Int32Array.from([0, 0, 0]), { backend: 'cpu' })).rejects.toThrow(
      /patterns must have 3 \* numHeads = 6 entries/,
    );
  });
});

describe('sparseAttention and recall (CPU) over exactly the computed set', () => {
  it('a dense index gives the dense output bit for bit and recall 1', async () => {
    const problem = randomProblem({ dtype: 'F16', numHeads: 4, numKvHeads: 1, seqLen: 333, headDim: 64 }, rng(seed + 5));
    const index = await native.buildIndex(inputsOf(problem, false), patternsOf(Array(4).fill([PATTERN_ID.dense, 0, 0])), { backend: 'cpu' });
    expect(Array.from(index.density)).toEqual([1, 1, 1, 1]);
    const dense = await native.denseAttention(inputsOf(problem), { backend: 'cpu' });
    const sparse = await native.sparseAttention(inputsOf(problem), index, { backend: 'cpu' });
    expect(sparse.out).toEqual(dense.out);
    expect(sparse.lse).toEqual(dense.lse);
    const rows = Int32Array.from({ length: 333 }, (_, i) => i);
    const { recall } = await native.recall(inputsOf(problem, false), index, { backend: 'cpu', rows, denseLse: dense.lse });
    for (const value of recall) expect(value).toBeCloseTo(1, 5);
  });

  it('a vertical_and_slash index covering everything matches dense with recall 1', async () => {
    const seqLen = 130;
    const problem = randomProblem({ dtype: 'BF16', numHeads: 2, numKvHeads: 2, seqLen, headDim: 128 }, rng(seed + 6));
    const index = await native.buildIndex(inputsOf(problem, false), patternsOf(Array(2).fill([PATTERN_ID.vertical_and_slash, seqLen, seqLen])), {
      backend: 'cpu',
    });
    expect(Array.from(index.density)).toEqual([1, 1]);
    const dense = await native.denseAttention(inputsOf(problem), { backend: 'cpu' });
    const sparse = await native.sparseAttention(inputsOf(problem), index, { backend: 'cpu' });
    expect(relativeError(sparse.out, dense.out)).toBeLessThan(1e-6);
    const rows = Int32Array.from({ length: seqLen }, (_, i) => i);
    const { recall } = await native.recall(inputsOf(problem, false), index, { backend: 'cpu', rows, denseLse: dense.lse });
    for (const value of recall) expect(value).toBeCloseTo(1, 5);
  });

  const cases: { name: string; seqLen: number; numHeads: number; numKvHeads: number; patterns: Pattern[] }[] = [
    { name: 'vertical_and_slash', seqLen: 333, numHeads: 2, numKvHeads: 1, patterns: [[1, 35, 110], [1, 60, 150]] },
    { name: 'stream_llm', seqLen: 290, numHeads: 2, numKvHeads: 2, patterns: [[2, 16, 40], [2, 64, 100]] },
    { name: 'block_sparse', seqLen: 400, numHeads: 4, numKvHeads: 1, patterns: [[3, 1, 0], [3, 2, 0], [3, 3, 0], [3, 5, 0]] },
    { name: 'mixed', seqLen: 200, numHeads: 4, numKvHeads: 2, patterns: [[0, 0, 0], [1, 30, 50], [2, 4, 20], [3, 2, 0]] },
  ];
  for (const { name, seqLen, numHeads, numKvHeads, patterns } of cases) {
    it(`${name}: output and recall equal the float64 brute force over the defined mask`, async () => {
      const problem = randomProblem({ dtype: 'F32', numHeads, numKvHeads, seqLen, headDim: 64 }, rng(seed + seqLen), 0.8);
      const index = await native.buildIndex(inputsOf(problem, false), patternsOf(patterns), { backend: 'cpu' });
      const masks = patterns.map((pattern, h) => referenceMask(problem, index, pattern, h));

      const rows = Int32Array.from([0, 1, 40, 63, 64, 100, 127, 128, 150, seqLen - 2, seqLen - 1].filter((i, n, all) => i < seqLen && all.indexOf(i) === n));
      const sparse = await native.sparseAttention(inputsOf(problem), index, { backend: 'cpu', rows });
      const expectedOut = new Float64Array(numHeads * rows.length * 64);
      for (let h = 0; h < numHeads; h++) {
        rows.forEach((i, r) => expectedOut.set(attendRow(problem, h, i, (j) => masks[h]!(i, j)).out, (h * rows.length + r) * 64));
      }
      expect(relativeError(sparse.out, expectedOut)).toBeLessThan(1e-5);

      const allRows = Int32Array.from({ length: seqLen }, (_, i) => i);
      const { recall } = await native.recall(inputsOf(problem, false), index, { backend: 'cpu', rows: allRows, denseLse: await denseLseOf(problem, allRows) });
      const expected = maskRecall(problem, Array.from(allRows), (h) => masks[h]!);
      let worst = 0;
      recall.forEach((value, n) => (worst = Math.max(worst, Math.abs(value - expected[n]!))));
      expect(worst).toBeLessThan(1e-5);
      // The masks are not trivial: some rows lose mass.
      expect(Math.min(...expected)).toBeLessThan(0.999);
      // Sampled rows give the same per-row recall as the exact run.
      const sampled = await native.recall(inputsOf(problem, false), index, { backend: 'cpu', rows, denseLse: await denseLseOf(problem, rows) });
      for (let h = 0; h < numHeads; h++) {
        rows.forEach((i, r) => expect(sampled.recall[h * rows.length + r]).toBeCloseTo(recall[h * seqLen + i]!, 6));
      }
    });
  }

  it('rejects an index that does not fit the inputs or is malformed', async () => {
    const problem = randomProblem({ dtype: 'F32', numHeads: 2, numKvHeads: 1, seqLen: 130, headDim: 16 }, rng(seed + 8));
    const index = await native.buildIndex(inputsOf(problem, false), patternsOf([[0, 0, 0], [0, 0, 0]]), { backend: 'cpu' });
    const other = randomProblem({ dtype: 'F32', numHeads: 2, numKvHeads: 1, seqLen: 131, headDim: 16 }, rng(seed + 9));
    await expect(native.sparseAttention(inputsOf(other), index, { backend: 'cpu' })).rejects.toThrow(/index is for 2 heads x 130 tokens/);
    await expect(native.sparseAttention(inputsOf(problem), { ...index, tileOffsets: index.tileOffsets.subarray(1) }, { backend: 'cpu' })).rejects.toThrow(
      RangeError,
    );
    const negative = Int32Array.from(index.tileStarts);
    negative[0] = -64;
    await expect(native.sparseAttention(inputsOf(problem), { ...index, tileStarts: negative }, { backend: 'cpu' })).rejects.toThrow(/tileStarts\[0\] is negative/);
    await expect(
      native.recall(inputsOf(problem, false), index, { backend: 'cpu', rows: Int32Array.from([1, 2]), denseLse: new Float32Array(3) }),
    ).rejects.toThrow(/denseLse must have numHeads \* rows.length = 4 entries/);
  });
});
