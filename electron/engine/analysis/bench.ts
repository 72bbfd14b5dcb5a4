/**
 * `bench`: dense versus sparse pre-fill, full sequence, same backend, inputs and precision;
 * median of `repeat` timed runs after one warm-up (spec 2.2 "Speedup"). On a capture it times
 * every layer under a config; without one it sweeps synthetic captures over context lengths,
 * each with its own searched config unless one is given.
 */
import type { Backend, BenchResult, HeadConfig, HeadPattern, HeadStats } from '../../../contract/api.js';
import type { Capture } from '../capture/types.js';
import type { AttentionInputs, AttentionResult, NativeBackend, NativeModule, SparseIndex } from '../native-api.js';
import { syntheticCapture } from '../synthetic/memory-capture.js';
import { buildReport, selectLayers } from './analyze.js';
import {
  BatchReader,
  batchBudget,
  encodePatterns,
  evaluatedRows,
  indexWork,
  layerInputs,
  layerPatterns,
  meanRecall,
  nativeControl,
  proportions,
  resolveBackend,
  speedupOf,
  throwIfCancelled,
  timed,
  timedIndex,
  withConfigIndexSettings,
  withRuntimeWarnings,
  type Control,
  type HeadBatch,
  type ProgressCallback,
} from './common.js';
import { kernelWork } from './cost-model.js';
import { searchLayer } from './search.js';

export interface BenchOptions {
  config?: HeadConfig;
  sweep: number[];
  /** A shard of a capture: only these layers, and of each only these query heads (whole KV groups). */
  layers?: number[];
  heads?: HeadBatch;
  backend: Backend;
  repeat: number;
}

/** Shape of the synthetic sweep captures: a Llama-like GQA layer, small enough for a CPU. */
export const SWEEP_SHAPE = { layers: 1, heads: 8, kvHeads: 2, headDim: 128, seed: 0, dtype: 'BF16' as const };
/** Rows whose recall the bench reports (recall needs no timing, so a sample is enough). */
const RECALL_SAMPLING = { mode: 'sampled' as const, rows: 512, seed: 0 };

/** Layer-wide native results over the evaluated rows: recall [H, R], the output error [H]. */
interface LayerMeasures {
  recall: Float32Array;
  relError: Float64Array;
  index: SparseIndex;
}

/**
 * Per-head stats of a layer timed as a whole. The layer's measured times are shared out by each
 * head's work: dense evenly (every head does the same), the index by index work, the sparse pass
 * by the score entries the kernel computes for the head. Per head they are therefore `predicted`;
 * their sums, the layer's and the report's totals, are measured.
 */
function apportionedHeadStats(
  layer: number,
  firstHead: number,
  patterns: readonly HeadPattern[],
  seqLen: number,
  rowCount: number,
  measured: LayerMeasures,
  layerMs: { denseMs: number; indexMs: number; sparseMs: number },
): HeadStats[] {
  const indexShares = proportions(patterns.map((pattern) => indexWork(pattern, seqLen)));
  const sparseShares = proportions(patterns.map((_, h) => {
    const work = kernelWork(measured.index, h);
    return work.tileEntries + work.columnEntries;
  }));
  return patterns.map((pattern, h) => {
    const denseMs = layerMs.denseMs / patterns.length;
    const indexMs = layerMs.indexMs * indexShares[h]!;
    const sparseMs = layerMs.sparseMs * sparseShares[h]!;
    return {
      layer,
      head: firstHead + h,
      pattern: pattern.pattern,
      params: [pattern.a, pattern.b] as [number, number],
      recall: meanRecall(measured.recall.subarray(h * rowCount, (h + 1) * rowCount)),
      outputRelError: measured.relError[h] ?? 0,
      density: measured.index.density[h] ?? 0,
      rowsUsed: rowCount,
      denseMs,
      indexMs,
      sparseMs,
      speedup: speedupOf(denseMs, indexMs, sparseMs),
      speedupKind: 'predicted' as const,
    };
  });
}

/**
 * Full-sequence timings of one batch of a layer's heads (the layer's heads from `firstHead`) and
 * their measures on the evaluated rows. The timed runs return no output: the error compares dense
 * and sparse outputs computed again on the evaluated rows only, so nothing [H, N, D] reaches JS.
 */
