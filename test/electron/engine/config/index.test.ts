import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CaptureSummary, HeadConfig, Report } from '../../../../contract/api.js';
import { detectFormat, exportConfig, fitConfigToCapture, importConfig, readConfigFile } from '../../../../electron/engine/config/index.js';

const fixturesDir = resolve(import.meta.dirname, '../../../fixtures/minference-configs');
const fixtures = readdirSync(fixturesDir).filter((name) => name.endsWith('.json'));

function config(heads: HeadConfig['heads']): HeadConfig {
  return { numLayers: heads.length, numHeads: heads[0]?.length ?? 0, heads };
}

describe('MInference fixtures round-trip', () => {
  it('finds the fixture configs', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(4);
  });

  it.each(fixtures)('%s: import -> minference is JSON-equal, -> sglang nests it', (name) => {
    const text = readFileSync(join(fixturesDir, name), 'utf8');
    const original = JSON.parse(text) as Record<string, unknown>[];
    const imported = importConfig(text, name);
    expect(imported.format).toBe('minference');
    expect(imported.warnings).toEqual([]);
    expect(imported.config.numLayers).toBe(original.length);
    expect(imported.config.numHeads).toBe(Object.keys(original[0]!).length);

    const minference = exportConfig(imported.config, 'minference');
    expect(minference.warnings).toEqual([]);
    expect(JSON.parse(minference.text)).toEqual(original);
    // Written the way MInference's Python wrote it, integral floats such as 1.0 included.
    expect(minference.text.trimEnd()).toBe(text.trimEnd());

    const sglang = JSON.parse(exportConfig(imported.config, 'sglang').text);
    const section = sglang.dual_chunk_attention_config;
    expect(section.sparse_attention_threshold).toBe(32768);
    expect(section.sparse_attention_last_q).toBe(64);
    const streamHeads = original.flatMap((layer) => Object.values(layer)).filter((entry) => (entry as unknown[])[0] === 'stream_llm').length;
    if (streamHeads === 0) expect(section.sparse_attention_config).toEqual(original);
    else expect(section.sparse_attention_config).toHaveLength(original.length);

    const viaSparsescope = importConfig(exportConfig(imported.config, 'sparsescope').text, 'x.json');
    expect(viaSparsescope.format).toBe('sparsescope');
    expect(viaSparsescope.config).toEqual(imported.config);
    expect(importConfig(exportConfig(imported.config, 'sglang').text, 'c.json').format).toBe('sglang');
  });

  it('Phi-3: the SGLang export converts the stream_llm heads and says how many', () => {
    const name = 'Phi_3_mini_128k_instruct_kv_out_v32_fit_o_best_pattern.json';
    const imported = importConfig(readFileSync(join(fixturesDir, name), 'utf8'), name);
    const { text, warnings } = exportConfig(imported.config, 'sglang');
    expect(warnings).toEqual(['43 heads converted to vertical_and_slash (the engine runs no other pattern): 43 x stream_llm (100, 800) -> (100, 800)']);
    const patterns = new Set(JSON.parse(text).dual_chunk_attention_config.sparse_attention_config.flatMap((layer: object) => Object.values(layer).map((e) => e[0])));
    expect([...patterns]).toEqual(['vertical_and_slash']);
  });
});

