/**
 * `analyze`: recall, output error, density and timings of every head of a capture under a config
 * (MInference's defaults where the config is silent), one layer at a time. Recall and error use
 * the evaluated rows (sampled or exact); timings are always full-row pre-fill, measured per head.
 */
import { ApiError, type Backend, type HeadConfig, type HeadPattern, type HeadStats, type Report, type RowSampling, type SpeedupKind } from '../../../contract/api.js';
import type { Capture } from '../capture/types.js';
import type { AttentionInputs, NativeBackend, NativeModule } from '../native-api.js';
import {
  BatchReader,
  batchBudget,
  encodePatterns,
  evaluatedRows,
  headView,
  layerPatterns,
  mean,
  nativeControl,
  proportions,
  resolveBackend,
  speedupOf,
  timed,
  timedIndex,
  withConfigIndexSettings,
  withRuntimeWarnings,
  type Control,
  type HeadBatch,
  type ProgressCallback,
  type ResolvedBackend,
  type TimedIndex,
} from './common.js';
import { headOfIndex } from './index-geometry.js';
import { HeadProbe, type PatternMeasure } from './probe.js';

export interface AnalyzeOptions {
  config?: HeadConfig;
  layers?: number[];
  /** Only these query heads of each layer (a shard of whole KV groups); all by default. */
  heads?: HeadBatch;
  backend: Backend;
  sampling: RowSampling;
}

/** Timed runs of each layer-level timing (after a warm-up); the median is kept, as `bench` does by default. */
const LAYER_REPEATS = 3;

/**
 * From this many tokens one head fills a GPU: N / 128 CTAs of two 64-row query blocks, 32 waves on
 * an H100's 132 SMs at 512K.
 */
export const GPU_FILLING_SEQ_LEN = 1 << 19;

/**
 * Full-row dense pre-fill of one head. Dense work does not depend on the data, so every head of a
 * layer costs the same. A CPU runs one head's row blocks on all its threads, so one head is timed
 * per layer, which keeps `analyze` far cheaper than timing dense for every head. A GPU fills only
 * with many heads (and pays a launch per call) below GPU_FILLING_SEQ_LEN tokens, so there the batch
 * is timed whole and split evenly; from there on one head is timed, as on a CPU (at 1M tokens the
 * whole layer is 18 s of an H100, a head 0.6 s). Median of repeats after a warm-up, as `bench` does.
 */
export async function timeDenseHead(native: NativeModule, inputs: AttentionInputs, backend: NativeBackend, control?: Control): Promise<number> {
  const timedInputs = backend === 'cuda' && inputs.seqLen < GPU_FILLING_SEQ_LEN ? inputs : headView(inputs, 0);
  const { ms } = await timed(LAYER_REPEATS, () => native.denseAttention(timedInputs, { backend, output: false }, nativeControl(control)), control);
  return ms / timedInputs.numHeads;
}

/**
 * One head's stats: recall and output error on the probe's rows, and measured full-row timings
 * (spec 2.2): the pattern's index build and its sparse pre-fill over all N rows of this head, timed
 * alone (see shareLayerTimes), against the dense pre-fill of a head of the same layer (`denseMs`).
 */
export async function measuredHeadStats(layer: number, head: number, probe: HeadProbe, measure: PatternMeasure, denseMs: number): Promise<HeadStats> {
  const timedSparse = await probe.sparseAllRows(measure);
  const outputRelError = await probe.outputError(measure);
  const indexMs = measure.index.ms;
  return {
    layer,
    head,
    pattern: measure.pattern.pattern,
    params: [measure.pattern.a, measure.pattern.b],
    recall: measure.recall,
    outputRelError,
    density: measure.density,
    rowsUsed: probe.rows.length,
    denseMs,
    indexMs,
    sparseMs: timedSparse.ms,
    speedup: speedupOf(denseMs, indexMs, timedSparse.ms),
    speedupKind: 'measured',
  };
}

/**
 * The pre-fill builds a layer's index and runs its sparse pass in one call each, in parallel over
 * heads, while a head timed alone fills less of the device (its index build runs on one CPU thread;
 * on a GPU one head fills few blocks and pays a launch of its own). So a head's index and sparse
 * times are its share of one call over its batch (the whole layer unless that outgrows memory, see
 * headBatches), timed as the pre-fill runs them (median after a warm-up), in proportion to the
 * head's own full-row timings.
 */
export async function shareLayerTimes(
  native: NativeModule,
  inputs: AttentionInputs,
  stats: HeadStats[],
  backend: NativeBackend,
  control?: Control,
  built?: TimedIndex,
): Promise<HeadStats[]> {
  const patterns = encodePatterns(stats.map((head) => ({ pattern: head.pattern, a: head.params[0], b: head.params[1] })));
  const { index, indexMs } = built ?? (await timedIndex(native, inputs, patterns, backend, LAYER_REPEATS, control));
  const sparse = await timed(LAYER_REPEATS, () => native.sparseAttention(inputs, index, { backend, output: false }, nativeControl(control)), control);
  const indexShares = proportions(stats.map((head) => head.indexMs));
  const sparseShares = proportions(stats.map((head) => head.sparseMs));
  return stats.map((head, h) => {
    const headIndexMs = indexMs * indexShares[h]!;
    const sparseMs = sparse.ms * sparseShares[h]!;
    return { ...head, indexMs: headIndexMs, sparseMs, speedup: speedupOf(head.denseMs, headIndexMs, sparseMs) };
  });
}

