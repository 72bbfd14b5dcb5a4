import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CaptureSummary, HeadConfig, Report } from '../../../../contract/api.js';
import { captureRecallEvaluator, detectFormat, exportConfig, fitConfigToCapture, importConfig, readConfigFile } from '../../../../electron/engine/config/index.js';
import { denseRunWarnings } from '../../../../electron/engine/config/sglang.js';

const fixturesDir = resolve(import.meta.dirname, '../../../fixtures/minference-configs');
const fixtures = readdirSync(fixturesDir).filter((name) => name.endsWith('.json'));

function config(heads: HeadConfig['heads'], runtime?: HeadConfig['runtime']): HeadConfig {
  return { numLayers: heads.length, numHeads: heads[0]?.length ?? 0, heads, ...(runtime ? { runtime } : {}) };
}

type Entry = [string, number, number, number];
const entriesOf = (list: Record<string, Entry>[]): Entry[] => list.flatMap((layer) => Object.values(layer));

describe('MInference fixtures round-trip', () => {
  it('finds the fixture configs in the repository', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(4);
  });

  it.each(fixtures)('%s: import -> minference gives the file back; -> sglang converts what SGLang reads otherwise', async (name) => {
    const text = readFileSync(join(fixturesDir, name), 'utf8');
    const original = JSON.parse(text) as Record<string, Entry>[];
    const imported = importConfig(text, name);
    expect(imported.format).toBe('minference');
    expect(imported.warnings).toEqual([]);
    expect(imported.config.numLayers).toBe(original.length);
    expect(imported.config.numHeads).toBe(Object.keys(original[0]!).length);

    const minference = await exportConfig(imported.config, 'minference');
    expect(minference.warnings).toEqual([]);
    // Written the way MInference's Python wrote it, integral floats such as 1.0 included.
    expect(minference.text.trimEnd()).toBe(text.trimEnd());

    // SGLang/vLLM read vertical_size 30 as 130 and run vertical_and_slash only: those heads are converted.
    const sglang = await exportConfig(imported.config, 'sglang');
    const section = JSON.parse(sglang.text).dual_chunk_attention_config;
    expect(section.sparse_attention_threshold).toBe(32768);
    expect(section.sparse_attention_last_q).toBe(64);
    const written = entriesOf(section.sparse_attention_config);
    const converted = entriesOf(original).filter(([pattern, a]) => pattern !== 'vertical_and_slash' || a === 30).length;
    expect(converted).toBeGreaterThan(0);
    expect(sglang.warnings).toHaveLength(1);
    expect(sglang.warnings[0]).toMatch(new RegExp(`^${converted} heads converted \\(SGLang/vLLM run vertical_and_slash only.*\\); recall not measured: `));
    expect(written.every(([pattern, a]) => pattern === 'vertical_and_slash' && a !== 30)).toBe(true);
    entriesOf(original).forEach(([pattern, a, b, score], i) => {
      if (pattern === 'vertical_and_slash') expect(written[i]).toEqual([pattern, a === 30 ? 31 : a, b, score]);
    });

    // The SGLang file reads back as what SGLang runs and exports to the same text, silently.
    const reread = importConfig(sglang.text, 'config.json');
    expect(reread.warnings).toEqual([]);
    expect(await exportConfig(reread.config, 'sglang')).toEqual({ text: sglang.text, warnings: [] });

    const viaSparsescope = importConfig((await exportConfig(imported.config, 'sparsescope')).text, 'x.json');
    expect(viaSparsescope.format).toBe('sparsescope');
    expect(viaSparsescope.config).toEqual(imported.config);
  });

  it('Phi-3: the SGLang export converts the stream_llm heads and says how many', async () => {
    const name = 'Phi_3_mini_128k_instruct_kv_out_v32_fit_o_best_pattern.json';
    const imported = importConfig(readFileSync(join(fixturesDir, name), 'utf8'), name);
    const { text, warnings } = await exportConfig(imported.config, 'sglang');
    expect(warnings[0]).toContain('43 x stream_llm (100, 800) -> vertical_and_slash (100, 800)');
    const patterns = new Set(entriesOf(JSON.parse(text).dual_chunk_attention_config.sparse_attention_config).map((entry) => entry[0]));
    expect([...patterns]).toEqual(['vertical_and_slash']);
  });
});

