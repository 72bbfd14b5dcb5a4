/**
 * Recall and density of candidate patterns for one head, against the dense attention of the
 * evaluated rows (computed once). The search, the budget curve and the analysis share it.
 */
import type { HeadPattern } from '../../../contract/api.js';
import type { AttentionInputs, AttentionResult, NativeBackend, NativeModule, SparseIndex } from '../native-api.js';
import { encodePatterns, meanRecall, nativeControl, throwIfCancelled, type Control } from './common.js';

export interface PatternMeasure {
  pattern: HeadPattern;
  /** Mean over the evaluated rows of the attention mass the kernel computes. */
  recall: number;
  rowRecall: Float32Array;
  density: number;
  index: SparseIndex;
}

/** One head's probes: on every evaluated row (`exact`) and on the search's sample (`sampled`; the same probe when the sample is every row). */
export interface HeadProbes {
  exact: HeadProbe;
  sampled: HeadProbe;
}

/**
 * `run` with one head's probes. On CUDA the head's q/k/v stay on the device for all their calls: a
 * search measures a head dozens of times, and each call would upload them again (768 MiB per call
 * at 1M tokens, head dim 128). `exactDense`: the exact probe's dense result (exact.dense()) from an
 * earlier visit of the same head and rows, which it then need not compute again.
 */
export async function withHeadProbes<T>(
  native: NativeModule,
  inputs: AttentionInputs,
  backend: NativeBackend,
  rows: { sampled: Int32Array; all: Int32Array },
  control: Control | undefined,
  run: (probes: HeadProbes) => Promise<T>,
  exactDense?: AttentionResult,
): Promise<T> {
  const resident = backend === 'cuda' ? native.residentInputs?.(inputs) : undefined;
  const onDevice = resident ? { ...inputs, resident } : inputs;
  try {
    const exact = new HeadProbe(native, onDevice, backend, rows.all, control, exactDense ? { dense: exactDense } : {});
    const sampled = rows.sampled.length < rows.all.length ? new HeadProbe(native, onDevice, backend, rows.sampled, control, { indexForRows: true }) : exact;
    return await run({ exact, sampled });
  } finally {
    if (resident) native.releaseResident?.(resident);
  }
}

export class HeadProbe {
  private denseOnRows: Promise<AttentionResult> | null = null;
  private readonly measured = new Map<string, PatternMeasure>();

  constructor(
    private readonly native: NativeModule,
    readonly inputs: AttentionInputs,
    private readonly backend: NativeBackend,
    readonly rows: Int32Array,
    private readonly control?: Control,
    /**
     * indexForRows: build each index for the probe's rows only (IndexOptions.rows), for probes whose
     * measures serve recall alone (a search's sample, a budget curve), never the full-row sparse
     * pass. dense: the dense result of these rows, known already (see withHeadProbes).
     */
    private readonly options: { indexForRows?: boolean; dense?: AttentionResult } = {},
  ) {
    if (options.dense) this.denseOnRows = Promise.resolve(options.dense);
  }

  /** Dense log-sum-exp of the evaluated rows (no output: recall needs only this), computed once. */
  dense(): Promise<AttentionResult> {
    if (!this.denseOnRows) {
      throwIfCancelled(this.control);
      this.denseOnRows = this.native.denseAttention(this.inputs, { backend: this.backend, rows: this.rows, output: 'lse' }, nativeControl(this.control));
      this.denseOnRows.catch(() => (this.denseOnRows = null));
    }
    return this.denseOnRows;
  }

  /** The index of `pattern`, only ever passed back to the addon: its lists stay there unless built for the probe's rows (small). */
  async index(pattern: HeadPattern): Promise<SparseIndex> {
    throwIfCancelled(this.control);
    const lists = this.options.indexForRows ? { rows: this.rows } : { output: 'native' as const };
    return this.native.buildIndex(this.inputs, encodePatterns([pattern]), { backend: this.backend, ...lists }, nativeControl(this.control));
  }

  /** Recall and density of `pattern`; `built` is this head's index when the caller has it (a head of its batch's index), else it is built here. */
  async measure(pattern: HeadPattern, built?: SparseIndex): Promise<PatternMeasure> {
    const key = `${pattern.pattern}:${pattern.a}:${pattern.b}`;
    const known = this.measured.get(key);
    if (known) return known;
    const { lse: denseLse } = await this.dense();
    const index = built ?? (await this.index(pattern));
    throwIfCancelled(this.control);
    const { recall } = await this.native.recall(this.inputs, index, { backend: this.backend, rows: this.rows, denseLse }, nativeControl(this.control));
    const result: PatternMeasure = { pattern, recall: meanRecall(recall), rowRecall: recall, density: index.density[0] ?? 1, index };
    this.measured.set(key, result);
    return result;
  }

  /** The sparse pre-fill of a measured pattern over every row of the sequence, for its time: the output stays native-side. */
  async sparseAllRows(measure: PatternMeasure): Promise<AttentionResult> {
    throwIfCancelled(this.control);
    return this.native.sparseAttention(this.inputs, measure.index, { backend: this.backend, output: false }, nativeControl(this.control));
  }

  /** The relative output error of a measured pattern against dense on the evaluated rows; neither output leaves the addon. */
  async outputError(measure: PatternMeasure): Promise<number> {
    throwIfCancelled(this.control);
    const { relError } = await this.native.outputError(this.inputs, measure.index, { backend: this.backend, rows: this.rows }, nativeControl(this.control));
    return relError[0] ?? 0;
  }
}
