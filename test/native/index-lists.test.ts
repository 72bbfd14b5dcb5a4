import { describe, expect, it } from 'vitest';

import { loadNative } from '../../electron/engine/native.js';
import { EVERY_FAMILY, inputsOf, randomProblem, rng } from './reference.js';

const native = loadNative();
const seed = Date.now() >>> 0;
console.log(`index-lists.test seed ${seed}`);

describe("buildIndex with output 'native' (CPU): the lists stay in the addon, ops read them there", () => {
  const seqLen = 700;
  const patterns = EVERY_FAMILY;
  const problem = randomProblem({ dtype: 'BF16', numHeads: 6, numKvHeads: 2, seqLen, headDim: 64 }, rng(seed), 0.8);
  const encoded = Int32Array.from(patterns.flat());
  const rows = Int32Array.from([0, 5, 64, 300, 301, 699]);

  it('returns no lists to JS but the same density, window and chosen lines, and every op gives what the JS lists give', async () => {
    const inJs = await native.buildIndex(inputsOf(problem, false), encoded, { backend: 'cpu' });
    const inAddon = await native.buildIndex(inputsOf(problem, false), encoded, { backend: 'cpu', output: 'native' });
    expect(inJs.lists).toBeUndefined();
    expect(inAddon.lists).toBeDefined();
    for (const key of ['tileOffsets', 'tileStarts', 'colOffsets', 'columns'] as const) expect(inAddon[key].length, key).toBe(0);
    for (const key of ['window', 'verticalOffsets', 'verticals', 'slashOffsets', 'slashes', 'density'] as const) expect(Array.from(inAddon[key]), key).toEqual(Array.from(inJs[key]));

    const { lse } = await native.denseAttention(inputsOf(problem), { backend: 'cpu', rows, output: 'lse' });
    const recall = async (index: typeof inJs) => (await native.recall(inputsOf(problem, false), index, { backend: 'cpu', rows, denseLse: lse })).recall;
    expect(Array.from(await recall(inAddon))).toEqual(Array.from(await recall(inJs)));
    const sparse = async (index: typeof inJs) => (await native.sparseAttention(inputsOf(problem), index, { backend: 'cpu' })).out;
    expect(Array.from(await sparse(inAddon))).toEqual(Array.from(await sparse(inJs)));
    const error = async (index: typeof inJs) => (await native.outputError(inputsOf(problem), index, { backend: 'cpu', rows })).relError;
    expect(Array.from(await error(inAddon))).toEqual(Array.from(await error(inJs)));
  });

  it("refuses lists of another index, a forged handle and other output values, saying why", async () => {
    const inAddon = await native.buildIndex(inputsOf(problem, false), encoded, { backend: 'cpu', output: 'native' });
    const shorter = randomProblem({ dtype: 'BF16', numHeads: 6, numKvHeads: 2, seqLen: 640, headDim: 64 }, rng(seed + 1), 0.8);
    const other = await native.buildIndex(inputsOf(shorter, false), encoded, { backend: 'cpu', output: 'native' });
    await expect(native.sparseAttention(inputsOf(problem), { ...inAddon, lists: other.lists }, { backend: 'cpu' })).rejects.toThrow(/index\.lists are for 6 heads x 640 tokens/);
    await expect(native.sparseAttention(inputsOf(problem), { ...inAddon, lists: {} as never }, { backend: 'cpu' })).rejects.toThrow(/index\.lists must be what buildIndex returned/);
    await expect(native.buildIndex(inputsOf(problem, false), encoded, { backend: 'cpu', output: 'lists' as never })).rejects.toThrow(/boolean or 'native'/);
  });
});
