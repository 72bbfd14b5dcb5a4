/**
 * Shared pieces of the analysis functions: backend resolution, which query rows a measure
 * evaluates (spec 2.2), reading head/layer inputs, pattern encoding, cancellation.
 */
import { constants as bufferConstants } from 'node:buffer';
import { cpus } from 'node:os';
import {
  ApiError,
  MINFERENCE_DEFAULT_HEAD,
  methodSettingsOf,
  type Backend,
  type CaptureSummary,
  type HeadConfig,
  type HeadPattern,
  type MethodSettings,
  type Report,
  type RowSampling,
} from '../../../contract/api.js';
import { DTYPE_BYTES } from '../capture/safetensors.js';
import type { Capture, TensorKind } from '../capture/types.js';
import { denseRunWarnings } from '../config/sglang.js';
import { PATTERN_ID, type AttentionInputs, type CallControl, type DeviceReport, type IndexOptions, type NativeBackend, type NativeModule, type SparseIndex } from '../native-api.js';
import { Rng } from '../synthetic/prng.js';

export const BLOCK = 64;

/** What every long analysis function accepts: cooperative cancel (element 0 set to 1). */
export interface Control {
  cancel?: Int32Array;
}

export type ProgressCallback = (fraction: number, message: string) => void;

export function throwIfCancelled(control: Control | undefined): void {
  if (control?.cancel && Atomics.load(control.cancel, 0) !== 0) throw new ApiError('cancelled', 'cancelled');
}

export function nativeControl(control: Control | undefined, onProgress?: (fraction: number) => void): CallControl {
  return { ...(control?.cancel ? { cancel: control.cancel } : {}), ...(onProgress ? { onProgress } : {}) };
}

export interface ResolvedBackend {
  backend: NativeBackend;
  /** Human-readable device, shown with every number. */
  device: string;
  /** One line saying why `auto` chose the CPU over a present CUDA device; absent otherwise. */
  notice?: string;
}

/** What decides whether the CUDA kernels can compute a capture. */
export type CaptureShape = Pick<CaptureSummary, 'dtype' | 'headDim'>;

/** Why the CUDA build cannot compute a capture of this shape, or null when it can. */
export function cudaCannotRun(report: DeviceReport, shape: CaptureShape): string | null {
  if (shape.dtype === 'F32') return 'CUDA cannot run F32 captures (it computes F16 and BF16)';
  const { headDims } = report.cuda;
  if (!headDims.includes(shape.headDim)) return `CUDA cannot run head_dim ${shape.headDim} (supported: ${headDims.join(', ')})`;
  return null;
}

/**
 * `auto` picks CUDA when the native module reports a usable device that can compute a capture of
 * `shape` (dtype, head dim), else the CPU, with a notice when a device was there. `cuda` without a
 * device, or for a capture it cannot compute, is a user error.
 */
export function resolveBackend(native: NativeModule, requested: Backend, shape?: CaptureShape): ResolvedBackend {
  const report = native.deviceInfo();
  const cudaDevice = report.cuda.available ? report.cuda.devices[0] : undefined;
  if (requested === 'cuda' && !cudaDevice) {
    throw new ApiError(`backend cuda requested but CUDA is not available: ${report.cuda.reason ?? 'no device'}`);
  }
  const cannotRun = cudaDevice && shape ? cudaCannotRun(report, shape) : null;
  if (requested === 'cuda' && cannotRun) throw new ApiError(`backend cuda requested but ${cannotRun}: use --backend cpu or auto`);
  if (cudaDevice && !cannotRun && requested !== 'cpu') return { backend: 'cuda', device: `${cudaDevice.name} (CUDA, sm ${cudaDevice.computeCapability})` };
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const device = `${model} (CPU, ${report.cpuThreads} threads)`;
  return requested === 'auto' && cannotRun ? { backend: 'cpu', device, notice: `${cannotRun}; using the CPU` } : { backend: 'cpu', device };
}

/** First evaluated query row (spec 2.2): rows >= 2500 when N > 5000, else all rows. */
export function evaluatedRowStart(seqLen: number): number {
  return seqLen > 5000 ? 2500 : 0;
}

