/**
 * What the kernel view and the output-error view read from the engine: one query block's tiles
 * and loose columns (MInference's block_offset and column_index), and the per-row error with the
 * skipped keys that carried the missing mass, checked against float64 probabilities.
 */
import { describe, expect, it } from 'vitest';
import { KERNEL_BLOCK, type HeadPattern } from '../../../../contract/api.js';
import { encodePatterns, headInputs } from '../../../../electron/engine/analysis/common.js';
import { computedIntervals } from '../../../../electron/engine/analysis/index-geometry.js';
import { kernelBlocks, kernelBlocksOf } from '../../../../electron/engine/analysis/kernel-blocks.js';
import { affordableRows, outputError, SCORE_BUDGET, topIndices } from '../../../../electron/engine/analysis/output-error.js';
import type { NativeModule } from '../../../../electron/engine/native-api.js';
import { decodeFloats } from '../../../../electron/engine/synthetic/float-codec.js';
import { syntheticCapture } from '../../../../electron/engine/synthetic/memory-capture.js';
import { nativeOrReference } from './native-or-reference.js';
import { referenceNative } from './reference-native.js';

const N = 320; // five query blocks, the last one full; 330 would leave a partial one
const D = 32;
const capture = syntheticCapture({ seqLen: N, layers: 1, heads: 2, kvHeads: 1, headDim: D, seed: 5, dtype: 'F32' });
const built = await nativeOrReference();
const implementations: [string, NativeModule][] = [['reference', referenceNative()], ...(built.kind === 'native' ? [['native', built.native] as [string, NativeModule]] : [])];
const VS: HeadPattern = { pattern: 'vertical_and_slash', a: 30, b: 50 };

