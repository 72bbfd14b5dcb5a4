import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, methods, type JobEvent } from '../../../contract/api.js';
import { openCapture, writeCapture } from '../../../electron/engine/capture/capture.js';
import { createEngine, samplePath, type Engine } from '../../../electron/engine/handlers.js';
import type { OpImplementations } from '../../../electron/engine/jobs/worker-runtime.js';
import { MAX_ATTEMPTS } from '../../../electron/engine/jobs/sharded-runner.js';
import type { DeviceReport, NativeModule } from '../../../electron/engine/native-api.js';
import { TINY, pokedTensors, tinyMetadata, tinyTensors, tokenArrays, tokenTensors } from './capture/make-capture.js';
import { inProcessWorkers, type InProcessWorkers } from './jobs/in-process.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/minference-configs');

const deviceReport: DeviceReport = { cpuThreads: 2, cuda: { compiled: false, available: false, reason: 'built without CUDA', headDims: [], devices: [] } };

const unused = async () => {
  throw new Error('op not used in this test');
};

let base: string;
let root: string;
let outside: string;
let engine: Engine;
let workers: InProcessWorkers;
let ops: OpImplementations;

function startEngine(): Engine {
  workers = inProcessWorkers({
    loadNative: () => ({ deviceInfo: () => deviceReport }) as unknown as NativeModule,
    openCapture,
    ops: {
      deviceInfo: async (_p, { native }) => native().deviceInfo(),
      writeDemo: async ({ path }) => {
        await writeCapture(path, tinyMetadata(), tinyTensors());
        return { path };
      },
      pooledMap: (params, context) => ops.pooledMap(params, context),
      mask: (params, context) => ops.mask(params, context),
      evaluate: (params, context) => ops.evaluate(params, context),
      budgetCurve: unused,
      kernelBlocks: (params, context) => ops.kernelBlocks(params, context),
      outputError: (params, context) => ops.outputError(params, context),
      analyze: (params, context) => ops.analyze(params, context),
      search: unused,
      bench: unused,
    },
  });
  return createEngine({ host: 'test', roots: [root], cacheDir: join(base, 'cache'), spawnWorker: workers.spawn, killGraceMs: 200 });
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'sparsescope-engine-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  await mkdir(join(root, 'captures'), { recursive: true });
  await mkdir(outside);
  await writeCapture(join(root, 'captures', 'tiny.safetensors'), tinyMetadata(), tinyTensors());
  await writeCapture(join(outside, 'secret.safetensors'), tinyMetadata(), tinyTensors());
  ops = { deviceInfo: unused, writeDemo: unused, pooledMap: unused, mask: unused, evaluate: unused, budgetCurve: unused, kernelBlocks: unused, outputError: unused, analyze: unused, search: unused, bench: unused };
  engine = startEngine();
});

afterEach(async () => {
  await engine.dispose();
  await rm(base, { recursive: true, force: true });
});

async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe('root confinement', () => {
  it('lists the root and its folders, folders first, with sizes and parents', async () => {
    await writeFile(join(root, 'notes.txt'), 'hello');
    await writeFile(join(root, '.hidden'), 'x');
    const top = await engine.handlers['files.list']({});
    expect(top.parent).toBeNull();
    expect(top.entries.map((e) => [e.name, e.kind])).toEqual([
      ['captures', 'dir'],
      ['notes.txt', 'file'],
    ]);
    expect(top.entries[1]!.sizeBytes).toBe(5);
    const sub = await engine.handlers['files.list']({ dir: top.entries[0]!.path });
    expect(sub.parent).toBe(top.dir);
    expect(sub.entries.map((e) => e.name)).toEqual(['tiny.safetensors']);
  });

  it('refuses ../ escapes, absolute paths outside and symlinks that lead outside', async () => {
    await symlink(outside, join(root, 'escape'));
    await symlink(join(outside, 'secret.safetensors'), join(root, 'captures', 'link.safetensors'));
    expect((await apiError(engine.handlers['files.list']({ dir: '../outside' }))).code).toBe('forbidden');
    expect((await apiError(engine.handlers['files.list']({ dir: join(root, '..') }))).code).toBe('forbidden');
    expect((await apiError(engine.handlers['files.list']({ dir: outside }))).code).toBe('forbidden');
    expect((await apiError(engine.handlers['files.list']({ dir: join(root, 'escape') }))).code).toBe('forbidden');
    expect((await apiError(engine.handlers['capture.open']({ path: join(outside, 'secret.safetensors') }))).code).toBe('forbidden');
    expect((await apiError(engine.handlers['capture.open']({ path: 'captures/link.safetensors' }))).code).toBe('forbidden');
    expect((await apiError(engine.handlers['capture.open']({ path: 'escape/secret.safetensors' }))).code).toBe('forbidden');
    // Links that lead outside are not even listed.
    const listing = await engine.handlers['files.list']({ dir: 'captures' });
    expect(listing.entries.map((e) => e.name)).toEqual(['tiny.safetensors']);
    expect((await engine.handlers['files.list']({})).entries.map((e) => e.name)).toEqual(['captures']);
  });

  it('follows symlinks that stay inside the roots, and says not-found inside, forbidden outside', async () => {
    await symlink(join(root, 'captures'), join(root, 'alias'));
    const listing = await engine.handlers['files.list']({ dir: 'alias' });
    expect(listing.entries.map((e) => e.name)).toEqual(['tiny.safetensors']);
    expect((await apiError(engine.handlers['capture.open']({ path: 'captures/missing.safetensors' }))).code).toBe('not-found');
    expect((await apiError(engine.handlers['capture.open']({ path: join(outside, 'missing.safetensors') }))).code).toBe('forbidden');
  });
});

