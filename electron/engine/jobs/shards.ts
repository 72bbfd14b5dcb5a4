/**
 * How the sharded runner cuts a job into worker calls and puts their results back together.
 *
 * With one worker a job is one shard: the whole job in one call, as before sharding existed. With
 * several, a capture job is cut by layer, and a layer into runs of whole KV groups when there are
 * too few layers to keep every worker busy (a KV group's heads read the same keys, and the
 * analysis functions already compute a layer in batches of whole groups, so a group run is
 * computed head for head as in the whole layer). bench's synthetic sweep is cut by context length.
 * Each shard is an ordinary analyze/search/bench call restricted to its layers and heads; merging
 * orders heads by (layer, head) and sums totals in that order, so the merged result is the
 * unsharded one (timings aside: they are measurements, and a group run is timed as its own batch).
 */
import { fitHeadConfig, type BenchResult, type CaptureSummary, type HeadStats, type JobSpec, type Report, type SearchResult } from '../../../contract/api.js';
import { reportTotals } from '../analysis/analyze.js';
import type { HeadBatch } from '../analysis/common.js';
import type { WorkerOps } from './protocol.js';

type JobKind = JobSpec['kind'];

export interface Shard<K extends JobKind = JobKind> {
  op: K;
  params: WorkerOps[K];
  /** What it computes, for progress lines: "layer 3", "layer 3 heads 8-15", "32768 tokens". */
  label: string;
  /** Names the same work across jobs, so its measured seconds can order the next job's shards. */
  key: string;
  /** Estimated work in relative units (heads x tokens^2), until a measurement says better. */
  work: number;
}

/** A job's spec without the fields the engine turns into the call's capture reference. */
type JobParams = { [K in JobKind]: Omit<Extract<JobSpec, { kind: K }>, 'kind' | 'captureId'> };

/** Shards per worker the plan aims at when layers are few, so a slow shard does not idle the rest. */
const SHARDS_PER_WORKER = 2;

