import { describe, expect, it } from 'vitest';
import type { HeadPattern } from '../../../../contract/api.js';
import { holdTarget, type TrackStep } from '../../../../electron/engine/analysis/head-search.js';
import { expectedDensity, searchTracks } from '../../../../electron/engine/analysis/ladders.js';
import type { HeadProbe } from '../../../../electron/engine/analysis/probe.js';
import type { SparseIndex } from '../../../../electron/engine/native-api.js';

describe('holdTarget (stubbed exact recall)', () => {
  const N = 4096;
  const target = 0.95;
  /** A probe whose recall on every evaluated row is `recallOf(pattern)`. */
  const stubProbe = (recallOf: (pattern: HeadPattern) => number): HeadProbe =>
    ({ measure: async (pattern: HeadPattern) => ({ pattern, recall: recallOf(pattern), rowRecall: new Float32Array(), density: expectedDensity(pattern, N), index: {} }) }) as unknown as HeadProbe;
  const vsTrack = searchTracks(N).find((track) => track.label === 'vertical_and_slash v 100')!;
  /** What the sampled search chose: slash 200 on the v 100 track, passing on its sampled rows. */
  const chosen: TrackStep = { track: vsTrack, budget: 200, measure: { pattern: vsTrack.at(200), recall: 0.96, rowRecall: new Float32Array(), density: 0.1, index: {} as SparseIndex } };

  it('keeps a choice whose exact recall holds', async () => {
    const held = await holdTarget(stubProbe(() => 0.97), chosen, N, target);
    expect(held!.pattern).toEqual(chosen.measure.pattern);
  });

  it('raises the budget along the chosen track to the cheapest one that holds', async () => {
    const held = await holdTarget(stubProbe((p) => (p.b >= 400 ? 0.951 : 0.93)), chosen, N, target);
    expect(held!.pattern.pattern).toBe('vertical_and_slash');
    expect(held!.pattern.a).toBe(100);
    expect(held!.pattern.b).toBeGreaterThanOrEqual(400);
    expect(held!.pattern.b).toBeLessThanOrEqual(400 * 1.05);
    expect(held!.recall).toBeGreaterThanOrEqual(target);
  });

  it('raises a choice that misses by little in a few measures on every row', async () => {
    const measured: number[] = [];
    const held = await holdTarget(
      stubProbe((p) => {
        measured.push(p.b);
        return p.pattern === 'vertical_and_slash' && p.a === 100 && p.b >= 205 ? 0.951 : 0.949;
      }),
      chosen,
      N,
      target,
    );
    expect(held!.pattern.b).toBeGreaterThanOrEqual(205);
    expect(held!.pattern.b).toBeLessThanOrEqual(205 * 1.02 + 1);
    // The check of the choice, then budgets 2% and 4% above it: bisecting down from the track's
    // most affordable budget (the whole track at 4K tokens) took eight.
    expect(measured).toEqual([200, 204, 208]);
  });

  it('moves to another family when the track tops out, and to dense when none holds', async () => {
    const streamOnly = (p: HeadPattern): number => (p.pattern === 'stream_llm' && p.b >= 1000 ? 0.96 : 0.9);
    const held = await holdTarget(stubProbe(streamOnly), chosen, N, target);
    expect(held!.pattern.pattern).toBe('stream_llm');
    expect(held!.recall).toBeGreaterThanOrEqual(target);
    expect(await holdTarget(stubProbe(() => 0.9), chosen, N, target)).toBeNull();
  });
});