export async function benchLayer(
  native: NativeModule,
  inputs: AttentionInputs,
  layer: number,
  firstHead: number,
  patterns: readonly HeadPattern[],
  backend: NativeBackend,
  repeat: number,
  control?: Control,
): Promise<HeadStats[]> {
  const timedOpts = { backend, output: false };
  const dense = await timed<AttentionResult>(repeat, () => native.denseAttention(inputs, timedOpts, nativeControl(control)), control);
  const encoded = encodePatterns(patterns);
  const { index, indexMs } = await timedIndex(native, inputs, encoded, backend, repeat, control);
  const sparse = await timed<AttentionResult>(repeat, () => native.sparseAttention(inputs, index, timedOpts, nativeControl(control)), control);
  const { seqLen } = inputs;
  const rows = evaluatedRows(seqLen, RECALL_SAMPLING);
  throwIfCancelled(control);
  const denseOnRows = await native.denseAttention(inputs, { backend, rows, output: 'lse' }, nativeControl(control));
  const { recall } = await native.recall(inputs, index, { backend, rows, denseLse: denseOnRows.lse }, nativeControl(control));
  const { relError } = await native.outputError(inputs, index, { backend, rows }, nativeControl(control));
  return apportionedHeadStats(
    layer,
    firstHead,
    patterns,
    seqLen,
    rows.length,
    { recall, relError, index },
    { denseMs: dense.ms, indexMs, sparseMs: sparse.ms },
  );
}

/** Every head (of `within`) of a capture's layer, benchmarked batch by batch (see headBatches). */
async function benchCaptureLayer(
  native: NativeModule,
  reader: BatchReader,
  layer: number,
  patterns: readonly HeadPattern[],
  backend: NativeBackend,
  repeat: number,
  control?: Control,
): Promise<HeadStats[]> {
  const heads: HeadStats[] = [];
  for await (const { batch, inputs } of reader.layer(layer)) {
    heads.push(...(await benchLayer(native, inputs, layer, batch.first, patterns.slice(batch.first, batch.end), backend, repeat, control)));
  }
  return heads;
}

export async function benchCapture(
  native: NativeModule,
  capture: Capture | null,
  options: BenchOptions,
  onProgress: ProgressCallback = () => {},
  control?: Control,
): Promise<BenchResult> {
  const resolved = resolveBackend(native, options.backend, capture?.summary ?? SWEEP_SHAPE);
  const { backend } = resolved;
  const configured = withConfigIndexSettings(native, options.config);
  if (capture) {
    const layers = selectLayers(capture, options.layers);
    const reader = new BatchReader(capture, batchBudget(native, backend), options.heads);
    const heads: HeadStats[] = [];
    for (const [done, layer] of layers.entries()) {
      onProgress(done / layers.length, `layer ${layer}`);
      const patterns = layerPatterns(options.config, layer, capture.summary.numHeads);
      heads.push(...(await benchCaptureLayer(configured, reader, layer, patterns, backend, options.repeat, control)));
    }
    onProgress(1, 'done');
    return { report: withRuntimeWarnings(buildReport(resolved, capture, heads, 'measured'), options.config), sweep: [] };
  }
  const sweep: BenchResult['sweep'] = [];
  for (const [done, seqLen] of options.sweep.entries()) {
    onProgress(done / options.sweep.length, `${seqLen} tokens`);
    const synthetic = syntheticCapture({ ...SWEEP_SHAPE, seqLen });
    const inputs = await layerInputs(synthetic, 0);
    const patterns = options.config
      ? layerPatterns(options.config, 0, SWEEP_SHAPE.heads)
      : await searchLayer(native, inputs, { mode: 'target-recall', targetRecall: 0.95, sampling: { mode: 'sampled', rows: 256, seed: 0 } }, backend, () => {}, control);
    const report = buildReport(resolved, synthetic, await benchLayer(configured, inputs, 0, 0, patterns, backend, options.repeat, control), 'measured');
    const { denseMs, indexMs, sparseMs, speedup, meanRecall } = report.totals;
    sweep.push({ seqLen, device: report.device, dtype: report.dtype, denseMs, indexMs, sparseMs, speedup, meanRecall });
  }
  onProgress(1, 'done');
  return { sweep };
}
