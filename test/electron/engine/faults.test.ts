/**
 * Issue 10's fault test, on the engine with its real worker processes (the built worker entry and
 * the native addon): each worker killed in the middle of a call, and a disk that fills up during a
 * config export (an injected ENOSPC). An interactive call in flight fails with a message saying
 * what happened; a job's work is queued again on a new worker (jobs/sharded-runner.ts); what was
 * saved stays as it was; the engine keeps working on the same open capture.
 * (The renderer shows these messages: test/renderer/state/store.test.ts for a failed job,
 * test/renderer/views/FilesView.test.tsx for a failed export.)
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CaptureSummary, HeadConfig, JobEvent } from '../../../contract/api.js';
import { createEngine, type Engine } from '../../../electron/engine/handlers.js';
import { nodeWorkerSpawner } from '../../../electron/engine/jobs/node-spawner.js';
import type { WorkerHandle } from '../../../electron/engine/jobs/protocol.js';

/** Writes fail with ENOSPC while `full` is set, as on a full disk. */
const disk = vi.hoisted(() => ({ full: false }));
vi.mock('node:fs/promises', async (original) => {
  const fs = await original<typeof import('node:fs/promises')>();
  const writeFile: typeof fs.writeFile = async (...args) => {
    if (disk.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return fs.writeFile(...args);
  };
  return { ...fs, writeFile, default: { ...fs, writeFile } };
});

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const builtWorker = join(repo, 'dist/electron/engine/jobs/worker.js');
const addon = join(repo, 'native/build/Release/sparsescope.node');
const missing = [builtWorker, addon].filter((path) => !existsSync(path));
if (missing.length > 0) console.warn(`fault tests skipped: ${missing.join(', ')} missing (npm run build; npm run install)`);

describe.skipIf(missing.length > 0)('faults: killed workers and a full disk (issue 10)', () => {
  let dir: string;
  let engine: Engine;
  let demo: CaptureSummary;
  /** The newest process of each worker, to kill from outside as a crash would. */
  const workers = new Map<string, WorkerHandle>();
  const events: JobEvent[] = [];
  const saved = () => join(dir, 'saved.json');
  const config: HeadConfig = { numLayers: 2, numHeads: 4, heads: [0, 1].map(() => Array.from({ length: 4 }, () => ({ pattern: 'stream_llm' as const, a: 64, b: 256 }))) };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sparsescope-faults-'));
    const spawn = nodeWorkerSpawner(builtWorker);
    engine = createEngine({
      host: 'test',
      roots: [dir],
      cacheDir: dir,
      spawnWorker: (name, handlers) => {
        const worker = spawn(name, handlers);
        workers.set(name, worker);
        return worker;
      },
      demo: { seqLen: 2048, layers: 2, heads: 4, kvHeads: 2, headDim: 32, seed: 1, dtype: 'BF16' },
    });
    engine.onJobEvent((event) => events.push(event));
    demo = await engine.handlers['capture.openDemo']({});
    await engine.handlers['config.export']({ config, format: 'minference', path: saved() });
  }, 120_000);

  afterAll(async () => {
    await engine?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const curve = () => engine.handlers['head.budgetCurve']({ captureId: demo.captureId, layer: 1, head: 2, pattern: 'vertical_and_slash', sampling: { mode: 'exact' } });

  it('the interactive worker killed mid-call: that call says so, the next one runs on a new worker', async () => {
    const inFlight = curve();
    workers.get('interactive')!.kill();
    await expect(inFlight).rejects.toMatchObject({ code: 'internal', message: 'the interactive worker was killed by SIGKILL' });
    expect((await curve()).points.length).toBeGreaterThan(0);
  }, 60_000);

  it('the jobs worker killed mid-search: its work is queued again on a new worker and the job finishes, the next job runs, the saved config is intact', async () => {
    const before = await readFile(saved(), 'utf8');
    const { jobId } = await engine.handlers['job.start']({ kind: 'search', captureId: demo.captureId, backend: 'cpu', settings: { mode: 'target-recall', targetRecall: 0.95, sampling: { mode: 'exact' } } });
    // Killed once the search has reported progress, so it dies mid-work, not before or after it.
    await vi.waitFor(() => expect(events.some((e) => e.jobId === jobId && e.state === 'running' && e.progress > 0)).toBe(true), { timeout: 30_000 });
    const killed = workers.get('jobs')!;
    killed.kill();
    await vi.waitFor(() => expect(events.findLast((e) => e.jobId === jobId)?.state).toBe('done'), { timeout: 90_000 });
    expect(workers.get('jobs')).not.toBe(killed);

    const next = await engine.handlers['job.start']({ kind: 'analyze', captureId: demo.captureId, layers: [0], backend: 'cpu', sampling: { mode: 'sampled', rows: 32, seed: 0 } });
    await vi.waitFor(() => expect(events.findLast((e) => e.jobId === next.jobId)?.state).toBe('done'), { timeout: 60_000 });
    expect(await readFile(saved(), 'utf8')).toBe(before);
  }, 180_000);

  it('a full disk during an export: a bad-request naming the path and ENOSPC; the file saved before is intact and nothing is left beside it', async () => {
    const before = await readFile(saved(), 'utf8');
    disk.full = true;
    try {
      const changed = { ...config, heads: config.heads.map((layer) => layer.map(() => ({ pattern: 'dense' as const, a: 0, b: 0 }))) };
      await expect(engine.handlers['config.export']({ config: changed, format: 'minference', path: saved() })).rejects.toMatchObject({
        code: 'bad-request',
        message: `cannot write ${saved()}: no space left on the device (ENOSPC)`,
      });
    } finally {
      disk.full = false;
    }
    expect(await readFile(saved(), 'utf8')).toBe(before);
    expect((await readdir(dir)).filter((name) => name.includes('partial'))).toEqual([]);
    await writeFile(join(dir, 'after.json'), ''); // the disk has room again: exports work
    expect((await engine.handlers['config.export']({ config, format: 'minference', path: join(dir, 'after.json') })).path).toBe(join(dir, 'after.json'));
  });
});
