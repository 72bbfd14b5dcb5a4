/** What a head pattern's two parameters mean, their ranges, and the log-scale slider mapping. */
import type { HeadPattern, PatternName } from '../../../contract/api';

export interface ParamSpec {
  label: string;
  min: number;
  max: number;
  hint: string;
}

/** What a and b mean for each pattern, and their useful ranges for a sequence of n tokens. */
export function paramSpecs(pattern: PatternName, seqLen: number): [ParamSpec, ParamSpec] | [ParamSpec] | [] {
  const blocks = Math.max(1, Math.ceil(seqLen / 64));
  switch (pattern) {
    case 'vertical_and_slash':
      return [
        { label: 'vertical_size', min: 30, max: Math.max(30, seqLen), hint: 'key columns kept (at least 30)' },
        { label: 'slash_size', min: 50, max: Math.max(50, seqLen), hint: 'diagonals kept (at least 50)' },
      ];
    case 'stream_llm':
      return [
        { label: 'n_init (sink)', min: 0, max: Math.max(1, Math.min(seqLen, 4096)), hint: 'first tokens every row attends to' },
        { label: 'n_local (window)', min: 1, max: Math.max(1, seqLen), hint: 'local window width' },
      ];
    case 'block_sparse':
      return [{ label: 'top_k blocks', min: 1, max: blocks, hint: '64-token key blocks kept per query block' }];
    case 'dense':
      return [];
    case 'xattention':
      return [
        { label: 'threshold (‰)', min: 1, max: 1000, hint: 'share of each query block\'s estimated mass kept, in thousandths' },
        { label: 'stride', min: 1, max: 128, hint: 'antidiagonal stride of the estimate (divides the block)' },
      ];
    case 'flexprefill':
      return [
        { label: 'gamma (‰)', min: 1, max: 1000, hint: 'cumulative attention kept, in thousandths' },
        { label: 'tau (‰)', min: 0, max: 1000, hint: 'JS-distance threshold for a query-aware head, in thousandths' },
      ];
  }
}

/** Log-scale slider position (0..1000) <-> integer value, so small budgets stay reachable. */
export const SLIDER_STEPS = 1000;
export function sliderToValue(position: number, spec: Pick<ParamSpec, 'min' | 'max'>): number {
  const low = Math.log(spec.min + 1);
  const high = Math.log(spec.max + 1);
  return Math.round(Math.exp(low + ((high - low) * position) / SLIDER_STEPS) - 1);
}
export function valueToSlider(value: number, spec: Pick<ParamSpec, 'min' | 'max'>): number {
  const low = Math.log(spec.min + 1);
  const high = Math.log(spec.max + 1);
  return high > low ? Math.round(((Math.log(value + 1) - low) / (high - low)) * SLIDER_STEPS) : 0;
}

/** Sensible starting values when the user switches a head to another pattern. */
export function defaultsFor(pattern: PatternName, seqLen: number): HeadPattern {
  switch (pattern) {
    case 'vertical_and_slash':
      return { pattern, a: Math.min(1000, seqLen), b: Math.min(6096, seqLen) };
    case 'stream_llm':
      return { pattern, a: 100, b: Math.min(800, seqLen) };
    case 'block_sparse':
      return { pattern, a: Math.min(100, Math.ceil(seqLen / 64)), b: 0 };
    case 'dense':
      return { pattern, a: 0, b: 0 };
    case 'xattention':
      return { pattern, a: 900, b: 8 };
    case 'flexprefill':
      return { pattern, a: 950, b: 100 };
  }
}

