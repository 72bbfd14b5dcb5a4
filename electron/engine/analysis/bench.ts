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
import { buildReport, headStats, selectLayers } from './analyze.js';
import {
  encodePatterns,
  evaluatedRows,
  layerInputs,
  layerPatterns,
  median,
  nativeControl,
  resolveBackend,
  throwIfCancelled,
  withConfigLastQ,
  withRuntimeWarnings,
  type Control,
  type ProgressCallback,
} from './common.js';
import { searchLayer } from './search.js';

export interface BenchOptions {
  config?: HeadConfig;
  sweep: number[];
  backend: Backend;
  repeat: number;
}

/** Shape of the synthetic sweep captures: a Llama-like GQA layer, small enough for a CPU. */
export const SWEEP_SHAPE = { layers: 1, heads: 8, kvHeads: 2, headDim: 128, seed: 0, dtype: 'BF16' as const };
/** Rows whose recall the bench reports (recall needs no timing, so a sample is enough). */
const RECALL_SAMPLING = { mode: 'sampled' as const, rows: 512, seed: 0 };

async function timed<T extends { ms: number }>(repeat: number, run: () => Promise<T>, control?: Control): Promise<{ result: T; ms: number }> {
  throwIfCancelled(control);
  let result = await run(); // warm-up
  const times: number[] = [];
  for (let r = 0; r < repeat; r++) {
    throwIfCancelled(control);
    result = await run();
    times.push(result.ms);
  }
  return { result, ms: median(times) };
}

/** Full-sequence timings of one layer and its per-head measures on the evaluated rows. */
export async function benchLayer(
  native: NativeModule,
  inputs: AttentionInputs,
  layer: number,
  patterns: readonly HeadPattern[],
  backend: NativeBackend,
  repeat: number,
  control?: Control,
): Promise<HeadStats[]> {
  const dense = await timed<AttentionResult>(repeat, () => native.denseAttention(inputs, { backend }, nativeControl(control)), control);
  const encoded = encodePatterns(patterns);
  const index = await timed<SparseIndex>(repeat, () => native.buildIndex(inputs, encoded, { backend }, nativeControl(control)), control);
  const sparse = await timed<AttentionResult>(repeat, () => native.sparseAttention(inputs, index.result, { backend }, nativeControl(control)), control);
  // Recall and output error on the evaluated rows, taken from the full-sequence outputs.
  const rows = evaluatedRows(inputs.seqLen, RECALL_SAMPLING);
  const { numHeads, seqLen, headDim } = inputs;
  const pick = (full: Float32Array, width: number): Float32Array => {
    const out = new Float32Array(numHeads * rows.length * width);
    for (let h = 0; h < numHeads; h++) {
      rows.forEach((row, r) => out.set(full.subarray((h * seqLen + row) * width, (h * seqLen + row + 1) * width), (h * rows.length + r) * width));
    }
    return out;
  };
  throwIfCancelled(control);
  const { recall } = await native.recall(inputs, index.result, { backend, rows, denseLse: pick(dense.result.lse, 1) }, nativeControl(control));
  return headStats(
    layer,
    patterns,
    rows.length,
    headDim,
    { recall, denseOut: pick(dense.result.out, headDim), sparseOut: pick(sparse.result.out, headDim), density: index.result.density },
    { denseMs: dense.ms, indexMs: index.ms, sparseMs: sparse.ms },
  );
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
  const configured = withConfigLastQ(native, options.config);
  if (capture) {
    const layers = selectLayers(capture, undefined);
    const heads: HeadStats[] = [];
    for (const [done, layer] of layers.entries()) {
      onProgress(done / layers.length, `layer ${layer}`);
      const patterns = layerPatterns(options.config, layer, capture.summary.numHeads);
      heads.push(...(await benchLayer(configured, await layerInputs(capture, layer), layer, patterns, backend, options.repeat, control)));
    }
    onProgress(1, 'done');
    return { report: withRuntimeWarnings(buildReport(resolved, capture, heads), options.config), sweep: [] };
  }
  const sweep: BenchResult['sweep'] = [];
  for (const [done, seqLen] of options.sweep.entries()) {
    onProgress(done / options.sweep.length, `${seqLen} tokens`);
    const synthetic = syntheticCapture({ ...SWEEP_SHAPE, seqLen });
    const inputs = await layerInputs(synthetic, 0);
    const patterns = options.config
      ? layerPatterns(options.config, 0, SWEEP_SHAPE.heads)
      : (await searchLayer(native, inputs, { mode: 'target-recall', targetRecall: 0.95, sampling: { mode: 'sampled', rows: 256, seed: 0 } }, backend, () => {}, control)).map(
          (choice) => choice.pattern,
        );
    const report = buildReport(resolved, synthetic, await benchLayer(configured, inputs, 0, patterns, backend, options.repeat, control));
    const { denseMs, indexMs, sparseMs, speedup, meanRecall } = report.totals;
    sweep.push({ seqLen, device: report.device, dtype: report.dtype, denseMs, indexMs, sparseMs, speedup, meanRecall });
  }
  onProgress(1, 'done');
  return { sweep };
}