describe('granted files', () => {
  it('opens a file outside the roots once the host granted it (picked in a native dialog): its folder is then one the user opened', async () => {
    const secret = join(outside, 'secret.safetensors');
    expect((await apiError(engine.handlers['capture.open']({ path: secret }))).code).toBe('forbidden');
    expect((await apiError(engine.handlers['files.list']({ dir: outside }))).code).toBe('forbidden');
    engine.grantPath(secret, 'open');
    expect((await engine.handlers['capture.open']({ path: secret })).fileName).toBe('secret.safetensors');
    expect((await engine.handlers['files.list']({ dir: outside })).entries.map((e) => e.name)).toEqual(['secret.safetensors']);
  });
});

describe('the desktop engine (issue 10)', () => {
  let desktop: Engine;
  beforeEach(() => {
    desktop = createEngine({ host: 'electron', roots: [], exportsOnlyWhereGranted: true, cacheDir: join(base, 'cache'), spawnWorker: workers.spawn });
  });
  afterEach(() => desktop.dispose());

  it('reads only the folders the user opened, none at first', async () => {
    const tiny = join(root, 'captures', 'tiny.safetensors');
    expect((await apiError(desktop.handlers['capture.open']({ path: tiny }))).code).toBe('forbidden');
    expect((await apiError(desktop.handlers['files.list']({}))).message).toMatch(/no folder is open yet/);
    desktop.grantPath(tiny, 'open');
    expect((await desktop.handlers['capture.open']({ path: tiny })).path).toBe(tiny);
    await writeFile(join(root, 'captures', 'cfg.json'), '[{"0": ["vertical_and_slash", 30, 800, 1]}]');
    expect((await desktop.handlers['config.import']({ path: join(root, 'captures', 'cfg.json') })).format).toBe('minference');
    expect((await apiError(desktop.handlers['config.import']({ path: join(outside, 'secret.safetensors') }))).code).toBe('forbidden');
  });

  it('exports only to the path chosen in the save dialog, once, and never over an opened file', async () => {
    const config = { numLayers: 1, numHeads: 1, heads: [[{ pattern: 'dense' as const, a: 0, b: 0 }]] };
    const cfg = join(root, 'captures', 'cfg.json');
    await writeFile(cfg, '[{"0": ["vertical_and_slash", 30, 800, 1]}]');
    desktop.grantPath(cfg, 'open'); // its folder is open: still not writable without the save dialog
    const exportTo = (path: string) => desktop.handlers['config.export']({ config, format: 'minference', path });
    const refused = await apiError(exportTo(cfg));
    expect(refused).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/choose where to save it in the save dialog/) });
    const out = join(outside, 'out.json');
    desktop.grantPath(out, 'save');
    expect((await exportTo(out)).path).toBe(out);
    expect((await apiError(exportTo(out))).code).toBe('forbidden'); // the grant was for that one write
  });
});

