/**
 * The one API contract between the renderer and the engine.
 *
 * Every request, response and event is described here once, as a zod schema, and the TypeScript
 * types are inferred from the schemas. Both hosts (Electron IPC and `sparsescope serve`) validate
 * every incoming request with `parseRequest`, and the renderer's client is typed by `Api`.
 *
 * This file is runtime-neutral: it may be imported by the renderer, the preload (types only),
 * the main side, the engine, the CLI and tests. It must never import Node or browser modules.
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// Building blocks

export const Backend = z.enum(['auto', 'cpu', 'cuda']);
export type Backend = z.infer<typeof Backend>;

/**
 * Pattern names as MInference writes them, `dense` for heads no sparse pattern serves, and the
 * index estimates of XAttention (mit-han-lab/x-attention) and FlexPrefill (ByteDance-Seed/FlexPrefill).
 * DuoAttention needs no pattern of its own: its streaming heads are stream_llm, its retrieval heads dense.
 */
export const PatternName = z.enum(['vertical_and_slash', 'stream_llm', 'block_sparse', 'dense', 'xattention', 'flexprefill']);
export type PatternName = z.infer<typeof PatternName>;

/**
 * A head's pattern and parameters. Parameter meaning follows MInference's positional fields:
 * vertical_and_slash: a = vertical_size, b = slash_size;
 * stream_llm:         a = n_init,        b = n_local;
 * block_sparse:       a = top_k blocks,  b unused (kept as read);
 * dense:              a, b unused;
 * xattention:         a = threshold tau in thousandths (1..1000; 900 = 0.9), b = stride S (1..block
 *                     size, dividing it; 8 or 16 in the paper); block size: MethodSettings;
 * flexprefill:        a = gamma in thousandths (1..1000; 950 = 0.95), b = tau in thousandths
 *                     (0..1000; 100 = 0.1); block size and minimum budget: MethodSettings.
 * The exact definitions are in native/src/ops/xattention_index.h and flexprefill_index.h.
 */
export const HeadPattern = z.object({
  pattern: PatternName,
  a: z.number().int().min(0).max(1 << 24),
  b: z.number().int().min(0).max(1 << 24),
});
export type HeadPattern = z.infer<typeof HeadPattern>;

const LayerIndex = z.number().int().min(0).max(4095);
const HeadIndex = z.number().int().min(0).max(4095);

export const HeadRef = z.object({ captureId: z.string().min(1), layer: LayerIndex, head: HeadIndex });
export type HeadRef = z.infer<typeof HeadRef>;

export const DType = z.enum(['F16', 'BF16', 'F32']);
export type DType = z.infer<typeof DType>;

/** How many query rows a measure uses: all evaluated rows (`exact`) or a seeded sample. */
export const RowSampling = z.union([
  z.object({ mode: z.literal('exact') }),
  z.object({ mode: z.literal('sampled'), rows: z.number().int().min(1).max(1 << 20), seed: z.number().int().default(0) }),
]);
export type RowSampling = z.infer<typeof RowSampling>;

// ---------------------------------------------------------------------------------------------
// Results shared by several methods

export const CudaDevice = z.object({
  index: z.number().int(),
  name: z.string(),
  totalMemoryBytes: z.number(),
  freeMemoryBytes: z.number(),
  computeCapability: z.string(),
});
/** A process jobs run on: one per visible GPU (pinned to its CUDA index), or a CPU worker (cudaIndex null). */
export const ComputeWorker = z.object({ name: z.string(), label: z.string(), cudaIndex: z.number().int().nullable() });
export type ComputeWorker = z.infer<typeof ComputeWorker>;
export const DeviceInfo = z.object({
  engineVersion: z.string(),
  cpu: z.object({ threads: z.number().int(), model: z.string() }),
  cuda: z.object({ available: z.boolean(), reason: z.string().optional(), devices: z.array(CudaDevice) }),
  /** The backend `auto` resolves to. */
  defaultBackend: z.enum(['cpu', 'cuda']),
  host: z.enum(['electron', 'serve', 'test']),
  /** The compute workers jobs are sharded over (see ComputeWorker). */
  workers: z.array(ComputeWorker).optional(),
});
export type DeviceInfo = z.infer<typeof DeviceInfo>;

