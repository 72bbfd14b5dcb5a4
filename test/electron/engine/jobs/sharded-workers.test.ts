/**
 * Issue 16 on real worker processes: two CPU workers stand in for two GPUs (SPARSESCOPE_WORKERS
 * cpu:2), the built worker entry and the native addon. A sharded search and analyze give what the
 * unsharded path gives, head for head; one worker killed mid-shard costs its shard a second try,
 * not the job. Skipped where dist/ or the addon are missing (npm test builds both first).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeadStats, JobSpec, Report, SearchResult, SearchSettings } from '../../../../contract/api.js';
import { analyzeCapture } from '../../../../electron/engine/analysis/analyze.js';
import { searchCapture } from '../../../../electron/engine/analysis/search.js';
import { openCapture, writeCapture } from '../../../../electron/engine/capture/capture.js';
import type { Capture } from '../../../../electron/engine/capture/types.js';
import { planComputeWorkers } from '../../../../electron/engine/jobs/compute-workers.js';
import { nodeWorkerSpawner } from '../../../../electron/engine/jobs/node-spawner.js';
import type { WorkerSpawner } from '../../../../electron/engine/jobs/protocol.js';
import { ShardedRunner } from '../../../../electron/engine/jobs/sharded-runner.js';
import { loadNative, nativeAddonPath } from '../../../../electron/engine/native.js';
import { generateSynthetic } from '../../../../electron/engine/synthetic/generator.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const builtWorker = join(repo, 'dist/electron/engine/jobs/worker.js');
const missing = [builtWorker, nativeAddonPath()].filter((path) => !existsSync(path));
if (missing.length > 0) console.warn(`sharded worker tests skipped: ${missing.join(', ')} missing (npm run build; npm run install)`);

const SHAPE = { seqLen: 1024, layers: 3, heads: 4, kvHeads: 2, headDim: 32, seed: 3, dtype: 'BF16' as const };
const SETTINGS: SearchSettings = { mode: 'target-recall', targetRecall: 0.9, sampling: { mode: 'sampled', rows: 64, seed: 0 } } as SearchSettings;

/** What a head's stats say that does not depend on timing. */
function measures(heads: HeadStats[]) {
  return heads.map(({ layer, head, pattern, params, recall, outputRelError, density, rowsUsed }) => ({ layer, head, pattern, params, recall, outputRelError, density, rowsUsed }));
}

/** nodeWorkerSpawner, killing the worker named `victim` at its first progress message (once). */
function killingSpawner(victim: string): { spawn: WorkerSpawner; killed: () => boolean } {
  const real = nodeWorkerSpawner(builtWorker);
  let killed = false;
  const spawn: WorkerSpawner = (name, events, env) => {
    const handle = real(
      name,
      {
        onMessage: (message) => {
          if (!killed && name === victim && message.type === 'progress') {
            killed = true;
            handle.kill();
          }
          events.onMessage(message);
        },
        onExit: events.onExit,
      },
      env,
    );
    return handle;
  };
  return { spawn, killed: () => killed };
}

describe.skipIf(missing.length > 0)('sharded jobs on two CPU stand-in workers', () => {
  let dir: string;
  let capture: Capture;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sparsescope-sharded-'));
    const { metadata, tensors } = generateSynthetic(SHAPE);
    await writeCapture(join(dir, 'demo.safetensors'), metadata, tensors);
    capture = await openCapture(join(dir, 'demo.safetensors'));
  });

  afterAll(async () => {
    await capture?.close();
    await rm(dir, { recursive: true, force: true });
  });

  function run(spec: JobSpec, spawn: WorkerSpawner, messages: string[] = []) {
    const runner = new ShardedRunner({ spawn, slots: async () => planComputeWorkers('cpu:2', { cuda: { compiled: false, available: false, headDims: [], devices: [] } }, undefined), killGraceMs: 2000 });
    const target = { capturePath: capture.summary.path, captureId: capture.summary.captureId, summary: capture.summary };
    return runner.run(spec, target, (_fraction, message) => messages.push(message)).promise.finally(() => runner.dispose());
  }

  it('a search sharded over two workers, one of them killed mid-shard, equals the unsharded search', { timeout: 180_000 }, async () => {
    const alone = await searchCapture(loadNative(), capture, SETTINGS, 'cpu');
    const { spawn, killed } = killingSpawner('cpu-1');
    const messages: string[] = [];
    const sharded = (await run({ kind: 'search', captureId: capture.summary.captureId, settings: SETTINGS, backend: 'cpu' }, spawn, messages)) as SearchResult;
    expect(killed()).toBe(true);
    expect(messages.some((message) => /queued again: the cpu-1 worker was killed by SIGKILL/.test(message))).toBe(true);
    expect(sharded.config).toEqual(alone.config);
    expect(measures(sharded.report.heads)).toEqual(measures(alone.report.heads));
    expect(sharded.report.totals.meanRecall).toBe(alone.report.totals.meanRecall);
  });

  it('an analyze of one layer, sharded by KV group, equals the unsharded analyze', { timeout: 120_000 }, async () => {
    const options = { layers: [1], backend: 'cpu' as const, sampling: { mode: 'exact' as const } };
    const alone = await analyzeCapture(loadNative(), capture, options);
    const sharded = (await run({ kind: 'analyze', captureId: capture.summary.captureId, ...options }, nodeWorkerSpawner(builtWorker))) as Report;
    expect(measures(sharded.heads)).toEqual(measures(alone.heads));
    expect(sharded.heads).toHaveLength(SHAPE.heads);
  });
});