function uniqueSorted(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

function jobLayers(spec: JobSpec, summary: CaptureSummary): number[] {
  const chosen = spec.kind === 'search' ? spec.settings.layers : spec.kind === 'analyze' ? spec.layers : undefined;
  return uniqueSorted(chosen ?? summary.layers);
}

/** Runs of whole KV groups cutting a layer into `parts` (at most one per group). */
export function kvGroupRuns(summary: Pick<CaptureSummary, 'numHeads' | 'numKvHeads'>, parts: number): HeadBatch[] {
  const groupSize = summary.numHeads / summary.numKvHeads;
  const groupsPerRun = Math.ceil(summary.numKvHeads / Math.max(1, Math.min(parts, summary.numKvHeads)));
  const runs: HeadBatch[] = [];
  for (let group = 0; group < summary.numKvHeads; group += groupsPerRun) {
    runs.push({ first: group * groupSize, end: Math.min(summary.numKvHeads, group + groupsPerRun) * groupSize });
  }
  return runs;
}

function withoutCapture(spec: JobSpec): JobParams[JobKind] {
  const { kind: _kind, captureId: _captureId, ...params } = spec;
  return params;
}

/** The call computing `layer`'s heads `heads` (undefined: all) of a capture job. */
function layerShard(spec: JobSpec, summary: CaptureSummary, layer: number, heads: HeadBatch | undefined): Shard {
  const scope = heads ? { heads } : {};
  const headCount = heads ? heads.end - heads.first : summary.numHeads;
  const label = heads ? `layer ${layer} heads ${heads.first}-${heads.end - 1}` : `layer ${layer}`;
  const common = { label, key: `${summary.hash}|${spec.kind}|${layer}|${heads ? `${heads.first}-${heads.end}` : 'all'}`, work: headCount * summary.seqLen ** 2 };
  if (spec.kind === 'search') {
    const { settings, backend } = spec;
    return { op: 'search', params: { settings: { ...settings, layers: [layer] }, backend, ...scope }, ...common };
  }
  return { op: spec.kind, params: { ...withoutCapture(spec), layers: [layer], ...scope } as WorkerOps['analyze'], ...common };
}

/** The shards of a job for `workers` workers (see the file comment); `summary` is the job's capture, null for a synthetic bench. */
export function planShards(spec: JobSpec, summary: CaptureSummary | null, workers: number): Shard[] {
  const whole: Shard = { op: spec.kind, params: withoutCapture(spec) as WorkerOps[JobKind], label: 'all', key: '', work: 1 };
  if (workers <= 1) return [whole];
  if (!summary) {
    if (spec.kind !== 'bench') return [whole];
    return spec.sweep.map((seqLen) => ({ op: 'bench', params: { ...withoutCapture(spec), sweep: [seqLen] }, label: `${seqLen} tokens`, key: `synthetic|bench|${seqLen}`, work: seqLen ** 2 }));
  }
  const layers = jobLayers(spec, summary);
  const parts = Math.ceil((SHARDS_PER_WORKER * workers) / layers.length);
  const runs = parts > 1 && summary.numKvHeads > 1 ? kvGroupRuns(summary, parts) : [undefined];
  return layers.flatMap((layer) => runs.map((heads) => layerShard(spec, summary, layer, heads)));
}

/** One report of the shards' reports: heads in shard order (by layer, then head), totals summed in that order. */
export function mergeReports(reports: readonly Report[]): Report {
  const [first] = reports;
  if (!first) throw new Error('no report to merge');
  const heads: HeadStats[] = reports.flatMap((report) => report.heads);
  const unique = (values: (string | undefined)[]): string[] => [...new Set(values.filter((value): value is string => value !== undefined))];
  const notices = unique(reports.flatMap((report) => report.notices ?? []));
  const warnings = unique(reports.flatMap((report) => report.warnings ?? []));
  return {
    ...first,
    // Workers of one host normally share a device model; where they do not, the report names each.
    device: unique(reports.map((report) => report.device)).join(' + '),
    ...(notices.length > 0 ? { notices } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    heads,
    totals: reportTotals(heads, first.totals.speedupKind),
  };
}

/**
 * The config of a search whose shards each searched some layers' heads (the rest keep MInference's
 * default, as one search leaves them); the per-head method comparisons, in shard order.
 */
function mergeSearches(spec: Extract<JobSpec, { kind: 'search' }>, summary: CaptureSummary, shards: readonly Shard[], results: readonly SearchResult[]): SearchResult {
  const config = fitHeadConfig(null, summary);
  // Every shard ran the job's settings, so they share their runtime (the method settings searched).
  const runtime = results[0]?.config.runtime;
  if (runtime) config.runtime = runtime;
  results.forEach((result, s) => {
    const { settings, heads = { first: 0, end: summary.numHeads } } = shards[s]!.params as WorkerOps['search'];
    for (const layer of settings.layers ?? []) {
      for (let head = heads.first; head < heads.end; head++) config.heads[layer]![head] = result.config.heads[layer]![head]!;
    }
  });
  const comparison = results.flatMap((result) => result.comparison ?? []);
  return { config, report: mergeReports(results.map((result) => result.report)), settings: spec.settings, ...(comparison.length > 0 ? { comparison } : {}) };
}

/** The job's result from its shards' results, in plan order. One shard's result is the job's as it is. */
export function mergeShardResults(spec: JobSpec, summary: CaptureSummary | null, shards: readonly Shard[], results: readonly unknown[]): unknown {
  if (results.length === 1) return results[0];
  if (spec.kind === 'search') return mergeSearches(spec, summary!, shards, results as SearchResult[]);
  if (spec.kind === 'analyze') return mergeReports(results as Report[]);
  const benches = results as BenchResult[];
  if (!summary) return { sweep: benches.flatMap((bench) => bench.sweep) };
  return { report: mergeReports(benches.map((bench) => bench.report!)), sweep: [] };
}
