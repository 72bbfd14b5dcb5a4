/**
 * The sharded runner on in-process workers with injected ops: sharding, balancing by measured
 * cost, re-queuing a shard whose worker dies, per-worker progress and cancel.
 */
import { describe, expect, it } from 'vitest';
import { ApiError, fitHeadConfig, type CaptureSummary, type HeadStats, type JobSpec, type SearchResult, type WorkerProgress } from '../../../../contract/api.js';
import type { ComputeWorkerSlot } from '../../../../electron/engine/jobs/compute-workers.js';
import type { WorkerCall } from '../../../../electron/engine/jobs/protocol.js';
import { ShardedRunner } from '../../../../electron/engine/jobs/sharded-runner.js';
import type { OpImplementations } from '../../../../electron/engine/jobs/worker-runtime.js';
import type { NativeModule } from '../../../../electron/engine/native-api.js';
import { inProcessWorkers } from './in-process.js';

const summary = { layers: [0, 1, 2, 3], numLayers: 4, numHeads: 4, numKvHeads: 2, seqLen: 64, hash: 'h', dtype: 'BF16', captureId: 'c' } as CaptureSummary;
const target = { capturePath: '/captures/c.safetensors', captureId: 'c', summary };
const spec = { kind: 'search', captureId: 'c', backend: 'cpu', settings: { mode: 'target-recall', targetRecall: 0.9, sampling: { mode: 'exact' } } } as JobSpec;
const slots = (n: number): ComputeWorkerSlot[] => Array.from({ length: n }, (_, i) => ({ name: `cpu-${i}`, label: `CPU ${i}`, cudaIndex: null, env: { CUDA_VISIBLE_DEVICES: '' } }));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function headStats(layer: number, head: number): HeadStats {
  return { layer, head, pattern: 'stream_llm', params: [layer, head], recall: 0.9, outputRelError: 0, density: 0.5, rowsUsed: 1, denseMs: 1, indexMs: 0, sparseMs: 0.5, speedup: 2, speedupKind: 'measured' };
}

/** A search that picks stream_llm (layer, head) for every head of its layers, after `delayMs(layer)`. */
function fakeSearch(delayMs: (layer: number) => number): OpImplementations['search'] {
  return async ({ settings, heads = { first: 0, end: summary.numHeads } }, { onProgress }) => {
    const config = fitHeadConfig(null, summary);
    const stats: HeadStats[] = [];
    for (const layer of settings.layers ?? summary.layers) {
      onProgress(0.5, `layer ${layer}`);
      await sleep(delayMs(layer));
      for (let head = heads.first; head < heads.end; head++) {
        config.heads[layer]![head] = { pattern: 'stream_llm', a: layer, b: head, score: 0.9 };
        stats.push(headStats(layer, head));
      }
    }
    const report = { backend: 'cpu' as const, device: 'CPU', dtype: 'BF16' as const, seqLen: 64, heads: stats, totals: { denseMs: 0, indexMs: 0, sparseMs: 0, speedup: 0, speedupKind: 'measured' as const, meanRecall: 0, minRecall: 0 } };
    return { config, report, settings } satisfies SearchResult;
  };
}

function setup(workerCount: number, search: OpImplementations['search']) {
  const unused = () => Promise.reject(new Error('not used'));
  const ops: OpImplementations = { deviceInfo: unused, writeDemo: unused, pooledMap: unused, mask: unused, evaluate: unused, budgetCurve: unused, kernelBlocks: unused, outputError: unused, analyze: unused, search, bench: unused };
  const workers = inProcessWorkers({ loadNative: () => ({}) as NativeModule, openCapture: async () => ({ summary, close: async () => {} }) as never, ops, progressIntervalMs: 0 });
  const runner = new ShardedRunner({ spawn: workers.spawn, slots: async () => slots(workerCount), killGraceMs: 200 });
  const progress: WorkerProgress[][] = [];
  const run = () => runner.run(spec, target, (_fraction, _message, each) => progress.push(each));
  const searchCalls = () => workers.sent.filter((message): message is WorkerCall<'search'> => message.type === 'call' && message.op === 'search');
  return { workers, runner, run, progress, searchCalls };
}

function expectEverySearched(result: SearchResult): void {
  for (const layer of summary.layers) {
    expect(result.config.heads[layer]!.map((head) => [head.a, head.b])).toEqual([0, 1, 2, 3].map((head) => [layer, head]));
  }
  expect(result.report.heads.map((head) => `${head.layer}/${head.head}`)).toEqual(summary.layers.flatMap((layer) => [0, 1, 2, 3].map((head) => `${layer}/${head}`)));
}

describe('ShardedRunner', () => {
  it('shards a search over two workers by layer, shows each worker\'s progress, and merges what one run would give', async () => {
    const { runner, run, progress, searchCalls, workers } = setup(2, fakeSearch(() => 5));
    const result = (await run().promise) as SearchResult;
    expectEverySearched(result);
    expect(workers.started.sort()).toEqual(['cpu-0', 'cpu-1']);
    expect(searchCalls().map((call) => call.params.settings.layers)).toEqual([[0], [1], [2], [3]]);
    expect(progress.some((each) => each.length === 2 && each.every((worker) => worker.shard !== null))).toBe(true);
    runner.dispose();
  });

  it('runs a job in one call on one worker, with no per-worker progress', async () => {
    const { runner, run, progress, searchCalls } = setup(1, fakeSearch(() => 0));
    expectEverySearched((await run().promise) as SearchResult);
    expect(searchCalls()).toHaveLength(1);
    expect(searchCalls()[0]!.params).toEqual({ settings: (spec as { settings: unknown }).settings, backend: 'cpu' });
    expect(progress.every((each) => each.length === 0)).toBe(true);
    runner.dispose();
  });

  it('starts the shard that measured slowest first on the next job', async () => {
    const { runner, run, searchCalls } = setup(2, fakeSearch((layer) => (layer === 3 ? 80 : 5)));
    await run().promise;
    const firstJob = searchCalls().length;
    await run().promise;
    expect(searchCalls().slice(firstJob)[0]!.params.settings.layers).toEqual([3]);
    runner.dispose();
  });

  it('queues a shard again when its worker dies mid-shard; the job still returns every head', async () => {
    const { runner, run, workers, searchCalls } = setup(2, fakeSearch(() => 150));
    const running = run();
    await expect.poll(() => searchCalls().length, { interval: 5 }).toBe(2);
    workers.crash('cpu-1', 'was killed by SIGKILL');
    const result = (await running.promise) as SearchResult;
    expectEverySearched(result);
    // The lost layer ran again: five calls for four layers.
    expect(searchCalls()).toHaveLength(5);
    expect(searchCalls().filter((call) => call.params.settings.layers![0] === searchCalls()[1]!.params.settings.layers![0])).toHaveLength(2);
    runner.dispose();
  });

  it('cancels every running shard and rejects with cancelled', async () => {
    const { runner, run, searchCalls } = setup(2, async (_params, { control }) => {
      while (Atomics.load(control.cancel, 0) === 0) await sleep(2);
      throw new Error('cancelled');
    });
    const running = run();
    await expect.poll(() => searchCalls().length).toBe(2);
    running.cancel();
    await expect(running.promise).rejects.toEqual(new ApiError('search cancelled', 'cancelled'));
    expect(searchCalls()).toHaveLength(2);
    runner.dispose();
  });
});
