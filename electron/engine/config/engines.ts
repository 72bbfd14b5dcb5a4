/**
 * What each engine runs for a head as written, and how a Sparsescope head is written so that the
 * engine runs it (or, where it cannot, the closest pattern that covers at least as much).
 *
 * Read from microsoft/MInference (commit fb56c91) and the SGLang/vLLM dual-chunk backends:
 * - MInference, minference/modules/minference_forward.py (`minference_prefill_kernel`,
 *   `gather_last_q_vertical_slash_topk_v4`, `..._vllm`): `block_sparse_kernel` ignores the config's
 *   numbers and calls `block_sparse_attention(q, k, v, 100)`; in
 *   minference/ops/block_sparse_flash_attention.py top_k becomes min(100, padded N / 64) and the
 *   diagonal block is not forced (Sparsescope forces it, spec 2.1). `stream_llm` calls
 *   `streaming_forward(q, k, v, n_init, n_local)` (minference/ops/streaming_kernel.py) with no
 *   clamp: keys j < n_init or i - n_local < j <= i. `vertical_and_slash` clamps to
 *   min(N, max(v, 30)) and min(N, max(s, 50)), estimates from the last min(64, N) queries, forces
 *   columns < 30 and offsets < 100, and scores every offset 0..N-1 (`sum_all_diagonal_matrix(qk)
 *   [..., :-last_q + 1]` drops only the negative offsets; an offset beyond N - last_q sums the rows
 *   that reach it), as Sparsescope's estimate does. The offline `search_pattern` rewrites
 *   `stream_llm` winners to vertical_and_slash (same numbers) and `block_sparse` winners to
 *   vertical_and_slash (1000, 6096), so its files rarely hold those patterns. There is no length
 *   threshold and no last_q setting; layers below `starting_layer` run dense.
 * - SGLang python/sglang/srt/layers/attention/dual_chunk_flashattention_backend.py and vLLM
 *   vllm/attention/backends/dual_chunk_flash_attn.py: only vertical_and_slash runs (an assert
 *   stops the engine on other patterns); vertical_size 30 runs as 130; no 30/50 minimum sizes
 *   (sizes are only capped at N); same forced columns and offsets; the estimate uses the last
 *   min(sparse_attention_last_q, N) queries (default 64); sequences of at most
 *   sparse_attention_threshold tokens (default 32768) run dense. Longer inputs than one dual-chunk
 *   chunk (chunk_size - local_size) split into intra/succ/inter chunks, which Sparsescope does not
 *   model.
 */
import { DEFAULT_LAST_Q, methodSettingsOf, type CaptureSummary, type HeadConfig, type HeadConfigEntry, type HeadPattern, type MethodSettings } from '../../../contract/api.js';

/** The capture a config is imported for: the methods' files hold one setting for all heads or list KV heads. */
export type ConfigShape = Pick<CaptureSummary, 'numLayers' | 'numHeads' | 'numKvHeads'>;

/** Thresholds, gammas and taus are in thousandths (HeadPattern a/b of xattention and flexprefill). */
export const THOUSANDTHS = 1000;

/** Largest budget the contract accepts (HeadPattern a/b). */
export const MAX_BUDGET = 1 << 24;

/** Slash budget a dense head is exported with: all diagonals of contexts up to 1M tokens (or the capture's length if longer). */
export const DENSE_SLASH_BUDGET = 1 << 20;

/** Sparsescope's Vertical-Slash floors (MInference's clamp) and MInference's fixed block_sparse top_k. */
export const MIN_VERTICALS = 30;
export const MIN_SLASHES = 50;
const MINFERENCE_TOP_K = 100;
/** SGLang/vLLM run a written vertical_size of exactly 30 as 130. */
const SGLANG_BOOSTED_VERTICALS = 30;
const SGLANG_BOOST = 100;

export interface EngineDialect {
  /** The engine, in messages. */
  name: string;
  /** Why imported heads mean other numbers than written, and why an export converts heads. */
  readWhy: string;
  writeWhy: string;
  /** Rows of the Vertical-Slash estimate the engine runs `config` with. */
  lastQ(config: HeadConfig): number;
  /** What the engine computes for a head as written, in Sparsescope's terms; null when it cannot run it. */
  runs(written: HeadPattern): HeadPattern | null;
  /** What to write for a Sparsescope head: one the engine runs as the head, else the closest that covers at least as much. */
  write(head: HeadPattern, seqLen: number | undefined): HeadPattern;
}

