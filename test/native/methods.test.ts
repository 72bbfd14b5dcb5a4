import { describe, expect, it } from 'vitest';

import { loadNative } from '../../electron/engine/native.js';
import { PATTERN_ID, type IndexOptions } from '../../electron/engine/native-api.js';
import { flexprefillChoice, keptTiles, xattentionKept, xattentionMasses } from './methods-reference.js';
import { inputsOf, maskDensity, maskRecall, plantedProblem, randomProblem, rng, tileMask, type Pattern, type Problem } from './reference.js';

// Fixed seeds: the choices compare fp32 sums against float64 ones at a threshold, so a random
// input could (rarely) sit on a tie; these inputs do not.
const native = loadNative();
const patternsOf = (heads: Pattern[]) => Int32Array.from(heads.flat());

function tilesOf(index: Awaited<ReturnType<typeof native.buildIndex>>, head: number): number[][] {
  return Array.from({ length: index.numBlocks }, (_, m) => {
    const slot = head * index.numBlocks + m;
    return Array.from(index.tileStarts.subarray(index.tileOffsets[slot]!, index.tileOffsets[slot + 1]!));
  });
}

async function expectIndexOfKept(problem: Problem, patterns: Pattern[], opts: IndexOptions, expectedKept: (head: number) => number[][], blockSize: number) {
  const index = await native.buildIndex(inputsOf(problem, false), patternsOf(patterns), opts);
  for (let h = 0; h < patterns.length; h++) {
    const tiles = keptTiles(expectedKept(h), blockSize, problem.seqLen);
    expect(tilesOf(index, h), `head ${h} ${JSON.stringify(patterns[h])}`).toEqual(tiles);
    expect(index.density[h]).toBeCloseTo(maskDensity(problem.seqLen, tileMask(tiles)), 12);
    expect(Array.from(index.window.subarray(2 * h, 2 * h + 2))).toEqual([-1, -1]);
  }
  return index;
}

describe('buildIndex xattention (CPU) against the float64 definition', () => {
  const cases: { seqLen: number; stride: number; blockSize: number }[] = [
    { seqLen: 300, stride: 8, blockSize: 128 }, // N a multiple of neither the block nor the stride
    { seqLen: 256, stride: 16, blockSize: 128 },
    { seqLen: 333, stride: 4, blockSize: 64 },
    { seqLen: 400, stride: 8, blockSize: 192 },
  ];
  for (const { seqLen, stride, blockSize } of cases) {
    it(`N ${seqLen}, stride ${stride}, blocks of ${blockSize}: antidiagonal masses, threshold choice, forced first and diagonal blocks`, async () => {
      const problem = randomProblem({ dtype: 'BF16', numHeads: 4, numKvHeads: 2, seqLen, headDim: 32 }, rng(seqLen + stride), 1.5);
      const thresholds = [0, 500, 900, 1000];
      const patterns = thresholds.map((t): Pattern => [PATTERN_ID.xattention, t, stride]);
      await expectIndexOfKept(problem, patterns, { backend: 'cpu', xattentionBlockSize: blockSize }, (h) => xattentionKept(xattentionMasses(problem, h, stride, blockSize), thresholds[h]!), blockSize);
    });
  }

  it('keeps only the first and diagonal blocks at threshold 0 and every causal block at 1000, on a planted capture', async () => {
    const problem = plantedProblem(640, [5, 300], 200, rng(7));
    const index = await native.buildIndex(inputsOf(problem, false), patternsOf([[PATTERN_ID.xattention, 0, 8], [PATTERN_ID.xattention, 1000, 8], [PATTERN_ID.xattention, 900, 8]]), { backend: 'cpu' });
    const blocks = Math.ceil(640 / 128);
    expect(tilesOf(index, 0)).toEqual(keptTiles(Array.from({ length: blocks }, (_, m) => (m > 0 ? [0, m] : [0])), 128, 640));
    expect(index.density[1]).toBe(1);
    // Head 2's slash at offset 200 sits one or two blocks below the diagonal: those blocks are kept.
    const kept = xattentionKept(xattentionMasses(problem, 2, 8, 128), 900);
    expect(kept[4]).toContain(3);
    expect(tilesOf(index, 2)).toEqual(keptTiles(kept, 128, 640));
  });

  it('sparse attention and recall over an xattention index equal float64 over its blocks', async () => {
    const problem = randomProblem({ dtype: 'F32', numHeads: 2, numKvHeads: 1, seqLen: 300, headDim: 32 }, rng(11), 1.5);
    const index = await native.buildIndex(inputsOf(problem, false), patternsOf([[PATTERN_ID.xattention, 700, 8], [PATTERN_ID.xattention, 950, 4]]), { backend: 'cpu' });
    const rows = Int32Array.from([0, 63, 64, 200, 299]);
    const denseLse = (await native.denseAttention(inputsOf(problem), { backend: 'cpu', rows })).lse;
    const recall = (await native.recall(inputsOf(problem, false), index, { backend: 'cpu', rows, denseLse })).recall;
    const expected = maskRecall(problem, Array.from(rows), (h) => tileMask(tilesOf(index, h)));
    recall.forEach((value, r) => expect(value).toBeCloseTo(expected[r]!, 5));
  });

  it('rejects a stride that does not divide the block, a threshold over 1000 and a block that is not a multiple of 64', async () => {
    const problem = randomProblem({ dtype: 'F32', numHeads: 1, numKvHeads: 1, seqLen: 128, headDim: 16 }, rng(5));
    const build = (pattern: Pattern, opts: Partial<IndexOptions> = {}) => native.buildIndex(inputsOf(problem, false), patternsOf([pattern]), { backend: 'cpu', ...opts });
    await expect(build([PATTERN_ID.xattention, 900, 12])).rejects.toThrow(/head 0: xattention stride 12 must divide the block size 128/);
    await expect(build([PATTERN_ID.xattention, 1001, 8])).rejects.toThrow(/threshold 1001 exceeds 1000/);
    await expect(build([PATTERN_ID.xattention, 900, 8], { xattentionBlockSize: 96 })).rejects.toThrow(/xattention block size 96 must be a multiple of 64/);
  });
});

