import { describe, expect, it } from 'vitest';
import { encodePatterns } from '../../../../electron/engine/analysis/common.js';
import { expectedDensity, familyLadder, keptEntries, searchTracks, trackBelow } from '../../../../electron/engine/analysis/ladders.js';
import { referenceNative } from './reference-native.js';

describe('ladders', () => {
  it('orders search tracks cheap-to-evaluate first, then Vertical-Slash by how often real heads use each vertical budget, and keeps budgets within the sequence', () => {
    const tracks = searchTracks(4096);
    expect(tracks.map((t) => t.label)).toEqual([
      'stream_llm n_init 16',
      'block_sparse',
      'vertical_and_slash v 1000',
      'vertical_and_slash v 3000',
      'vertical_and_slash v 300',
      'vertical_and_slash v 100',
      'vertical_and_slash v 30',
      'stream_llm n_init 128',
    ]);
    expect(tracks.find((t) => t.label === 'block_sparse')!.max).toBe(64);
    expect(searchTracks(256).map((t) => t.label).filter((label) => label.startsWith('vertical'))).toEqual(['vertical_and_slash v 100', 'vertical_and_slash v 30']);
  });

  it('follows a pattern down its main budget: the larger Vertical-Slash budget, the A-shape window, top_k', () => {
    const vs = trackBelow({ pattern: 'vertical_and_slash', a: 1000, b: 120 })!;
    expect([vs.budget, vs.track.min, vs.track.max]).toEqual([1000, 30, 1000]);
    expect(vs.track.at(400)).toEqual({ pattern: 'vertical_and_slash', a: 400, b: 120 });
    expect(trackBelow({ pattern: 'vertical_and_slash', a: 100, b: 750 })!.track.at(300)).toEqual({ pattern: 'vertical_and_slash', a: 100, b: 300 });
    expect(trackBelow({ pattern: 'stream_llm', a: 16, b: 900 })!.track.at(64)).toEqual({ pattern: 'stream_llm', a: 16, b: 64 });
    expect(trackBelow({ pattern: 'block_sparse', a: 40, b: 0 })!.track.min).toBe(1);
    // Nothing below a minimum, nor for a family without a budget track.
    expect(trackBelow({ pattern: 'vertical_and_slash', a: 30, b: 50 })).toBeNull();
    expect(trackBelow({ pattern: 'dense', a: 0, b: 0 })).toBeNull();
  });

  it('predicts the exact A-shape density and grows along every ladder', async () => {
    const native = referenceNative();
    const n = 200;
    const inputs = { dtype: 'F32' as const, numHeads: 1, numKvHeads: 1, seqLen: n, headDim: 8, q: new Uint8Array(n * 8 * 4), k: new Uint8Array(n * 8 * 4) };
    for (const pattern of [{ pattern: 'stream_llm' as const, a: 4, b: 30 }, { pattern: 'stream_llm' as const, a: 100, b: 150 }]) {
      const index = await native.buildIndex(inputs, encodePatterns([pattern]), { backend: 'cpu' });
      expect(expectedDensity(pattern, n)).toBeCloseTo(index.density[0]!, 12);
    }
    for (const family of ['stream_llm', 'vertical_and_slash', 'block_sparse'] as const) {
      const densities = familyLadder(family, 4096).map((p) => expectedDensity(p, 4096));
      expect(densities).toEqual([...densities].sort((a, b) => a - b));
      expect(densities.at(-1)).toBeCloseTo(1, 6);
    }
  });

  it('sums min(i + 1, c) over the rows in closed form, as a row-by-row sum does', () => {
    const rowByRow = (c: number, seqLen: number) => {
      let kept = 0;
      for (let i = 0; i < seqLen; i++) kept += Math.min(i + 1, c);
      return kept;
    };
    for (const seqLen of [1, 2, 63, 64, 1000, 4099])
      for (const c of [0, 1, 2, 50.5, 63, 64, 112, 999, 1000, 1001, 5000]) expect(keptEntries(c, seqLen), `c ${c}, N ${seqLen}`).toBe(rowByRow(c, seqLen));
  });
});
