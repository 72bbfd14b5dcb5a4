import { describe, expect, it } from 'vitest';
import type { CaptureSummary, HeadStats, JobSpec, Report, SearchResult } from '../../../../contract/api.js';
import { planComputeWorkers } from '../../../../electron/engine/jobs/compute-workers.js';
import { kvGroupRuns, mergeReports, mergeShardResults, planShards } from '../../../../electron/engine/jobs/shards.js';

const summary = { layers: [0, 1, 2, 3], numLayers: 4, numHeads: 8, numKvHeads: 4, seqLen: 1024, hash: 'h' } as CaptureSummary;
const search = { kind: 'search', captureId: 'c', backend: 'cpu', settings: { mode: 'target-recall', targetRecall: 0.9, sampling: { mode: 'exact' } } } as Extract<JobSpec, { kind: 'search' }>;

function stats(layer: number, head: number, recall: number): HeadStats {
  return { layer, head, pattern: 'stream_llm', params: [64, 256], recall, outputRelError: 0.01, density: 0.1, rowsUsed: 8, denseMs: 1, indexMs: 0.1, sparseMs: 0.2, speedup: 1 / 0.3, speedupKind: 'measured' };
}

function report(heads: HeadStats[]): Report {
  return { backend: 'cpu', device: 'CPU', dtype: 'BF16', seqLen: 1024, heads, totals: { denseMs: 0, indexMs: 0, sparseMs: 0, speedup: 0, speedupKind: 'measured', meanRecall: 0, minRecall: 0 } };
}

describe('planShards', () => {
  it('keeps a job whole on one worker: one call with the job\'s own parameters', () => {
    const [only, ...rest] = planShards(search, summary, 1);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ op: 'search', params: { backend: 'cpu', settings: { targetRecall: 0.9 } } });
    expect((only!.params as { settings: { layers?: number[] } }).settings.layers).toBeUndefined();
  });

  it('cuts by layer while layers keep every worker busy, and layers into runs of whole KV groups when they do not', () => {
    expect(planShards(search, summary, 2).map((shard) => shard.label)).toEqual(['layer 0', 'layer 1', 'layer 2', 'layer 3']);
    const wide = planShards({ ...search, settings: { ...search.settings, layers: [2] } }, summary, 2);
    expect(wide.map((shard) => shard.label)).toEqual(['layer 2 heads 0-1', 'layer 2 heads 2-3', 'layer 2 heads 4-5', 'layer 2 heads 6-7']);
    expect(wide[1]!.params).toMatchObject({ heads: { first: 2, end: 4 }, settings: { layers: [2] } });
    expect(kvGroupRuns(summary, 3)).toEqual([
      { first: 0, end: 4 },
      { first: 4, end: 8 },
    ]);
    const analyze = planShards({ kind: 'analyze', captureId: 'c', backend: 'cpu', sampling: { mode: 'exact' }, layers: [3, 1] } as JobSpec, summary, 8);
    expect(analyze.every((shard) => (shard.params as { layers: number[] }).layers.length === 1)).toBe(true);
    expect(analyze.map((shard) => shard.label)[0]).toBe('layer 1 heads 0-1');
  });

  it('cuts a synthetic bench sweep by context length', () => {
    const shards = planShards({ kind: 'bench', sweep: [4096, 8192], backend: 'cpu', repeat: 1 } as JobSpec, null, 2);
    expect(shards.map((shard) => shard.params)).toEqual([
      { sweep: [4096], backend: 'cpu', repeat: 1 },
      { sweep: [8192], backend: 'cpu', repeat: 1 },
    ]);
    expect(shards[1]!.work).toBeGreaterThan(shards[0]!.work);
  });
});

