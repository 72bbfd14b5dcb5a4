import { describe, expect, it } from 'vitest';
import type { HeadStats } from '../../../contract/api.js';
import { defaultConfig, fitImportedConfig, diffConfigs, headKey, isDefaultConfig, statsCsv, withEntries } from '../../../renderer/src/state/config';

const shape = { numLayers: 2, numHeads: 3 };

function stats(layer: number, head: number, recall: number, density = 0.1): HeadStats {
  return { layer, head, pattern: 'vertical_and_slash', params: [1000, 6096], recall, outputRelError: 0.01, density, rowsUsed: 10, denseMs: 10, indexMs: 1, sparseMs: 1, speedup: 5, speedupKind: 'measured' };
}

describe('head configs', () => {
  it('fills missing heads with MInference’s default and edits without touching other layers', () => {
    const base = defaultConfig(shape);
    expect(base.heads[1]?.[2]).toEqual({ pattern: 'vertical_and_slash', a: 1000, b: 6096, score: 1 });
    const edited = withEntries(base, [{ layer: 1, head: 0, entry: { pattern: 'dense', a: 0, b: 0 } }]);
    expect(edited.heads[0]).toBe(base.heads[0]);
    expect(base.heads[1]?.[0]?.pattern).toBe('vertical_and_slash');
    expect(diffConfigs(base, edited)).toEqual([{ layer: 1, head: 0, before: base.heads[1]![0], after: { pattern: 'dense', a: 0, b: 0 } }]);
  });

  it('tells the all-default config from an edited one', () => {
    const base = defaultConfig(shape);
    expect(isDefaultConfig(base)).toBe(true);
    expect(isDefaultConfig(withEntries(base, [{ layer: 0, head: 2, entry: { pattern: 'vertical_and_slash', a: 1000, b: 6000 } }]))).toBe(false);
  });

  it('lays an imported config over the capture, counting the heads it leaves out', () => {
    const small = { numLayers: 1, numHeads: 2, heads: [[{ pattern: 'dense' as const, a: 0, b: 0 }, { pattern: 'stream_llm' as const, a: 64, b: 256 }]] };
    const { config, defaulted } = fitImportedConfig(small, { numLayers: 2, numHeads: 3 });
    expect(defaulted).toBe(4);
    expect(config.heads[0]!.map((e) => e.pattern)).toEqual(['dense', 'stream_llm', 'vertical_and_slash']);
    expect(isDefaultConfig({ ...config, heads: [config.heads[1]!] })).toBe(true);
    expect(() => fitImportedConfig(defaultConfig(shape), { numLayers: 2, numHeads: 2 })).toThrow('the config has 3 heads per layer but the capture has 2');
    expect(() => fitImportedConfig(defaultConfig(shape), { numLayers: 1, numHeads: 3 })).toThrow('the config has 2 layers but the capture has 1');
  });

  it('writes one CSV line per head, leaving numbers empty where the stats are for another pattern', () => {
    const config = withEntries(defaultConfig(shape), [{ layer: 0, head: 1, entry: { pattern: 'stream_llm', a: 64, b: 256 } }]);
    const csv = statsCsv(config, { [headKey(0, 0)]: stats(0, 0, 0.95), [headKey(0, 1)]: stats(0, 1, 0.5) }, [0]).trim().split('\n');
    expect(csv).toEqual([
      'layer,head,pattern,a,b,recall,outputRelError,density,rowsUsed,denseMs,indexMs,sparseMs,speedup,speedupKind',
      '0,0,vertical_and_slash,1000,6096,0.95,0.01,0.1,10,10,1,1,5,measured',
      '0,1,stream_llm,64,256,,,,,,,,,',
      '0,2,vertical_and_slash,1000,6096,,,,,,,,,',
    ]);
  });
});