export function patternOf({ pattern, a, b }: HeadPattern): HeadPattern {
  return { pattern, a, b };
}

/** Whether two heads compute the same set (parameters below a floor mean the floor). */
export function sameComputation(x: HeadPattern | null, y: HeadPattern): boolean {
  if (!x) return false;
  const canonical = ({ pattern, a, b }: HeadPattern): string => {
    if (pattern === 'vertical_and_slash') return `${pattern} ${Math.max(a, MIN_VERTICALS)} ${Math.max(b, MIN_SLASHES)}`;
    if (pattern === 'block_sparse') return `${pattern} ${Math.max(a, 1)}`;
    return pattern === 'dense' ? pattern : `${pattern} ${a} ${b}`;
  };
  return canonical(x) === canonical(y);
}

/** vertical_and_slash budgets that stand in for another pattern. */
function asVerticalSlash(head: HeadPattern, seqLen: number | undefined): HeadPattern {
  const vs = (a: number, b: number): HeadPattern => ({ pattern: 'vertical_and_slash', a: Math.min(MAX_BUDGET, a), b: Math.min(MAX_BUDGET, b) });
  switch (head.pattern) {
    case 'dense':
    case 'xattention':
    case 'flexprefill':
      // Every diagonal chosen computes every causal entry: the one Vertical-Slash sure to cover a data-dependent estimate.
      return vs(MIN_VERTICALS, Math.max(DENSE_SLASH_BUDGET, seqLen ?? 0));
    case 'stream_llm':
      // Same budget: sink columns become verticals, the local window becomes slashes (diagonals 0.. first).
      return vs(head.a, head.b);
    case 'block_sparse':
      // Same keys per query row: top_k blocks of 64 keys, split evenly between verticals and slashes.
      return vs(32 * head.a, 32 * head.a);
    case 'vertical_and_slash':
      return patternOf(head);
  }
}

export const MINFERENCE: EngineDialect = {
  name: 'MInference',
  readWhy: `MInference keeps ${MINFERENCE_TOP_K} blocks in every block_sparse head`,
  writeWhy: `MInference has no dense pattern and keeps ${MINFERENCE_TOP_K} blocks in every block_sparse head`,
  lastQ: () => DEFAULT_LAST_Q,
  runs(written) {
    if (written.pattern === 'dense') return null;
    return written.pattern === 'block_sparse' ? { ...patternOf(written), a: MINFERENCE_TOP_K } : patternOf(written);
  },
  write(head, seqLen) {
    if (head.pattern === 'dense' || head.pattern === 'xattention' || head.pattern === 'flexprefill') return asVerticalSlash(head, seqLen);
    return head.pattern === 'block_sparse' ? { ...patternOf(head), a: MINFERENCE_TOP_K } : patternOf(head);
  },
};

export const SGLANG: EngineDialect = {
  name: 'SGLang/vLLM',
  readWhy: `SGLang/vLLM run vertical_size ${SGLANG_BOOSTED_VERTICALS} as ${SGLANG_BOOSTED_VERTICALS + SGLANG_BOOST}`,
  writeWhy: `SGLang/vLLM run vertical_and_slash only, read vertical_size ${SGLANG_BOOSTED_VERTICALS} as ${SGLANG_BOOSTED_VERTICALS + SGLANG_BOOST} and have no ${MIN_VERTICALS}/${MIN_SLASHES} minimum sizes`,
  lastQ: (config) => config.runtime?.sparseAttentionLastQ ?? DEFAULT_LAST_Q,
  runs(written) {
    if (written.pattern !== 'vertical_and_slash') return null;
    return { ...patternOf(written), a: written.a === SGLANG_BOOSTED_VERTICALS ? written.a + SGLANG_BOOST : written.a };
  },
  write(head, seqLen) {
    const vs = asVerticalSlash(head, seqLen);
    // Sparsescope's floors are minimums these engines lack; 31 is the tightest superset of 30 columns.
    return { ...vs, a: vs.a <= SGLANG_BOOSTED_VERTICALS ? SGLANG_BOOSTED_VERTICALS + 1 : vs.a, b: Math.max(vs.b, MIN_SLASHES) };
  },
};

