import { describe, expect, it } from 'vitest';

import { loadNative } from '../../electron/engine/native.js';
import type { SparseIndex } from '../../electron/engine/native-api.js';
import { BLOCK, EVERY_FAMILY, inputsOf, randomProblem, rng } from './reference.js';

const native = loadNative();
const seed = Date.now() >>> 0;
console.log(`index-rows.test seed ${seed}`);

function slotLists(index: SparseIndex, slot: number): [number[], number[]] {
  return [
    Array.from(index.tileStarts.subarray(index.tileOffsets[slot]!, index.tileOffsets[slot + 1]!)),
    Array.from(index.columns.subarray(index.colOffsets[slot]!, index.colOffsets[slot + 1]!)),
  ];
}

describe('buildIndex for some rows (CPU): lists only where the rows are', () => {
  const seqLen = 1000;
  const patterns = EVERY_FAMILY;
  const problem = randomProblem({ dtype: 'BF16', numHeads: 6, numKvHeads: 2, seqLen, headDim: 64 }, rng(seed), 0.8);
  const encoded = Int32Array.from(patterns.flat());
  const rows = Int32Array.from([3, 70, 71, 500, 999]);
  const wanted = new Set(Array.from(rows, (row) => Math.floor(row / BLOCK)));

  it('keeps the full index in the rows\' blocks, empties the others, and keeps the whole density', async () => {
    const full = await native.buildIndex(inputsOf(problem, false), encoded, { backend: 'cpu' });
    const partial = await native.buildIndex(inputsOf(problem, false), encoded, { backend: 'cpu', rows });
    expect(Array.from(partial.rows!)).toEqual(Array.from(rows));
    expect(full.rows).toBeUndefined();
    expect(Array.from(partial.density)).toEqual(Array.from(full.density));
    expect(Array.from(partial.verticals)).toEqual(Array.from(full.verticals));
    expect(Array.from(partial.slashes)).toEqual(Array.from(full.slashes));
    expect(Array.from(partial.window)).toEqual(Array.from(full.window));
    let emptied = 0;
    for (let h = 0; h < patterns.length; h++) {
      for (let m = 0; m < full.numBlocks; m++) {
        const slot = h * full.numBlocks + m;
        if (wanted.has(m)) expect(slotLists(partial, slot)).toEqual(slotLists(full, slot));
        else {
          expect(slotLists(partial, slot)).toEqual([[], []]);
          if (slotLists(full, slot)[0].length > 0) emptied++;
        }
      }
    }
    expect(emptied).toBeGreaterThan(0);
    expect(partial.tileStarts.length).toBeLessThan(full.tileStarts.length);
  });

  it('gives the same recall and output error on its rows as the full index', async () => {
    const full = await native.buildIndex(inputsOf(problem, false), encoded, { backend: 'cpu' });
    const partial = await native.buildIndex(inputsOf(problem, false), encoded, { backend: 'cpu', rows });
    const { lse: denseLse } = await native.denseAttention(inputsOf(problem), { backend: 'cpu', rows, output: 'lse' });
    const [a, b] = [await native.recall(inputsOf(problem, false), full, { backend: 'cpu', rows, denseLse }), await native.recall(inputsOf(problem, false), partial, { backend: 'cpu', rows, denseLse })];
    expect(Array.from(b.recall)).toEqual(Array.from(a.recall));
    const sub = rows.subarray(1, 3);
    const [e1, e2] = [await native.outputError(inputsOf(problem), full, { backend: 'cpu', rows: sub }), await native.outputError(inputsOf(problem), partial, { backend: 'cpu', rows: sub })];
    expect(Array.from(e2.relError)).toEqual(Array.from(e1.relError));
  });

  it('is refused for rows outside its blocks or for all rows', async () => {
    const partial = await native.buildIndex(inputsOf(problem, false), encoded, { backend: 'cpu', rows });
    await expect(native.sparseAttention(inputsOf(problem), partial, { backend: 'cpu' })).rejects.toThrow(/built for 5 rows/);
    await expect(native.sparseAttention(inputsOf(problem), partial, { backend: 'cpu', rows: Int32Array.from([3, 200]) })).rejects.toThrow(/row 200 lies in a query block/);
    await expect(native.outputError(inputsOf(problem), partial, { backend: 'cpu' })).rejects.toThrow(/built for 5 rows/);
    const denseLse = new Float32Array(6);
    await expect(native.recall(inputsOf(problem, false), partial, { backend: 'cpu', rows: Int32Array.from([130]), denseLse })).rejects.toThrow(/row 130/);
    // Without its rows it is an ordinary (if odd) index: the caller owns that choice.
    const { rows: _dropped, ...plain } = partial;
    await expect(native.sparseAttention(inputsOf(problem), plain, { backend: 'cpu', rows: Int32Array.from([200]) })).resolves.toBeDefined();
    await expect(native.buildIndex(inputsOf(problem, false), encoded, { backend: 'cpu', rows: Int32Array.from([5, 1]) })).rejects.toThrow(/rows/);
  });
});
