/**
 * Recall and density of candidate patterns for one head, against the dense log-sum-exp of the
 * evaluated rows (computed once). The search, the budget curve and the head evaluation share it.
 */
import type { HeadPattern } from '../../../contract/api.js';
import type { AttentionInputs, NativeBackend, NativeModule, SparseIndex } from '../native-api.js';
import { encodePatterns, mean, nativeControl, throwIfCancelled, type Control } from './common.js';

export interface PatternMeasure {
  pattern: HeadPattern;
  /** Mean over the evaluated rows of the attention mass the kernel computes. */
  recall: number;
  rowRecall: Float32Array;
  density: number;
  index: SparseIndex;
}

export class HeadProbe {
  private denseLse: Float32Array | null = null;
  private readonly measured = new Map<string, PatternMeasure>();

  constructor(
    private readonly native: NativeModule,
    readonly inputs: AttentionInputs,
    private readonly backend: NativeBackend,
    readonly rows: Int32Array,
    private readonly control?: Control,
  ) {}

  async lse(): Promise<Float32Array> {
    if (!this.denseLse) {
      throwIfCancelled(this.control);
      const dense = await this.native.denseAttention(this.inputs, { backend: this.backend, rows: this.rows }, nativeControl(this.control));
      this.denseLse = dense.lse;
    }
    return this.denseLse;
  }

  async index(pattern: HeadPattern): Promise<SparseIndex> {
    throwIfCancelled(this.control);
    return this.native.buildIndex(this.inputs, encodePatterns([pattern]), { backend: this.backend }, nativeControl(this.control));
  }

  async measure(pattern: HeadPattern): Promise<PatternMeasure> {
    const key = `${pattern.pattern}:${pattern.a}:${pattern.b}`;
    const known = this.measured.get(key);
    if (known) return known;
    const denseLse = await this.lse();
    const index = await this.index(pattern);
    throwIfCancelled(this.control);
    const { recall } = await this.native.recall(this.inputs, index, { backend: this.backend, rows: this.rows, denseLse }, nativeControl(this.control));
    const result: PatternMeasure = { pattern, recall: mean(recall), rowRecall: recall, density: index.density[0] ?? 1, index };
    this.measured.set(key, result);
    return result;
  }
}