describe('captures', () => {
  it('opens a capture once per file, records it as recent, and closes it', async () => {
    const summary = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    expect(summary).toMatchObject({ numHeads: TINY.heads, numKvHeads: TINY.kvHeads, seqLen: TINY.seqLen, layers: TINY.layers });
    expect(methods['capture.open'].result.safeParse(summary).success).toBe(true);
    const again = await engine.handlers['capture.open']({ path: join(root, 'captures', 'tiny.safetensors') });
    expect(again.captureId).toBe(summary.captureId);
    const recent = await engine.handlers['capture.recent']({});
    expect(recent.map((r) => r.path)).toEqual([summary.path]);
    expect(await engine.handlers['capture.close']({ captureId: summary.captureId })).toEqual({ closed: true });
    expect(await engine.handlers['capture.close']({ captureId: summary.captureId })).toEqual({ closed: false });
    const error = await apiError(engine.handlers['head.pooledMap']({ captureId: summary.captureId, layer: 0, head: 0, resolution: 8, sampling: { mode: 'exact' }, backend: 'auto' }));
    expect(error.code).toBe('not-found');
  });

  it("imports DuoAttention's KV heads over the open capture's query heads, and one-setting files only with a capture (issue 15)", async () => {
    const { captureId, numHeads, numKvHeads, numLayers } = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    const tsv = Array.from({ length: numLayers }, () => Array.from({ length: numKvHeads }, (_, k) => (k === 0 ? '1' : '0')).join('\t')).join('\n');
    const duo = await engine.handlers['config.import']({ text: tsv, fileName: 'full_attention_heads.tsv', captureId });
    expect(duo.format).toBe('duo');
    expect(duo.config.numHeads).toBe(numHeads);
    expect(duo.config.heads[0]!.map((head) => head.pattern)).toEqual(Array.from({ length: numHeads }, (_, h) => (h < numHeads / numKvHeads ? 'dense' : 'stream_llm')));
    const flex = JSON.stringify({ flex_prefill_gamma: 0.9, flex_prefill_tau: 0.1 });
    expect((await engine.handlers['config.import']({ text: flex, fileName: 'flex.json', captureId })).config.numLayers).toBe(numLayers);
    expect((await apiError(engine.handlers['config.import']({ text: flex, fileName: 'flex.json' }))).message).toContain('import it with the capture it is for');
  });

  it('tells apart files with one header and size: each keeps its own id, path and numbers (issue 10)', async () => {
    // Re-captures of one model at one length with one prompt: same header, same size, other data.
    await writeCapture(join(root, 'captures', 'again.safetensors'), tinyMetadata(), tinyTensors(TINY, 1));
    ops.pooledMap = async (params, { capture }) => ({ path: capture().summary.path, bytes: Array.from(await capture().readHead(params.layer, 'q', params.head)) });
    const first = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    const second = await engine.handlers['capture.open']({ path: 'captures/again.safetensors' });
    expect(second.hash).toBe(first.hash); // the displayed hash is cheap: the header and the size
    expect(second.captureId).not.toBe(first.captureId);
    expect(second.path).toBe(join(root, 'captures', 'again.safetensors'));
    const map = (captureId: string) => engine.handlers['head.pooledMap']({ captureId, layer: 0, head: 1, resolution: 8, sampling: { mode: 'exact' }, backend: 'cpu' }) as Promise<unknown>;
    const [a, b] = (await Promise.all([map(first.captureId), map(second.captureId)])) as { path: string; bytes: number[] }[];
    expect([a!.path, b!.path]).toEqual([first.path, second.path]);
    expect(b!.bytes).not.toEqual(a!.bytes);
  });

  it('a file rewritten in place with the same header opens as a new capture with the new numbers', async () => {
    const path = join(root, 'captures', 'tiny.safetensors');
    ops.pooledMap = async (params, { capture }) => Array.from(await capture().readHead(params.layer, 'q', params.head));
    const map = (captureId: string) => engine.handlers['head.pooledMap']({ captureId, layer: 0, head: 0, resolution: 8, sampling: { mode: 'exact' }, backend: 'cpu' }) as Promise<unknown>;
    const before = await engine.handlers['capture.open']({ path });
    const oldNumbers = await map(before.captureId);
    await writeCapture(path, tinyMetadata(), tinyTensors(TINY, 1));
    const after = await engine.handlers['capture.open']({ path });
    expect(after.captureId).not.toBe(before.captureId);
    expect(await map(after.captureId)).not.toEqual(oldNumbers);
    expect(await map(before.captureId)).toEqual(oldNumbers); // the first one still reads what it opened
  });

  it('refuses a file that is not a capture with the reader message', async () => {
    await writeFile(join(root, 'junk.safetensors'), 'not a safetensors file at all');
    const error = await apiError(engine.handlers['capture.open']({ path: 'junk.safetensors' }));
    expect(error.code).toBe('bad-request');
    expect(error.message).toMatch(/junk\.safetensors/);
  });

  it('answers token ids and text of a range, and refuses ranges and captures it cannot serve', async () => {
    const pieces = Array.from({ length: TINY.seqLen }, (_, i) => ` w${i}`);
    await writeCapture(join(root, 'captures', 'tokens.safetensors'), { ...tinyMetadata(), tokenizer: 'tiny-tokenizer' }, [...tinyTensors(), ...tokenTensors(tokenArrays(pieces))]);
    const summary = await engine.handlers['capture.open']({ path: 'captures/tokens.safetensors' });
    expect(summary).toMatchObject({ tokens: true, tokenizer: 'tiny-tokenizer' });
    const tokens = await engine.handlers['capture.tokens']({ captureId: summary.captureId, start: 2, end: 5 });
    expect(tokens).toEqual({ start: 2, ids: [102, 103, 104], text: [' w2', ' w3', ' w4'] });
    expect(methods['capture.tokens'].result.safeParse(tokens).success).toBe(true);
    const pastEnd = await apiError(engine.handlers['capture.tokens']({ captureId: summary.captureId, start: 8, end: 11 }));
    expect(pastEnd).toMatchObject({ code: 'bad-request', message: 'tokens.safetensors: token range [8, 11) is not inside [0, 10]' });
    const plain = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    expect(plain.tokens).toBe(false);
    expect(await apiError(engine.handlers['capture.tokens']({ captureId: plain.captureId, start: 0, end: 1 }))).toMatchObject({ code: 'bad-request', message: 'tiny.safetensors: this capture holds no tokens' });
    expect((await apiError(engine.handlers['capture.tokens']({ captureId: 'nope', start: 0, end: 1 }))).code).toBe('not-found');
  });

  it('opens the real sample the app ships, with its tokens, and reopens it by path outside the roots without granting its folder', async () => {
    const sample = await engine.handlers['capture.openSample']({});
    expect(sample).toMatchObject({ fileName: 'ref-byte-llama-2k.safetensors', model: 'ref-byte-llama', seqLen: 2048, layers: [3, 5], tokens: true });
    expect(sample.path).toBe(samplePath());
    expect((await engine.handlers['capture.open']({ path: sample.path })).captureId).toBe(sample.captureId);
    expect(await engine.handlers['capture.recent']({})).toEqual([]);
    const beside = join(dirname(sample.path), 'README.md');
    expect((await apiError(engine.handlers['capture.open']({ path: beside }))).code).toBe('forbidden');
    await engine.dispose();
    engine = createEngine({ host: 'test', roots: [root], cacheDir: join(base, 'cache'), spawnWorker: workers.spawn, sample: join(base, 'no-sample.safetensors') });
    expect((await apiError(engine.handlers['capture.openSample']({}))).code).toBe('not-found');
  });

  it('generates the demo capture once into the cache folder and reuses it', async () => {
    const [first, concurrent] = await Promise.all([engine.handlers['capture.openDemo']({}), engine.handlers['capture.openDemo']({})]);
    expect(concurrent.captureId).toBe(first.captureId);
    expect(first.path.startsWith(join(base, 'cache', 'demo'))).toBe(true);
    expect(workers.sent.filter((m) => m.type === 'call' && m.op === 'writeDemo')).toHaveLength(1);
    const call = workers.sent.find((m) => m.type === 'call' && m.op === 'writeDemo');
    expect(call).toMatchObject({ params: { seqLen: 4096, layers: 4, heads: 8, kvHeads: 2, headDim: 64, seed: 0, dtype: 'BF16' } });

    await engine.dispose();
    engine = startEngine();
    const reopened = await engine.handlers['capture.openDemo']({});
    expect(reopened.captureId).toBe(first.captureId);
    expect(workers.sent.some((m) => m.type === 'call' && m.op === 'writeDemo')).toBe(false);
  });
});

