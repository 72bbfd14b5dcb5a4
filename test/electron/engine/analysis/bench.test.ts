import { describe, expect, it } from 'vitest';
import { SWEEP_SHAPE, benchCapture } from '../../../../electron/engine/analysis/bench.js';
import { resolveBackend } from '../../../../electron/engine/analysis/common.js';
import { syntheticCapture } from '../../../../electron/engine/synthetic/memory-capture.js';
import { nativeOrReference } from './native-or-reference.js';

const { native, kind } = await nativeOrReference();
/** The TypeScript reference is far slower than the addon: give it room. */
const SLOW_ON_REFERENCE = kind === 'reference' ? 120_000 : 30_000;

describe(`benchCapture (${kind} implementation)`, () => {
  it('times every head of a capture under a config, full sequence, and reports the totals', async () => {
    const capture = syntheticCapture({ seqLen: 640, layers: 2, heads: 4, kvHeads: 2, headDim: 32, seed: 1, dtype: 'BF16' });
    const config = { numLayers: 2, numHeads: 4, heads: [Array.from({ length: 4 }, () => ({ pattern: 'stream_llm' as const, a: 16, b: 64 }))] };
    const fractions: number[] = [];
    const { report, sweep } = await benchCapture(native, capture, { config, sweep: [], backend: 'auto', repeat: 2 }, (f) => fractions.push(f));
    expect(sweep).toEqual([]);
    expect(report!.heads).toHaveLength(8);
    expect(report!.heads[0]).toMatchObject({ layer: 0, pattern: 'stream_llm', params: [16, 64] });
    expect(report!.heads[4]).toMatchObject({ layer: 1, pattern: 'vertical_and_slash', params: [1000, 6096] });
    for (const head of report!.heads) {
      expect(head.denseMs).toBeGreaterThan(0);
      expect(head.recall).toBeGreaterThan(0);
      expect(head.recall).toBeLessThanOrEqual(1 + 1e-6);
    }
    const { denseMs, indexMs, sparseMs, speedup, speedupKind } = report!.totals;
    expect(speedup).toBeCloseTo(denseMs / (indexMs + sparseMs), 9);
    // Layers are timed whole: the totals are measured, each head's share of them is predicted.
    expect(speedupKind).toBe('measured');
    expect(new Set(report!.heads.map((head) => head.speedupKind))).toEqual(new Set(['predicted']));
    expect(fractions.at(-1)).toBe(1);
  }, SLOW_ON_REFERENCE);

  it('sweeps synthetic captures with a searched config per context length', async () => {
    const { report, sweep } = await benchCapture(native, null, { sweep: [512, 1024], backend: 'auto', repeat: 1 });
    expect(report).toBeUndefined();
    expect(sweep.map((point) => point.seqLen)).toEqual([512, 1024]);
    for (const point of sweep) {
      expect(point.device).toBe(resolveBackend(native, 'auto').device);
      expect(point.dtype).toBe(SWEEP_SHAPE.dtype);
      expect(point.meanRecall).toBeGreaterThanOrEqual(0.95);
      expect(point.speedup).toBeCloseTo(point.denseMs / (point.indexMs + point.sparseMs), 9);
    }
  }, SLOW_ON_REFERENCE);

  it('stops when cancelled', async () => {
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    cancel[0] = 1;
    await expect(benchCapture(native, null, { sweep: [512], backend: 'auto', repeat: 1 }, () => {}, { cancel })).rejects.toThrow('cancelled');
  }, SLOW_ON_REFERENCE);
});
