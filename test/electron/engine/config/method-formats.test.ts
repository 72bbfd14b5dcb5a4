import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CaptureSummary, HeadConfig, HeadPattern } from '../../../../contract/api.js';
import { checkConfigTarget, detectFormat, exportConfig, importConfig, writeConfigFile } from '../../../../electron/engine/config/index.js';

const head = (pattern: HeadPattern['pattern'], a = 0, b = 0): HeadPattern => ({ pattern, a, b });
const DENSE = head('dense');
const STREAM = head('stream_llm', 64, 256);

function config(heads: HeadPattern[][], runtime?: HeadConfig['runtime']): HeadConfig {
  return { numLayers: heads.length, numHeads: heads[0]!.length, heads, ...(runtime ? { runtime } : {}) };
}

/** The capture a config is for: 4 query heads over 2 KV heads. */
const capture = { numLayers: 2, numHeads: 4, numKvHeads: 2, layers: [0, 1], seqLen: 4096 } as CaptureSummary;

describe('XAttention threshold table', () => {
  it('round-trips thresholds at stride 8, one layer per line', async () => {
    const original = config([
      [head('xattention', 900, 8), head('xattention', 950, 8)],
      [head('xattention', 1000, 8), head('xattention', 875, 8)],
    ]);
    const { text, warnings } = await exportConfig(original, 'xattention');
    expect(warnings).toEqual([]);
    expect(text).toBe('[\n  [0.9, 0.95],\n  [1, 0.875]\n]\n');
    expect(detectFormat(JSON.parse(text))).toBe('xattention');
    expect(importConfig(text, 'thresholds.json')).toEqual({ format: 'xattention', config: original, warnings: [] });
  });

  it('writes other heads as threshold 1 (every block) and other strides at 8, and says so', async () => {
    const { text, warnings } = await exportConfig(config([[DENSE, head('vertical_and_slash', 100, 800), head('xattention', 900, 16)]]), 'xattention', {}, (_l, h) => [1, 0.97, 0.93][h]);
    expect(text).toBe('[\n  [1, 1, 0.9]\n]\n');
    expect(warnings).toEqual([
      "3 heads converted (XAttention's table holds a threshold per head at stride 8; other patterns become threshold 1, every block); recall min 0.930 (layer 0 head 2), mean 0.967: 1 x dense -> xattention (1000, 8) (recall 1.000); 1 x vertical_and_slash (100, 800) -> xattention (1000, 8) (recall 0.970); 1 x xattention (900, 16) -> xattention (900, 8) (recall 0.930)",
    ]);
  });

  it('refuses thresholds out of (0, 1] and ragged layers', () => {
    expect(() => importConfig('[[0.9, 1.5]]', 't.json')).toThrow('t.json: layer 0 head 1: threshold 1.5 is not a number in (0, 1]');
    expect(() => importConfig('[[0.9, 0.8], [0.9]]', 't.json')).toThrow('t.json: layer 1 lists 1 thresholds, layer 0 2 (one per query head)');
  });
});