describe('config import', () => {
  it('detects formats, also inside a whole model config.json', () => {
    expect(detectFormat([])).toBe('minference');
    expect(detectFormat({ version: 'x' })).toBe('sparsescope');
    expect(detectFormat({ architectures: ['Qwen2ForCausalLM'], dual_chunk_attention_config: {} })).toBe('sglang');
    expect(detectFormat({ a: 1 })).toBeNull();
    const whole = { architectures: ['Qwen2ForCausalLM'], hidden_size: 3584, dual_chunk_attention_config: { chunk_size: 262144, sparse_attention_config: [{ '0': ['vertical_and_slash', 40, 800, 0.5] }] } };
    const imported = importConfig(JSON.stringify(whole), 'config.json');
    expect(imported.format).toBe('sglang');
    expect(imported.config.heads).toEqual([[{ pattern: 'vertical_and_slash', a: 40, b: 800, score: 0.5 }]]);
  });

  it('keeps the opaque score as read, integer or float', async () => {
    const counts = '[{"0": ["vertical_and_slash", 30, 800, 26473], "1": ["block_sparse", 100, 0, 0]}]';
    const recalls = '[{"0": ["vertical_and_slash", 30, 800, 1.0], "1": ["block_sparse", 100, 0, 0.25]}]';
    const { config: imported } = importConfig(recalls, 'c.json');
    expect(imported.heads[0]).toEqual([
      { pattern: 'vertical_and_slash', a: 30, b: 800, score: 1 },
      { pattern: 'block_sparse', a: 100, b: 0, score: 0.25 },
    ]);
    expect((await exportConfig(imported, 'minference')).text).toBe(`${recalls}\n`);
    expect((await exportConfig(importConfig(counts, 'c.json').config, 'minference')).text).toBe(`${counts}\n`);
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

  it('refuses sparsescope documents with ragged layers, bad fields or counts', async () => {
    const good = JSON.parse((await exportConfig(config([[{ pattern: 'dense', a: 0, b: 0 }, { pattern: 'stream_llm', a: 4, b: 64 }]]), 'sparsescope')).text);
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

  it('exports dense heads to MInference as full vertical_and_slash, with a warning', async () => {
    const { text, warnings } = await exportConfig(mixed, 'minference');
    expect(JSON.parse(text)).toEqual([
      { '0': ['vertical_and_slash', 100, 800, 0.5], '1': ['vertical_and_slash', 30, 1048576, 1], '2': ['block_sparse', 100, 0, 1], '3': ['stream_llm', 64, 1024, 1] },
    ]);
    expect(warnings).toEqual([
      '1 heads converted (MInference has no dense pattern and keeps 100 blocks in every block_sparse head); recall not measured: 1 x dense -> vertical_and_slash (30, 1048576)',
    ]);
  });

  it('converts every non-VS head for SGLang and says what became what', async () => {
    const { text, warnings } = await exportConfig(mixed, 'sglang');
    expect(JSON.parse(text).dual_chunk_attention_config.sparse_attention_config).toEqual([
      { '0': ['vertical_and_slash', 100, 800, 0.5], '1': ['vertical_and_slash', 31, 1048576, 1], '2': ['vertical_and_slash', 3200, 3200, 1], '3': ['vertical_and_slash', 64, 1024, 1] },
    ]);
    expect(warnings).toEqual([
      '3 heads converted (SGLang/vLLM run vertical_and_slash only, read vertical_size 30 as 130 and have no 30/50 minimum sizes); recall not measured: 1 x dense -> vertical_and_slash (31, 1048576); 1 x block_sparse (top_k 100) -> vertical_and_slash (3200, 3200); 1 x stream_llm (64, 1024) -> vertical_and_slash (64, 1024)',
    ]);
  });

  it('writes the tightest SGLang superset of the Vertical-Slash floors, quietly where nothing changes', async () => {
    const heads = config([
      [
        { pattern: 'vertical_and_slash', a: 30, b: 800 },
        { pattern: 'vertical_and_slash', a: 10, b: 20 },
        { pattern: 'vertical_and_slash', a: 130, b: 20 },
      ],
    ]);
    const { text, warnings } = await exportConfig(heads, 'sglang');
    expect(JSON.parse(text).dual_chunk_attention_config.sparse_attention_config).toEqual([
      { '0': ['vertical_and_slash', 31, 800, 1], '1': ['vertical_and_slash', 31, 50, 1], '2': ['vertical_and_slash', 130, 50, 1] },
    ]);
    // 30 columns cannot be written (30 runs as 130), 31 can; (130, 20) and (130, 50) compute the same here.
    expect(warnings).toEqual([expect.stringContaining(': 1 x vertical_and_slash (30, 800) -> vertical_and_slash (31, 800); 1 x vertical_and_slash (10, 20) -> vertical_and_slash (31, 50)')]);
    expect(warnings[0]).toMatch(/^2 heads converted/);
  });

  const report: Report = {
    backend: 'cpu',
    device: 'test cpu',
    dtype: 'BF16',
    seqLen: 4096,
    heads: [
      { layer: 0, head: 3, pattern: 'stream_llm', params: [64, 1024], recall: 0.97, outputRelError: 0.02, density: 0.25, rowsUsed: 100, denseMs: 8, indexMs: 1, sparseMs: 1, speedup: 4, speedupKind: 'measured' },
      { layer: 0, head: 2, pattern: 'block_sparse', params: [100, 0], recall: 0.96, outputRelError: 0.02, density: 0.2, rowsUsed: 100, denseMs: 8, indexMs: 1, sparseMs: 1, speedup: 4, speedupKind: 'predicted' },
    ],
    totals: { denseMs: 16, indexMs: 2, sparseMs: 2, speedup: 4, speedupKind: 'measured', meanRecall: 0.965, minRecall: 0.96 },
  } as Report;

  it('writes our recall as the score when a report has the head', async () => {
    const list = JSON.parse((await exportConfig(mixed, 'minference', { report })).text);
    expect(list[0]['3']).toEqual(['stream_llm', 64, 1024, 0.97]);
    expect(list[0]['0']).toEqual(['vertical_and_slash', 100, 800, 0.5]);
  });

  it('writes provenance in the Sparsescope format', async () => {
    const capture: CaptureSummary = {
      captureId: 'abc', path: '/c.safetensors', fileName: 'c.safetensors', sizeBytes: 1, hash: 'abc', model: 'm', source: '',
      numLayers: 1, layers: [0], numHeads: 4, numKvHeads: 1, headDim: 64, seqLen: 4096, dtype: 'BF16',
    };
    const doc = JSON.parse((await exportConfig(mixed, 'sparsescope', { report, capture, settings: { mode: 'target-recall', targetRecall: 0.95, sampling: { mode: 'exact' } } })).text);
    expect(doc).toMatchObject({
      version: 'sparsescope.config/1',
      model: 'm',
      capture: { fileName: 'c.safetensors', hash: 'abc', seqLen: 4096, dtype: 'BF16' },
      search: { mode: 'target-recall', targetRecall: 0.95 },
      measured: { backend: 'cpu', device: 'test cpu', totals: { speedup: 4 } },
    });
    expect(doc.heads[0][3]).toMatchObject({ pattern: 'stream_llm', params: [64, 1024], recall: 0.97, outputRelError: 0.02, density: 0.25, speedup: 4 });
    expect(doc.heads[0][2]).not.toHaveProperty('speedup'); // predicted, so no provenance
    const text = (await exportConfig(mixed, 'sparsescope')).text;
    expect(text.split('\n').filter((line) => line.includes('"pattern"'))).toHaveLength(4);
  });
});

describe('MInference block_sparse: always 100 blocks', () => {
  const file = '[{"0": ["block_sparse", 8, 1, 0.9], "1": ["block_sparse", 100, 0, 1.0], "2": ["block_sparse", 250, 0, 0.5]}]';

  it('imports any written top_k as the 100 MInference runs, says so, and writes the file back', async () => {
    const { config: imported, warnings } = importConfig(file, 'bs.json');
    expect(imported.heads[0]).toEqual([
      { pattern: 'block_sparse', a: 100, b: 1, score: 0.9, asWritten: { a: 8, b: 1 } },
      { pattern: 'block_sparse', a: 100, b: 0, score: 1 },
      { pattern: 'block_sparse', a: 100, b: 0, score: 0.5, asWritten: { a: 250, b: 0 } },
    ]);
    expect(warnings).toEqual([
      'bs.json: 2 heads read as what MInference runs (MInference keeps 100 blocks in every block_sparse head): 1 x block_sparse (top_k 8) -> block_sparse (top_k 100); 1 x block_sparse (top_k 250) -> block_sparse (top_k 100)',
    ]);
    expect(await exportConfig(imported, 'minference')).toEqual({ text: `${file}\n`, warnings: [] });
    // Through the Sparsescope format and back, the written numbers survive.
    const viaSparsescope = importConfig((await exportConfig(imported, 'sparsescope')).text, 's.json').config;
    expect(viaSparsescope).toEqual(imported);
    expect((await exportConfig(viaSparsescope, 'minference')).text).toBe(`${file}\n`);
  });

  it('converts a chosen top_k other than 100, with the recall of the converted head', async () => {
    const chosen = config([[{ pattern: 'block_sparse', a: 8, b: 0 }, { pattern: 'block_sparse', a: 100, b: 0, score: 0.4 }, { pattern: 'block_sparse', a: 8, b: 0 }]]);
    const calls: unknown[] = [];
    const evaluate = (layer: number, head: number, pattern: unknown) => {
      calls.push([layer, head, pattern]);
      return head === 0 ? 0.9123 : 0.95;
    };
    const { text, warnings } = await exportConfig(chosen, 'minference', {}, evaluate);
    expect(JSON.parse(text)).toEqual([{ '0': ['block_sparse', 100, 0, 0.9123], '1': ['block_sparse', 100, 0, 0.4], '2': ['block_sparse', 100, 0, 0.95] }]);
    expect(calls).toEqual([
      [0, 0, { pattern: 'block_sparse', a: 100, b: 0, lastQ: 64 }],
      [0, 2, { pattern: 'block_sparse', a: 100, b: 0, lastQ: 64 }],
    ]);
    expect(warnings).toEqual([
      '2 heads converted (MInference has no dense pattern and keeps 100 blocks in every block_sparse head); recall min 0.912 (layer 0 head 0), mean 0.931: 2 x block_sparse (top_k 8) -> block_sparse (top_k 100)',
    ]);
  });

  it('gives each kind of conversion its own count and recall; unmeasurable heads say so', async () => {
    const chosen = config([[{ pattern: 'block_sparse', a: 8, b: 0 }, { pattern: 'dense', a: 0, b: 0 }, { pattern: 'dense', a: 0, b: 0 }]]);
    const { warnings } = await exportConfig(chosen, 'minference', {}, (_layer, head) => (head === 0 ? 0.8 : 1));
    expect(warnings[0]).toBe(
      '3 heads converted (MInference has no dense pattern and keeps 100 blocks in every block_sparse head); recall min 0.800 (layer 0 head 0), mean 0.933: 2 x dense -> vertical_and_slash (30, 1048576) (recall min 1.000 (layer 0 head 1), mean 1.000); 1 x block_sparse (top_k 8) -> block_sparse (top_k 100) (recall 0.800)',
    );
    const none = await exportConfig(chosen, 'minference', {}, () => undefined);
    expect(none.warnings[0]).toContain('; recall not measured (heads not in the capture): ');
  });
});

describe('SGLang/vLLM settings and heads', () => {
  const snippet = (list: unknown, settings: Record<string, unknown> = {}) => JSON.stringify({ dual_chunk_attention_config: { sparse_attention_config: list, ...settings } });

  it('keeps sparse_attention_threshold and sparse_attention_last_q and writes them back', async () => {
    const text = snippet([{ '0': ['vertical_and_slash', 1000, 4096, 1] }], { sparse_attention_threshold: 8192, sparse_attention_last_q: 32 });
    const { config: imported, warnings } = importConfig(text, 'config.json');
    expect(warnings).toEqual([]);
    expect(imported.runtime).toEqual({ sparseAttentionThreshold: 8192, sparseAttentionLastQ: 32 });
    const section = JSON.parse((await exportConfig(imported, 'sglang')).text).dual_chunk_attention_config;
    expect([section.sparse_attention_threshold, section.sparse_attention_last_q]).toEqual([8192, 32]);
    const viaSparsescope = importConfig((await exportConfig(imported, 'sparsescope')).text, 's.json').config;
    expect(viaSparsescope.runtime).toEqual({ sparseAttentionThreshold: 8192, sparseAttentionLastQ: 32 });
  });

  it('fills in the engines defaults (32768, 64) when the file has none', () => {
    const { config: imported } = importConfig(snippet([{ '0': ['vertical_and_slash', 1000, 4096, 1] }]), 'config.json');
    expect(imported.runtime).toEqual({ sparseAttentionThreshold: 32768, sparseAttentionLastQ: 64 });
  });

  it.each([
    ['a last_q above 64', { sparse_attention_last_q: 128 }, "dual_chunk_attention_config.sparse_attention_last_q 128 is outside 1..64 (Sparsescope's estimate takes at most 64 query rows)"],
    ['a last_q of 0', { sparse_attention_last_q: 0 }, 'dual_chunk_attention_config.sparse_attention_last_q 0 is outside 1..64'],
    ['a threshold that is not an integer', { sparse_attention_threshold: '32k' }, 'dual_chunk_attention_config.sparse_attention_threshold "32k" is not an integer'],
  ])('refuses %s', (_what, settings, message) => {
    expect(() => importConfig(snippet([{ '0': ['vertical_and_slash', 1000, 4096, 1] }], settings), 'c.json')).toThrow(`c.json: ${message}`);
  });

  it('reads vertical_size 30 as the 130 the engines run, and gives 30 back', async () => {
    const text = snippet([{ '0': ['vertical_and_slash', 30, 800, 1], '1': ['vertical_and_slash', 1000, 4096, 1] }]);
    const { config: imported, warnings } = importConfig(text, 'config.json');
    expect(imported.heads[0]![0]).toEqual({ pattern: 'vertical_and_slash', a: 130, b: 800, score: 1, asWritten: { a: 30, b: 800 } });
    expect(warnings).toEqual([
      'config.json: dual_chunk_attention_config.sparse_attention_config: 1 heads read as what SGLang/vLLM runs (SGLang/vLLM run vertical_size 30 as 130): 1 x vertical_and_slash (30, 800) -> vertical_and_slash (130, 800)',
    ]);
    const back = await exportConfig(imported, 'sglang');
    expect(back.warnings).toEqual([]);
    expect(JSON.parse(back.text).dual_chunk_attention_config.sparse_attention_config).toEqual(JSON.parse(text).dual_chunk_attention_config.sparse_attention_config);
    // MInference runs 130 as written; the SGLang threshold is dropped with a warning.
    const minference = await exportConfig(imported, 'minference');
    expect(JSON.parse(minference.text)[0]['0']).toEqual(['vertical_and_slash', 130, 800, 1]);
    expect(minference.warnings).toEqual([
      'MInference has no sparse_attention_threshold: it runs the sparse config at every length, where SGLang/vLLM ran sequences of at most 32768 tokens dense',
    ]);
  });

  it('MInference estimates from 64 queries: another last_q converts every vertical_and_slash head, measured with 64', async () => {
    const chosen = config([[{ pattern: 'vertical_and_slash', a: 1000, b: 4096 }, { pattern: 'stream_llm', a: 4, b: 64 }]], { sparseAttentionLastQ: 16 });
    const calls: unknown[] = [];
    const { warnings } = await exportConfig(chosen, 'minference', {}, (layer, head, pattern) => {
      calls.push([layer, head, pattern]);
      return 0.97;
    });
    expect(calls).toEqual([[0, 0, { pattern: 'vertical_and_slash', a: 1000, b: 4096, lastQ: 64 }]]);
    expect(warnings).toEqual([expect.stringMatching(/^1 heads converted \(.*\); recall 0\.970: 1 x vertical_and_slash \(1000, 4096, last_q 16\) -> vertical_and_slash \(1000, 4096\)$/)]);
    // SGLang carries last_q: nothing to convert there.
    expect((await exportConfig(chosen, 'sglang')).warnings[0]).not.toContain('last_q');
  });

  it('warns about heads the engines refuse or run with fewer lines than Sparsescope measures', () => {
    const { warnings } = importConfig(snippet([{ '0': ['stream_llm', 100, 800, 1], '1': ['vertical_and_slash', 20, 40, 1] }]), 'c.json');
    expect(warnings).toEqual([
      'c.json: dual_chunk_attention_config.sparse_attention_config: 1 heads are not vertical_and_slash, which SGLang/vLLM refuse (an assert): 1 x stream_llm (100, 800) -> not runnable',
      'c.json: dual_chunk_attention_config.sparse_attention_config: 1 heads ask for fewer lines than Sparsescope computes, so their measured recall is an upper bound: 1 x vertical_and_slash (20, 40) -> measured with at least 30 verticals and 50 slashes',
    ]);
  });

  it('says when the engines would run the capture dense (at most sparse_attention_threshold tokens)', async () => {
    const capture = { seqLen: 4096 } as CaptureSummary;
    const chosen = config([[{ pattern: 'vertical_and_slash', a: 1000, b: 4096 }]]);
    expect((await exportConfig(chosen, 'sglang', { capture })).warnings).toEqual([
      'SGLang/vLLM run sequences of at most sparse_attention_threshold 32768 tokens dense: this 4096-token capture would not use the sparse config there',
    ]);
    expect((await exportConfig(config(chosen.heads, { sparseAttentionThreshold: 4095 }), 'sglang', { capture })).warnings).toEqual([]);
    expect(denseRunWarnings({ sparseAttentionThreshold: 4096 }, 4096)).toHaveLength(1);
    expect(denseRunWarnings({ sparseAttentionThreshold: 4095 }, 4096)).toEqual([]);
    expect(denseRunWarnings(undefined, 4096)).toEqual([]);
  });
});

describe('recall evaluators over a capture', () => {
  it('measures only the heads the capture holds', async () => {
    const evaluate = captureRecallEvaluator({ layers: [1, 3], numHeads: 4 }, () => 0.5);
    expect(await evaluate(1, 3, { pattern: 'dense', a: 0, b: 0, lastQ: 64 })).toBe(0.5);
    expect(await evaluate(2, 0, { pattern: 'dense', a: 0, b: 0, lastQ: 64 })).toBeUndefined();
    expect(await evaluate(1, 4, { pattern: 'dense', a: 0, b: 0, lastQ: 64 })).toBeUndefined();
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
