// Issue 13: a layer is read and computed in batches of heads that fit a memory budget, never whole
// when it does not fit, and a small layer stays one call (as the pre-fill runs it).
import { describe, expect, it } from 'vitest';
import type { CaptureSummary, HeadPattern } from '../../../../contract/api.js';
import { BatchReader, batchInputs, encodePatterns, headBatches, headView } from '../../../../electron/engine/analysis/common.js';
import { headOfIndex } from '../../../../electron/engine/analysis/index-geometry.js';
import { syntheticCapture } from '../../../../electron/engine/synthetic/memory-capture.js';
import { nativeOrReference } from './native-or-reference.js';

const MIB = 2 ** 20;
/** 8 query heads over 2 KV heads; one head slice is 1 MiB (8192 x 64 BF16). */
const SHAPE = { numHeads: 8, numKvHeads: 2, seqLen: 8192, headDim: 64, dtype: 'BF16' } as CaptureSummary;

describe('headBatches', () => {
  it('keeps a layer that fits in one batch', () => {
    expect(headBatches(SHAPE, 12 * MIB)).toEqual([{ first: 0, end: 8 }]);
  });

  it('batches whole KV groups while they fit', () => {
    expect(headBatches(SHAPE, 6 * MIB)).toEqual([{ first: 0, end: 4 }, { first: 4, end: 8 }]);
  });

  it('splits a group that does not fit, never crossing groups, and keeps at least one head', () => {
    expect(headBatches(SHAPE, 5 * MIB)).toEqual([{ first: 0, end: 3 }, { first: 3, end: 4 }, { first: 4, end: 7 }, { first: 7, end: 8 }]);
    expect(headBatches(SHAPE, 1 * MIB)).toEqual(Array.from({ length: 8 }, (_, h) => ({ first: h, end: h + 1 })));
  });

  it('reads every batch of every layer into one set of buffers, sized for the largest batch', async () => {
    const capture = syntheticCapture({ seqLen: 256, layers: 2, heads: 8, kvHeads: 2, headDim: 32, seed: 1, dtype: 'BF16' });
    const headBytes = 256 * 32 * 2;
    const reader = new BatchReader(capture, 5 * headBytes);
    expect(reader.batches).toEqual([{ first: 0, end: 3 }, { first: 3, end: 4 }, { first: 4, end: 7 }, { first: 7, end: 8 }]);
    const buffers = new Set<ArrayBufferLike>();
    for (const layer of [0, 1]) {
      for await (const { batch, inputs } of reader.layer(layer)) {
        expect(inputs).toEqual(await batchInputs(capture, layer, batch));
        for (const tensor of [inputs.q, inputs.k, inputs.v!]) buffers.add(tensor.buffer);
        expect(inputs.q.buffer.byteLength).toBe(3 * headBytes);
      }
    }
    expect(buffers.size).toBe(3);
  });

  it("serves each head's measures from its batch's index: a head's part equals that head's own index", async () => {
    const { native } = await nativeOrReference();
    const capture = syntheticCapture({ seqLen: 600, layers: 1, heads: 4, kvHeads: 2, headDim: 32, seed: 3, dtype: 'BF16' });
    const inputs = await batchInputs(capture, 0, { first: 0, end: 4 });
    const patterns: HeadPattern[] = [
      { pattern: 'vertical_and_slash', a: 40, b: 70 },
      { pattern: 'stream_llm', a: 64, b: 128 },
      { pattern: 'block_sparse', a: 3, b: 0 },
      { pattern: 'vertical_and_slash', a: 100, b: 30 },
    ];
    const batch = await native.buildIndex(inputs, encodePatterns(patterns), { backend: 'cpu' });
    for (const [head, pattern] of patterns.entries()) {
      const own = await native.buildIndex(headView(inputs, head), encodePatterns([pattern]), { backend: 'cpu' });
      expect(headOfIndex(batch, head, own.ms)).toEqual(own);
    }
  });

  it('reads a batch as the slices of its heads and KV head', async () => {
    const capture = syntheticCapture({ seqLen: 256, layers: 1, heads: 4, kvHeads: 2, headDim: 32, seed: 1, dtype: 'BF16' });
    const inputs = await batchInputs(capture, 0, { first: 3, end: 4 });
    expect([inputs.numHeads, inputs.numKvHeads]).toEqual([1, 1]);
    expect(inputs.q).toEqual(await capture.readHead(0, 'q', 3));
    expect(inputs.k).toEqual(await capture.readHead(0, 'k', 1));
    expect(inputs.v).toEqual(await capture.readHead(0, 'v', 1));
  });
});