/** A head as messages name it, with its estimate rows where they are not the default. */
export function patternText(head: HeadPattern, lastQ = DEFAULT_LAST_Q): string {
  const rows = head.pattern === 'vertical_and_slash' && lastQ !== DEFAULT_LAST_Q ? `, last_q ${lastQ}` : '';
  if (head.pattern === 'dense') return 'dense';
  if (head.pattern === 'block_sparse') return `block_sparse (top_k ${head.a})`;
  return `${head.pattern} (${head.a}, ${head.b}${rows})`;
}

/** One head whose meaning changes between two engines, for the warning that reports it. */
export interface Change {
  layer: number;
  head: number;
  from: string;
  to: string;
}

const LISTED_KINDS = 6;

/** "2 x A -> B; 1 x C -> D", the most frequent kinds first; `detail` adds to each kind's text. */
export function tallyChanges<C extends Change>(changes: readonly C[], detail: (group: C[]) => string = () => ''): string {
  const groups = new Map<string, C[]>();
  for (const change of changes) {
    const key = `${change.from} -> ${change.to}`;
    const group = groups.get(key);
    if (group) group.push(change); // not a copy per change: that is quadratic in 100k+ heads
    else groups.set(key, [change]);
  }
  const sorted = [...groups].sort((x, y) => y[1].length - x[1].length);
  const listed = sorted.slice(0, LISTED_KINDS).map(([key, group]) => `${group.length} x ${key}${detail(group)}`);
  const rest = sorted.slice(LISTED_KINDS);
  const more = rest.length > 0 ? `; and ${rest.length} more kinds (${rest.reduce((sum, [, group]) => sum + group.length, 0)} heads)` : '';
  return `${listed.join('; ')}${more}`;
}

/** Import: each head as the engine runs it, the written numbers kept in `asWritten` where they differ. */
export function readAsRun(dialect: EngineDialect, heads: HeadConfigEntry[][], where: string): { heads: HeadConfigEntry[][]; warnings: string[] } {
  const changes: Change[] = [];
  const read = heads.map((layer, l) =>
    layer.map((entry, h) => {
      const ran = dialect.runs(entry);
      if (!ran || (ran.a === entry.a && ran.b === entry.b)) return entry;
      changes.push({ layer: l, head: h, from: patternText(entry), to: patternText(ran) });
      return { ...entry, a: ran.a, b: ran.b, asWritten: { a: entry.a, b: entry.b } };
    }),
  );
  const warnings = changes.length > 0 ? [`${where}: ${changes.length} heads read as what ${dialect.name} runs (${dialect.readWhy}): ${tallyChanges(changes)}`] : [];
  return { heads: read, warnings };
}

/** A head's pattern with the estimate rows and method settings it runs with: what a recall is measured for. */
export type EvaluatedPattern = HeadPattern & { lastQ: number; methodSettings?: MethodSettings };

/** Recall of a pattern for one head of the open capture; undefined where it cannot be measured. */
export type RecallEvaluator = (layer: number, head: number, pattern: EvaluatedPattern) => Promise<number | undefined> | number | undefined;

export interface Conversion extends Change {
  /** What the engine runs instead. */
  runs: EvaluatedPattern;
}

export interface ExportPlan {
  /** Per layer and head: what to write. */
  written: HeadPattern[][];
  conversions: Conversion[];
}

/** The written form of one head: its as-read numbers where the engine runs them as the head, else `write`. */
function writtenHead(dialect: EngineDialect, entry: HeadConfigEntry, seqLen: number | undefined): HeadPattern {
  if (entry.asWritten) {
    const asRead = { pattern: entry.pattern, ...entry.asWritten };
    if (sameComputation(dialect.runs(asRead), entry)) return asRead;
  }
  return dialect.write(entry, seqLen);
}

/** The method settings a head's recall depends on: only xattention and flexprefill heads read them. */
export function methodSettingsFor(head: HeadPattern, config: HeadConfig): { methodSettings?: MethodSettings } {
  return head.pattern === 'xattention' || head.pattern === 'flexprefill' ? { methodSettings: methodSettingsOf(config.runtime) } : {};
}

