/**
 * Per-head views: the pooled attention map, the mask a pattern computes, a pattern's measures and
 * its recall-versus-budget curve. Each reads only the head's own Q and its KV head.
 */
import {
  ApiError,
  DEFAULT_LAST_Q,
  type BudgetCurve,
  type HeadEvaluation,
  type HeadPattern,
  type MaskGeometry,
  type MethodSettings,
  type ParsedParams,
  type PooledMap,
  type Region,
  type RowSampling,
} from '../../../contract/api.js';
import type { Capture } from '../capture/types.js';
import type { AttentionInputs, AttentionResult, NativeBackend, NativeModule, SparseIndex } from '../native-api.js';
import { Rng } from '../synthetic/prng.js';
import {
  BLOCK,
  encodePatterns,
  evaluatedRowStart,
  evaluatedRows,
  headInputs,
  methodIndexOptions,
  nativeControl,
  relativeError,
  resolveBackend,
  speedupOf,
  throwIfCancelled,
  withIndexOptions,
  type Control,
} from './common.js';
import { costModel, predictTimes } from './cost-model.js';
import { HeadCache, typedArrayBytes } from './head-cache.js';
import { computedIntervals, forEachBlockSpan } from './index-geometry.js';
import { familyLadder } from './ladders.js';
import { HeadProbe } from './probe.js';

type HeadParams<M extends 'head.pooledMap' | 'head.mask' | 'head.evaluate' | 'head.budgetCurve'> = Omit<ParsedParams<M>, 'captureId' | 'staleKey'>;

/** The region clamped to the map, or the whole map; an empty region is an error. */
export function clampRegion(region: Region | undefined, seqLen: number): Region {
  if (!region) return { rowStart: 0, rowEnd: seqLen, colStart: 0, colEnd: seqLen };
  const clamped = {
    rowStart: Math.min(Math.max(region.rowStart, 0), seqLen - 1),
    rowEnd: Math.min(Math.max(region.rowEnd, 1), seqLen),
    colStart: Math.min(Math.max(region.colStart, 0), seqLen - 1),
    colEnd: Math.min(Math.max(region.colEnd, 1), seqLen),
  };
  if (clamped.rowEnd <= clamped.rowStart || clamped.colEnd <= clamped.colStart) {
    throw new ApiError(`region [${region.rowStart}, ${region.rowEnd}) x [${region.colStart}, ${region.colEnd}) is empty inside a ${seqLen}-token map`);
  }
  return clamped;
}

/** Grid of at most `resolution` cells a side; a region smaller than that gets one cell per token. */
function gridOf(region: Region, resolution: number): { rows: number; cols: number } {
  return { rows: Math.min(resolution, region.rowEnd - region.rowStart), cols: Math.min(resolution, region.colEnd - region.colStart) };
}

/**
 * First token of cell `c` of `cells` cells over [start, end): token t lies in cell
 * floor((t - start) * cells / (end - start)), the native pooled map's rule.
 */
function cellEdge(start: number, end: number, cells: number, c: number): number {
  return start + Math.ceil(((end - start) * c) / cells);
}

/** Stratified seeded sample: the same number of rows from every cell row, so no cell row is empty. */
function stratifiedRows(region: Region, cellRows: number, wanted: number, seed: number): Int32Array {
  const perCell = Math.max(1, Math.floor(wanted / cellRows));
  const rng = new Rng(seed, 0x9001);
  const rows: number[] = [];
  for (let c = 0; c < cellRows; c++) {
    const start = cellEdge(region.rowStart, region.rowEnd, cellRows, c);
    const end = cellEdge(region.rowStart, region.rowEnd, cellRows, c + 1);
    if (end - start <= perCell) for (let i = start; i < end; i++) rows.push(i);
    else rows.push(...rng.distinctSorted(perCell, start, end));
  }
  return Int32Array.from(rows);
}

export async function pooledMap(native: NativeModule, capture: Capture, params: HeadParams<'head.pooledMap'>, control?: Control): Promise<PooledMap> {
  const { backend } = resolveBackend(native, params.backend, capture.summary);
  const region = clampRegion(params.region, capture.summary.seqLen);
  const { rows, cols } = gridOf(region, params.resolution);
  const sampleRows = params.sampling.mode === 'exact' ? null : stratifiedRows(region, rows, params.sampling.rows, params.sampling.seed);
  const inputs = await headInputs(capture, params.layer, params.head, false);
  throwIfCancelled(control);
  const result = await native.pooledMap(
    inputs,
    { backend, rowStart: region.rowStart, rowEnd: region.rowEnd, colStart: region.colStart, colEnd: region.colEnd, rows, cols, sampleRows },
    nativeControl(control),
  );
  return { region, rows, cols, mean: new Float32Array(result.mean), max: new Float32Array(result.max), rowsUsed: result.rowsUsed, backend, ms: result.ms };
}

