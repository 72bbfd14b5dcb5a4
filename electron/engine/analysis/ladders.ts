/**
 * Budget ladders of each pattern family. Along a track every step computes a superset of the
 * previous step's set (top-k of the same scores, wider windows), so recall and density only grow:
 * the search can bisect a track and stop as soon as a step costs more than the best found.
 */
import type { HeadPattern, PatternName } from '../../../contract/api.js';
import { BLOCK, causalEntries } from './common.js';

/** A monotone one-parameter family of patterns: budget in [min, max] -> pattern. */
export interface Track {
  label: string;
  min: number;
  max: number;
  at(budget: number): HeadPattern;
}

/**
 * Density a pattern will have, from its budget alone (no data): row i keeps min(i + 1, c) keys for a
 * per-pattern c. The search uses it to skip budgets that cannot beat the best config found so far,
 * dozens of times a head, so it is summed in closed form rather than row by row (at 1M tokens a
 * row-by-row sum took about a second of every head's search).
 */
export function expectedDensity(pattern: HeadPattern, seqLen: number): number {
  let keysPerRow: number;
  switch (pattern.pattern) {
    case 'stream_llm':
      // min(i + 1, n_init) sink keys, then the local window up to n_local more.
      keysPerRow = Math.max(0, pattern.a) + Math.max(0, pattern.b);
      break;
    case 'vertical_and_slash':
      // Slash windows add about half a tile on average; verticals are loose columns.
      keysPerRow = Math.max(pattern.a, VS_MIN_VERTICAL) + Math.max(pattern.b, VS_MIN_SLASH) + BLOCK / 2;
      break;
    case 'block_sparse':
      keysPerRow = Math.max(1, pattern.a) * BLOCK;
      break;
    case 'dense':
      return 1;
    case 'xattention':
    case 'flexprefill':
      // Data-dependent: at least the diagonal and first blocks each method always keeps (blocks of 128 or more).
      keysPerRow = 2 * METHOD_MIN_BLOCK;
      break;
  }
  return keptEntries(keysPerRow, seqLen) / causalEntries(seqLen);
}

/** Sum over rows i < seqLen of min(i + 1, c): the causal triangle up to row c, then c a row. */
export function keptEntries(c: number, seqLen: number): number {
  const full = Math.min(seqLen, Math.max(0, Math.floor(c)));
  return causalEntries(full) + (seqLen - full) * Math.max(0, c);
}

/** The smallest block the estimates of XAttention and FlexPrefill use by default. */
const METHOD_MIN_BLOCK = 128;

/** MInference's forced minimums (spec 2.1): v' >= 30, s' >= 50. */
export const VS_MIN_VERTICAL = 30;
export const VS_MIN_SLASH = 50;
/**
 * Vertical budgets tried by the target-recall search, each with its own slash track, in the order
 * real heads most often end on (the fixtures' configs: half of their heads at 1000 verticals, a
 * quarter at 3000 or more): a cheap config found early lets each later track stop at its first,
 * cheap measure. From 30 up, each track of a long head began at its most affordable budget
 * (density 0.8 at 1M) and bisected down from there; at 256K on the CPU this order took 33 s and
 * 23 measures for a (1000, 6096) head where ascending verticals took 165 s and 47, same choice.
 */
const VS_VERTICALS = [1000, 3000, 300, 100, 30];
/**
 * The track along `pattern`'s main budget, up to the pattern's own budget (`budget`): the larger
 * of Vertical-Slash's two (most of its density), the A-shape window, Block-Sparse's top_k; null
 * for families without one.
 */
export function trackBelow(pattern: HeadPattern): { track: Track; budget: number } | null {
  const line = (label: string, min: number, budget: number, at: (value: number) => HeadPattern) => (budget > min ? { track: { label, min, max: budget, at }, budget } : null);
  switch (pattern.pattern) {
    case 'vertical_and_slash':
      return pattern.a >= pattern.b
        ? line(`vertical_and_slash s ${pattern.b}`, VS_MIN_VERTICAL, pattern.a, (a) => ({ ...pattern, a }))
        : line(`vertical_and_slash v ${pattern.a}`, VS_MIN_SLASH, pattern.b, (b) => ({ ...pattern, b }));
    case 'stream_llm':
      return line(`stream_llm n_init ${pattern.a}`, STREAM_MIN_WINDOW, pattern.b, (b) => ({ ...pattern, b }));
    case 'block_sparse':
      return line('block_sparse', 1, pattern.a, (a) => ({ ...pattern, a }));
    default:
      return null;
  }
}