/** The evaluated rows, ascending: all of them (exact) or a seeded uniform sample. */
export function evaluatedRows(seqLen: number, sampling: RowSampling): Int32Array {
  const start = evaluatedRowStart(seqLen);
  const available = seqLen - start;
  if (sampling.mode === 'exact' || sampling.rows >= available) return Int32Array.from({ length: available }, (_, i) => start + i);
  return new Rng(sampling.seed, 0x5a3b1e).distinctSorted(sampling.rows, start, seqLen);
}

export function validateHeadRef(capture: Capture, layer: number, head: number): void {
  const { summary } = capture;
  if (!summary.layers.includes(layer)) throw new ApiError(`layer ${layer} is not in the capture (layers present: ${summary.layers.join(', ')})`, 'not-found');
  if (!Number.isInteger(head) || head < 0 || head >= summary.numHeads) throw new ApiError(`head ${head} is out of range (the capture has ${summary.numHeads} query heads)`, 'not-found');
}

export function kvHeadOf(capture: Capture, head: number): number {
  return Math.floor(head / (capture.summary.numHeads / capture.summary.numKvHeads));
}

/** One query head with its KV head, as a one-head native input. */
export async function headInputs(capture: Capture, layer: number, head: number, withValues: boolean): Promise<AttentionInputs> {
  validateHeadRef(capture, layer, head);
  const { summary } = capture;
  const kvHead = kvHeadOf(capture, head);
  const [q, k, v] = await Promise.all([
    capture.readHead(layer, 'q', head),
    capture.readHead(layer, 'k', kvHead),
    withValues ? capture.readHead(layer, 'v', kvHead) : Promise.resolve(undefined),
  ]);
  return { dtype: summary.dtype, numHeads: 1, numKvHeads: 1, seqLen: summary.seqLen, headDim: summary.headDim, q, k, ...(v ? { v } : {}) };
}

/** A one-head view into a layer's inputs (no copy). */
export function headView(inputs: AttentionInputs, head: number): AttentionInputs {
  const bytes = inputs.q.byteLength / (inputs.numHeads * inputs.seqLen * inputs.headDim);
  const headBytes = inputs.seqLen * inputs.headDim * bytes;
  const kvHead = Math.floor(head / (inputs.numHeads / inputs.numKvHeads));
  const slice = (buffer: Uint8Array, index: number): Uint8Array => buffer.subarray(index * headBytes, (index + 1) * headBytes);
  return {
    ...inputs,
    numHeads: 1,
    numKvHeads: 1,
    q: slice(inputs.q, head),
    k: slice(inputs.k, kvHead),
    ...(inputs.v ? { v: slice(inputs.v, kvHead) } : {}),
  };
}

/** Query heads [first, end) of a layer computed together, with the KV heads they read. */
export interface HeadBatch {
  first: number;
  end: number;
}

/**
 * Bytes of q, k and v a CPU call may hold. With the transposed keys and the results beside them,
 * a 1M-token layer of head dim 64 then stays near 1 GiB (spec 7: memory O(one head), not O(layer)).
 */
export const CPU_BATCH_BYTES = 512 * 2 ** 20;
/** Share of the GPU's free memory a batch's inputs may take: outputs, keys and index need the rest. */
const GPU_BATCH_SHARE = 1 / 8;

/** Input bytes a call on `backend` may hold: SPARSESCOPE_CPU_BATCH_MIB where set (tests, small machines), a share of free GPU memory, never more than one read gives. */
export function batchBudget(native: NativeModule, backend: NativeBackend): number {
  const cpuMib = Number(process.env['SPARSESCOPE_CPU_BATCH_MIB']);
  if (backend === 'cpu') return cpuMib > 0 ? cpuMib * 2 ** 20 : CPU_BATCH_BYTES;
  const free = native.deviceInfo().cuda.devices[0]?.freeMemoryBytes ?? 0;
  return Math.min(free * GPU_BATCH_SHARE, bufferConstants.MAX_LENGTH);
}

/**
 * A layer's query heads cut into batches whose q, k and v fit `budgetBytes`: whole KV groups while
 * they fit (one call fills the device, as the pre-fill does), else runs of one group's heads, at
 * least one head each. A small layer is one batch. `within` (whole KV groups: a shard's heads)
 * keeps the batches' parts inside it, so every head is computed as in the whole layer.
 */