/** One head's inputs, the dense attention of its evaluated rows and its indexes, read through a HeadCache. */
export class CachedHead {
  private readonly key: string;

  constructor(
    private readonly native: NativeModule,
    private readonly capture: Capture,
    private readonly cache: HeadCache,
    private readonly layer: number,
    private readonly head: number,
    private readonly backend: NativeBackend,
    private readonly control?: Control,
  ) {
    this.key = `layer ${layer} head ${head}`;
  }

  /** With V, so the mask and the evaluation share one read. */
  inputs(): Promise<AttentionInputs> {
    return this.cache.memo(`${this.key} inputs`, () => headInputs(this.capture, this.layer, this.head, true), typedArrayBytes, this.control);
  }

  async dense(sampling: RowSampling, rows: Int32Array): Promise<AttentionResult> {
    const inputs = await this.inputs();
    const compute = () => this.native.denseAttention(inputs, { backend: this.backend, rows }, nativeControl(this.control));
    return this.cache.memo(`${this.key} dense ${this.backend} ${JSON.stringify(sampling)}`, compute, typedArrayBytes, this.control);
  }

  async index(pattern: HeadPattern, lastQ = DEFAULT_LAST_Q, methodSettings?: MethodSettings): Promise<SparseIndex> {
    const inputs = await this.inputs();
    const options = { backend: this.backend, lastQ, ...methodIndexOptions(methodSettings) };
    const compute = () => this.native.buildIndex(inputs, encodePatterns([pattern]), options, nativeControl(this.control));
    return this.cache.memo(`${this.key} index ${JSON.stringify({ ...options, ...pattern })}`, compute, typedArrayBytes, this.control);
  }
}

/**
 * Fraction of each cell's causal entries the kernel computes, over a region's grid.
 * Rows of one query block that share a cell row list the same spans, and keys below the block's
 * first row are causal for all of them: that part is added once per (block, cell row), weighted by
 * its row count, and only keys inside the block are walked row by row. A-shape windows move with
 * the row, so those heads are walked row by row entirely.
 */
export function maskCoverage(index: SparseIndex, region: Region, rows: number, cols: number): Float32Array<ArrayBuffer> {
  const computed = new Float64Array(rows * cols);
  const causal = new Float64Array(rows * cols);
  const colEdges = Int32Array.from({ length: cols + 1 }, (_, c) => cellEdge(region.colStart, region.colEnd, cols, c));
  const addSpan = (target: Float64Array, rowCell: number, from: number, to: number, weight: number): void => {
    const lo = Math.max(from, region.colStart);
    const hi = Math.min(to, region.colEnd);
    if (hi <= lo) return;
    let c = Math.min(cols - 1, Math.floor(((lo - region.colStart) * cols) / (region.colEnd - region.colStart)));
    while (colEdges[c]! > lo) c--;
    for (let x = lo; x < hi && c < cols; c++) {
      const cellEnd = Math.min(hi, colEdges[c + 1]!);
      if (cellEnd > x) target[rowCell * cols + c]! += weight * (cellEnd - x);
      x = Math.max(x, cellEnd);
    }
  };
  const windowed = index.window[0]! >= 0;
  for (let r = 0; r < rows; r++) {
    const cellRowEnd = cellEdge(region.rowStart, region.rowEnd, rows, r + 1);
    for (let i = cellEdge(region.rowStart, region.rowEnd, rows, r); i < cellRowEnd; ) {
      const block = Math.floor(i / BLOCK);
      const groupEnd = Math.min(cellRowEnd, (block + 1) * BLOCK);
      const sharedEnd = windowed ? 0 : block * BLOCK;
      const groupRows = groupEnd - i;
      addSpan(causal, r, 0, sharedEnd, groupRows);
      forEachBlockSpan(index, 0, block, 0, (from, to) => addSpan(computed, r, from, Math.min(to, sharedEnd), groupRows));
      for (; i < groupEnd; i++) {
        addSpan(causal, r, sharedEnd, i + 1, 1);
        for (const [from, to] of computedIntervals(index, 0, i, sharedEnd)) addSpan(computed, r, from, to, 1);
      }
    }
  }
  const coverage = new Float32Array(rows * cols);
  for (let cell = 0; cell < coverage.length; cell++) if (causal[cell]! > 0) coverage[cell] = computed[cell]! / causal[cell]!;
  return coverage;
}