/** Export: what to write for every head, and the heads the engine will run differently than chosen. */
export function planExport(config: HeadConfig, dialect: EngineDialect, seqLen?: number): ExportPlan {
  const sourceLastQ = config.runtime?.sparseAttentionLastQ ?? DEFAULT_LAST_Q;
  const targetLastQ = dialect.lastQ(config);
  const conversions: Conversion[] = [];
  const written = config.heads.map((layer, l) =>
    layer.map((entry, h) => {
      const out = writtenHead(dialect, entry, seqLen);
      const ran = dialect.runs(out) ?? out;
      const rowsChange = entry.pattern === 'vertical_and_slash' && sourceLastQ !== targetLastQ;
      if (!sameComputation(ran, entry) || rowsChange) {
        // Estimate rows are named only where they change.
        const [fromRows, toRows] = rowsChange ? [sourceLastQ, targetLastQ] : [DEFAULT_LAST_Q, DEFAULT_LAST_Q];
        conversions.push({ layer: l, head: h, from: patternText(entry, fromRows), to: patternText(ran, toRows), runs: { ...ran, lastQ: targetLastQ, ...methodSettingsFor(ran, config) } });
      }
      return out;
    }),
  );
  return { written, conversions };
}

/**
 * Export to a format that writes, per head, what `write` gives (the methods' own files): every head
 * whose written pattern computes another set than its own is a conversion.
 */
export function planHeads(config: HeadConfig, write: (entry: HeadConfigEntry, layer: number, head: number) => HeadPattern): ExportPlan {
  const conversions: Conversion[] = [];
  const written = config.heads.map((layer, l) =>
    layer.map((entry, h) => {
      const out = write(entry, l, h);
      if (!sameComputation(out, entry)) conversions.push({ layer: l, head: h, from: patternText(entry), to: patternText(out), runs: { ...out, lastQ: DEFAULT_LAST_Q, ...methodSettingsFor(out, config) } });
      return out;
    }),
  );
  return { written, conversions };
}

export function headKey(layer: number, head: number): string {
  return `${layer}/${head}`;
}

/** Recall of what each converted head runs, by "layer/head"; heads the evaluator cannot measure are left out. */
export async function measureConversions(conversions: readonly Conversion[], evaluate: RecallEvaluator): Promise<Map<string, number>> {
  const recalls = new Map<string, number>();
  for (const { layer, head, runs } of conversions) {
    const recall = await evaluate(layer, head, runs);
    if (recall !== undefined) recalls.set(headKey(layer, head), recall);
  }
  return recalls;
}

/** "recall 0.982" for one head, "recall min 0.951 (layer 3 head 5), mean 0.970" for several; null when none was measured. */
function recallSummary(group: readonly Change[], recalls: ReadonlyMap<string, number>): string | null {
  const measured = group.flatMap(({ layer, head }) => {
    const recall = recalls.get(headKey(layer, head));
    return recall === undefined ? [] : [{ layer, head, recall }];
  });
  if (measured.length === 0) return null;
  if (group.length === 1) return `recall ${measured[0]!.recall.toFixed(3)}`;
  const worst = measured.reduce((x, y) => (y.recall < x.recall ? y : x));
  const mean = measured.reduce((sum, { recall }) => sum + recall, 0) / measured.length;
  const partial = measured.length < group.length ? ` over ${measured.length} measured` : '';
  return `recall min ${worst.recall.toFixed(3)} (layer ${worst.layer} head ${worst.head}), mean ${mean.toFixed(3)}${partial}`;
}

/**
 * One warning tallying the converted heads, e.g. "3 heads converted (why); recall min ...: 2 x dense ->
 * vertical_and_slash (30, 1048576) (recall ...); ...". `recalls` null: nothing was measured.
 */
export function conversionWarning(conversions: readonly Conversion[], why: string, recalls: ReadonlyMap<string, number> | null): string[] {
  if (conversions.length === 0) return [];
  const overall = recalls ? recallSummary(conversions, recalls) : null;
  const header = `${conversions.length} heads converted (${why}); ${overall ?? (recalls ? 'recall not measured (heads not in the capture)' : 'recall not measured')}`;
  const detail = (group: Conversion[]): string => {
    const summary = recalls && group.length < conversions.length ? recallSummary(group, recalls) : null;
    return summary ? ` (${summary})` : '';
  };
  return [`${header}: ${tallyChanges(conversions, detail)}`];
}