/**
 * Stats of every head of one layer: recall and error on `rows`, timings measured per head. The
 * layer is read and computed batch by batch (see headBatches), so memory follows a batch, not the
 * layer; each batch's index is built once (timed as the pre-fill runs it) and its heads' measures
 * read their part of it, with each head's own build timed without an index coming back.
 */
export async function analyzeLayer(
  native: NativeModule,
  reader: BatchReader,
  layer: number,
  patterns: readonly HeadPattern[],
  backend: NativeBackend,
  rows: Int32Array,
  control?: Control,
): Promise<HeadStats[]> {
  const stats: HeadStats[] = [];
  let denseMs: number | undefined;
  for await (const { batch, inputs } of reader.layer(layer)) {
    denseMs ??= await timeDenseHead(native, inputs, backend, control);
    const built = await timedIndex(native, inputs, encodePatterns(patterns.slice(batch.first, batch.end)), backend, LAYER_REPEATS, control);
    const batchStats: HeadStats[] = [];
    for (let head = batch.first; head < batch.end; head++) {
      const view = headView(inputs, head - batch.first);
      const pattern = patterns[head]!;
      const own = await native.buildIndex(view, encodePatterns([pattern]), { backend, output: false }, nativeControl(control));
      const probe = new HeadProbe(native, view, backend, rows, control);
      batchStats.push(await measuredHeadStats(layer, head, probe, await probe.measure(pattern, headOfIndex(built.index, head - batch.first, own.ms)), denseMs));
    }
    stats.push(...(await shareLayerTimes(native, inputs, batchStats, backend, control, built)));
  }
  return stats;
}

/** The report of spec 4; `speedupKind` says how the timings summed in its totals were obtained. */
export function buildReport(resolved: ResolvedBackend, capture: Capture, heads: HeadStats[], speedupKind: SpeedupKind): Report {
  return {
    backend: resolved.backend,
    device: resolved.device,
    ...(resolved.notice ? { notices: [resolved.notice] } : {}),
    dtype: capture.summary.dtype,
    seqLen: capture.summary.seqLen,
    heads,
    totals: reportTotals(heads, speedupKind),
  };
}

/** A report's totals over its heads (in their order, so merged shards sum exactly as one run does). */
export function reportTotals(heads: readonly HeadStats[], speedupKind: SpeedupKind): Report['totals'] {
  const sum = (key: 'denseMs' | 'indexMs' | 'sparseMs'): number => heads.reduce((total, head) => total + head[key], 0);
  const denseMs = sum('denseMs');
  const indexMs = sum('indexMs');
  const sparseMs = sum('sparseMs');
  return {
    denseMs,
    indexMs,
    sparseMs,
    speedup: speedupOf(denseMs, indexMs, sparseMs),
    speedupKind,
    meanRecall: mean(heads.map((head) => head.recall)),
    minRecall: heads.reduce((least, head) => Math.min(least, head.recall), heads.length ? Infinity : 0),
  };
}

/** The requested layers that the capture holds, or an error naming the missing ones. */
export function selectLayers(capture: Capture, layers: number[] | undefined): number[] {
  const present = capture.summary.layers;
  if (!layers) return [...present];
  const missing = layers.filter((layer) => !present.includes(layer));
  if (missing.length) throw new ApiError(`layers ${missing.join(', ')} are not in the capture (layers present: ${present.join(', ')})`);
  return [...new Set(layers)].sort((a, b) => a - b);
}

export async function analyzeCapture(
  native: NativeModule,
  capture: Capture,
  options: AnalyzeOptions,
  onProgress: ProgressCallback = () => {},
  control?: Control,
): Promise<Report> {
  const resolved = resolveBackend(native, options.backend, capture.summary);
  const { backend } = resolved;
  const configured = withConfigIndexSettings(native, options.config);
  const layers = selectLayers(capture, options.layers);
  const rows = evaluatedRows(capture.summary.seqLen, options.sampling);
  const reader = new BatchReader(capture, batchBudget(native, backend), options.heads);
  const heads: HeadStats[] = [];
  for (const [done, layer] of layers.entries()) {
    onProgress(done / layers.length, `layer ${layer}`);
    const patterns = layerPatterns(options.config, layer, capture.summary.numHeads);
    heads.push(...(await analyzeLayer(configured, reader, layer, patterns, backend, rows, control)));
  }
  onProgress(1, 'done');
  return withRuntimeWarnings(buildReport(resolved, capture, heads, 'measured'), options.config);
}