export function headBatches(summary: CaptureSummary, budgetBytes: number, within?: HeadBatch): HeadBatch[] {
  const batches = layerBatches(summary, budgetBytes);
  if (!within) return batches;
  return batches.map(({ first, end }) => ({ first: Math.max(first, within.first), end: Math.min(end, within.end) })).filter(({ first, end }) => first < end);
}

function layerBatches(summary: CaptureSummary, budgetBytes: number): HeadBatch[] {
  const headBytes = summary.seqLen * summary.headDim * DTYPE_BYTES[summary.dtype];
  const group = summary.numHeads / summary.numKvHeads;
  const groupBytes = (group + 2) * headBytes;
  const size = groupBytes <= budgetBytes ? Math.floor(budgetBytes / groupBytes) * group : Math.max(1, Math.floor(budgetBytes / headBytes) - 2);
  const batches: HeadBatch[] = [];
  for (let first = 0; first < summary.numHeads; ) {
    const groupEnd = size < group ? (Math.floor(first / group) + 1) * group : summary.numHeads;
    const end = Math.min(first + size, groupEnd, summary.numHeads);
    batches.push({ first, end });
    first = end;
  }
  return batches;
}

/** Buffers a batch's q, k and v are read into. */
type BatchBuffers = Record<TensorKind, Uint8Array>;

/** The KV heads [first, end) that a batch's query heads read. */
function kvHeadsOf(capture: Capture, batch: HeadBatch): HeadBatch {
  return { first: kvHeadOf(capture, batch.first), end: kvHeadOf(capture, batch.end - 1) + 1 };
}

/** A batch of query heads and their KV heads as native input, read in one slice per tensor (into `buffers` when given). */
export async function batchInputs(capture: Capture, layer: number, batch: HeadBatch, buffers?: BatchBuffers): Promise<AttentionInputs> {
  const { summary } = capture;
  if (!summary.layers.includes(layer)) throw new ApiError(`layer ${layer} is not in the capture (layers present: ${summary.layers.join(', ')})`, 'not-found');
  const kv = kvHeadsOf(capture, batch);
  const [q, k, v] = await Promise.all([
    capture.readHeads(layer, 'q', batch.first, batch.end, buffers?.q),
    capture.readHeads(layer, 'k', kv.first, kv.end, buffers?.k),
    capture.readHeads(layer, 'v', kv.first, kv.end, buffers?.v),
  ]);
  return { dtype: summary.dtype, numHeads: batch.end - batch.first, numKvHeads: kv.end - kv.first, seqLen: summary.seqLen, headDim: summary.headDim, q, k, v };
}

/**
 * A capture's layers read batch by batch (see headBatches) into one set of q, k and v buffers,
 * sized for the largest batch and reused by every batch of every layer. A run then holds one
 * batch's bytes, not every batch it read until the garbage collector frees them (at 1M tokens a
 * batch is 512 MiB, and V8 left the previous one in memory). A batch's inputs are valid until the next read.
 */
export class BatchReader {
  readonly batches: HeadBatch[];
  private buffers: BatchBuffers | null = null;

  constructor(
    private readonly capture: Capture,
    budgetBytes: number,
    within?: HeadBatch,
  ) {
    this.batches = headBatches(capture.summary, budgetBytes, within);
  }

  /** Each batch of `layer` with its inputs, in order. */
  async *layer(layer: number): AsyncGenerator<{ batch: HeadBatch; inputs: AttentionInputs }> {
    for (const batch of this.batches) yield { batch, inputs: await batchInputs(this.capture, layer, batch, this.reused()) };
  }

  private reused(): BatchBuffers {
    if (this.buffers) return this.buffers;
    const { seqLen, headDim, dtype } = this.capture.summary;
    const headBytes = seqLen * headDim * DTYPE_BYTES[dtype];
    const most = (heads: (batch: HeadBatch) => HeadBatch): number => Math.max(...this.batches.map((batch) => heads(batch).end - heads(batch).first)) * headBytes;
    const kvBytes = most((batch) => kvHeadsOf(this.capture, batch));
    this.buffers = { q: new Uint8Array(most((batch) => batch)), k: new Uint8Array(kvBytes), v: new Uint8Array(kvBytes) };
    return this.buffers;
  }
}

/** A whole layer (all query heads) as native input: for captures known to be small (the synthetic sweep). */
export function layerInputs(capture: Capture, layer: number): Promise<AttentionInputs> {
  return batchInputs(capture, layer, { first: 0, end: capture.summary.numHeads });
}

