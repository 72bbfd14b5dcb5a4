/**
 * analyze, search and bench through runCli on a small synthetic capture, with the real native
 * module (CPU backend). Skipped only where the addon has not been built.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeadComparison, Report } from '../../../contract/api.js';
import { nativeAddonPath } from '../../../electron/engine/native.js';
import { run } from './run.js';

let dir: string;
let capture: string;

describe.skipIf(!existsSync(nativeAddonPath()))('compute commands (native CPU backend)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sparsescope-cli-compute-'));
    capture = join(dir, 'small.safetensors');
    const demo = await run(['demo', '--out', capture, '--seq', '512', '--layers', '2', '--heads', '4', '--kv-heads', '2', '--head-dim', '32', '--seed', '1']);
    expect(demo.code).toBe(0);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('search writes a MInference config whose scores are the measured recalls, and analyze reads it back', { timeout: 120_000 }, async () => {
    const cfg = join(dir, 'cfg.json');
    const searched = await run(['search', capture, '--out', cfg, '--target-recall', '0.9', '--backend', 'cpu', '--exact', '--json']);
    expect(searched.stderr).not.toMatch(/sparsescope: (?!warning)/);
    expect(searched.code).toBe(0);
    const report = Report.parse(JSON.parse(searched.stdout));
    const config = JSON.parse(await readFile(cfg, 'utf8')) as Record<string, [string, number, number, number]>[];
    expect(config).toHaveLength(2);
    for (const stats of report.heads) {
      const entry = config[stats.layer]?.[String(stats.head)];
      expect(entry).toEqual([stats.pattern === 'dense' ? 'vertical_and_slash' : stats.pattern, expect.any(Number), expect.any(Number), stats.recall]);
    }

    const analyzed = await run(['analyze', capture, '--config', cfg, '--backend', 'cpu', '--exact', '--json']);
    expect(analyzed.code).toBe(0);
    const again = Report.parse(JSON.parse(analyzed.stdout));
    expect(again.heads).toHaveLength(8);
    for (const stats of again.heads) {
      const [, a, b] = config[stats.layer]?.[String(stats.head)] ?? [];
      expect(stats.params).toEqual([a, b]);
    }
    expect(again.totals.minRecall).toBeGreaterThan(0);
  });

  it('search --methods compares the methods per head and writes the winners', { timeout: 120_000 }, async () => {
    const cfg = join(dir, 'methods.json');
    const methods = ['minference', 'xattention', 'flexprefill', 'duo'];
    const searched = await run(['search', capture, '--out', cfg, '--format', 'sparsescope', '--target-recall', '0.9', '--methods', 'duo,xattention,flexprefill,minference', '--backend', 'cpu', '--rows', '64', '--json']);
    expect(searched.code).toBe(0);
    const result = JSON.parse(searched.stdout);
    const report = Report.parse(result);
    const comparison = HeadComparison.array().parse(result.comparison);
    expect(comparison).toHaveLength(8);
    for (const compared of comparison) expect(compared.choices.map((choice) => choice.method)).toEqual(methods);
    expect(result.methods.map((totals: { method: string }) => totals.method)).toEqual(methods);
    const written = JSON.parse(await readFile(cfg, 'utf8'));
    expect(written.search.methods).toEqual(['duo', 'xattention', 'flexprefill', 'minference']);
    for (const stats of report.heads) expect(written.heads[stats.layer][stats.head].pattern).toBe(stats.pattern);

    const text = await run(['search', capture, '--out', cfg, '--target-recall', '0.9', '--methods', 'minference,duo', '--backend', 'cpu', '--rows', '64']);
    expect(text.stdout).toMatch(/^methods compared per head .*\nmethod +held +wins .*\nminference +\d\/8 .*\nduo +\d\/8 /m);
    const unknown = await run(['search', capture, '--out', cfg, '--target-recall', '0.9', '--methods', 'minference,quest']);
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringContaining('--methods: unknown method "quest" (known: minference, xattention, flexprefill, duo)')]);
    const candidates = await run(['search', capture, '--out', cfg, '--methods', 'duo']);
    expect([candidates.code, candidates.stderr]).toEqual([1, expect.stringContaining('--methods compares methods under --target-recall R')]);
  });

  it('search --recall-scope layer holds the mean over each layer\'s heads, each head at least its floor', { timeout: 120_000 }, async () => {
    const cfg = join(dir, 'layer.json');
    const searched = await run(['search', capture, '--out', cfg, '--format', 'sparsescope', '--target-recall', '0.9', '--recall-scope', 'layer', '--min-head-recall', '0.85', '--backend', 'cpu', '--rows', '64', '--json']);
    expect(searched.code).toBe(0);
    const report = Report.parse(JSON.parse(searched.stdout));
    for (const layer of [0, 1]) {
      const heads = report.heads.filter((head) => head.layer === layer);
      expect(heads.reduce((sum, head) => sum + head.recall, 0) / heads.length).toBeGreaterThanOrEqual(0.9);
    }
    expect(report.totals.minRecall).toBeGreaterThanOrEqual(0.85);
    const written = JSON.parse(await readFile(cfg, 'utf8'));
    expect([written.search.recallScope, written.search.minHeadRecall]).toEqual(['layer', 0.85]);
    const text = await run(['search', capture, '--out', cfg, '--target-recall', '0.9', '--recall-scope', 'layer', '--min-head-recall', '0.85', '--backend', 'cpu', '--rows', '64']);
    expect(text.stdout.split('\n')[0]).toBe(`wrote ${cfg} (minference): mean recall 0.9 per layer, heads ≥ 0.85`);

    const misuse = async (args: string[]) => {
      const result = await run(['search', capture, '--out', cfg, ...args]);
      return [result.code, result.stderr.trim()];
    };
    expect(await misuse(['--recall-scope', 'layer'])).toEqual([1, 'sparsescope: --recall-scope says what --target-recall R holds; give one']);
    expect(await misuse(['--target-recall', '0.9', '--min-head-recall', '0.8'])).toEqual([1, 'sparsescope: --min-head-recall is the floor of --recall-scope layer']);
    expect(await misuse(['--target-recall', '0.9', '--recall-scope', 'layer', '--min-head-recall', '0.95'])).toEqual([1, 'sparsescope: --min-head-recall 0.95 is above --target-recall 0.9']);
    expect(await misuse(['--target-recall', '0.9', '--recall-scope', 'layer', '--methods', 'minference,duo'])).toEqual([1, "sparsescope: --recall-scope layer searches MInference's patterns only; leave out --methods"]);
  });

  it('config convert writes and reads the methods\' files, DuoAttention and one-setting files through the capture', { timeout: 120_000 }, async () => {
    const heads = [
      [{ pattern: 'xattention', params: [900, 8] }, { pattern: 'xattention', params: [950, 8] }, { pattern: 'stream_llm', params: [64, 256] }, { pattern: 'stream_llm', params: [64, 256] }],
      [{ pattern: 'flexprefill', params: [950, 100] }, { pattern: 'dense', params: [0, 0] }, { pattern: 'dense', params: [0, 0] }, { pattern: 'dense', params: [0, 0] }],
    ];
    const source = join(dir, 'methods-source.json');
    await writeFile(source, JSON.stringify({ version: 'sparsescope.config/1', model: '', createdAt: '', capture: null, search: null, measured: null, numLayers: 2, numHeads: 4, heads }));
    const convert = (input: string, to: string, out: string, withCapture = true) => run(['config', 'convert', input, '--to', to, '--out', out, ...(withCapture ? ['--capture', capture] : [])]);

    const duo = join(dir, 'full_attention_heads.tsv');
    const toDuo = await convert(source, 'duo', duo);
    expect(toDuo.code).toBe(0);
    // KV head 0 of layer 0 (xattention heads) and of layer 1 become retrieval (dense), measured on the capture.
    expect(toDuo.stderr).toMatch(/^sparsescope: warning: 3 heads converted \(DuoAttention .*\); recall min 1\.000 .*: 1 x xattention \(900, 8\) -> dense \(recall 1\.000\); 1 x xattention \(950, 8\) -> dense .*1 x flexprefill \(950, 100\) -> dense/);
    expect((await readFile(duo, 'utf8')).split('\n').slice(1, 3)).toEqual(['1.000000000000000000e+00\t0.000000000000000000e+00', '1.000000000000000000e+00\t1.000000000000000000e+00']);
    const back = join(dir, 'from-duo.json');
    expect((await convert(duo, 'sparsescope', back)).stdout).toContain('full_attention_heads.tsv (duo, 2 layers x 4 heads)');
    expect(JSON.parse(await readFile(back, 'utf8')).heads[0].map((head: { pattern: string }) => head.pattern)).toEqual(['dense', 'dense', 'stream_llm', 'stream_llm']);

    const table = join(dir, 'thresholds.json');
    expect((await convert(source, 'xattention', table)).code).toBe(0);
    expect(JSON.parse(await readFile(table, 'utf8'))[0]).toEqual([0.9, 0.95, 1, 1]);
    for (const to of ['flexprefill', 'minference-attn']) {
      const file = join(dir, `${to}.json`);
      expect((await convert(source, to, file)).code).toBe(0);
      const withoutCapture = await convert(file, 'sparsescope', join(dir, 'x.json'), false);
      expect([withoutCapture.code, withoutCapture.stderr]).toEqual([1, expect.stringContaining('import it with the capture it is for')]);
      expect((await convert(file, 'sparsescope', join(dir, `${to}-back.json`))).stdout).toContain(`(${to}, 2 layers x 4 heads)`);
    }
  });

  it('analyze prints a table, and only the chosen layers', { timeout: 60_000 }, async () => {
    const { code, stdout } = await run(['analyze', capture, '--layers', '1', '--backend', 'cpu', '--rows', '64']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^layer +head +pattern/m);
    expect(stdout.split('\n').filter((line) => /^0 /.test(line))).toEqual([]);
    expect(stdout.split('\n').filter((line) => /^1 /.test(line))).toHaveLength(4);
    expect(stdout).toMatch(/^total: dense [\d.]+ ms/m);
  });

  it('bench reports the capture in the spec JSON shape', { timeout: 60_000 }, async () => {
    const { code, stdout } = await run(['bench', capture, '--backend', 'cpu', '--repeat', '1', '--json']);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    const report = Report.parse(result);
    expect(report.heads).toHaveLength(8);
    expect(report.totals.speedup).toBeGreaterThan(0);
    expect(result.sweep).toEqual([]);
  });

  it('config convert --capture measures the recall of each converted head', { timeout: 60_000 }, async () => {
    const chosen = join(dir, 'chosen.json');
    const heads = [[{ pattern: 'block_sparse', params: [2, 0] }, { pattern: 'dense', params: [0, 0] }, { pattern: 'vertical_and_slash', params: [30, 50] }]];
    const doc = { version: 'sparsescope.config/1', model: '', createdAt: '', capture: null, search: null, measured: null, numLayers: 1, numHeads: 3, runtime: { sparseAttentionLastQ: 8 }, heads };
    await writeFile(chosen, JSON.stringify(doc));
    const out = join(dir, 'converted.json');
    const { code, stderr } = await run(['config', 'convert', chosen, '--to', 'minference', '--out', out, '--capture', capture]);
    expect(code).toBe(0);
    const [warning] = stderr.split('\n');
    expect(warning).toMatch(/^sparsescope: warning: 3 heads converted \(MInference .*\); recall min 0\.\d{3} \(layer 0 head 2\), mean 0\.\d{3}: /);
    // 100 blocks cover all 8 blocks of a 512-token capture; a full slash budget computes everything.
    expect(warning).toContain('1 x block_sparse (top_k 2) -> block_sparse (top_k 100) (recall 1.000); 1 x dense -> vertical_and_slash (30, 1048576) (recall 1.000)');
    // MInference estimates from the last 64 queries, not this config's 8.
    expect(warning).toMatch(/1 x vertical_and_slash \(30, 50, last_q 8\) -> vertical_and_slash \(30, 50\) \(recall 0\.\d{3}\)/);
    const written = JSON.parse(await readFile(out, 'utf8'));
    expect(written[0]['0']).toEqual(['block_sparse', 100, 0, expect.closeTo(1, 3)]);
    expect(written[0]['2'][3]).toBeLessThan(1);
  });
});
