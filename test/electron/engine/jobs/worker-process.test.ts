/**
 * The engine with its real worker processes: the built worker entry (dist/), the native addon,
 * the synthetic generator and the analysis functions. `npm test` builds both before the suites;
 * when they are missing this file is skipped and says why.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { methods, type CaptureSummary, type JobEvent } from '../../../../contract/api.js';
import { writeCapture } from '../../../../electron/engine/capture/capture.js';
import { createEngine, type Engine } from '../../../../electron/engine/handlers.js';
import { nodeWorkerSpawner } from '../../../../electron/engine/jobs/node-spawner.js';
import { TINY, pokedTensors, tinyMetadata } from '../capture/make-capture.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const builtWorker = join(repo, 'dist/electron/engine/jobs/worker.js');
const addon = join(repo, 'native/build/Release/sparsescope.node');
const missing = [builtWorker, addon].filter((path) => !existsSync(path));
if (missing.length > 0) console.warn(`worker-process tests skipped: ${missing.join(', ')} missing (npm run build; npm run install)`);

describe.skipIf(missing.length > 0)('engine with real worker processes', () => {
  let cache: string;
  let engine: Engine;
  let demo: CaptureSummary;
  const events: JobEvent[] = [];

  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'sparsescope-workers-'));
    engine = createEngine({
      host: 'test',
      roots: [cache],
      cacheDir: cache,
      spawnWorker: nodeWorkerSpawner(builtWorker),
      demo: { seqLen: 1000, layers: 2, heads: 4, kvHeads: 2, headDim: 32, seed: 1, dtype: 'BF16' },
    });
    engine.onJobEvent((event) => events.push(event));
    demo = await engine.handlers['capture.openDemo']({});
  }, 120_000);

  afterAll(async () => {
    await engine?.dispose();
    await rm(cache, { recursive: true, force: true });
  });

  it('reports the device through the native module', async () => {
    const info = methods['device.info'].result.parse(await engine.handlers['device.info']({}));
    expect(info.cpu.threads).toBeGreaterThan(0);
    expect(info.defaultBackend).toBe(info.cuda.available ? 'cuda' : 'cpu');
  });

  it('generated the demo capture with the requested shape', () => {
    expect(demo).toMatchObject({ seqLen: 1000, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 32, dtype: 'BF16' });
    expect(demo.planted).toHaveLength(2);
  });

  it('computes a pooled map whose rows each hold the whole attention mass', async () => {
    const map = methods['head.pooledMap'].result.parse(
      await engine.handlers['head.pooledMap']({ captureId: demo.captureId, layer: 1, head: 2, resolution: 10, sampling: { mode: 'exact' }, backend: 'cpu' }),
    );
    expect(map.mean).toBeInstanceOf(Float32Array);
    expect(map.rows * map.cols).toBe(map.mean.length);
    for (let r = 0; r < map.rows; r++) {
      const rowMass = map.mean.subarray(r * map.cols, (r + 1) * map.cols).reduce((sum, x) => sum + x, 0);
      expect(rowMass).toBeCloseTo(1, 3);
    }
  });

  it('answers head methods on a capture whose values overflow fp32 with a bad-request naming file, layer, head and row (issue 10)', async () => {
    await writeCapture(join(cache, 'huge.safetensors'), tinyMetadata(), pokedTensors(TINY, [{ layer: 1, kind: 'k', head: 1, row: 6, dim: 2, value: 3e38 }]));
    const huge = await engine.handlers['capture.open']({ path: 'huge.safetensors' });
    const head = { captureId: huge.captureId, layer: 1, head: 3 };
    const calls = [
      engine.handlers['head.pooledMap']({ ...head, resolution: 8, sampling: { mode: 'exact' }, backend: 'cpu' }),
      engine.handlers['head.evaluate']({ ...head, pattern: { pattern: 'stream_llm', a: 1, b: 4 }, sampling: { mode: 'exact' }, stripRows: 8, backend: 'cpu', lastQ: 64 }),
      engine.handlers['head.budgetCurve']({ ...head, pattern: 'stream_llm', sampling: { mode: 'exact' } }),
    ];
    for (const call of calls) {
      await expect(call).rejects.toMatchObject({ code: 'bad-request', message: 'huge.safetensors: layer 1 k head 1 row 6 holds 3.00e+38 (dim 2): beyond ±2^40, where attention scores overflow fp32' });
    }
  });

  it('runs an analyze job to a report, and cancels a search job', async () => {
    const { jobId } = await engine.handlers['job.start']({ kind: 'analyze', captureId: demo.captureId, layers: [0], backend: 'cpu', sampling: { mode: 'sampled', rows: 64, seed: 0 } });
    await vi.waitFor(() => expect(events.findLast((e) => e.jobId === jobId)?.state).toMatch(/done|failed/), { timeout: 60_000 });
    const done = events.findLast((e) => e.jobId === jobId)!;
    expect(done.error).toBeUndefined();
    expect((done.result as { heads: unknown[] }).heads).toHaveLength(4);

    const search = await engine.handlers['job.start']({ kind: 'search', captureId: demo.captureId, backend: 'cpu', settings: { mode: 'target-recall', targetRecall: 0.95, sampling: { mode: 'exact' } } });
    await vi.waitFor(() => expect(events.some((e) => e.jobId === search.jobId && e.state === 'running')).toBe(true));
    await engine.handlers['job.cancel']({ jobId: search.jobId });
    await vi.waitFor(() => expect(events.findLast((e) => e.jobId === search.jobId)?.state).toMatch(/cancelled|done/), { timeout: 10_000 });
    // The engine still answers afterwards (a hard-killed worker is restarted on demand).
    expect((await engine.handlers['device.info']({})).cpu.threads).toBeGreaterThan(0);
  }, 120_000);
});