export function encodePatterns(patterns: readonly HeadPattern[]): Int32Array {
  const encoded = new Int32Array(patterns.length * 3);
  patterns.forEach((p, h) => encoded.set([PATTERN_ID[p.pattern], p.a, p.b], 3 * h));
  return encoded;
}

/** The index options of XAttention / FlexPrefill heads (absent settings: the defaults). */
export function methodIndexOptions(settings: MethodSettings | undefined): Omit<IndexOptions, 'backend'> {
  return settings ? { xattentionBlockSize: settings.xattentionBlockSize, flexprefillBlockSize: settings.flexprefillBlockSize, flexprefillMinBudget: settings.flexprefillMinBudget } : {};
}

/** `native` building every index with these options (a call's own options win). */
export function withIndexOptions(native: NativeModule, options: Omit<IndexOptions, 'backend'>): NativeModule {
  if (Object.keys(options).length === 0) return native;
  return { ...native, buildIndex: (inputs, patterns, opts, control) => native.buildIndex(inputs, patterns, { ...options, ...opts }, control) };
}

/**
 * `native` building every index with the config's settings: its Vertical-Slash estimate rows
 * (SGLang/vLLM's sparse_attention_last_q) and its XAttention / FlexPrefill settings, where it sets them.
 */
export function withConfigIndexSettings(native: NativeModule, config: HeadConfig | undefined): NativeModule {
  const runtime = config?.runtime;
  const lastQ = runtime?.sparseAttentionLastQ;
  const methods = runtime && (runtime.xattentionBlockSize ?? runtime.flexprefillBlockSize ?? runtime.flexprefillMinBudget) !== undefined ? methodSettingsOf(runtime) : undefined;
  return withIndexOptions(native, { ...(lastQ === undefined ? {} : { lastQ }), ...methodIndexOptions(methods) });
}

/** The report, warning where the config's engine would run this capture dense (SGLang/vLLM's sparse_attention_threshold). */
export function withRuntimeWarnings(report: Report, config: HeadConfig | undefined): Report {
  const warnings = denseRunWarnings(config?.runtime, report.seqLen);
  return warnings.length > 0 ? { ...report, warnings } : report;
}

/** The patterns of one layer from a config, MInference's default for missing heads. */
export function layerPatterns(config: HeadConfig | undefined, layer: number, numHeads: number): HeadPattern[] {
  if (config && config.numHeads !== numHeads) throw new ApiError(`config has ${config.numHeads} heads per layer but the capture has ${numHeads}`);
  const entries = config?.heads[layer] ?? [];
  return Array.from({ length: numHeads }, (_, h) => {
    const entry = entries[h];
    const { pattern, a, b } = entry ?? MINFERENCE_DEFAULT_HEAD;
    return { pattern, a, b };
  });
}

/**
 * Index cost of a pattern relative to dense attention over the causal N(N+1)/2 entries:
 * Vertical-Slash scores the last 64 queries against every key; Block-Sparse scores pooled blocks;
 * XAttention scores every causal pair of stride-S groups with S query-key products each (about
 * 1/S of dense); FlexPrefill scores its last block's queries against every key and pooled blocks
 * (blocks of 128, its default). Used by the search as a tie-breaker and by the predicted speedup.
 */
export function indexOverhead(pattern: HeadPattern, seqLen: number): number {
  const causal = causalEntries(seqLen);
  const pooledPairs = (blockSize: number) => {
    const blocks = Math.ceil(seqLen / blockSize);
    return (blocks * (blocks + 1)) / 2;
  };
  switch (pattern.pattern) {
    case 'vertical_and_slash':
      return (Math.min(64, seqLen) * seqLen) / causal;
    case 'block_sparse':
      return (seqLen + pooledPairs(BLOCK)) / causal;
    case 'xattention': {
      const stride = Math.max(1, pattern.b);
      const groups = Math.ceil(seqLen / stride);
      return (stride * groups * (groups + 1)) / 2 / causal;
    }
    case 'flexprefill':
      return (Math.min(METHOD_BLOCK, seqLen) * seqLen + seqLen + pooledPairs(METHOD_BLOCK)) / causal;
    case 'stream_llm':
    case 'dense':
      return 0;
  }
}