describe('DuoAttention full_attention_heads.tsv', () => {
  const duo = config([
    [STREAM, STREAM, DENSE, DENSE],
    [DENSE, DENSE, STREAM, STREAM],
  ]);

  it('round-trips per KV head with the capture, the sizes in a comment numpy skips', async () => {
    const { text, warnings } = await exportConfig(duo, 'duo', { capture });
    expect(warnings).toEqual([]);
    expect(text).toBe(
      '# sink_size 64 recent_size 256\n0.000000000000000000e+00\t1.000000000000000000e+00\n1.000000000000000000e+00\t0.000000000000000000e+00\n',
    );
    expect(importConfig(text, 'full_attention_heads.tsv', capture)).toEqual({ format: 'duo', config: duo, warnings: [] });
    // Detected without the file name too; other sizes come back from the comment.
    const resized = text.replace('sink_size 64 recent_size 256', 'sink_size 32 recent_size 1024');
    const reread = importConfig(resized, 'pattern.txt', capture).config;
    expect(reread.heads[0]![0]).toEqual(head('stream_llm', 32, 1024));
    expect((await exportConfig(reread, 'duo', { capture })).text).toBe(resized);
  });

  it('reads trained values with the 0.5 threshold, and one query head per KV head without the capture', () => {
    const { config: read, warnings } = importConfig('0.73\t0.12\n4.9e-01\t1\n', 'full_attention_heads.tsv');
    expect(read.heads).toEqual([
      [DENSE, STREAM],
      [STREAM, DENSE],
    ]);
    expect(warnings).toEqual(['full_attention_heads.tsv: DuoAttention lists KV heads; read as one query head each (open the capture to spread them over its query heads)']);
    expect(() => importConfig('1\t0\t1\n', 'f.tsv', capture)).toThrow('f.tsv: the file lists 3 KV heads per layer but the capture has 2');
    expect(() => importConfig('1\tx\n', 'f.tsv')).toThrow('f.tsv: layer 0 KV head 1: "x" is not a number');
  });

  it('makes a KV head retrieval unless all its query heads stream within the sink and window', async () => {
    const mixed = config([
      [head('stream_llm', 16, 200), head('vertical_and_slash', 100, 800), STREAM, head('stream_llm', 64, 4096)],
      [STREAM, STREAM, DENSE, DENSE],
    ]);
    const { text, warnings } = await exportConfig(mixed, 'duo', { capture });
    expect(text.split('\n')[1]).toBe('1.000000000000000000e+00\t1.000000000000000000e+00');
    expect(warnings).toEqual([
      '4 heads converted (DuoAttention runs a KV head as retrieval (dense) unless every query head of it streams within sink 64 and recent 256); recall not measured: 1 x stream_llm (16, 200) -> dense; 1 x vertical_and_slash (100, 800) -> dense; 1 x stream_llm (64, 256) -> dense; 1 x stream_llm (64, 4096) -> dense',
    ]);
    expect((await exportConfig(mixed, 'duo')).warnings.at(-1)).toBe('DuoAttention lists KV heads: without the capture, each query head is written as a KV head of its own');
  });
});

describe('FlexPrefill parameters', () => {
  const flex = config(
    [
      [head('flexprefill', 950, 100), head('flexprefill', 950, 100), head('flexprefill', 950, 100), head('flexprefill', 950, 100)],
      [head('flexprefill', 950, 100), head('flexprefill', 950, 100), head('flexprefill', 950, 100), head('flexprefill', 950, 100)],
    ],
    { flexprefillBlockSize: 256, flexprefillMinBudget: 1024 },
  );

  it('round-trips one setting for all heads, with the capture giving the shape', async () => {
    const { text, warnings } = await exportConfig(flex, 'flexprefill');
    expect(warnings).toEqual([]);
    expect(JSON.parse(text)).toEqual({ block_size: 256, flex_prefill_gamma: 0.95, flex_prefill_tau: 0.1, flex_prefill_min_budget: 1024, flex_prefill_max_budget: null });
    expect(importConfig(text, 'flex.json', capture)).toEqual({ format: 'flexprefill', config: flex, warnings: [] });
    expect(() => importConfig(text, 'flex.json')).toThrow('flex.json: a FlexPrefill config holds one setting for all heads and no head count: import it with the capture it is for');
  });

  it('writes the widest gamma for every head and warns; refuses what it cannot run', async () => {
    const varied = config([[head('flexprefill', 900, 100), head('flexprefill', 990, 200), DENSE]]);
    const { text, warnings } = await exportConfig(varied, 'flexprefill');
    expect(JSON.parse(text)).toMatchObject({ flex_prefill_gamma: 0.99, flex_prefill_tau: 0.2, block_size: 128, flex_prefill_min_budget: 512 });
    expect(warnings[0]).toMatch(/^2 heads converted \(FlexPrefill: the file holds one setting for every head\); recall not measured: 1 x flexprefill \(900, 100\) -> flexprefill \(990, 200\); 1 x dense -> flexprefill \(990, 200\)$/);
    const withMax = JSON.stringify({ flex_prefill_gamma: 0.9, flex_prefill_tau: 0.1, flex_prefill_max_budget: 8192 });
    expect(importConfig(withMax, 'f.json', capture).warnings).toEqual(['f.json: flex_prefill_max_budget 8192 is ignored (Sparsescope has no maximum budget)']);
    expect(() => importConfig(JSON.stringify({ flex_prefill_gamma: 0.9, flex_prefill_tau: 0.1, block_size: 100 }), 'f.json', capture)).toThrow('f.json: block_size 100 must be a multiple of 64');
  });
});