/** Float64 probabilities of row i of head 0. */
async function probabilities(i: number): Promise<Float64Array> {
  const q = decodeFloats(await capture.readHead(0, 'q', 0), 'F32');
  const k = decodeFloats(await capture.readHead(0, 'k', 0), 'F32');
  const s = Float64Array.from({ length: i + 1 }, (_, j) => {
    let dot = 0;
    for (let x = 0; x < D; x++) dot += q[i * D + x]! * k[j * D + x]!;
    return dot / Math.sqrt(D);
  });
  const max = Math.max(...s);
  const e = s.map((v) => Math.exp(v - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

describe('topIndices and the row budget', () => {
  it('keeps the largest positive values, largest first', () => {
    expect(topIndices(Float64Array.from([0.1, 0, 0.5, 0.3, 0.5, -1, 0.2]), 3)).toEqual([2, 4, 3]);
    expect(topIndices(Float64Array.from([0, 0]), 3)).toEqual([]);
  });

  it('cuts rows so rows x N x D stays within the budget, never below 16 or above what was asked', () => {
    expect(affordableRows(256, 4096, 64)).toBe(256);
    expect(affordableRows(512, 131072, 128)).toBe(Math.max(16, Math.floor(SCORE_BUDGET / (131072 * 128))));
    expect(affordableRows(512, 1 << 20, 128)).toBe(16);
    expect(affordableRows(8, 1 << 20, 128)).toBe(8);
  });
});

describe.each(implementations)('on the %s implementation', (_name, native) => {
  it('lists each query block’s tiles and loose columns as the index holds them; together they make the mask', async () => {
    const index = await native.buildIndex(await headInputs(capture, 0, 0, false), encodePatterns([VS]), { backend: 'cpu' });
    let computed = 0;
    for (let block = 0; block < index.numBlocks; block++) {
      const view = await kernelBlocks(native, capture, { layer: 0, head: 0, pattern: VS, queryBlock: block, lastQ: 64 });
      expect(view.blockOffset).toEqual(Array.from(index.tileStarts.subarray(index.tileOffsets[block], index.tileOffsets[block + 1])));
      expect(view.columnIndex).toEqual(Array.from(index.columns.subarray(index.colOffsets[block], index.colOffsets[block + 1])));
      expect([view.blockCount, view.columnCount]).toEqual([view.blockOffset.length, view.columnIndex.length]);
      expect([view.rowStart, view.rowEnd]).toEqual([block * KERNEL_BLOCK, Math.min(N, (block + 1) * KERNEL_BLOCK)]);
      expect(view.window).toBeNull();
      // No loose column falls inside a tile; every read key of a row is in a tile or a column.
      for (const column of view.columnIndex) expect(view.blockOffset.some((s) => column >= s && column < s + KERNEL_BLOCK)).toBe(false);
      for (let i = view.rowStart; i < view.rowEnd; i++) {
        for (const [from, to] of computedIntervals(index, 0, i)) {
          for (let j = from; j < to; j++) expect(view.columnIndex.includes(j) || view.blockOffset.some((s) => j >= s && j < s + KERNEL_BLOCK)).toBe(true);
        }
      }
      computed += view.computedEntries;
      expect(view.causalEntries).toBe(Array.from({ length: view.rowEnd - view.rowStart }, (_, r) => view.rowStart + r + 1).reduce((a, b) => a + b, 0));
    }
    expect(computed / ((N * (N + 1)) / 2)).toBeCloseTo(index.density[0]!, 9);
  });

  it('gives stream_llm its window and refuses a block past the end', async () => {
    const view = await kernelBlocks(native, capture, { layer: 0, head: 0, pattern: { pattern: 'stream_llm', a: 8, b: 40 }, queryBlock: 4, lastQ: 64 });
    expect(view.window).toEqual([8, 40]);
    expect(view.computedEntries).toBe(Array.from({ length: 64 }, (_, r) => Math.min(256 + r + 1, 8 + 40)).reduce((a, b) => a + b, 0));
    await expect(kernelBlocks(native, capture, { layer: 0, head: 0, pattern: VS, queryBlock: 5, lastQ: 64 })).rejects.toThrow(/query block 5 is out of range: the head has 5 blocks/);
  });

  it('finds the missing mass of each row in the skipped keys, by column and by diagonal', async () => {
    const result = await outputError(native, capture, { layer: 0, head: 0, pattern: VS, rows: 40, seed: 1, top: 64, lastQ: 64, backend: 'auto' });
    expect(result.rows).toHaveLength(40);
    expect(result.rowError).toHaveLength(40);
    const index = await native.buildIndex(await headInputs(capture, 0, 0, false), encodePatterns([VS]), { backend: 'cpu' });
    const byColumn = new Float64Array(N);
    let missing = 0;
    for (const [r, i] of result.rows.entries()) {
      const p = await probabilities(i);
      const computed = computedIntervals(index, 0, i).reduce((sum, [from, to]) => sum + p.subarray(from, to).reduce((a, b) => a + b, 0), 0);
      expect(result.rowRecall[r]).toBeCloseTo(computed, 4);
      for (let j = 0; j <= i; j++) if (!computedIntervals(index, 0, i).some(([from, to]) => j >= from && j < to)) byColumn[j]! += p[j]! / 40;
      missing += (1 - computed) / 40;
    }
    expect(result.missingMass).toBeCloseTo(missing, 4);
    const expectedTop = topIndices(byColumn, 5);
    expect(result.topColumns.slice(0, 5).map((c) => c.column)).toEqual(expectedTop);
    for (const { column, mass } of result.topColumns.slice(0, 5)) expect(mass).toBeCloseTo(byColumn[column]!, 5);
    // Diagonals share out the same mass.
    expect(result.topDiagonals.reduce((sum, d) => sum + d.mass, 0)).toBeLessThanOrEqual(result.missingMass + 1e-6);
    expect(result.topDiagonals.every((d, k, all) => k === 0 || all[k - 1]!.mass >= d.mass)).toBe(true);
    expect(result.outputRelError).toBeGreaterThan(0);
  });

  it('finds no error and no missing mass for a dense head', async () => {
    const result = await outputError(native, capture, { layer: 0, head: 1, pattern: { pattern: 'dense', a: 0, b: 0 }, rows: 16, seed: 0, top: 5, lastQ: 64, backend: 'auto' });
    expect(result.missingMass).toBe(0);
    expect(result.topColumns).toEqual([]);
    expect(Math.max(...result.rowError)).toBeLessThan(1e-5);
  });
});

describe('kernelBlocksOf', () => {
  it('names the head’s block count when a block is out of range', () => {
    const index = { numBlocks: 2, seqLen: 128 } as Parameters<typeof kernelBlocksOf>[0];
    expect(() => kernelBlocksOf(index, 2)).toThrow(/the head has 2 blocks of 64 rows/);
  });
});
