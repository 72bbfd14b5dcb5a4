/** Which pattern each method shows for a head, and which method wins (issue 15's comparison view and overview). */
import { describe, expect, it } from 'vitest';
import type { HeadComparison, HeadStats, SearchMethod } from '../../../contract/api';
import { countWinners, holdsTarget, methodEntries, methodPatternAt, methodWinner, winnersByHead } from '../../../renderer/src/state/methods';

function stats(recall: number, indexMs: number, sparseMs: number, pattern: HeadStats['pattern'] = 'dense', params: [number, number] = [0, 0]): HeadStats {
  return { layer: 0, head: 0, pattern, params, recall, outputRelError: 0, density: 0.5, rowsUsed: 256, denseMs: 4, indexMs, sparseMs, speedup: 4 / (indexMs + sparseMs), speedupKind: 'predicted' };
}

const VS = { pattern: 'vertical_and_slash' as const, a: 500, b: 700 };

const COMPARISON: HeadComparison = {
  layer: 0,
  head: 0,
  winner: 'xattention',
  choices: [
    { method: 'minference', holds: true, stats: stats(0.96, 0.1, 2, 'vertical_and_slash', [300, 400]) },
    { method: 'xattention', holds: true, stats: stats(0.95, 0.2, 1, 'xattention', [850, 8]) },
    { method: 'flexprefill', holds: true, stats: stats(0.97, 0.3, 1.5, 'flexprefill', [920, 100]) },
    { method: 'duo', holds: false, stats: stats(1, 0, 4) },
  ],
};

describe('the pattern each method shows for a head', () => {
  it('without a search: MInference as the config has it, the others at their published defaults', () => {
    expect(methodEntries(null, VS, {}).map(({ method, pattern, source }) => ({ method, pattern, source }))).toEqual([
      { method: 'minference', pattern: VS, source: 'config' },
      { method: 'xattention', pattern: { pattern: 'xattention', a: 900, b: 8 }, source: 'default' },
      { method: 'flexprefill', pattern: { pattern: 'flexprefill', a: 900, b: 100 }, source: 'default' },
      { method: 'duo', pattern: { pattern: 'stream_llm', a: 64, b: 256 }, source: 'default' },
    ]);
  });

  it('a config head of another method leaves MInference at its own default', () => {
    expect(methodEntries(null, { pattern: 'xattention', a: 800, b: 16 }, {})[0]).toMatchObject({ pattern: { pattern: 'vertical_and_slash', a: 1000, b: 6096 }, source: 'default' });
  });

  it("after a search across methods: each one's choice (dense where it missed), and an edit over it", () => {
    const entries = methodEntries(COMPARISON, VS, { flexprefill: { pattern: 'flexprefill', a: 990, b: 50 } });
    expect(entries.map((e) => [e.method, e.source, e.pattern])).toEqual([
      ['minference', 'search', { pattern: 'vertical_and_slash', a: 300, b: 400 }],
      ['xattention', 'search', { pattern: 'xattention', a: 850, b: 8 }],
      ['flexprefill', 'edited', { pattern: 'flexprefill', a: 990, b: 50 }],
      ['duo', 'search', { pattern: 'dense', a: 0, b: 0 }],
    ]);
    expect(holdsTarget(entries[3]!, null, 0.95)).toBe(false);
  });

  it('switching a method to another of its patterns: DuoAttention streams at sink 64 / recent 256, MInference starts as Tune does', () => {
    expect(methodPatternAt('duo', 'stream_llm', 2048)).toEqual({ pattern: 'stream_llm', a: 64, b: 256 });
    expect(methodPatternAt('duo', 'dense', 2048)).toEqual({ pattern: 'dense', a: 0, b: 0 });
    expect(methodPatternAt('minference', 'vertical_and_slash', 2048)).toEqual({ pattern: 'vertical_and_slash', a: 1000, b: 2048 });
  });
});

describe('the winner', () => {
  it("is the search's verdict while every method shows its search choice", () => {
    expect(methodWinner(methodEntries(COMPARISON, VS, {}), {}, COMPARISON, 0.95)).toEqual({ method: 'xattention', from: 'search' });
  });

  it('is worked out from the numbers shown otherwise: the least index + sparse time that keeps the target, ties to the earlier method', () => {
    const entries = methodEntries(null, VS, {});
    const shown: Partial<Record<SearchMethod, HeadStats>> = { minference: stats(0.96, 0.5, 1), xattention: stats(0.99, 0.5, 1), flexprefill: stats(0.94, 0.1, 0.2), duo: stats(0.95, 0, 2) };
    expect(methodWinner(entries, shown, null, 0.95)).toEqual({ method: 'minference', from: 'shown' });
    expect(methodWinner(entries, { ...shown, duo: stats(0.95, 0, 1.2) }, null, 0.95).method).toBe('duo');
    expect(methodWinner(entries, shown, null, 0.999).method).toBeNull();
  });

  it('an edit over a search choice makes the winner the numbers shown, not the search verdict', () => {
    const entries = methodEntries(COMPARISON, VS, { xattention: { pattern: 'xattention', a: 100, b: 8 } });
    expect(methodWinner(entries, { xattention: stats(0.5, 0.01, 0.01) }, COMPARISON, 0.95)).toEqual({ method: 'flexprefill', from: 'shown' });
  });

  it('counts the heads each method wins, for the overview legend', () => {
    const winners = winnersByHead([COMPARISON, { ...COMPARISON, head: 1 }, { ...COMPARISON, head: 2, winner: 'duo' }]);
    expect(winners.get('0:2')).toBe('duo');
    expect(countWinners(winners)).toEqual({ minference: 0, xattention: 2, flexprefill: 0, duo: 1 });
  });
});