describe("MInference's attn_type settings", () => {
  it('round-trips XAttention and FlexPrefill settings for every head', async () => {
    const xattention = config(
      [
        [head('xattention', 900, 16), head('xattention', 900, 16), head('xattention', 900, 16), head('xattention', 900, 16)],
        [head('xattention', 900, 16), head('xattention', 900, 16), head('xattention', 900, 16), head('xattention', 900, 16)],
      ],
      { xattentionBlockSize: 128 },
    );
    const x = await exportConfig(xattention, 'minference-attn');
    expect(JSON.parse(x.text)).toEqual({ attn_type: 'xattention', attn_kwargs: { stride: 16, threshold: 0.9, block_size: 128 } });
    expect(importConfig(x.text, 'attn.json', capture)).toEqual({ format: 'minference-attn', config: xattention, warnings: [] });

    const flexprefill = config([[head('flexprefill', 950, 100), head('flexprefill', 950, 100), head('flexprefill', 950, 100), head('flexprefill', 950, 100)], [head('flexprefill', 950, 100), head('flexprefill', 950, 100), head('flexprefill', 950, 100), head('flexprefill', 950, 100)]], { flexprefillBlockSize: 128, flexprefillMinBudget: 512 });
    const f = await exportConfig(flexprefill, 'minference-attn');
    expect(JSON.parse(f.text)).toEqual({ attn_type: 'flexprefill', attn_kwargs: { gamma: 0.95, tau: 0.1, min_budget: 512, max_budget: null, block_size: 128 } });
    expect(importConfig(f.text, 'attn.json', capture).config).toEqual(flexprefill);
  });

  it('writes the method most heads use, converting the others, and refuses configs with neither', async () => {
    const { text, warnings } = await exportConfig(config([[head('xattention', 900, 8), head('xattention', 800, 8), head('flexprefill', 950, 100)]]), 'minference-attn');
    expect(JSON.parse(text).attn_kwargs).toEqual({ stride: 8, threshold: 0.9, block_size: 128 });
    expect(warnings[0]).toContain('2 heads converted (MInference\'s attn_type xattention: the file holds one setting for every head)');
    await expect(exportConfig(config([[DENSE]]), 'minference-attn')).rejects.toThrow('no xattention or flexprefill head');
    expect(() => importConfig('{"attn_type": "minference"}', 'a.json', capture)).toThrow('attn_type "minference" is not one Sparsescope reads');
    expect(importConfig('{"attn_type": "xattention", "attn_kwargs": {"threshold": 0.9, "norm": 1}}', 'a.json', capture).warnings).toEqual(["a.json: attn_kwargs norm ignored (not modelled; MInference's defaults assumed)"]);
  });
});

describe('method files on disk', () => {
  it('writes DuoAttention to .tsv, the others to .json, and overwrites a file of one setting for all heads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sparsescope-method-formats-'));
    try {
      await expect(checkConfigTarget(join(dir, 'heads.json'), 'duo')).rejects.toThrow("DuoAttention's head pattern is written to a .tsv file");
      await expect(checkConfigTarget(join(dir, 'heads.tsv'), 'xattention')).rejects.toThrow('a head config is written to a .json file');
      await writeConfigFile(join(dir, 'heads.tsv'), '1\t0\n', 'duo');
      await writeConfigFile(join(dir, 'heads.tsv'), '0\t0\n', 'duo');
      const flex = join(dir, 'flex.json');
      await writeFile(flex, '{"flex_prefill_gamma": 0.9, "flex_prefill_tau": 0.1}');
      await expect(checkConfigTarget(flex, 'flexprefill')).resolves.toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