export const CaptureSummary = z.object({
  captureId: z.string(),
  path: z.string(),
  fileName: z.string(),
  sizeBytes: z.number(),
  /** sha256 of the header plus the file size: cheap, stable identity for provenance. */
  hash: z.string(),
  model: z.string(),
  source: z.string(),
  numLayers: z.number().int(),
  /** Layer indices actually present in the file (any subset of 0..numLayers-1). */
  layers: z.array(z.number().int()),
  numHeads: z.number().int(),
  numKvHeads: z.number().int(),
  headDim: z.number().int(),
  seqLen: z.number().int(),
  dtype: DType,
  /** Planted pattern per layer and head, for synthetic captures only. */
  planted: z.array(z.array(HeadPattern)).optional(),
  /** Whether the capture holds the prompt's token ids and text (read them with `capture.tokens`). */
  tokens: z.boolean().optional(),
  /** What produced the tokens, e.g. the model id. */
  tokenizer: z.string().optional(),
});
export type CaptureSummary = z.infer<typeof CaptureSummary>;

/** Tokens one `capture.tokens` call may ask for: a screenful of labels, a bounded read. */
export const MAX_TOKENS_PER_CALL = 4096;

/** Tokens [start, end) of a capture; their text is read from the file only for this range. */
const TokenRangeParams = z
  .object({ captureId: z.string(), start: z.number().int().min(0), end: z.number().int().min(0) })
  .refine(({ start, end }) => end >= start, { message: 'end must not be before start', path: ['end'] })
  .refine(({ start, end }) => end - start <= MAX_TOKENS_PER_CALL, { message: `at most ${MAX_TOKENS_PER_CALL} tokens per call`, path: ['end'] });

/** A rectangle of the N x N map in token positions, [rowStart, rowEnd) x [colStart, colEnd). */
export const Region = z.object({
  rowStart: z.number().int().min(0),
  rowEnd: z.number().int().min(1),
  colStart: z.number().int().min(0),
  colEnd: z.number().int().min(1),
});
export type Region = z.infer<typeof Region>;

/** Float32 payloads travel as typed arrays (Electron structured clone) or tagged base64 (serve). */
const Float32 = z.instanceof(Float32Array);

export const PooledMap = z.object({
  region: Region,
  rows: z.number().int(),
  cols: z.number().int(),
  /** Attention mass per cell averaged over the cell's rows, row-major rows x cols. */
  mean: Float32,
  /** Largest single P[i, j] in the cell. */
  max: Float32,
  rowsUsed: z.number().int(),
  backend: z.enum(['cpu', 'cuda']),
  ms: z.number(),
});
export type PooledMap = z.infer<typeof PooledMap>;

/** What the pattern computes, drawn over the map: cells of the same grid as a PooledMap. */
export const MaskGeometry = z.object({
  region: Region,
  rows: z.number().int(),
  cols: z.number().int(),
  /** Fraction of each cell's causal entries that the kernel computes, row-major rows x cols. */
  coverage: Float32,
  /** Chosen diagonal offsets (vertical_and_slash), chosen vertical columns, for line overlays. */
  slashOffsets: z.array(z.number().int()),
  verticalColumns: z.array(z.number().int()),
  density: z.number(),
});
export type MaskGeometry = z.infer<typeof MaskGeometry>;

/**
 * How a speedup was obtained (spec 2.2): `measured` from full-row timings of that head (or layer),
 * `predicted` from density and a measured cost model of the backend; its times are predicted too.
 */
export const SpeedupKind = z.enum(['measured', 'predicted']);
export type SpeedupKind = z.infer<typeof SpeedupKind>;

export const HeadStats = z.object({
  layer: z.number().int(),
  head: z.number().int(),
  pattern: PatternName,
  params: z.tuple([z.number().int(), z.number().int()]),
  recall: z.number(),
  outputRelError: z.number(),
  density: z.number(),
  rowsUsed: z.number().int(),
  denseMs: z.number(),
  indexMs: z.number(),
  sparseMs: z.number(),
  /** denseMs / (indexMs + sparseMs) of this head. */
  speedup: z.number(),
  speedupKind: SpeedupKind,
});
export type HeadStats = z.infer<typeof HeadStats>;

