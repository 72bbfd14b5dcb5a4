/**
 * Head types and budgets of the synthetic generator, summarised from the real MInference head
 * configs in test/fixtures/minference-configs/ (MInference repo, minference/configs/, commit
 * fb56c917: Llama-3-8B-262k 32x32, Phi-3-mini-128k 32x32, Qwen2.5-7B-1M 28x28, GLM-4-9B-1M 40x32;
 * 4112 heads in all). Counted with a one-off script over the four files:
 *
 *   pattern              heads   share
 *   vertical_and_slash    4069   98.95 %
 *   stream_llm              43    1.05 %   (all in Phi-3, all (100, 800))
 *   block_sparse             0    0 %
 *
 *   vertical_and_slash budget (v, s)   Llama  Phi-3  Qwen   GLM   total
 *   (1000, 6096)                         473    277   321  1026    2097
 *   (3500, 100)                           89    378     7   145     619
 *   (30, 800)                            278     50    72    77     477
 *   (100, 800) / (100, 750)              153    184    19    14     370
 *   (500, 700)                            31     92    17    18     158
 *   Qwen's wide budgets (v 3048..22032, s 4196..24528)         348
 */
import type { HeadPattern, PatternName } from '../../../contract/api.js';

export interface BudgetClass {
  /** The real config budget this class stands for, written into `planted`. */
  vertical: number;
  slash: number;
  /** Heads of the four real configs with this budget. */
  count: number;
}

export const VS_BUDGETS: readonly BudgetClass[] = [
  { vertical: 1000, slash: 6096, count: 2097 },
  { vertical: 3500, slash: 100, count: 619 },
  { vertical: 30, slash: 800, count: 477 },
  { vertical: 100, slash: 800, count: 370 },
  { vertical: 500, slash: 700, count: 158 },
  { vertical: 3048, slash: 8144, count: 348 },
];

/**
 * Share of each head family in a synthetic capture. The real configs are 99% Vertical-Slash; an
 * inspector's demo and the search's tests need every family present, so A-shape and
 * Block-Sparse heads are deliberately over-sampled and a rare dense-ish head is added.
 */
/** The families a synthetic capture plants: MInference's, and dense. */
export type PlantedFamily = Extract<PatternName, 'vertical_and_slash' | 'stream_llm' | 'block_sparse' | 'dense'>;

export const FAMILY_MIX: Readonly<Record<PlantedFamily, number>> = {
  vertical_and_slash: 0.66,
  stream_llm: 0.16,
  block_sparse: 0.14,
  dense: 0.04,
};

/** The real A-shape budget (n_init, n_local): every stream_llm head of the fixtures uses it. */
export const STREAM_BUDGET: HeadPattern = { pattern: 'stream_llm', a: 100, b: 800 };

/** MInference's default Block-Sparse budget (top_k key blocks). */
export const BLOCK_SPARSE_DEFAULT_TOP_K = 100;
