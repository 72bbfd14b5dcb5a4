/**
 * A config's SGLang/vLLM settings in analyze and bench: sparse_attention_last_q reaches every index
 * the analysis builds, and a capture no longer than sparse_attention_threshold is reported as one
 * those engines would run dense.
 */
import { describe, expect, it } from 'vitest';
import { fitHeadConfig, type HeadConfig } from '../../../../contract/api.js';
import { analyzeCapture } from '../../../../electron/engine/analysis/analyze.js';
import { benchCapture } from '../../../../electron/engine/analysis/bench.js';
import type { IndexOptions, NativeModule } from '../../../../electron/engine/native-api.js';
import { syntheticCapture } from '../../../../electron/engine/synthetic/memory-capture.js';
import { nativeOrReference } from './native-or-reference.js';

const { native, kind } = await nativeOrReference();
const capture = syntheticCapture({ seqLen: 320, layers: 1, heads: 2, kvHeads: 1, headDim: 32, seed: 3, dtype: 'BF16' });
const sampling = { mode: 'sampled' as const, rows: 32, seed: 0 };

/** `native`, recording the options of every index it builds. */
function recording(): { native: NativeModule; options: IndexOptions[] } {
  const options: IndexOptions[] = [];
  return { native: { ...native, buildIndex: (inputs, patterns, opts, control) => (options.push(opts), native.buildIndex(inputs, patterns, opts, control)) }, options };
}

function sglangConfig(runtime: HeadConfig['runtime']): HeadConfig {
  return { ...fitHeadConfig(null, { numLayers: 1, numHeads: 2 }), runtime };
}

describe(`a config's SGLang/vLLM settings (${kind} implementation)`, () => {
  it('analyze builds every index with the config last_q and warns that the engines run this capture dense', async () => {
    const spy = recording();
    const report = await analyzeCapture(spy.native, capture, { config: sglangConfig({ sparseAttentionThreshold: 32768, sparseAttentionLastQ: 16 }), backend: 'cpu', sampling });
    expect(spy.options.length).toBeGreaterThan(0);
    expect(spy.options.every((opts) => opts.lastQ === 16)).toBe(true);
    expect(report.warnings).toEqual(['SGLang/vLLM run sequences of at most sparse_attention_threshold 32768 tokens dense: this 320-token capture would not use the sparse config there']);
  }, 60_000);

  it('a capture longer than the threshold, or a config without the settings, runs as before', async () => {
    const spy = recording();
    const above = await analyzeCapture(spy.native, capture, { config: sglangConfig({ sparseAttentionThreshold: 319 }), backend: 'cpu', sampling });
    expect(above.warnings).toBeUndefined();
    const plain = await analyzeCapture(spy.native, capture, { config: fitHeadConfig(null, { numLayers: 1, numHeads: 2 }), backend: 'cpu', sampling });
    expect(plain.warnings).toBeUndefined();
    expect(spy.options.every((opts) => opts.lastQ === undefined)).toBe(true);
  }, 60_000);

  it('bench does the same', async () => {
    const spy = recording();
    const { report } = await benchCapture(spy.native, capture, { config: sglangConfig({ sparseAttentionThreshold: 32768, sparseAttentionLastQ: 8 }), sweep: [], backend: 'cpu', repeat: 1 });
    expect(spy.options.every((opts) => opts.lastQ === 8)).toBe(true);
    expect(report!.warnings).toHaveLength(1);
  }, 60_000);
});
