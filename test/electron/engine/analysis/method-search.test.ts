import { describe, expect, it } from 'vitest';
import { DUO_STREAMING_HEAD, type HeadPattern, type SearchResult, type SearchSettings } from '../../../../contract/api.js';
import { evaluatedRows, headView, indexOverhead, layerInputs } from '../../../../electron/engine/analysis/common.js';
import { evaluateHead } from '../../../../electron/engine/analysis/head.js';
import { methodTracks, methodTotals } from '../../../../electron/engine/analysis/method-search.js';
import { HeadProbe } from '../../../../electron/engine/analysis/probe.js';
import { searchHeadTarget } from '../../../../electron/engine/analysis/head-search.js';
import { searchCapture } from '../../../../electron/engine/analysis/search.js';
import type { Capture } from '../../../../electron/engine/capture/types.js';
import type { SyntheticOptions } from '../../../../electron/engine/synthetic/generator.js';
import { syntheticCapture } from '../../../../electron/engine/synthetic/memory-capture.js';
import { nativeOrReference } from './native-or-reference.js';

const { native, kind } = await nativeOrReference();
const SLOW_ON_REFERENCE = kind === 'reference' ? 600_000 : 120_000;
const ALL = ['minference', 'xattention', 'flexprefill', 'duo'] as const;
/** 2 KV groups of 4 query heads; a planted mix of sinks, windows, slashes and blocks. */
const OPTIONS: SyntheticOptions = { seqLen: 2048, layers: 1, heads: 8, kvHeads: 2, headDim: 64, seed: 3, dtype: 'BF16' };
/** Few sampled rows: the sampled search's choices miss the target on all rows, which holdTarget must repair. */
const FEW_ROWS = { mode: 'sampled', rows: 8, seed: 0 } as const;

function exactRecall(capture: Capture, head: number, pattern: HeadPattern): Promise<number> {
  const params = { layer: 0, head, pattern, sampling: { mode: 'exact' } as const, stripRows: 8, backend: 'cpu' as const, lastQ: 64 };
  return evaluateHead(native, capture, params).then((evaluation) => evaluation.stats.recall);
}

const patternOf = (stats: { pattern: HeadPattern['pattern']; params: [number, number] }): HeadPattern => ({ pattern: stats.pattern, a: stats.params[0], b: stats.params[1] });
const costOf = (stats: SearchResult['report']['heads'][number]): number => stats.density + indexOverhead(patternOf(stats), OPTIONS.seqLen);

describe(`search across methods (${kind} implementation)`, () => {
  const capture = syntheticCapture(OPTIONS);

  it('compares every method per head, holds each choice on every row, and keeps the cheapest that holds', async () => {
    const inputs = await layerInputs(capture, 0);
    // Duo's rule is per KV head: a target between the streaming recalls of a group's heads makes that group mixed.
    const streaming = await Promise.all(Array.from({ length: OPTIONS.heads }, (_, head) => exactRecall(capture, head, DUO_STREAMING_HEAD)));
    const target = Math.min(0.95, [...streaming].sort((x, y) => x - y)[Math.floor(OPTIONS.heads / 2)]!);
    const settings: SearchSettings = { mode: 'target-recall', targetRecall: target, sampling: FEW_ROWS, methods: [...ALL] };

    // The case is real: a sampled search's own xattention / flexprefill choice misses the target on all rows somewhere.
    const allRows = evaluatedRows(OPTIONS.seqLen, { mode: 'exact' });
    const misses: number[] = [];
    for (const method of ['xattention', 'flexprefill'] as const) {
      for (let head = 0; head < OPTIONS.heads; head++) {
        const view = headView(inputs, head);
        const step = await searchHeadTarget(new HeadProbe(native, view, 'cpu', evaluatedRows(OPTIONS.seqLen, FEW_ROWS)), OPTIONS.seqLen, target, methodTracks(method, OPTIONS.seqLen));
        if (step) misses.push((await new HeadProbe(native, view, 'cpu', allRows).measure(step.measure.pattern)).recall);
      }
    }
    expect(Math.min(...misses)).toBeLessThan(target);

    const result = await searchCapture(native, capture, settings, 'cpu');
    expect(result.comparison).toHaveLength(OPTIONS.heads);
    for (const compared of result.comparison!) {
      expect(compared.choices.map((choice) => choice.method)).toEqual([...ALL]);
      const winner = compared.choices.find((choice) => choice.method === compared.winner)!;
      expect(winner.holds).toBe(true);
      for (const choice of compared.choices) {
        expect(choice.stats.rowsUsed).toBe(allRows.length);
        if (choice.holds) {
          expect(choice.stats.recall).toBeGreaterThanOrEqual(target);
          // Checked independently on every evaluated row.
          expect(await exactRecall(capture, compared.head, patternOf(choice.stats))).toBeGreaterThanOrEqual(target);
          expect(costOf(winner.stats)).toBeLessThanOrEqual(costOf(choice.stats));
        } else expect(choice.stats.pattern).toBe('dense');
      }
      // The config and the report hold the winner.
      const { score, ...entry } = result.config.heads[0]![compared.head]!;
      expect(entry).toEqual(patternOf(winner.stats));
      expect(score).toBeCloseTo(winner.stats.recall, 6);
      expect(result.report.heads[compared.head]).toEqual(winner.stats);
    }

    // Duo: a KV head streams exactly when every one of its query heads holds the target streaming.
    const group = OPTIONS.heads / OPTIONS.kvHeads;
    let mixedGroups = 0;
    for (let kvHead = 0; kvHead < OPTIONS.kvHeads; kvHead++) {
      const heads = Array.from({ length: group }, (_, i) => kvHead * group + i);
      const streams = heads.every((head) => streaming[head]! >= target);
      if (!streams && heads.some((head) => streaming[head]! >= target)) mixedGroups++;
      for (const head of heads) {
        const duo = result.comparison![head]!.choices.find((choice) => choice.method === 'duo')!;
        expect(duo.holds).toBe(streams);
        expect(patternOf(duo.stats)).toEqual(streams ? DUO_STREAMING_HEAD : { pattern: 'dense', a: 0, b: 0 });
      }
    }
    expect(mixedGroups).toBeGreaterThan(0);

    // The MInference choice is the plain search's.
    const plain = await searchCapture(native, capture, { ...settings, methods: undefined }, 'cpu');
    expect(result.comparison!.map((compared) => patternOf(compared.choices[0]!.stats))).toEqual(plain.report.heads.map(patternOf));
    expect(plain.comparison).toBeUndefined();

    const totals = methodTotals(result.comparison!);
    expect(totals.map((t) => t.method)).toEqual([...ALL]);
    expect(totals.reduce((sum, t) => sum + t.wins, 0)).toBe(OPTIONS.heads);
  }, SLOW_ON_REFERENCE);

  it('writes non-default method settings into the config and refuses methods in candidates mode', async () => {
    const methodSettings = { xattentionBlockSize: 64, flexprefillBlockSize: 64, flexprefillMinBudget: 256 };
    const settings: SearchSettings = { mode: 'target-recall', targetRecall: 0.9, sampling: FEW_ROWS, methods: ['xattention'], methodSettings };
    const result = await searchCapture(native, capture, settings, 'cpu');
    expect(result.config.runtime).toEqual(methodSettings);
    expect(result.comparison!.every((compared) => compared.choices.length === 1 && compared.winner === 'xattention')).toBe(true);
    await expect(searchCapture(native, capture, { ...settings, mode: 'candidates' }, 'cpu')).rejects.toThrow('target-recall');
  }, SLOW_ON_REFERENCE);
});