/** XAttention's and FlexPrefill's default block (contract DEFAULT_METHOD_SETTINGS). */
const METHOD_BLOCK = 128;

/** What a search minimises for a measured pattern: its density plus its index's own cost (indexOverhead). */
export function searchCost(measure: { pattern: HeadPattern; density: number }, seqLen: number): number {
  return measure.density + indexOverhead(measure.pattern, seqLen);
}

/**
 * A warm-up at least this long is the measure itself: what a first call pays more (module loads,
 * allocations, page faults: tens of ms) is under 1% of it, and repeats of such runs add minutes:
 * dense over the first batch of a 1M-token layer takes 14 s on an H100 (a search timed it four
 * times), and over one head 21 minutes on 2 CPU cores (head dim 64).
 */
export const SELF_TIMED_MS = 5_000;

/** Median of `repeat` timed runs after one warm-up (spec 2.2 "Speedup"), and the last result; a warm-up of SELF_TIMED_MS or more is the only run. */
export async function timed<T extends { ms: number }>(repeat: number, run: () => Promise<T>, control?: Control): Promise<{ result: T; ms: number }> {
  throwIfCancelled(control);
  let result = await run(); // warm-up
  if (result.ms >= SELF_TIMED_MS) return { result, ms: result.ms };
  const times: number[] = [];
  for (let r = 0; r < repeat; r++) {
    throwIfCancelled(control);
    result = await run();
    times.push(result.ms);
  }
  return { result, ms: median(times) };
}

/** An index and the median time of building it. */
export interface TimedIndex {
  index: SparseIndex;
  indexMs: number;
}

/**
 * The index of `patterns` over `inputs` and the median time of building it, as `timed` measures:
 * the timed builds return no index (at 1M tokens one is ~50 MiB a head, left to the garbage
 * collector otherwise), and one more build gives the index.
 */
export async function timedIndex(
  native: NativeModule,
  inputs: AttentionInputs,
  patterns: Int32Array,
  backend: NativeBackend,
  repeat: number,
  control?: Control,
): Promise<TimedIndex> {
  const { ms } = await timed(repeat, () => native.buildIndex(inputs, patterns, { backend, output: false }, nativeControl(control)), control);
  throwIfCancelled(control);
  return { index: await native.buildIndex(inputs, patterns, { backend }, nativeControl(control)), indexMs: ms };
}

/** Causal score entries of an N-token sequence, N(N+1)/2: the dense pre-fill's work. */
export function causalEntries(seqLen: number): number {
  return (seqLen * (seqLen + 1)) / 2;
}

/**
 * Work of building a pattern's index, in score-entry units: a pass over the keys plus the scoring
 * that indexOverhead counts (the Vertical-Slash estimate, Block-Sparse's pooled blocks).
 */
export function indexWork(pattern: HeadPattern, seqLen: number): number {
  return seqLen + indexOverhead(pattern, seqLen) * causalEntries(seqLen);
}

/** Spec 2.2: dense / (index + sparse), 0 when there is nothing to divide by. */
export function speedupOf(denseMs: number, indexMs: number, sparseMs: number): number {
  return indexMs + sparseMs > 0 ? denseMs / (indexMs + sparseMs) : 0;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return values.length ? sum / values.length : 0;
}

/** Each value's share of their sum (equal shares when the sum is 0). */
export function proportions(values: readonly number[]): number[] {
  const total = values.reduce((sum, value) => sum + value, 0);
  return values.map((value) => (total > 0 ? value / total : 1 / values.length));
}

/**
 * Mean recall of per-row recalls. A row's recall is a share of its softmax mass, so at most 1;
 * fp32 sums over a fully computed row can land a few ulps above it, which no reader should see.
 */
export function meanRecall(rowRecall: ArrayLike<number>): number {
  return Math.min(1, Math.max(0, mean(rowRecall)));
}

/** ||a - b||_F / ||b||_F over a slice of two equally laid-out outputs. */
export function relativeError(sparse: Float32Array, dense: Float32Array, offset = 0, length = dense.length): number {
  let diff = 0;
  let norm = 0;
  for (let i = offset; i < offset + length; i++) {
    const d = sparse[i]! - dense[i]!;
    diff += d * d;
    norm += dense[i]! * dense[i]!;
  }
  return norm > 0 ? Math.sqrt(diff / norm) : 0;
}