describe('mergeShardResults', () => {
  it('puts a sharded search back together: each shard\'s heads, totals summed in (layer, head) order as one run sums them', () => {
    const shards = planShards({ ...search, settings: { ...search.settings, layers: [1] } }, summary, 2);
    const results = shards.map((shard, s): SearchResult => {
      const { heads } = shard.params as { heads: { first: number; end: number } };
      const config = { numLayers: 4, numHeads: 8, heads: Array.from({ length: 4 }, () => Array.from({ length: 8 }, () => ({ pattern: 'dense' as const, a: s, b: s }))) };
      const headStats = Array.from({ length: heads.end - heads.first }, (_, h) => stats(1, heads.first + h, 0.9 + 0.01 * (heads.first + h)));
      return { config, report: report(headStats), settings: search.settings };
    });
    const merged = mergeShardResults(search, summary, shards, results) as SearchResult;
    expect(merged.config.heads[1]!.map((head) => head.a)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(merged.config.heads[0]![0]).toMatchObject({ pattern: 'vertical_and_slash', a: 1000, b: 6096 });
    expect(merged.report.heads.map((head) => head.head)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(merged.report.totals.minRecall).toBe(0.9);
    expect(merged.report.totals.denseMs).toBe(8);
    expect(merged.settings).toBe(search.settings);
    expect(merged.comparison).toBeUndefined();
  });

  it('keeps a method search\'s comparison in shard order and its method settings', () => {
    const shards = planShards(search, summary, 2);
    const runtime = { xattentionBlockSize: 256, flexprefillBlockSize: 128, flexprefillMinBudget: 512 };
    const results = shards.map((_, s): SearchResult => {
      const config = { numLayers: 4, numHeads: 8, heads: Array.from({ length: 4 }, () => Array.from({ length: 8 }, () => ({ pattern: 'dense' as const, a: 0, b: 0 }))), runtime };
      const headStats = stats(s, 0, 1);
      return { config, report: report([headStats]), settings: search.settings, comparison: [{ layer: s, head: 0, winner: 'duo', choices: [{ method: 'duo', holds: false, stats: headStats }] }] };
    });
    const merged = mergeShardResults(search, summary, shards, results) as SearchResult;
    expect(merged.comparison!.map((head) => head.layer)).toEqual(shards.map((_, s) => s));
    expect(merged.config.runtime).toEqual(runtime);
  });

  it('returns a single shard\'s result as it is, and names every device the shards ran on', () => {
    const only = { anything: true };
    expect(mergeShardResults(search, summary, planShards(search, summary, 1), [only])).toBe(only);
    const merged = mergeReports([{ ...report([stats(0, 0, 1)]), device: 'GPU A', warnings: ['w'] }, { ...report([stats(1, 0, 1)]), device: 'GPU B', warnings: ['w'] }]);
    expect(merged).toMatchObject({ device: 'GPU A + GPU B', warnings: ['w'] });
  });
});

describe('planComputeWorkers', () => {
  const gpus = (n: number) => ({ cuda: { compiled: true, available: n > 0, headDims: [64], devices: Array.from({ length: n }, (_, index) => ({ index, name: 'H100', totalMemoryBytes: 1, freeMemoryBytes: 1, computeCapability: '9.0' })) } });

  it('runs one worker per visible GPU, each pinned to its own with CUDA_VISIBLE_DEVICES', () => {
    expect(planComputeWorkers(undefined, gpus(2), undefined)).toEqual([
      { name: 'gpu-0', label: 'GPU 0 · H100', cudaIndex: 0, env: { CUDA_VISIBLE_DEVICES: '0' } },
      { name: 'gpu-1', label: 'GPU 1 · H100', cudaIndex: 1, env: { CUDA_VISIBLE_DEVICES: '1' } },
    ]);
    expect(planComputeWorkers('auto', gpus(2), '4,6').map((slot) => slot.env.CUDA_VISIBLE_DEVICES)).toEqual(['4', '6']);
    expect(planComputeWorkers('gpu:1', gpus(2), undefined)).toHaveLength(1);
  });

  it('runs one CPU worker without GPUs, or N CPU stand-ins with the GPUs hidden', () => {
    expect(planComputeWorkers(undefined, gpus(0), undefined)).toEqual([{ name: 'jobs', label: 'CPU', cudaIndex: null, env: {} }]);
    expect(planComputeWorkers('cpu:2', gpus(1), undefined).map((slot) => [slot.name, slot.env.CUDA_VISIBLE_DEVICES])).toEqual([
      ['cpu-0', ''],
      ['cpu-1', ''],
    ]);
  });

  it('says what is wrong with a bad setting', () => {
    expect(() => planComputeWorkers('4', gpus(1), undefined)).toThrow('SPARSESCOPE_WORKERS="4": expected auto, gpu:N or cpu:N');
    expect(() => planComputeWorkers('gpu:2', gpus(1), undefined)).toThrow('SPARSESCOPE_WORKERS=gpu:2: only 1 GPU is visible');
    expect(() => planComputeWorkers('cpu:0', gpus(0), undefined)).toThrow('N must be 1..64');
  });
});