describe('buildIndex flexprefill (CPU) against the float64 definition', () => {
  const blockSize = 128;
  it('N not a multiple of the block: budgets from gamma, the JS test, verticals, slashes and the pooled estimate', async () => {
    const seqLen = 700;
    const problem = randomProblem({ dtype: 'BF16', numHeads: 6, numKvHeads: 2, seqLen, headDim: 32 }, rng(21), 1.5);
    // tau 0: never query-aware; tau 1000: always (sqrt JS <= sqrt(ln 2) < 1).
    const patterns: Pattern[] = [[PATTERN_ID.flexprefill, 500, 0], [PATTERN_ID.flexprefill, 900, 0], [PATTERN_ID.flexprefill, 990, 100], [PATTERN_ID.flexprefill, 500, 1000], [PATTERN_ID.flexprefill, 900, 1000], [PATTERN_ID.flexprefill, 950, 300]];
    for (const minBudget of [0, 256]) {
      const choices = patterns.map(([, gamma, tau], h) => flexprefillChoice(problem, h, gamma, tau, blockSize, minBudget));
      expect(choices.some((c) => c.queryAware)).toBe(true);
      expect(choices.some((c) => !c.queryAware)).toBe(true);
      await expectIndexOfKept(problem, patterns, { backend: 'cpu', flexprefillMinBudget: minBudget }, (h) => choices[h]!.kept, blockSize);
    }
  });

  it('the pooled estimate over many blocks (32 x 32 pairs in two passes over value buckets) keeps the float64 walk', async () => {
    const problem = randomProblem({ dtype: 'BF16', numHeads: 4, numKvHeads: 1, seqLen: 4096, headDim: 16 }, rng(33), 2);
    const patterns: Pattern[] = [100, 500, 900, 1000].map((gamma): Pattern => [PATTERN_ID.flexprefill, gamma, 1000]);
    const choices = patterns.map(([, gamma, tau], h) => flexprefillChoice(problem, h, gamma, tau, blockSize, 0));
    expect(choices.every((c) => c.queryAware)).toBe(true);
    await expectIndexOfKept(problem, patterns, { backend: 'cpu', flexprefillMinBudget: 0 }, (h) => choices[h]!.kept, blockSize);
  });

  it('planted verticals and slash: the chosen blocks hold them', async () => {
    const problem = plantedProblem(1000, [10, 700], 300, rng(8));
    const patterns: Pattern[] = [0, 1, 2].map((): Pattern => [PATTERN_ID.flexprefill, 900, 100]);
    const choices = [0, 1, 2].map((h) => flexprefillChoice(problem, h, 900, 100, blockSize, 0));
    expect(choices[0]!.verticals).toContain(Math.floor(700 / blockSize));
    await expectIndexOfKept(problem, patterns, { backend: 'cpu', flexprefillMinBudget: 0 }, (h) => choices[h]!.kept, blockSize);
  });

  it('runs lengths up to max(2B, the minimum budget) dense, as FlexPrefill does', async () => {
    const problem = randomProblem({ dtype: 'F32', numHeads: 1, numKvHeads: 1, seqLen: 512, headDim: 16 }, rng(3));
    const index = await native.buildIndex(inputsOf(problem, false), patternsOf([[PATTERN_ID.flexprefill, 500, 100]]), { backend: 'cpu' });
    expect(index.density[0]).toBe(1);
    expect(tilesOf(index, 0)[7]).toEqual([0, 64, 128, 192, 256, 320, 384, 448]);
  });

  it('rejects gamma or tau over 1000 thousandths', async () => {
    const problem = randomProblem({ dtype: 'F32', numHeads: 1, numKvHeads: 1, seqLen: 64, headDim: 16 }, rng(4));
    await expect(native.buildIndex(inputsOf(problem, false), patternsOf([[PATTERN_ID.flexprefill, 1200, 0]]), { backend: 'cpu' })).rejects.toThrow(/gamma 1200 exceeds 1000/);
    await expect(native.buildIndex(inputsOf(problem, false), patternsOf([[PATTERN_ID.flexprefill, 900, 1001]]), { backend: 'cpu' })).rejects.toThrow(/tau 1001 exceeds 1000/);
  });
});
