import { describe, expect, it } from 'vitest';
import type { HeadStats, SpeedupKind } from '../../../contract/api.js';
import { defaultConfig, headKey, withEntries } from '../../../renderer/src/state/config';
import { listHeads, modelTotals } from '../../../renderer/src/state/overview';

function stats(layer: number, head: number, recall: number, density = 0.1, speedupKind: SpeedupKind = 'measured'): HeadStats {
  return { layer, head, pattern: 'vertical_and_slash', params: [1000, 6096], recall, outputRelError: 0.01, density, rowsUsed: 10, denseMs: 10, indexMs: 1, sparseMs: 1, speedup: 5, speedupKind };
}

const shape = { numLayers: 2, numHeads: 3 };

describe('overview list', () => {
  const config = withEntries(defaultConfig(shape), [{ layer: 1, head: 1, entry: { pattern: 'dense', a: 0, b: 0 } }]);
  const measured = { [headKey(0, 2)]: stats(0, 2, 0.7), [headKey(1, 0)]: stats(1, 0, 0.99, 0.4), [headKey(0, 0)]: stats(0, 0, 0.8) };

  it('sorts lowest recall first with unmeasured heads last', () => {
    const keys = listHeads(config, [0, 1], measured, 'recall', { pattern: 'all', layer: 'all' }).map((r) => r.key);
    expect(keys).toEqual(['0:2', '0:0', '1:0', '0:1', '1:1', '1:2']);
  });

  it('filters by pattern and by layer', () => {
    expect(listHeads(config, [0, 1], measured, 'layer', { pattern: 'dense', layer: 'all' }).map((r) => r.key)).toEqual(['1:1']);
    expect(listHeads(config, [0, 1], measured, 'density', { pattern: 'all', layer: 1 }).map((r) => r.key)).toEqual(['1:0', '1:1', '1:2']);
  });

  it('totals the model over measured heads', () => {
    const totals = modelTotals(config, [0, 1], measured);
    expect(totals).toMatchObject({ heads: 6, measured: 3, minRecall: 0.7, speedup: 30 / 6, speedupKind: 'measured' });
    expect(totals.meanRecall).toBeCloseTo((0.7 + 0.99 + 0.8) / 3, 12);
    expect(totals.patternCounts).toEqual({ vertical_and_slash: 5, stream_llm: 0, block_sparse: 0, xattention: 0, flexprefill: 0, dense: 1 });
  });

  it('calls the total speedup predicted as soon as one head has only a prediction', () => {
    const oneTuned = { ...measured, [headKey(0, 0)]: stats(0, 0, 0.8, 0.1, 'predicted') };
    expect(modelTotals(config, [0, 1], oneTuned).speedupKind).toBe('predicted');
  });
});

