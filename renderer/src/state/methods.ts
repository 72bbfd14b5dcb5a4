/**
 * The sparse-attention methods compared per head (issue 15), as the Methods view and the overview
 * show them: their names, each one's pattern at its published defaults, the pattern each shows for
 * a head (the search's choice, the user's edit, the config's or the default), and which one wins.
 * Pure, so the rules are tested without a view.
 */
import { DUO_STREAMING_HEAD, MINFERENCE_DEFAULT_HEAD, SearchMethod, type HeadComparison, type HeadPattern, type HeadStats, type MethodChoice, type PatternName } from '../../../contract/api';
import { headKey } from './config';
import { defaultsFor } from './params';

export const SEARCH_METHODS: readonly SearchMethod[] = SearchMethod.options;

export const METHOD_LABEL: Record<SearchMethod, string> = {
  minference: 'MInference',
  xattention: 'XAttention',
  flexprefill: 'FlexPrefill',
  duo: 'DuoAttention',
};

/** A few letters for a grid cell. */
export const METHOD_SHORT: Record<SearchMethod, string> = { minference: 'MInf', xattention: 'XAttn', flexprefill: 'Flex', duo: 'Duo' };

/** What each method decides per head, in a few words (legends, checkboxes). */
export const METHOD_HINT: Record<SearchMethod, string> = {
  minference: 'one of Vertical-Slash, A-shape, Block-Sparse or dense, with a budget',
  xattention: 'blocks scored by antidiagonal sums, kept until a threshold of the mass',
  flexprefill: 'query-aware blocks or Vertical-Slash by a divergence test, budget by gamma',
  duo: 'streaming (sink + recent window) or dense, per KV head',
};

/** The patterns MInference chooses among (its config's `attn_type`s, and dense). */
export const MINFERENCE_PATTERNS: readonly PatternName[] = ['vertical_and_slash', 'stream_llm', 'block_sparse', 'dense'];

/**
 * Each method at its published defaults: MInference's missing-head default, XAttention threshold
 * 0.9 at stride 8, FlexPrefill gamma 0.9 and tau 0.1, DuoAttention streaming with sink 64 and recent 256.
 */
export const METHOD_DEFAULT_PATTERN: Readonly<Record<SearchMethod, HeadPattern>> = {
  minference: { pattern: MINFERENCE_DEFAULT_HEAD.pattern, a: MINFERENCE_DEFAULT_HEAD.a, b: MINFERENCE_DEFAULT_HEAD.b },
  xattention: { pattern: 'xattention', a: 900, b: 8 },
  flexprefill: { pattern: 'flexprefill', a: 900, b: 100 },
  duo: { ...DUO_STREAMING_HEAD },
};

/** The patterns a user may give a method in the Methods view (MInference's four, DuoAttention's two). */
export function methodPatternChoices(method: SearchMethod): readonly PatternName[] {
  return method === 'minference' ? MINFERENCE_PATTERNS : method === 'duo' ? ['stream_llm', 'dense'] : [METHOD_DEFAULT_PATTERN[method].pattern];
}

/** A method switched to another of its patterns: DuoAttention's streaming at its defaults, MInference's as Tune starts it. */
export function methodPatternAt(method: SearchMethod, pattern: PatternName, seqLen: number): HeadPattern {
  return method === 'duo' && pattern === 'stream_llm' ? METHOD_DEFAULT_PATTERN.duo : defaultsFor(pattern, seqLen);
}

/** Where a method's pattern for the head comes from. */
export type MethodSource = 'search' | 'edited' | 'config' | 'default';

export interface MethodEntry {
  method: SearchMethod;
  pattern: HeadPattern;
  source: MethodSource;
  /** The search's choice (measured on every evaluated row) when the pattern is that choice. */
  choice: MethodChoice | null;
}

/** Parameter edits per method, laid over whatever the head would show otherwise. */
export type MethodOverrides = Partial<Record<SearchMethod, HeadPattern>>;

export const patternOfStats = (stats: Pick<HeadStats, 'pattern' | 'params'>): HeadPattern => ({ pattern: stats.pattern, a: stats.params[0], b: stats.params[1] });

export const patternKey = (pattern: HeadPattern): string => `${pattern.pattern}:${pattern.a}:${pattern.b}`;

export function comparisonOf(comparison: HeadComparison[] | undefined, layer: number, head: number): HeadComparison | null {
  return comparison?.find((c) => c.layer === layer && c.head === head) ?? null;
}

/**
 * Every method's pattern for one head: the user's edit, else the search's choice, else (MInference
 * only) the config's pattern where it is one of MInference's, else the method's default.
 */
export function methodEntries(comparison: HeadComparison | null, configEntry: HeadPattern, overrides: MethodOverrides): MethodEntry[] {
  return SEARCH_METHODS.map((method): MethodEntry => {
    const edited = overrides[method];
    if (edited) return { method, pattern: edited, source: 'edited', choice: null };
    const choice = comparison?.choices.find((c) => c.method === method);
    if (choice) return { method, pattern: patternOfStats(choice.stats), source: 'search', choice };
    if (method === 'minference' && MINFERENCE_PATTERNS.includes(configEntry.pattern)) {
      return { method, pattern: { pattern: configEntry.pattern, a: configEntry.a, b: configEntry.b }, source: 'config', choice: null };
    }
    return { method, pattern: METHOD_DEFAULT_PATTERN[method], source: 'default', choice: null };
  });
}

/** Whether a method's pattern keeps the target: the search's verdict for its choice, else the recall shown. */
export function holdsTarget(entry: MethodEntry, stats: HeadStats | null, target: number): boolean | null {
  if (entry.choice) return entry.choice.holds;
  return stats ? stats.recall >= target - 1e-9 : null;
}

export interface Winner {
  method: SearchMethod | null;
  /** `search`: the search's own verdict; `shown`: worked out here from the numbers on screen. */
  from: 'search' | 'shown';
}

/**
 * The winner: the search's where every method shows its search choice; else, from the numbers
 * shown, the least index + sparse time among the methods that keep the target (ties to the earlier
 * method, as the search breaks them); null when none keeps it.
 */
export function methodWinner(entries: MethodEntry[], stats: Partial<Record<SearchMethod, HeadStats>>, comparison: HeadComparison | null, target: number): Winner {
  if (comparison && entries.every((e) => e.source === 'search')) return { method: comparison.winner, from: 'search' };
  let best: { method: SearchMethod; cost: number } | null = null;
  for (const entry of entries) {
    const shown = entry.choice?.stats ?? stats[entry.method] ?? null;
    if (!shown || !holdsTarget(entry, shown, target)) continue;
    const cost = shown.indexMs + shown.sparseMs;
    if (!best || cost < best.cost) best = { method: entry.method, cost };
  }
  return { method: best?.method ?? null, from: 'shown' };
}

/** The winning method of every compared head, by head key. */
export function winnersByHead(comparison: HeadComparison[] | undefined): Map<string, SearchMethod> {
  return new Map((comparison ?? []).map((c) => [headKey(c.layer, c.head), c.winner]));
}

export function countWinners(winners: Map<string, SearchMethod>): Record<SearchMethod, number> {
  const counts = Object.fromEntries(SEARCH_METHODS.map((m) => [m, 0])) as Record<SearchMethod, number>;
  for (const method of winners.values()) counts[method]++;
  return counts;
}