/** The `analyze`/`bench` report of spec section 4, shared by the CLI and the UI. */
export const Report = z.object({
  backend: z.enum(['cpu', 'cuda']),
  device: z.string(),
  /** Why the run uses another backend than a CUDA device present (`auto` falling back to the CPU), one line each. */
  notices: z.array(z.string()).optional(),
  dtype: DType,
  seqLen: z.number().int(),
  heads: z.array(HeadStats),
  totals: z.object({
    denseMs: z.number(),
    indexMs: z.number(),
    sparseMs: z.number(),
    speedup: z.number(),
    speedupKind: SpeedupKind,
    meanRecall: z.number(),
    minRecall: z.number(),
  }),
  /** What the measured config would do differently in its engine, e.g. run this capture dense. */
  warnings: z.array(z.string()).optional(),
});
export type Report = z.infer<typeof Report>;

/** Per-row recall for the side strip of the head view, pooled to `rows` bins. */
export const RowRecall = z.object({ rowStart: z.number().int(), rowEnd: z.number().int(), recall: Float32 });

/** A head's measures on sampled rows; its timings and speedup are `predicted` (a cost model). */
export const HeadEvaluation = z.object({
  stats: HeadStats,
  rowRecall: RowRecall,
});
export type HeadEvaluation = z.infer<typeof HeadEvaluation>;

export const BudgetCurve = z.object({
  pattern: PatternName,
  points: z.array(z.object({ a: z.number().int(), b: z.number().int(), recall: z.number(), density: z.number() })),
});
export type BudgetCurve = z.infer<typeof BudgetCurve>;

/** Rows of a query block, and the width of a key tile, of the sparse kernel (MInference's BLOCK_M and BLOCK_N). */
export const KERNEL_BLOCK = 64;

/**
 * What the sparse kernel reads for one 64-row query block, named as MInference's
 * vertical_slash_sparse_attention takes it: `block_count` key tiles 64 wide starting at
 * `block_offset`, and `column_count` loose key columns `column_index` outside them. The causal
 * mask (and for stream_llm the A-shape `window`) still applies inside what is read.
 */
export const KernelBlocks = z.object({
  queryBlock: z.number().int(),
  numBlocks: z.number().int(),
  /** The block's query rows [rowStart, rowEnd). */
  rowStart: z.number().int(),
  rowEnd: z.number().int(),
  blockCount: z.number().int(),
  blockOffset: z.array(z.number().int()),
  columnCount: z.number().int(),
  columnIndex: z.array(z.number().int()),
  /** stream_llm's [n_init, n_local], which keeps only part of each row of a tile; null for other patterns. */
  window: z.tuple([z.number().int(), z.number().int()]).nullable(),
  /** Score entries this block computes (causal mask applied) and its causal entries. */
  computedEntries: z.number().int(),
  causalEntries: z.number().int(),
  /** The whole head's density, for scale. */
  density: z.number(),
});
export type KernelBlocks = z.infer<typeof KernelBlocks>;

/** Query rows one `head.outputError` call may use: each costs a pass over the keys it skips. */
export const MAX_ERROR_ROWS = 512;

/**
 * Where a head's sparse output loses against dense, on sampled query rows: each row's relative
 * output error and computed mass, and the skipped keys that carried the missing mass, by column
 * and by diagonal (i - j). Masses are means over the rows, so all columns' masses sum to `missingMass`.
 */
export const OutputErrorBreakdown = z.object({
  rows: z.array(z.number().int()),
  rowError: Float32,
  rowRecall: Float32,
  outputRelError: z.number(),
  missingMass: z.number(),
  topColumns: z.array(z.object({ column: z.number().int(), mass: z.number() })),
  topDiagonals: z.array(z.object({ offset: z.number().int(), mass: z.number() })),
  /** Rows asked for, when the sequence's length made the engine use fewer (rowsUsed < requested). */
  rowsRequested: z.number().int(),
  backend: z.enum(['cpu', 'cuda']),
  ms: z.number(),
});
export type OutputErrorBreakdown = z.infer<typeof OutputErrorBreakdown>;

/** Query rows of the Vertical-Slash estimate: MInference's fixed 64, the most Sparsescope supports. */
export const DEFAULT_LAST_Q = 64;

/**
 * A config's head: what runs (pattern, a, b), `score` (MInference's opaque 4th field) and
 * `asWritten`: the parameters as the imported file wrote them, kept only where its engine runs other
 * ones (MInference's block_sparse always keeps 100 blocks), so an export can give the file back.
 */
