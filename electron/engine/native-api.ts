/**
 * The JavaScript face of the native module (`native/`), shared by the CPU and CUDA backends.
 * `native.ts` loads the addon and returns an object of this type; the rest of the engine only
 * uses these types, so tests can stub the module.
 *
 * Conventions
 * - Tensors are raw little-endian bytes of the capture's dtype, row-major: q [H, N, D], k/v [Hkv, N, D].
 *   Query head h uses KV head floor(h / (H / Hkv)). Compute is fp32 with fp32 accumulation.
 * - Every long call runs off the JS thread and returns a Promise. `control.cancel` is an Int32Array
 *   over a SharedArrayBuffer: setting element 0 to 1 makes the call reject with an Error whose
 *   message is "cancelled" at the next check (between row blocks / between launches).
 *   `control.onProgress(fraction)` is called from the JS thread, at most ~20 times per second.
 * - Results are copied into JS-owned typed arrays (Electron forbids external buffers).
 * - Errors (bad shapes, out-of-range parameters, CUDA out of memory, no device) reject with an
 *   Error whose message names the problem; the module never aborts the process.
 */

export type NativeBackend = 'cpu' | 'cuda';
export type NativeDType = 'F16' | 'BF16' | 'F32';

export interface CallControl {
  cancel?: Int32Array;
  onProgress?: (fraction: number) => void;
}

export interface AttentionInputs {
  dtype: NativeDType;
  numHeads: number; // H of the q buffer (1 for a single head)
  numKvHeads: number; // Hkv of the k/v buffers
  seqLen: number; // N
  headDim: number; // D
  q: Uint8Array;
  k: Uint8Array;
  v?: Uint8Array; // absent for calls that only need scores (pooled map, index build, recall)
  /** The same tensors already on the CUDA device (NativeModule.residentInputs): CUDA calls skip uploading q/k/v; CPU calls ignore it. */
  resident?: ResidentInputs;
}

/** A device copy of one AttentionInputs' tensors, made by NativeModule.residentInputs; opaque to JS. */
export type ResidentInputs = { readonly __brand: 'ResidentInputs' };

/** Pattern ids as stored in `HeadPatterns`. */
export const PATTERN_ID = { dense: 0, vertical_and_slash: 1, stream_llm: 2, block_sparse: 3, xattention: 4, flexprefill: 5 } as const;

/** Per query head, three int32: [patternId, a, b] (see contract HeadPattern for a/b meaning). */
export type HeadPatterns = Int32Array;

/**
 * How an index is built: the backend, the Vertical-Slash estimate's rows, the last min(lastQ, N)
 * (1..64, default 64), and the XAttention / FlexPrefill block sizes (multiples of 64, default 128)
 * and FlexPrefill's minimum budget in tokens (default 512): contract MethodSettings.
 */
export interface IndexOptions {
  backend: NativeBackend;
  lastQ?: number;
  xattentionBlockSize?: number;
  flexprefillBlockSize?: number;
  flexprefillMinBudget?: number;
  /**
   * false: build for the time only; the index comes back empty (every array of length 0), so timed
   * repeats leave no index behind. 'native': the lists stay in the addon (SparseIndex.lists), for
   * an index only addon ops read. Default true.
   */
  output?: boolean | 'native';
  /**
   * Ascending query rows: only their query blocks get lists (SparseIndex.rows), the density is the
   * whole index's. What a probe measuring recall on a sample needs: at 1M tokens a head's whole
   * index is ~200 MB to copy out and back in, the blocks of 512 sampled rows a few MB.
   */
  rows?: Int32Array;
}

/**
 * The sparse index every sparse kernel consumes, one per layer (all query heads), in CSR form.
 * Query blocks are 64 rows: block m covers rows [64m, min(64m+64, N)). For head h and block m,
 * r = h * numBlocks + m:
 *   tiles   tileStarts[tileOffsets[r] .. tileOffsets[r+1]): key tiles [s, s+64), ascending, disjoint
 *   columns columns[colOffsets[r] .. colOffsets[r+1]):     loose key columns, ascending, none inside a tile
 * Inside tiles and for loose columns the causal mask j <= i applies (and j < N). For stream_llm the
 * tiles cover the A-shape's bounding tiles and `window[h]` = [nInit, nLocal] further restricts
 * each row i to j < nInit or i - nLocal < j <= i; for other patterns window[h] = [-1, -1].
 * `verticals` / `slashes` (CSR per head, offsets length H+1) keep the chosen vertical columns and
 * diagonal offsets of vertical_and_slash heads, for display; empty for other patterns.
 */
export interface SparseIndex {
  numHeads: number;
  seqLen: number;
  numBlocks: number;
  tileOffsets: Int32Array; // H * numBlocks + 1
  tileStarts: Int32Array;
  colOffsets: Int32Array; // H * numBlocks + 1
  columns: Int32Array;
  window: Int32Array; // H * 2
  verticalOffsets: Int32Array; // H + 1
  verticals: Int32Array;
  slashOffsets: Int32Array; // H + 1
  slashes: Int32Array;
  /** Computed score entries / causal entries N(N+1)/2, per head (of the whole index, also when built for rows). */
  density: Float64Array; // H
  /**
   * Present when built for these rows (IndexOptions.rows): only their query blocks have lists,
   * and ops take the index only on rows of those blocks.
   */
  rows?: Int32Array;
  /**
   * Present when built with output 'native': the addon's copy of the index, which ops read instead
   * of the four list arrays (then empty). At 1M tokens a head's lists are 60 to 100 MiB, built in
   * 4 ms on an H100 and copied into JS in about 90 (bench/gpu_head_ops.js); a probe that only
   * passes its index back to the addon keeps them there.
   */
  lists?: NativeIndexLists;
  ms: number;
}

