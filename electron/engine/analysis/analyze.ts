/**
 * `analyze`: recall, output error, density and timings of every head of a capture under a config
 * (MInference's defaults where the config is silent), one layer at a time.
 */
import { ApiError, type Backend, type HeadConfig, type HeadPattern, type HeadStats, type Report, type RowSampling } from '../../../contract/api.js';
import type { Capture } from '../capture/types.js';
import type { AttentionInputs, NativeBackend, NativeModule } from '../native-api.js';
import {
  encodePatterns,
  evaluatedRows,
  layerInputs,
  layerPatterns,
  mean,
  nativeControl,
  relativeError,
  resolveBackend,
  throwIfCancelled,
  withConfigLastQ,
  withRuntimeWarnings,
  type Control,
  type ProgressCallback,
  type ResolvedBackend,
} from './common.js';

export interface AnalyzeOptions {
  config?: HeadConfig;
  layers?: number[];
  backend: Backend;
  sampling: RowSampling;
}

/**
 * Measures of every head of one layer on `rows`. Times are per call over the whole layer, split
 * evenly over its heads; they cover the evaluated rows only (the bench times full pre-fill).
 */
export async function analyzeLayer(
  native: NativeModule,
  inputs: AttentionInputs,
  layer: number,
  patterns: readonly HeadPattern[],
  backend: NativeBackend,
  rows: Int32Array,
  control?: Control,
): Promise<HeadStats[]> {
  const opts = { backend, rows };
  throwIfCancelled(control);
  const dense = await native.denseAttention(inputs, opts, nativeControl(control));
  throwIfCancelled(control);
  const index = await native.buildIndex(inputs, encodePatterns(patterns), { backend }, nativeControl(control));
  throwIfCancelled(control);
  const sparse = await native.sparseAttention(inputs, index, opts, nativeControl(control));
  throwIfCancelled(control);
  const { recall } = await native.recall(inputs, index, { ...opts, denseLse: dense.lse }, nativeControl(control));
  return headStats(layer, patterns, rows.length, inputs.headDim, { recall, denseOut: dense.out, sparseOut: sparse.out, density: index.density }, {
    denseMs: dense.ms,
    indexMs: index.ms,
    sparseMs: sparse.ms,
  });
}

/** Per-head stats from layer-wide native results laid out [H, R] and [H, R, D]. */
export function headStats(
  layer: number,
  patterns: readonly HeadPattern[],
  rowCount: number,
  headDim: number,
  measured: { recall: Float32Array; denseOut: Float32Array; sparseOut: Float32Array; density: Float64Array },
  layerMs: { denseMs: number; indexMs: number; sparseMs: number },
): HeadStats[] {
  const heads = patterns.length;
  return patterns.map((pattern, h) => ({
    layer,
    head: h,
    pattern: pattern.pattern,
    params: [pattern.a, pattern.b] as [number, number],
    recall: mean(measured.recall.subarray(h * rowCount, (h + 1) * rowCount)),
    outputRelError: relativeError(measured.sparseOut, measured.denseOut, h * rowCount * headDim, rowCount * headDim),
    density: measured.density[h] ?? 0,
    rowsUsed: rowCount,
    denseMs: layerMs.denseMs / heads,
    indexMs: layerMs.indexMs / heads,
    sparseMs: layerMs.sparseMs / heads,
  }));
}

export function buildReport(resolved: ResolvedBackend, capture: Capture, heads: HeadStats[]): Report {
  const sum = (key: 'denseMs' | 'indexMs' | 'sparseMs'): number => heads.reduce((total, head) => total + head[key], 0);
  const denseMs = sum('denseMs');
  const indexMs = sum('indexMs');
  const sparseMs = sum('sparseMs');
  return {
    backend: resolved.backend,
    device: resolved.device,
    ...(resolved.notice ? { notices: [resolved.notice] } : {}),
    dtype: capture.summary.dtype,
    seqLen: capture.summary.seqLen,
    heads,
    totals: {
      denseMs,
      indexMs,
      sparseMs,
      speedup: indexMs + sparseMs > 0 ? denseMs / (indexMs + sparseMs) : 0,
      meanRecall: mean(heads.map((head) => head.recall)),
      minRecall: heads.length ? Math.min(...heads.map((head) => head.recall)) : 0,
    },
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
  const configured = withConfigLastQ(native, options.config);
  const layers = selectLayers(capture, options.layers);
  const rows = evaluatedRows(capture.summary.seqLen, options.sampling);
  const heads: HeadStats[] = [];
  for (const [done, layer] of layers.entries()) {
    onProgress(done / layers.length, `layer ${layer}`);
    const patterns = layerPatterns(options.config, layer, capture.summary.numHeads);
    heads.push(...(await analyzeLayer(configured, await layerInputs(capture, layer), layer, patterns, backend, rows, control)));
  }
  onProgress(1, 'done');
  return withRuntimeWarnings(buildReport(resolved, capture, heads), options.config);
}