export const HeadConfigEntry = HeadPattern.extend({ score: z.number().optional(), asWritten: HeadPattern.pick({ a: true, b: true }).optional() });
export type HeadConfigEntry = z.infer<typeof HeadConfigEntry>;

/** A method's block: query rows and keys, a whole number of the kernel's 64-wide tiles. */
const MethodBlockSize = z
  .number()
  .int()
  .min(KERNEL_BLOCK)
  .max(16 * KERNEL_BLOCK)
  .refine((size) => size % KERNEL_BLOCK === 0, { message: `a multiple of ${KERNEL_BLOCK}` });
const MinBudget = z.number().int().min(0).max(1 << 24);

/**
 * Settings of the XAttention and FlexPrefill estimates that apply to every head of a config, with
 * their papers' defaults: blocks of 128, FlexPrefill's minimum budget 512 tokens (its README's
 * `flex_prefill_min_budget`), rounded up to whole blocks.
 */
export const MethodSettings = z.object({
  xattentionBlockSize: MethodBlockSize.default(128),
  flexprefillBlockSize: MethodBlockSize.default(128),
  flexprefillMinBudget: MinBudget.default(512),
});
export type MethodSettings = z.infer<typeof MethodSettings>;
export const DEFAULT_METHOD_SETTINGS: Readonly<MethodSettings> = { xattentionBlockSize: 128, flexprefillBlockSize: 128, flexprefillMinBudget: 512 };

/** DuoAttention's streaming heads: stream_llm with its sink and recent window (its eval defaults, `--sink_size 64 --recent_size 256`). */
export const DUO_STREAMING_HEAD: Readonly<HeadPattern> = { pattern: 'stream_llm', a: 64, b: 256 };

/** A head computed in full: what a search falls back to where no sparse pattern serves. */
export const DENSE_HEAD: Readonly<HeadPattern> = { pattern: 'dense', a: 0, b: 0 };

/**
 * The settings of a config that change what a head computes: SGLang/vLLM's
 * `dual_chunk_attention_config` ones, and the XAttention / FlexPrefill MethodSettings (absent: defaults).
 */
export const RuntimeSettings = z.object({
  /** Sequences of at most this many tokens run dense (`sparse_attention_threshold`). */
  sparseAttentionThreshold: z.number().int().min(0).optional(),
  /** Query rows of the Vertical-Slash estimate, the last min(lastQ, N) (`sparse_attention_last_q`). */
  sparseAttentionLastQ: z.number().int().min(1).max(DEFAULT_LAST_Q).optional(),
  xattentionBlockSize: MethodBlockSize.optional(),
  flexprefillBlockSize: MethodBlockSize.optional(),
  flexprefillMinBudget: MinBudget.optional(),
});
export type RuntimeSettings = z.infer<typeof RuntimeSettings>;

/** The MethodSettings a config's heads run with: its runtime's where set, else the defaults. */
export function methodSettingsOf(runtime: RuntimeSettings | undefined): MethodSettings {
  return {
    xattentionBlockSize: runtime?.xattentionBlockSize ?? DEFAULT_METHOD_SETTINGS.xattentionBlockSize,
    flexprefillBlockSize: runtime?.flexprefillBlockSize ?? DEFAULT_METHOD_SETTINGS.flexprefillBlockSize,
    flexprefillMinBudget: runtime?.flexprefillMinBudget ?? DEFAULT_METHOD_SETTINGS.flexprefillMinBudget,
  };
}

/** A full head config: patterns[layer][head], and the serving settings it was imported with. */
export const HeadConfig = z.object({
  numLayers: z.number().int(),
  numHeads: z.number().int(),
  heads: z.array(z.array(HeadConfigEntry)),
  runtime: RuntimeSettings.optional(),
});
export type HeadConfig = z.infer<typeof HeadConfig>;

/** What MInference assumes for a head its config does not list. */
export const MINFERENCE_DEFAULT_HEAD: Readonly<HeadPattern & { score: number }> = { pattern: 'vertical_and_slash', a: 1000, b: 6096, score: 1 };

/**
 * A config laid over a capture's layers x heads (null: nothing loaded). Heads the config does not
 * list get MInference's default, as MInference itself does; a config describing more layers or
 * heads than the capture is refused with an Error saying so.
 */