/** The addon's copy of an index's lists (SparseIndex.lists); opaque to JS. */
export type NativeIndexLists = { readonly __brand: 'NativeIndexLists' };

export interface AttentionOptions {
  backend: NativeBackend;
  /** Ascending query rows to compute; all N when absent. */
  rows?: Int32Array;
  /**
   * false: compute for the time only; `out` and `lse` come back empty and the CPU keeps no [H, R, D] buffer.
   * 'lse': only `lse` comes back (what recall needs; outputError measures the error). Default true.
   */
  output?: boolean | 'lse';
}

export interface OutputErrorOptions {
  backend: NativeBackend;
  /** Ascending query rows; all N when absent. */
  rows?: Int32Array;
  /** Rows computed per chunk (default: as many as keep both chunk outputs near 256 MiB). */
  chunkRows?: number;
}

export interface OutputErrorResult {
  /** Per query head, ||sparse - dense||_F / ||dense||_F over the rows (0 where dense is all zero). */
  relError: Float64Array;
  /**
   * Whether the dense output came from the one resident inputs keep (CUDA: a dense call with output
   * 'lse' on the same rows computed it) rather than a dense pass of this call's own.
   */
  denseKept?: boolean;
  /** Host time of the whole call (dense and sparse over every chunk of rows). */
  ms: number;
}

export interface AttentionResult {
  /** [H, R, D] where R = rows.length if rows were given, else N; empty when opts.output is false. */
  out: Float32Array;
  /** Natural-log sum of exp(q.k/sqrt(D)) per row, [H, R]; empty when opts.output is false. */
  lse: Float32Array;
  ms: number;
}

export interface PooledMapResult {
  mean: Float32Array; // rows x cols
  max: Float32Array; // rows x cols
  rowsUsed: number;
  ms: number;
}

export interface RecallResult {
  /** sum over the computed set of P[i, j] for each requested row, [H, R]. */
  recall: Float32Array;
  ms: number;
}

export interface DeviceReport {
  cpuThreads: number;
  cuda: {
    compiled: boolean;
    available: boolean;
    reason?: string;
    /** Head dims the CUDA kernels are built for (F16 and BF16 inputs only); empty without CUDA. */
    headDims: number[];
    devices: { index: number; name: string; totalMemoryBytes: number; freeMemoryBytes: number; computeCapability: string }[];
  };
}

export type MethodEstimateOptions =
  | { backend: NativeBackend; method: 'xattention'; head: number; blockSize: number; stride: number }
  | { backend: NativeBackend; method: 'flexprefill'; head: number; blockSize: number };
export interface MethodEstimate {
  masses?: Float64Array;
  vertical?: Float64Array;
  slash?: Float64Array;
  ms: number;
}

export interface NativeModule {
  deviceInfo(): DeviceReport;
  /** Dense causal attention; `rows` (ascending query rows) restricts which outputs are computed. */
  denseAttention(inputs: AttentionInputs, opts: AttentionOptions, control?: CallControl): Promise<AttentionResult>;
  /** Pooled map of one head (numHeads = numKvHeads = 1) over a region; `sampleRows` null = every row. */
  pooledMap(
    inputs: AttentionInputs,
    opts: { backend: NativeBackend; rowStart: number; rowEnd: number; colStart: number; colEnd: number; rows: number; cols: number; sampleRows: Int32Array | null },
    control?: CallControl,
  ): Promise<PooledMapResult>;
  /** Build the sparse index of every query head of a layer from its patterns. */
  buildIndex(inputs: AttentionInputs, patterns: HeadPatterns, opts: IndexOptions, control?: CallControl): Promise<SparseIndex>;
  /** Sparse attention over exactly the index's computed set. */
  sparseAttention(inputs: AttentionInputs, index: SparseIndex, opts: AttentionOptions, control?: CallControl): Promise<AttentionResult>;
  /**
   * What a method's index is chosen from, for one query head (tests of the estimates, tools/gpu-tests.js):
   * XAttention's block masses [M * M] or FlexPrefill's token scores [N] (native/src/ops/*_index.h).
   * Optional: stand-ins of the addon need not have it.
   */
  methodEstimate?(inputs: AttentionInputs, opts: MethodEstimateOptions, control?: CallControl): Promise<MethodEstimate>;
  /**
   * The sparse output's relative error against dense on the rows (all N when absent), both
   * computed native-side a chunk of rows at a time: neither [H, R, D] output reaches JS.
   */
  outputError(inputs: AttentionInputs, index: SparseIndex, opts: OutputErrorOptions, control?: CallControl): Promise<OutputErrorResult>;
  /** Recall of the computed set for the given rows, from the dense LSE of those rows. */
  recall(inputs: AttentionInputs, index: SparseIndex, opts: { backend: NativeBackend; rows: Int32Array; denseLse: Float32Array }, control?: CallControl): Promise<RecallResult>;
  /**
   * q, k and v (where given) copied to the CUDA device once, for many calls on these same inputs
   * (pass it as inputs.resident); releaseResident frees it once no call in flight uses it. Only
   * where CUDA is built and present; optional: stand-ins of the addon need not have it.
   */
  residentInputs?(inputs: AttentionInputs): ResidentInputs;
  releaseResident?(resident: ResidentInputs): void;
}