export async function maskGeometry(native: NativeModule, capture: Capture, params: HeadParams<'head.mask'>, control?: Control, cache = new HeadCache()): Promise<MaskGeometry> {
  const { backend } = resolveBackend(native, 'auto', capture.summary);
  const region = clampRegion(params.region, capture.summary.seqLen);
  const { rows, cols } = gridOf(region, params.resolution);
  const index = await new CachedHead(native, capture, cache, params.layer, params.head, backend, control).index(params.pattern, DEFAULT_LAST_Q, params.methodSettings);
  throwIfCancelled(control);
  const inColumns = (j: number): boolean => j >= region.colStart && j < region.colEnd;
  return {
    region,
    rows,
    cols,
    coverage: maskCoverage(index, region, rows, cols),
    slashOffsets: Array.from(index.slashes.subarray(index.slashOffsets[0], index.slashOffsets[1])),
    verticalColumns: Array.from(index.verticals.subarray(index.verticalOffsets[0], index.verticalOffsets[1])).filter(inColumns),
    density: index.density[0] ?? 0,
  };
}

/** Mean of per-row values pooled into `bins` bins over [rowStart, rowEnd); NaN where no row fell. */
function binRows(rows: Int32Array, values: Float32Array, rowStart: number, rowEnd: number, bins: number): Float32Array<ArrayBuffer> {
  const sums = new Float64Array(bins);
  const counts = new Int32Array(bins);
  rows.forEach((row, r) => {
    const bin = Math.min(bins - 1, Math.floor(((row - rowStart) * bins) / (rowEnd - rowStart)));
    sums[bin]! += values[r]!;
    counts[bin]!++;
  });
  return Float32Array.from(sums, (sum, bin) => (counts[bin] ? sum / counts[bin]! : NaN));
}

/**
 * A budget change re-evaluates the same head: with the worker's cache, only the index of the new
 * pattern, the sparse pass and the recall run again. Recall and error are on the sampled rows; the
 * times and speedup are predicted by the backend's cost model (timing a few rows is no speedup).
 */
export async function evaluateHead(native: NativeModule, capture: Capture, params: HeadParams<'head.evaluate'>, control?: Control, cache = new HeadCache()): Promise<HeadEvaluation> {
  const { backend } = resolveBackend(native, params.backend, capture.summary);
  const { seqLen } = capture.summary;
  const rows = evaluatedRows(seqLen, params.sampling);
  const head = new CachedHead(native, capture, cache, params.layer, params.head, backend, control);
  const inputs = await head.inputs();
  const opts = { backend, rows };
  const dense = await head.dense(params.sampling, rows);
  const index = await head.index(params.pattern, params.lastQ, params.methodSettings);
  throwIfCancelled(control);
  const sparse = await native.sparseAttention(inputs, index, opts, nativeControl(control));
  throwIfCancelled(control);
  const { recall } = await native.recall(inputs, index, { ...opts, denseLse: dense.lse }, nativeControl(control));
  const rowStart = evaluatedRowStart(seqLen);
  const density = index.density[0] ?? 0;
  const predicted = predictTimes(await costModel(native, inputs, backend, control), params.pattern, index);
  return {
    stats: {
      layer: params.layer,
      head: params.head,
      pattern: params.pattern.pattern,
      params: [params.pattern.a, params.pattern.b],
      recall: recall.reduce((sum, value) => sum + value, 0) / Math.max(1, recall.length),
      outputRelError: relativeError(sparse.out, dense.out),
      density,
      rowsUsed: rows.length,
      ...predicted,
      speedup: speedupOf(predicted.denseMs, predicted.indexMs, predicted.sparseMs),
      speedupKind: 'predicted',
    },
    rowRecall: { rowStart, rowEnd: seqLen, recall: binRows(rows, recall, rowStart, seqLen, Math.min(params.stripRows, seqLen - rowStart)) },
  };
}

export async function budgetCurve(native: NativeModule, capture: Capture, params: HeadParams<'head.budgetCurve'>, control?: Control): Promise<BudgetCurve> {
  const { backend } = resolveBackend(native, 'auto', capture.summary);
  const { seqLen } = capture.summary;
  const configured = withIndexOptions(native, methodIndexOptions(params.methodSettings));
  const rows = evaluatedRows(seqLen, params.sampling);
  const probe = new HeadProbe(configured, await headInputs(capture, params.layer, params.head, true), backend, rows, control, { indexForRows: true });
  const points: BudgetCurve['points'] = [];
  for (const pattern of familyLadder(params.pattern, seqLen)) {
    const { recall, density } = await probe.measure(pattern as HeadPattern);
    points.push({ a: pattern.a, b: pattern.b, recall, density });
  }
  return { pattern: params.pattern, points };
}