export function fitHeadConfig(config: HeadConfig | null, shape: { numLayers: number; numHeads: number }): HeadConfig {
  if (config && config.numLayers > shape.numLayers) throw new Error(`the config has ${config.numLayers} layers but the capture has ${shape.numLayers}`);
  if (config && config.numHeads > shape.numHeads) throw new Error(`the config has ${config.numHeads} heads per layer but the capture has ${shape.numHeads}`);
  const heads = Array.from({ length: shape.numLayers }, (_, layer) =>
    Array.from({ length: shape.numHeads }, (_, head) => config?.heads[layer]?.[head] ?? { ...MINFERENCE_DEFAULT_HEAD }),
  );
  return { numLayers: shape.numLayers, numHeads: shape.numHeads, heads, ...(config?.runtime ? { runtime: config.runtime } : {}) };
}

/**
 * Config files: MInference's per-head list, SGLang/vLLM's config, Sparsescope's document, and the
 * newer methods' own files: `xattention` a per-head threshold table (layers x query heads),
 * `duo` DuoAttention's full_attention_heads.tsv (layers x KV heads, 1 retrieval, 0 streaming),
 * `flexprefill` FlexPrefill's config dict (`block_size`, `flex_prefill_gamma`, ...), and
 * `minference-attn` MInference's `attn_type` with its `attn_kwargs` for the methods it runs
 * (xattention, flexprefill). The last two hold one setting for all heads.
 */
export const ConfigFormat = z.enum(['minference', 'sglang', 'sparsescope', 'xattention', 'duo', 'flexprefill', 'minference-attn']);
export type ConfigFormat = z.infer<typeof ConfigFormat>;

/**
 * Methods a target-recall search compares per head: `minference` its three patterns (plus dense),
 * `xattention` and `flexprefill` their estimates along their threshold, `duo` stream_llm at
 * DUO_STREAMING_HEAD or dense per KV head (streaming only where every query head of it holds the target).
 */
export const SearchMethod = z.enum(['minference', 'xattention', 'flexprefill', 'duo']);
export type SearchMethod = z.infer<typeof SearchMethod>;

export const SearchSettings = z.object({
  mode: z.enum(['candidates', 'target-recall']),
  targetRecall: z.number().min(0).max(1).default(0.95),
  sampling: RowSampling.default({ mode: 'sampled', rows: 512, seed: 0 }),
  layers: z.array(z.number().int()).optional(),
  /** Methods searched (target-recall mode only; candidates mode is MInference's alone); absent: ['minference']. */
  methods: z.array(SearchMethod).min(1).optional(),
  /** Block sizes and minimum budget of the xattention and flexprefill heads searched; absent: the defaults. */
  methodSettings: MethodSettings.optional(),
  /**
   * What the target-recall mode holds: `head` (absent) every head's recall, `layer` the mean recall
   * of the heads searched together (a layer, unless memory or workers split it), each head kept at
   * or above `minHeadRecall`. MInference's patterns only (no `methods` beside it).
   */
  recallScope: z.enum(['head', 'layer']).optional(),
  /** With recallScope `layer`: no head below this recall; absent: targetRecall less LAYER_FLOOR_MARGIN. */
  minHeadRecall: z.number().min(0).max(1).optional(),
}).superRefine((settings, context) => {
  if (settings.recallScope !== 'layer') return;
  if (settings.methods?.some((method) => method !== 'minference')) context.addIssue({ code: 'custom', path: ['recallScope'], message: 'a layer-mean recall is searched over MInference patterns only, not with other methods' });
  if (settings.minHeadRecall !== undefined && settings.minHeadRecall > settings.targetRecall) context.addIssue({ code: 'custom', path: ['minHeadRecall'], message: 'minHeadRecall is above targetRecall' });
});
export type SearchSettings = z.infer<typeof SearchSettings>;

/** How far below the target a head may fall under recallScope `layer` when minHeadRecall is absent. */
export const LAYER_FLOOR_MARGIN = 0.03;

/** A search's rule in a few words: `MInference candidates`, `target recall 0.95`, `mean recall 0.95 per layer, heads ≥ 0.92`. */
export function searchRule(settings: SearchSettings): string {
  if (settings.mode === 'candidates') return 'MInference candidates';
  if (settings.recallScope === 'layer') return `mean recall ${settings.targetRecall} per layer, heads ≥ ${headRecallFloor(settings)}`;
  return `target recall ${settings.targetRecall}`;
}