describe('config import', () => {
  it('detects formats, also inside a whole model config.json', () => {
    expect(detectFormat([])).toBe('minference');
    expect(detectFormat({ version: 'x' })).toBe('sparsescope');
    expect(detectFormat({ architectures: ['Qwen2ForCausalLM'], dual_chunk_attention_config: {} })).toBe('sglang');
    expect(detectFormat({ a: 1 })).toBeNull();
    const whole = { architectures: ['Qwen2ForCausalLM'], hidden_size: 3584, dual_chunk_attention_config: { chunk_size: 262144, sparse_attention_config: [{ '0': ['vertical_and_slash', 30, 800, 0.5] }] } };
    const imported = importConfig(JSON.stringify(whole), 'config.json');
    expect(imported.format).toBe('sglang');
    expect(imported.config.heads).toEqual([[{ pattern: 'vertical_and_slash', a: 30, b: 800, score: 0.5 }]]);
  });

  it('keeps the opaque score as read, integer or float', () => {
    const counts = '[{"0": ["vertical_and_slash", 30, 800, 26473], "1": ["block_sparse", 100, 0, 0]}]';
    const recalls = '[{"0": ["vertical_and_slash", 30, 800, 1.0], "1": ["block_sparse", 100, 0, 0.25]}]';
    const { config: imported } = importConfig(recalls, 'c.json');
    expect(imported.heads[0]).toEqual([
      { pattern: 'vertical_and_slash', a: 30, b: 800, score: 1 },
      { pattern: 'block_sparse', a: 100, b: 0, score: 0.25 },
    ]);
    expect(exportConfig(imported, 'minference').text).toBe(`${recalls}\n`);
    expect(exportConfig(importConfig(counts, 'c.json').config, 'minference').text).toBe(`${counts}\n`);
  });

  it('defaults heads a layer does not list, as MInference does, and warns', () => {
    const { config: imported, warnings } = importConfig('[{"0": ["stream_llm", 100, 800, 1], "2": ["stream_llm", 64, 512, 1]}, {}]', 'short.json');
    expect(imported.numHeads).toBe(3);
    expect(imported.heads[0]?.[1]).toEqual({ pattern: 'vertical_and_slash', a: 1000, b: 6096, score: 1 });
    expect(imported.heads[1]).toHaveLength(3);
    expect(warnings).toEqual(["short.json: 4 heads not listed (first: layer 0 head 1) use MInference's default vertical_and_slash (1000, 6096)"]);
  });

  const bad: [string, string, string][] = [
    ['not JSON', '[{', 'c.json: not valid JSON'],
    ['not a config', '{"a": 1}', 'c.json: not a head config'],
    ['an empty list', '[]', 'c.json: the list of layers is empty'],
    ['a layer that is not an object', '[{"0": ["stream_llm", 1, 2, 1]}, [1]]', 'c.json: layer 1 is not an object'],
    ['a head key that is not an index', '[{"x": ["stream_llm", 1, 2, 1]}]', 'c.json: layer 0: head key "x" is not a head index'],
    ['a head index out of range', '[{"4096": ["stream_llm", 1, 2, 1]}]', 'c.json: layer 0: head key "4096" is not a head index 0..4095'],
    ['a padded head key', '[{"01": ["stream_llm", 1, 2, 1]}]', 'head key "01"'],
    ['a short entry', '[{"0": ["stream_llm", 1, 2]}, {}]', 'c.json: layer 0 head 0: expected [pattern, vertical_size, slash_size, score]'],
    ['an unknown pattern', '[{}, {"3": ["dense", 1, 2, 1]}]', 'c.json: layer 1 head 3: unknown pattern "dense"'],
    ['a negative budget', '[{"0": ["vertical_and_slash", -5, 2, 1]}]', 'c.json: layer 0 head 0: vertical_size -5 is negative'],
    ['a fractional budget', '[{"0": ["stream_llm", 1, 2.5, 1]}]', 'layer 0 head 0: n_local 2.5 is not an integer'],
    ['a string budget', '[{"0": ["vertical_and_slash", "30", 2, 1]}]', 'vertical_size "30" is not an integer'],
    ['a huge budget', '[{"0": ["vertical_and_slash", 30, 99999999, 1]}]', 'slash_size 99999999 exceeds 16777216'],
    ['a score that is not a number', '[{"0": ["vertical_and_slash", 30, 2, "x"]}]', 'layer 0 head 0: score "x" is not a number'],
    ['sglang without the list', '{"dual_chunk_attention_config": {"chunk_size": 1}}', 'c.json: dual_chunk_attention_config.sparse_attention_config missing'],
    ['sglang with a bad entry', '{"dual_chunk_attention_config": {"sparse_attention_config": [{"0": ["x", 1, 1, 1]}]}}', 'c.json: dual_chunk_attention_config.sparse_attention_config: layer 0 head 0: unknown pattern "x"'],
    ['an unknown sparsescope version', '{"version": "sparsescope.config/9"}', 'c.json: unsupported version "sparsescope.config/9"'],
  ];
  it.each(bad)('refuses %s with a message naming the place', (_what, text, message) => {
    expect(() => importConfig(text, 'c.json')).toThrow(message);
  });

  it('refuses sparsescope documents with ragged layers, bad fields or counts', () => {
    const good = JSON.parse(exportConfig(config([[{ pattern: 'dense', a: 0, b: 0 }, { pattern: 'stream_llm', a: 4, b: 64 }]]), 'sparsescope').text);
    expect(importConfig(JSON.stringify(good), 's.json').config.heads[0]?.[1]).toEqual({ pattern: 'stream_llm', a: 4, b: 64 });
    const ragged = { ...good, numLayers: 2, heads: [good.heads[0], [good.heads[0][0]]] };
    expect(() => importConfig(JSON.stringify(ragged), 's.json')).toThrow('s.json: layer 1 lists 1 heads, numHeads is 2 (ragged layers)');
    const negative = structuredClone(good);
    negative.heads[0][1].params = [4, -1];
    expect(() => importConfig(JSON.stringify(negative), 's.json')).toThrow('s.json: layer 0 head 1 params.1:');
    const unknown = structuredClone(good);
    unknown.heads[0][0].pattern = 'diagonal';
    expect(() => importConfig(JSON.stringify(unknown), 's.json')).toThrow('s.json: layer 0 head 0 pattern:');
    expect(() => importConfig(JSON.stringify({ ...good, numLayers: 3 }), 's.json')).toThrow('heads lists 1 layers, numLayers is 3');
  });

  it('reads files and names missing ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sparsescope-config-'));
    try {
      await writeFile(join(dir, 'c.json'), '[{"0": ["stream_llm", 1, 2, 1]}]');
      expect((await readConfigFile(join(dir, 'c.json'))).config.numHeads).toBe(1);
      await expect(readConfigFile(join(dir, 'missing.json'))).rejects.toThrow('missing.json: cannot read: no such file (ENOENT)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('config export', () => {
  const mixed = config([
    [
      { pattern: 'vertical_and_slash', a: 100, b: 800, score: 0.5 },
      { pattern: 'dense', a: 0, b: 0 },
      { pattern: 'block_sparse', a: 100, b: 0 },
      { pattern: 'stream_llm', a: 64, b: 1024 },
    ],
  ]);

  it('exports dense heads to MInference as full vertical_and_slash, with a warning', () => {
    const { text, warnings } = exportConfig(mixed, 'minference');
    expect(JSON.parse(text)).toEqual([
      { '0': ['vertical_and_slash', 100, 800, 0.5], '1': ['vertical_and_slash', 30, 1048576, 1], '2': ['block_sparse', 100, 0, 1], '3': ['stream_llm', 64, 1024, 1] },
    ]);
    expect(warnings).toEqual(['1 heads converted to vertical_and_slash (MInference has no dense pattern): 1 x dense -> (30, 1048576)']);
  });

  it('converts every non-VS head for SGLang and says what became what', () => {
    const { text, warnings } = exportConfig(mixed, 'sglang');
    expect(JSON.parse(text).dual_chunk_attention_config.sparse_attention_config).toEqual([
      { '0': ['vertical_and_slash', 100, 800, 0.5], '1': ['vertical_and_slash', 30, 1048576, 1], '2': ['vertical_and_slash', 3200, 3200, 1], '3': ['vertical_and_slash', 64, 1024, 1] },
    ]);
    expect(warnings).toEqual([
      '3 heads converted to vertical_and_slash (the engine runs no other pattern): 1 x dense -> (30, 1048576); 1 x block_sparse (top_k 100) -> (3200, 3200); 1 x stream_llm (64, 1024) -> (64, 1024)',
    ]);
  });

  const report: Report = {
    backend: 'cpu',
    device: 'test cpu',
    dtype: 'BF16',
    seqLen: 4096,
    heads: [{ layer: 0, head: 3, pattern: 'stream_llm', params: [64, 1024], recall: 0.97, outputRelError: 0.02, density: 0.25, rowsUsed: 100, denseMs: 8, indexMs: 1, sparseMs: 1 }],
    totals: { denseMs: 8, indexMs: 1, sparseMs: 1, speedup: 4, meanRecall: 0.97, minRecall: 0.97 },
  };

  it('writes our recall as the score when a report has the head', () => {
    const list = JSON.parse(exportConfig(mixed, 'minference', { report }).text);
    expect(list[0]['3']).toEqual(['stream_llm', 64, 1024, 0.97]);
    expect(list[0]['0']).toEqual(['vertical_and_slash', 100, 800, 0.5]);
  });

  it('writes provenance in the Sparsescope format', () => {
    const capture: CaptureSummary = {
      captureId: 'abc', path: '/c.safetensors', fileName: 'c.safetensors', sizeBytes: 1, hash: 'abc', model: 'm', source: '',
      numLayers: 1, layers: [0], numHeads: 4, numKvHeads: 1, headDim: 64, seqLen: 4096, dtype: 'BF16',
    };
    const doc = JSON.parse(exportConfig(mixed, 'sparsescope', { report, capture, settings: { mode: 'target-recall', targetRecall: 0.95, sampling: { mode: 'exact' } } }).text);
    expect(doc).toMatchObject({
      version: 'sparsescope.config/1',
      model: 'm',
      capture: { fileName: 'c.safetensors', hash: 'abc', seqLen: 4096, dtype: 'BF16' },
      search: { mode: 'target-recall', targetRecall: 0.95 },
      measured: { backend: 'cpu', device: 'test cpu', totals: { speedup: 4 } },
    });
    expect(doc.heads[0][3]).toEqual({ pattern: 'stream_llm', params: [64, 1024], recall: 0.97, outputRelError: 0.02, density: 0.25, speedup: 4 });
    const text = exportConfig(mixed, 'sparsescope').text;
    expect(text.split('\n').filter((line) => line.includes('"pattern"'))).toHaveLength(4);
  });
});

describe('fitting a config to a capture', () => {
  const capture = { numLayers: 2, numHeads: 3, fileName: 'c.safetensors' };
  it('fills missing layers and heads with the MInference default', () => {
    const fitted = fitConfigToCapture(config([[{ pattern: 'stream_llm', a: 1, b: 2 }]]), capture);
    expect(fitted.numLayers).toBe(2);
    expect(fitted.heads[0]).toEqual([{ pattern: 'stream_llm', a: 1, b: 2 }, { pattern: 'vertical_and_slash', a: 1000, b: 6096, score: 1 }, { pattern: 'vertical_and_slash', a: 1000, b: 6096, score: 1 }]);
    expect(fitted.heads[1]).toHaveLength(3);
  });
  it('refuses configs larger than the capture', () => {
    const dense = { pattern: 'dense' as const, a: 0, b: 0 };
    expect(() => fitConfigToCapture(config([[dense, dense, dense, dense]]), capture)).toThrow('c.safetensors: the config has 4 heads per layer but the capture has 3');
    expect(() => fitConfigToCapture(config([[dense], [dense], [dense]]), capture)).toThrow('c.safetensors: the config has 3 layers but the capture has 2');
  });
});