/** A-shape sink budgets: a few sink tokens, or MInference's larger initial window. */
const STREAM_INITS = [16, 128];
/** The narrowest A-shape local window the search tries. */
const STREAM_MIN_WINDOW = 16;

export function searchTracks(seqLen: number): Track[] {
  const blocks = Math.ceil(seqLen / BLOCK);
  const streamTracks: Track[] = STREAM_INITS.filter((nInit) => nInit < seqLen).map((nInit) => ({
    label: `stream_llm n_init ${nInit}`,
    min: STREAM_MIN_WINDOW,
    max: seqLen,
    at: (nLocal: number): HeadPattern => ({ pattern: 'stream_llm', a: nInit, b: nLocal }),
  }));
  // Cheap-to-evaluate tracks first: a good early config lets later tracks stop at once.
  const tracks: Track[] = streamTracks.slice(0, 1);
  tracks.push({ label: 'block_sparse', min: 1, max: blocks, at: (topK: number): HeadPattern => ({ pattern: 'block_sparse', a: topK, b: 0 }) });
  for (const vertical of VS_VERTICALS.filter((v) => v <= seqLen)) {
    tracks.push({
      label: `vertical_and_slash v ${vertical}`,
      min: VS_MIN_SLASH,
      max: seqLen,
      at: (slash: number): HeadPattern => ({ pattern: 'vertical_and_slash', a: vertical, b: slash }),
    });
  }
  tracks.push(...streamTracks.slice(1));
  return tracks;
}

/** MInference's candidate set (its offline search), plus Block-Sparse at its default top_k. */
export const MINFERENCE_CANDIDATES: readonly HeadPattern[] = [
  { pattern: 'stream_llm', a: 100, b: 800 },
  { pattern: 'vertical_and_slash', a: 30, b: 800 },
  { pattern: 'vertical_and_slash', a: 100, b: 750 },
  { pattern: 'vertical_and_slash', a: 500, b: 700 },
  { pattern: 'vertical_and_slash', a: 3500, b: 100 },
  { pattern: 'block_sparse', a: 100, b: 0 },
];

/** Geometric budgets from `min` to `max` (inclusive), about `steps` of them. */
function geometric(min: number, max: number, steps: number): number[] {
  const values = new Set<number>();
  for (let s = 0; s < steps; s++) values.add(Math.round(min * (max / min) ** (s / (steps - 1))));
  return [...values].sort((a, b) => a - b);
}

/** Points of the recall-versus-budget curve of a family, smallest budget first. */
export function familyLadder(pattern: PatternName, seqLen: number): HeadPattern[] {
  const steps = 12;
  switch (pattern) {
    case 'stream_llm':
      return geometric(16, seqLen, steps).map((nLocal) => ({ pattern, a: Math.min(128, seqLen), b: nLocal }));
    case 'vertical_and_slash':
      // Verticals and slashes grow together, in MInference's typical 1:6 proportion.
      return geometric(VS_MIN_SLASH, seqLen, steps).map((slash) => ({ pattern, a: Math.max(VS_MIN_VERTICAL, Math.round(slash / 6)), b: slash }));
    case 'block_sparse':
      return geometric(1, Math.ceil(seqLen / BLOCK), steps).map((topK) => ({ pattern, a: topK, b: 0 }));
    case 'dense':
      return [{ pattern, a: 0, b: 0 }];
    case 'xattention':
      return THRESHOLD_LADDER.map((threshold) => ({ pattern, a: threshold, b: XATTENTION_STRIDE }));
    case 'flexprefill':
      return THRESHOLD_LADDER.map((gamma) => ({ pattern, a: gamma, b: FLEXPREFILL_TAU }));
  }
}

/** Thresholds in thousandths for the curves of the mass-threshold methods, finer towards 1. */
const THRESHOLD_LADDER = [300, 500, 700, 800, 850, 900, 930, 950, 970, 980, 990, 1000];
/** XAttention's stride and FlexPrefill's tau in MInference's and the papers' defaults (8; 0.1). */
export const XATTENTION_STRIDE = 8;
export const FLEXPREFILL_TAU = 100;
