import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fitHeadConfig, type HeadConfig, type SearchSettings } from '../../../contract/api.js';
import { importConfig } from '../../../electron/engine/config/index.js';
import { minferenceLayers, minferenceText } from '../../../electron/engine/config/minference.js';
import { sparsescopeText } from '../../../electron/engine/config/sparsescope.js';
import { run } from './run.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparsescope-merge-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SETTINGS = { mode: 'target-recall', targetRecall: 0.9, sampling: { mode: 'exact' } } as SearchSettings;

/** A 4-layer, 2-head config whose searched `layers` hold stream_llm (layer, head); the rest MInference's default. */
function searched(layers: number[], numHeads = 2, offset = 0): HeadConfig {
  const config = fitHeadConfig(null, { numLayers: 4, numHeads });
  for (const layer of layers) config.heads[layer] = config.heads[layer]!.map((_, head) => ({ pattern: 'stream_llm', a: 64 + layer + offset, b: 256 + head, score: 0.95 }));
  return config;
}

async function shard(name: string, layers: number[], options: { numHeads?: number; offset?: number } = {}): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, sparsescopeText(searched(layers, options.numHeads, options.offset), { settings: { ...SETTINGS, layers } }));
  return path;
}

describe('config merge', () => {
  it('merges Sparsescope shards, each bringing the layers its search ran on, into the config one search over all would give', async () => {
    const out = join(dir, 'merged.json');
    const { code, stdout, stderr } = await run(['config', 'merge', await shard('a.json', [0, 1]), await shard('b.json', [2, 3]), '--out', out]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(`merged 2 configs (layers 0-3, 2 heads each) -> ${out} (sparsescope)\n`);
    const merged = importConfig(await readFile(out, 'utf8'), 'merged.json');
    expect(merged.config.heads).toEqual(searched([0, 1, 2, 3]).heads);
    expect(JSON.parse(await readFile(out, 'utf8')).search).toEqual(SETTINGS);
  });

  it('writes the format asked for, and warns about layers no input brings', async () => {
    const out = join(dir, 'merged.json');
    const { code, stderr } = await run(['config', 'merge', await shard('a.json', [0]), await shard('b.json', [2]), '--format', 'minference', '--out', out]);
    expect(code).toBe(0);
    expect(stderr).toBe("sparsescope: warning: layers 1, 3 are in no input: they keep MInference's default\n");
    expect(importConfig(await readFile(out, 'utf8'), 'merged.json').config.heads[2]![1]).toMatchObject({ pattern: 'stream_llm', a: 66, b: 257 });
  });

  it('accepts a layer two inputs bring alike, and refuses one they bring differently, naming both files and the head', async () => {
    const out = join(dir, 'merged.json');
    expect((await run(['config', 'merge', await shard('a.json', [0, 1]), await shard('b.json', [1, 2, 3]), '--out', out])).code).toBe(0);
    const clash = await run(['config', 'merge', await shard('a.json', [0, 1]), await shard('c.json', [1, 2, 3], { offset: 1 }), '--out', out]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toBe(
      'sparsescope: layer 1 is in both a.json and c.json and they differ (head 0: stream_llm (65, 256) vs stream_llm (66, 256)); give each layer to one shard, or write shards with --format sparsescope so each says which layers it searched\n',
    );
  });

  it('takes every layer of a MInference file, so two MInference shards of one model clash', async () => {
    for (const [name, layers] of [['a.json', [0, 1]], ['b.json', [2, 3]]] as const) {
      const config = searched([...layers]);
      await writeFile(join(dir, name), minferenceText(minferenceLayers(config.heads, (l, h) => config.heads[l]![h]!.score ?? 1)));
    }
    const { code, stderr } = await run(['config', 'merge', join(dir, 'a.json'), join(dir, 'b.json'), '--out', join(dir, 'merged.json')]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^sparsescope: layer 0 is in both a.json and b.json and they differ \(head 0: stream_llm \(64, 256\) vs vertical_and_slash \(1000, 6096\)\)/);
  });

  it('refuses inputs with different heads per layer, and asks for two inputs and --out', async () => {
    const wide = await run(['config', 'merge', await shard('a.json', [0]), await shard('b.json', [1], { numHeads: 4 }), '--out', join(dir, 'm.json')]);
    expect(wide).toMatchObject({ code: 1, stderr: 'sparsescope: b.json has 4 heads per layer but a.json has 2: configs of different models cannot be merged\n' });
    expect((await run(['config', 'merge', await shard('a.json', [0]), '--out', join(dir, 'm.json')])).stderr).toBe('sparsescope: config merge: give at least two configs to merge\n');
    expect((await run(['config', 'merge', await shard('a.json', [0]), await shard('b.json', [1])])).stderr).toBe('sparsescope: config merge: --out OUT is required\n');
  });

  it('writes the methods\' per-layer files: an XAttention table from XAttention tables, DuoAttention\'s .tsv on request', async () => {
    const thresholds = join(dir, 'thresholds.json');
    await writeFile(thresholds, '[\n  [0.9, 0.95],\n  [1, 0.875]\n]\n');
    const table = join(dir, 'merged.json');
    expect(await run(['config', 'merge', thresholds, thresholds, '--out', table])).toMatchObject({ code: 0, stderr: '' });
    expect(await readFile(table, 'utf8')).toBe(await readFile(thresholds, 'utf8'));

    const duo = join(dir, 'merged.tsv');
    const merged = await run(['config', 'merge', await shard('a.json', [0, 1]), await shard('b.json', [2, 3]), '--format', 'duo', '--out', duo]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toBe(`merged 2 configs (layers 0-3, 2 heads each) -> ${duo} (duo)\n`);
    expect(importConfig(await readFile(duo, 'utf8'), 'merged.tsv').format).toBe('duo');
    const wrongName = await run(['config', 'merge', await shard('a.json', [0, 1]), await shard('b.json', [2, 3]), '--format', 'duo', '--out', join(dir, 'merged-duo.json')]);
    expect(wrongName).toMatchObject({ code: 1, stderr: expect.stringContaining("DuoAttention's head pattern is written to a .tsv file") });
  });

  it('refuses a file of one setting for all layers: it has nothing to merge', async () => {
    const flex = join(dir, 'flex.json');
    await writeFile(flex, JSON.stringify({ flex_prefill_gamma: 0.9, flex_prefill_tau: 0.1 }));
    const { code, stderr } = await run(['config', 'merge', await shard('a.json', [0]), flex, '--out', join(dir, 'm.json')]);
    expect(code).toBe(1);
    expect(stderr).toBe("sparsescope: flex.json holds one setting for all layers and heads (FlexPrefill or MInference's attn_type): there is nothing in it to merge\n");
    expect((await run(['config', 'merge', await shard('a.json', [0]), await shard('b.json', [1]), '--format', 'flexprefill', '--out', join(dir, 'm.json')])).stderr).toMatch(/--format.*flexprefill/);
  });
});