/** The lowest recall a search with `settings` leaves a head: the target itself unless recallScope is `layer`. */
export function headRecallFloor(settings: Pick<SearchSettings, 'targetRecall' | 'recallScope' | 'minHeadRecall'>): number {
  if (settings.recallScope !== 'layer') return settings.targetRecall;
  // Rounded: 0.95 less 0.03 is 0.9199999999999999 in floating point, and users read it.
  return settings.minHeadRecall ?? Math.max(0, Number((settings.targetRecall - LAYER_FLOOR_MARGIN).toFixed(6)));
}

/**
 * One method's best config for a head under the search's rule, measured on every evaluated row
 * like the report's heads; `holds` is false where nothing of the method reached the target (its
 * stats are then those of dense, what the method falls back to).
 */
export const MethodChoice = z.object({ method: SearchMethod, holds: z.boolean(), stats: HeadStats });
export type MethodChoice = z.infer<typeof MethodChoice>;

/** Per head, every searched method's choice; `winner` is the one the result's config holds (the lowest cost that holds the target). */
export const HeadComparison = z.object({
  layer: z.number().int(),
  head: z.number().int(),
  winner: SearchMethod,
  choices: z.array(MethodChoice),
});
export type HeadComparison = z.infer<typeof HeadComparison>;

// ---------------------------------------------------------------------------------------------
// Jobs: long work with progress, ETA and cancel. Results arrive in a `job` event.

export const JobSpec = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('analyze'),
    captureId: z.string(),
    config: HeadConfig.optional(),
    layers: z.array(z.number().int()).optional(),
    backend: Backend.default('auto'),
    sampling: RowSampling.default({ mode: 'sampled', rows: 512, seed: 0 }),
  }),
  z.object({ kind: z.literal('search'), captureId: z.string(), settings: SearchSettings, backend: Backend.default('auto') }),
  z.object({
    kind: z.literal('bench'),
    captureId: z.string().optional(),
    config: HeadConfig.optional(),
    /** Synthetic sweep over context lengths; empty when benchmarking the capture. */
    sweep: z.array(z.number().int().min(64).max(1 << 21)).default([]),
    backend: Backend.default('auto'),
    repeat: z.number().int().min(1).max(100).default(3),
  }),
]);
export type JobSpec = z.infer<typeof JobSpec>;

export const JobState = z.enum(['queued', 'running', 'done', 'failed', 'cancelled']);
export type JobState = z.infer<typeof JobState>;

/** One compute worker's part of a running job: the shard it computes (null when idle) and that shard's progress. */
export const WorkerProgress = z.object({
  worker: z.string(),
  shard: z.string().nullable(),
  progress: z.number(),
  shardsDone: z.number().int(),
});
export type WorkerProgress = z.infer<typeof WorkerProgress>;

export const JobEvent = z.object({
  jobId: z.string(),
  kind: z.enum(['analyze', 'search', 'bench']),
  state: JobState,
  /** 0..1 */
  progress: z.number(),
  message: z.string(),
  etaSeconds: z.number().nullable(),
  /** Present when state = done: a Report (analyze, bench), or a HeadConfig plus Report (search). */
  result: z.unknown().optional(),
  error: z.string().optional(),
  /** While running on several compute workers: each one's current shard and its progress. */
  workers: z.array(WorkerProgress).optional(),
});
export type JobEvent = z.infer<typeof JobEvent>;

/** `comparison` is present when the search compared methods (settings.methods other than ['minference']). */
export const SearchResult = z.object({ config: HeadConfig, report: Report, settings: SearchSettings, comparison: z.array(HeadComparison).optional() });
export type SearchResult = z.infer<typeof SearchResult>;

/** One context length of the synthetic sweep, with the device and precision it ran on. */
export const BenchSweepPoint = z.object({
  seqLen: z.number().int(),
  device: z.string(),
  dtype: DType,
  denseMs: z.number(),
  indexMs: z.number(),
  sparseMs: z.number(),
  speedup: z.number(),
  meanRecall: z.number(),
});
export const BenchResult = z.object({ report: Report.optional(), sweep: z.array(BenchSweepPoint) });
export type BenchResult = z.infer<typeof BenchResult>;