describe('head methods and device info', () => {
  it('sends head work to the interactive worker with the capture path, and checks layer and head', async () => {
    const summary = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    ops.pooledMap = async (params, { capture }) => ({ seen: params, path: capture().summary.path });
    const result = (await engine.handlers['head.pooledMap']({ captureId: summary.captureId, layer: 1, head: 3, resolution: 16, sampling: { mode: 'exact' }, backend: 'cpu' })) as unknown;
    expect(result).toEqual({ seen: { layer: 1, head: 3, resolution: 16, sampling: { mode: 'exact' }, backend: 'cpu' }, path: summary.path });
    expect(workers.started).toEqual(['interactive']);
    const badLayer = await apiError(engine.handlers['head.mask']({ captureId: summary.captureId, layer: 5, head: 0, resolution: 8, pattern: { pattern: 'dense', a: 0, b: 0 } }));
    expect(badLayer).toMatchObject({ code: 'not-found', message: expect.stringContaining('layer 5 is not in capture tiny.safetensors') });
    const badHead = await apiError(engine.handlers['head.mask']({ captureId: summary.captureId, layer: 0, head: 4, resolution: 8, pattern: { pattern: 'dense', a: 0, b: 0 } }));
    expect(badHead.message).toContain('head 4 is out of range');
  });

  it('sends a query block\'s kernel lists and a head\'s output-error breakdown to the interactive worker, checked like every head method', async () => {
    const summary = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    ops.kernelBlocks = async (params) => ({ kernel: params });
    ops.outputError = async (params) => ({ error: params });
    const pattern = { pattern: 'vertical_and_slash' as const, a: 30, b: 50 };
    expect(await engine.handlers['head.kernelBlocks']({ captureId: summary.captureId, layer: 1, head: 2, pattern, queryBlock: 3, lastQ: 64 })).toEqual({ kernel: { layer: 1, head: 2, pattern, queryBlock: 3, lastQ: 64 } });
    const outputError = { layer: 0, head: 1, pattern, rows: 64, seed: 0, top: 5, lastQ: 64, backend: 'cpu' as const };
    expect(await engine.handlers['head.outputError']({ captureId: summary.captureId, ...outputError })).toEqual({ error: outputError });
    expect((await apiError(engine.handlers['head.kernelBlocks']({ captureId: summary.captureId, layer: 7, head: 0, pattern, queryBlock: 0, lastQ: 64 }))).code).toBe('not-found');
  });

  it('a newer head.evaluate with the same staleKey cancels the older one', async () => {
    const summary = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    ops.evaluate = async (params, { control }) => {
      if (params.pattern.a === 1) {
        while (Atomics.load(control.cancel, 0) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
        throw new Error('cancelled');
      }
      return { evaluated: params.pattern.a };
    };
    const request = (a: number, staleKey?: string) =>
      engine.handlers['head.evaluate']({
        captureId: summary.captureId, layer: 0, head: 0, pattern: { pattern: 'vertical_and_slash', a, b: 100 },
        sampling: { mode: 'sampled', rows: 8, seed: 0 }, stripRows: 8, backend: 'cpu', lastQ: 64, staleKey,
      }) as Promise<unknown>;
    const older = request(1, 'tune:0:0');
    await new Promise((resolve) => setTimeout(resolve, 10));
    const newer = request(2, 'tune:0:0');
    expect((await apiError(older)).code).toBe('cancelled');
    await expect(newer).resolves.toEqual({ evaluated: 2 });
  });

  it('a capture whose values overflow fp32 is the user\'s bad input, naming file, layer, head and row, in head methods and jobs (issue 10)', async () => {
    await writeCapture(join(root, 'huge.safetensors'), tinyMetadata(), pokedTensors(TINY, [{ layer: 0, kind: 'q', head: 2, row: 4, dim: 0, value: 1e38 }]));
    const summary = await engine.handlers['capture.open']({ path: 'huge.safetensors' });
    ops.pooledMap = async (params, { capture }) => (await capture().readHead(params.layer, 'q', params.head)).length;
    ops.analyze = async (_params, { capture }) => (await capture().readLayer(0, 'q')).length;
    const message = 'huge.safetensors: layer 0 q head 2 row 4 holds 1.00e+38 (dim 0): beyond ±2^40, where attention scores overflow fp32';
    const refused = await apiError(engine.handlers['head.pooledMap']({ captureId: summary.captureId, layer: 0, head: 2, resolution: 8, sampling: { mode: 'exact' }, backend: 'cpu' }));
    expect(refused).toMatchObject({ code: 'bad-request', message });
    const events: JobEvent[] = [];
    engine.onJobEvent((event) => events.push(event));
    await engine.handlers['job.start']({ kind: 'analyze', captureId: summary.captureId, backend: 'cpu', sampling: { mode: 'exact' } });
    await vi.waitFor(() => expect(events.at(-1)?.state).toBe('failed'));
    expect(events.at(-1)!.error).toBe(message);
  });

  it('reports the device from the native module in contract shape', async () => {
    const info = await engine.handlers['device.info']({});
    expect(methods['device.info'].result.parse(info)).toMatchObject({ host: 'test', defaultBackend: 'cpu', cpu: { threads: 2 }, cuda: { available: false, reason: 'built without CUDA' } });
    expect(info.engineVersion).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('jobs', () => {
  it('runs a job on the jobs worker with progress and the result in a done event', async () => {
    const summary = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    ops.analyze = async (params, { onProgress, capture }) => {
      onProgress(0.5, 'layer 0');
      return { layers: params.layers, path: capture().summary.path };
    };
    const events: JobEvent[] = [];
    engine.onJobEvent((event) => events.push(event));
    const { jobId } = await engine.handlers['job.start']({ kind: 'analyze', captureId: summary.captureId, layers: [1], backend: 'cpu', sampling: { mode: 'exact' } });
    await vi.waitFor(() => expect(events.at(-1)?.state).toBe('done'));
    expect(events.every((e) => e.jobId === jobId && e.kind === 'analyze')).toBe(true);
    expect(events.map((e) => e.state)).toContain('running');
    expect(events.at(-1)!.result).toEqual({ layers: [1], path: summary.path });
    // The interactive worker says which GPUs there are; without one, jobs run on one CPU worker.
    expect(workers.started).toEqual(['interactive', 'jobs']);
  });

  it('refuses jobs on unknown captures or layers before queueing them', async () => {
    const summary = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    expect((await apiError(engine.handlers['job.start']({ kind: 'analyze', captureId: 'nope', backend: 'cpu', sampling: { mode: 'exact' } }))).code).toBe('not-found');
    const badLayers = await apiError(engine.handlers['job.start']({ kind: 'search', captureId: summary.captureId, backend: 'cpu', settings: { mode: 'candidates', targetRecall: 0.9, sampling: { mode: 'exact' }, layers: [0, 7] } }));
    expect(badLayers.message).toBe('layers 7 are not in capture tiny.safetensors');
    expect((await apiError(engine.handlers['job.start']({ kind: 'bench', sweep: [], backend: 'cpu', repeat: 1 }))).message).toMatch(/needs a captureId or a non-empty sweep/);
  });

  it('fits a job\'s config to the capture: missing heads get MInference\'s default, extra heads are refused', async () => {
    const summary = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    ops.analyze = async (params) => params.config;
    const events: JobEvent[] = [];
    engine.onJobEvent((event) => events.push(event));
    const oneHead = { numLayers: 1, numHeads: 1, heads: [[{ pattern: 'stream_llm' as const, a: 64, b: 256 }]] };
    await engine.handlers['job.start']({ kind: 'analyze', captureId: summary.captureId, config: oneHead, backend: 'cpu', sampling: { mode: 'exact' } });
    await vi.waitFor(() => expect(events.at(-1)?.state).toBe('done'));
    const fitted = events.at(-1)!.result as { numLayers: number; numHeads: number; heads: { pattern: string; a: number; b: number }[][] };
    expect([fitted.numLayers, fitted.numHeads]).toEqual([summary.numLayers, summary.numHeads]);
    expect(fitted.heads[0]![0]).toMatchObject({ pattern: 'stream_llm', a: 64, b: 256 });
    expect(fitted.heads.at(-1)!.at(-1)).toMatchObject({ pattern: 'vertical_and_slash', a: 1000, b: 6096 });
    const tooWide = { numLayers: 1, numHeads: summary.numHeads + 1, heads: [Array.from({ length: summary.numHeads + 1 }, () => ({ pattern: 'dense' as const, a: 0, b: 0 }))] };
    const refused = await apiError(engine.handlers['job.start']({ kind: 'analyze', captureId: summary.captureId, config: tooWide, backend: 'cpu', sampling: { mode: 'exact' } }));
    expect(refused.code).toBe('bad-request');
    expect(refused.message).toMatch(/tiny.safetensors: the config has 5 heads per layer but the capture has 4/);
  });

  it('a crashed jobs worker runs the job again on a new one; a job that kills every try fails with a clear message', async () => {
    const summary = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    let calls = 0;
    ops.analyze = () => (++calls === 1 ? new Promise(() => {}) : Promise.resolve({ ok: true })); // the first runs until the crash
    const events: JobEvent[] = [];
    engine.onJobEvent((event) => events.push(event));
    await engine.handlers['job.start']({ kind: 'analyze', captureId: summary.captureId, backend: 'cpu', sampling: { mode: 'exact' } });
    await vi.waitFor(() => expect(events.at(-1)?.state).toBe('running'));
    await vi.waitFor(() => expect(calls).toBe(1));
    workers.crash('jobs', 'was killed by SIGSEGV');
    await vi.waitFor(() => expect(events.at(-1)).toMatchObject({ state: 'done', result: { ok: true } }));
    expect(workers.started).toEqual(['interactive', 'jobs', 'jobs']);

    ops.analyze = () => new Promise(() => {});
    await engine.handlers['job.start']({ kind: 'analyze', captureId: summary.captureId, backend: 'cpu', sampling: { mode: 'exact' } });
    for (let tries = 1; tries <= MAX_ATTEMPTS; tries++) {
      await vi.waitFor(() => expect(workers.started.filter((name) => name === 'jobs')).toHaveLength(1 + tries)); // the first try runs on the worker that ran the job above
      await new Promise((resolve) => setTimeout(resolve, 5)); // the call reaches the new worker
      workers.crash('jobs', 'was killed by SIGSEGV');
    }
    await vi.waitFor(() => expect(events.at(-1)?.state).toBe('failed'));
    expect(events.at(-1)!.error).toBe('the jobs worker was killed by SIGSEGV');
  });

  it('job.list tells the latest state of every remembered job, newest first, finished results included', async () => {
    const summary = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    const spec = { kind: 'analyze' as const, captureId: summary.captureId, backend: 'cpu' as const, sampling: { mode: 'exact' as const } };
    const events: JobEvent[] = [];
    engine.onJobEvent((event) => events.push(event));
    ops.analyze = async () => ({ ok: true });
    const { jobId: doneId } = await engine.handlers['job.start'](spec);
    await vi.waitFor(() => expect(events.at(-1)?.state).toBe('done'));
    ops.analyze = async () => {
      throw new Error('layer 3 is truncated');
    };
    const { jobId: failedId } = await engine.handlers['job.start'](spec);
    await vi.waitFor(() => expect(events.at(-1)?.state).toBe('failed'));
    ops.analyze = async (_params, { onProgress, control }) => {
      onProgress(0.5, 'layer 1');
      while (Atomics.load(control.cancel, 0) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      throw new Error('cancelled');
    };
    const { jobId: runningId } = await engine.handlers['job.start'](spec);
    await vi.waitFor(async () => expect((await engine.handlers['job.list']({}))[0]).toMatchObject({ jobId: runningId, state: 'running', progress: 0.5, message: 'layer 1' }));

    const listed = await engine.handlers['job.list']({});
    expect(listed.map((event) => [event.jobId, event.state])).toEqual([
      [runningId, 'running'],
      [failedId, 'failed'],
      [doneId, 'done'],
    ]);
    expect(listed[2]).toEqual(events.find((event) => event.jobId === doneId && event.state === 'done'));
    expect(listed[2]!.result).toEqual({ ok: true });
    expect(listed[1]!.error).toBe('layer 3 is truncated');
    expect(methods['job.list'].result.parse(listed)).toHaveLength(3);
  });

  it('cancels a running job through the worker', async () => {
    const summary = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    ops.analyze = async (_params, { control }) => {
      while (Atomics.load(control.cancel, 0) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      throw new Error('cancelled');
    };
    const events: JobEvent[] = [];
    engine.onJobEvent((event) => events.push(event));
    const { jobId } = await engine.handlers['job.start']({ kind: 'analyze', captureId: summary.captureId, backend: 'cpu', sampling: { mode: 'exact' } });
    await vi.waitFor(() => expect(events.at(-1)?.state).toBe('running'));
    expect(await engine.handlers['job.cancel']({ jobId })).toEqual({ cancelled: true });
    await vi.waitFor(() => expect(events.at(-1)?.state).toBe('cancelled'));
  });
});

describe('configs', () => {
  it('imports a real MInference config by path and exports it inside the roots only', async () => {
    const fixture = 'Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json';
    await writeFile(join(root, fixture), await readFile(join(FIXTURES, fixture)));
    const imported = await engine.handlers['config.import']({ path: fixture });
    expect(imported.format).toBe('minference');
    expect(imported.config.numLayers).toBe(32);
    const exported = await engine.handlers['config.export']({ config: imported.config, format: 'minference', path: 'out.json' });
    expect(exported.path).toBe(join(root, 'out.json'));
    expect(JSON.parse(await readFile(join(root, 'out.json'), 'utf8'))).toEqual(JSON.parse(await readFile(join(FIXTURES, fixture), 'utf8')));
    const refused = await apiError(engine.handlers['config.export']({ config: imported.config, format: 'minference', path: join(outside, 'out.json') }));
    expect(refused.code).toBe('forbidden');
    const text = await engine.handlers['config.export']({ config: imported.config, format: 'sglang' });
    expect(JSON.parse(text.text)).toHaveProperty('dual_chunk_attention_config.sparse_attention_config');
  });

  it('exports only to a new or existing .json config: never over a capture or other file, never to a folder, nothing left behind (issue 10)', async () => {
    const config = { numLayers: 1, numHeads: 1, heads: [[{ pattern: 'dense' as const, a: 0, b: 0 }]] };
    const exportTo = (path: string) => engine.handlers['config.export']({ config, format: 'minference', path });
    const capture = join(root, 'captures', 'tiny.safetensors');
    const captureBytes = await readFile(capture);
    await writeFile(join(root, 'notes.json'), '{"todo": "not a head config"}');
    await mkdir(join(root, 'folder.json'));
    const refusals: [string, RegExp][] = [
      ['captures/tiny.safetensors', /cannot write .*tiny\.safetensors: a head config is written to a \.json file/],
      ['notes.json', /cannot write .*notes\.json: it exists and is not a head config \(notes\.json: not a head config/],
      ['folder.json', /cannot write .*folder\.json: it is a folder; give a file name/],
      ['missing/out.json', /no such file or folder: .*missing/],
    ];
    for (const [path, message] of refusals) {
      const refused = await apiError(exportTo(path));
      expect(refused.message).toMatch(message);
      expect(refused.code).not.toBe('internal');
    }
    expect(await readFile(capture)).toEqual(captureBytes);
    expect(await readFile(join(root, 'notes.json'), 'utf8')).toBe('{"todo": "not a head config"}');
    await writeFile(join(root, 'empty.json'), '');
    await exportTo('empty.json');
    await exportTo('empty.json'); // now a config: overwritten again
    await exportTo('new.json');
    expect(await readFile(join(root, 'empty.json'), 'utf8')).toBe(await readFile(join(root, 'new.json'), 'utf8'));
    const leftovers = [...(await readdir(root)), ...(await readdir(join(root, 'folder.json')))].filter((name) => name.includes('partial'));
    expect(leftovers).toEqual([]);
  });

  it('measures the recall of converted heads on the open capture, through the interactive worker', async () => {
    const capture = await engine.handlers['capture.open']({ path: 'captures/tiny.safetensors' });
    const asked: unknown[] = [];
    ops.evaluate = async (params) => {
      asked.push(params);
      return { stats: { recall: 0.77 } } as never;
    };
    const heads = [
      [{ pattern: 'dense' as const, a: 0, b: 0 }, { pattern: 'vertical_and_slash' as const, a: 100, b: 800 }],
      [{ pattern: 'vertical_and_slash' as const, a: 100, b: 800 }, { pattern: 'vertical_and_slash' as const, a: 100, b: 800 }],
      [{ pattern: 'dense' as const, a: 0, b: 0 }, { pattern: 'vertical_and_slash' as const, a: 100, b: 800 }],
    ];
    const exported = await engine.handlers['config.export']({ config: { numLayers: 3, numHeads: 2, heads }, format: 'minference', captureId: capture.captureId });
    // Layer 2 is not in the capture (it holds layers 0 and 1): that head is not measured.
    expect(asked).toEqual([{ layer: 0, head: 0, pattern: { pattern: 'vertical_and_slash', a: 30, b: 1048576 }, lastQ: 64, sampling: { mode: 'sampled', rows: 256, seed: 0 }, stripRows: 8, backend: 'auto' }]);
    expect(exported.warnings).toEqual([expect.stringContaining('; recall min 0.770 (layer 0 head 0), mean 0.770 over 1 measured: 2 x dense -> ')]);
    expect(JSON.parse(exported.text)[0]['0']).toEqual(['vertical_and_slash', 30, 1048576, 0.77]);
  });

  it('turns a bad config into a bad-request naming the problem', async () => {
    const error = await apiError(engine.handlers['config.import']({ text: '[{"0": ["magic", 1, 2, 3]}]', fileName: 'bad.json' }));
    expect(error.code).toBe('bad-request');
    expect(error.message).toMatch(/bad\.json/);
  });
});
