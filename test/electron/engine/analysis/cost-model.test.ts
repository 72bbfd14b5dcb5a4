import { describe, expect, it } from 'vitest';
import { encodePatterns, headInputs } from '../../../../electron/engine/analysis/common.js';
import { costModel, denseWork, fitKernelCost, kernelMs, kernelWork, predictTimes, type KernelWork } from '../../../../electron/engine/analysis/cost-model.js';
import { syntheticCapture } from '../../../../electron/engine/synthetic/memory-capture.js';
import { nativeOrReference } from './native-or-reference.js';

const { native, kind } = await nativeOrReference();

describe('cost model', () => {
  it('counts the kernel work of an index: tiles and loose columns, by the rows of each block', async () => {
    const N = 200; // blocks of 64, 64, 64 and 8 rows
    const inputs = await headInputs(syntheticCapture({ seqLen: N, layers: 1, heads: 1, kvHeads: 1, headDim: 32, seed: 1, dtype: 'F32' }), 0, 0, false);
    const dense = await native.buildIndex(inputs, encodePatterns([{ pattern: 'dense', a: 0, b: 0 }]), { backend: 'cpu' });
    expect(kernelWork(dense)).toEqual(denseWork(N));
    expect(denseWork(N)).toEqual({ rows: N, tileEntries: 64 * 64 * (1 + 2 + 3) + 8 * 64 * 4, columnEntries: 0 });
    const index = { ...dense, numBlocks: 2, seqLen: 100, tileOffsets: Int32Array.from([0, 1, 3]), colOffsets: Int32Array.from([0, 0, 5]) };
    expect(kernelWork(index)).toEqual({ rows: 100, tileEntries: 64 * 64 + 2 * 64 * 36, columnEntries: 5 * 36 });
  });

  it('fits the per-row, per-tile-entry and per-column-entry costs, never below zero', () => {
    const truth = { perRow: 1e-3, perTileEntry: 2e-6, perColumnEntry: 5e-6 };
    const works: KernelWork[] = [
      { rows: 4096, tileEntries: 8e6, columnEntries: 0 },
      { rows: 4096, tileEntries: 1e6, columnEntries: 0 },
      { rows: 4096, tileEntries: 5e5, columnEntries: 2e6 },
      { rows: 2048, tileEntries: 2e5, columnEntries: 1e5 },
    ];
    const fitted = fitKernelCost(works.map((work) => ({ work, ms: kernelMs(truth, work) })));
    expect(fitted.perRow).toBeCloseTo(truth.perRow, 9);
    expect(fitted.perTileEntry).toBeCloseTo(truth.perTileEntry, 12);
    expect(fitted.perColumnEntry).toBeCloseTo(truth.perColumnEntry, 12);
    // Times that an unconstrained fit would explain with a negative per-row cost.
    const noisy = fitKernelCost([
      { work: { rows: 4096, tileEntries: 1e6, columnEntries: 0 }, ms: 1 },
      { work: { rows: 4096, tileEntries: 2e6, columnEntries: 0 }, ms: 3 },
    ]);
    expect(Math.min(noisy.perRow, noisy.perTileEntry, noisy.perColumnEntry)).toBeGreaterThanOrEqual(0);
    expect(noisy.perTileEntry).toBeGreaterThan(0);
  });

  it.skipIf(kind !== 'native')('calibrates once per backend and head shape, and predicts a sparser pattern faster', async () => {
    const head = await headInputs(syntheticCapture({ seqLen: 2048, layers: 1, heads: 1, kvHeads: 1, headDim: 64, seed: 2, dtype: 'BF16' }), 0, 0, true);
    const model = await costModel(native, head, 'cpu');
    expect(await costModel(native, head, 'cpu')).toBe(model);
    const timesOf = async (a: number, b: number) => predictTimes(model, { pattern: 'stream_llm', a, b }, await native.buildIndex(head, encodePatterns([{ pattern: 'stream_llm', a, b }]), { backend: 'cpu' }));
    const [narrow, wide] = [await timesOf(16, 64), await timesOf(128, 1024)];
    expect(narrow.denseMs).toBeGreaterThan(0);
    expect(narrow.denseMs).toBe(wide.denseMs);
    expect(narrow.sparseMs).toBeLessThan(wide.sparseMs);
    expect(narrow.sparseMs).toBeLessThan(narrow.denseMs);
  });
});