// ---------------------------------------------------------------------------------------------
// Methods. Each entry: params schema and result schema.

export const methods = {
  'device.info': { params: z.object({}), result: DeviceInfo },
  'capture.openDemo': { params: z.object({}), result: CaptureSummary },
  /**
   * The real capture the app ships (samples/: a trained model on real text, with tokens), opened
   * read-only from the app's own files; `capture.open` also accepts its path, outside the roots.
   */
  'capture.openSample': { params: z.object({}), result: CaptureSummary },
  'capture.open': { params: z.object({ path: z.string().min(1) }), result: CaptureSummary },
  'capture.close': { params: z.object({ captureId: z.string() }), result: z.object({ closed: z.boolean() }) },
  /** Token ids and texts of positions [start, end); an error for a capture without tokens. */
  'capture.tokens': { params: TokenRangeParams, result: z.object({ start: z.number().int(), ids: z.array(z.number().int()), text: z.array(z.string()) }) },
  'files.list': {
    params: z.object({ dir: z.string().optional() }),
    result: z.object({
      dir: z.string(),
      parent: z.string().nullable(),
      roots: z.array(z.string()),
      entries: z.array(z.object({ name: z.string(), path: z.string(), kind: z.enum(['file', 'dir']), sizeBytes: z.number() })),
    }),
  },
  'capture.recent': { params: z.object({}), result: z.array(z.object({ path: z.string(), openedAt: z.string() })) },
  'head.pooledMap': {
    params: HeadRef.extend({
      resolution: z.number().int().min(8).max(2048),
      region: Region.optional(),
      sampling: RowSampling.default({ mode: 'sampled', rows: 1024, seed: 0 }),
      backend: Backend.default('auto'),
    }),
    result: PooledMap,
  },
  'head.mask': {
    params: HeadRef.extend({
      pattern: HeadPattern,
      resolution: z.number().int().min(8).max(2048),
      region: Region.optional(),
      /** Block sizes and minimum budget of xattention / flexprefill patterns (a config's runtime settings); absent: the defaults. */
      methodSettings: MethodSettings.optional(),
    }),
    result: MaskGeometry,
  },
  'head.evaluate': {
    params: HeadRef.extend({
      pattern: HeadPattern,
      sampling: RowSampling.default({ mode: 'sampled', rows: 256, seed: 0 }),
      stripRows: z.number().int().min(8).max(2048).default(256),
      backend: Backend.default('auto'),
      /** Query rows of the Vertical-Slash estimate (a config's `sparse_attention_last_q`). */
      lastQ: z.number().int().min(1).max(DEFAULT_LAST_Q).default(DEFAULT_LAST_Q),
      /** Block sizes and minimum budget of xattention / flexprefill patterns (a config's runtime settings); absent: the defaults. */
      methodSettings: MethodSettings.optional(),
      /** Requests with the same `staleKey` cancel earlier ones still running (slider drags). */
      staleKey: z.string().optional(),
    }),
    result: HeadEvaluation,
  },
  'head.budgetCurve': {
    params: HeadRef.extend({
      pattern: PatternName,
      sampling: RowSampling.default({ mode: 'sampled', rows: 256, seed: 0 }),
      methodSettings: MethodSettings.optional(),
    }),
    result: BudgetCurve,
  },
  /** The kernel's reads for one query block of a head's pattern (`queryBlock` < ceil(N / 64)). */
  'head.kernelBlocks': {
    params: HeadRef.extend({
      pattern: HeadPattern,
      queryBlock: z.number().int().min(0),
      lastQ: z.number().int().min(1).max(DEFAULT_LAST_Q).default(DEFAULT_LAST_Q),
      methodSettings: MethodSettings.optional(),
    }),
    result: KernelBlocks,
  },
  /** Per-row output error and the top missed columns and diagonals of a head's pattern. */
  'head.outputError': {
    params: HeadRef.extend({
      pattern: HeadPattern,
      rows: z.number().int().min(1).max(MAX_ERROR_ROWS).default(256),
      seed: z.number().int().default(0),
      top: z.number().int().min(1).max(64).default(12),
      lastQ: z.number().int().min(1).max(DEFAULT_LAST_Q).default(DEFAULT_LAST_Q),
      methodSettings: MethodSettings.optional(),
      backend: Backend.default('auto'),
    }),
    result: OutputErrorBreakdown,
  },
  'job.start': { params: JobSpec, result: z.object({ jobId: z.string() }) },
  'job.cancel': { params: z.object({ jobId: z.string() }), result: z.object({ cancelled: z.boolean() }) },
  /** The latest event of every job the engine still remembers, newest first: how a client catches up on missed events. */
  'job.list': { params: z.object({}), result: z.array(JobEvent) },
  'config.import': {
    /**
     * `captureId` gives the capture the config is for: a DuoAttention file lists KV heads, spread
     * over their query heads by the capture's grouping (without it, one query head per KV head).
     */
    params: z
      .object({ path: z.string().min(1), captureId: z.string().optional() })
      .or(z.object({ text: z.string(), fileName: z.string(), captureId: z.string().optional() })),
    result: z.object({ config: HeadConfig, format: ConfigFormat, warnings: z.array(z.string()) }),
  },
  'config.export': {
    params: z.object({
      config: HeadConfig,
      format: ConfigFormat,
      captureId: z.string().optional(),
      report: Report.optional(),
      settings: SearchSettings.optional(),
      /** Write to this path; without it the text is returned for a browser download. */
      path: z.string().optional(),
    }),
    result: z.object({ text: z.string(), warnings: z.array(z.string()), path: z.string().optional() }),
  },
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type Params<M extends MethodName> = z.input<Methods[M]['params']>;
export type ParsedParams<M extends MethodName> = z.output<Methods[M]['params']>;
export type Result<M extends MethodName> = z.output<Methods[M]['result']>;

/**
 * The job event stream of a host that can lose it (`serve`): `connecting` before it first opens,
 * `reconnecting` after it dropped, `disconnected` once several tries in a row failed (tries go on).
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** The typed client every UI host exposes. */
export interface Api {
  call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>>;
  /** Subscribe to job events; returns an unsubscribe function. */
  onJobEvent(listener: (event: JobEvent) => void): () => void;
  /**
   * Subscribe to the state of the job event stream, told at once and on every change; returns an
   * unsubscribe function. Each change to `connected` may follow missed events (ask `job.list`).
   * Hosts that never drop events omit it.
   */
  onConnectionChange?(listener: (state: ConnectionState) => void): () => void;
  /** Which host the UI runs in, for features such as native file dialogs. */
  readonly host: 'electron' | 'browser';
}

/** What engine handlers implement: one async function per method, params already validated. */
export type Handlers = { [M in MethodName]: (params: ParsedParams<M>) => Promise<Result<M>> };

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: 'bad-request' | 'not-found' | 'forbidden' | 'cancelled' | 'internal' = 'bad-request',
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name);
}

/** Validate an incoming request; throws ApiError naming the first problem. */
export function parseRequest(method: unknown, params: unknown): { method: MethodName; params: unknown } {
  if (!isMethodName(method)) throw new ApiError(`unknown method ${JSON.stringify(method)}`);
  const parsed = methods[method].params.safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError(`${method}: ${issue?.path.join('.') || 'params'}: ${issue?.message ?? 'invalid'}`);
  }
  return { method, params: parsed.data };
}

// ---------------------------------------------------------------------------------------------
// Wire codec for transports without structured clone (serve): Float32Array <-> tagged base64.

const F32_TAG = '$f32';

export function encodeWire(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Float32Array) return { [F32_TAG]: bytesToBase64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
    return v;
  });
}

/** Text that is not JSON, or a Float32 tag that is not base64 of whole float32s, is the sender's error (bad-request). */
export function decodeWire(text: string): unknown {
  try {
    return JSON.parse(text, reviveFloat32);
  } catch (error) {
    throw new ApiError(error instanceof Error ? error.message : String(error));
  }
}

function reviveFloat32(_key: string, value: unknown): unknown {
  if (!value || typeof value !== 'object' || !(F32_TAG in value) || Object.keys(value).length !== 1) return value;
  const tag = (value as Record<string, unknown>)[F32_TAG];
  if (typeof tag !== 'string') throw new Error(`${F32_TAG} is not a base64 string`);
  const bytes = base64ToBytes(tag);
  if (bytes.length % 4 !== 0) throw new Error(`${F32_TAG} holds ${bytes.length} bytes, not whole float32s`);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
