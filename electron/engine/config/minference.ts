/**
 * MInference head configs (spec section 3.2): a JSON list with one object per layer, mapping the
 * query-head index as a string to `[pattern, vertical_size, slash_size, score]`.
 *
 * Rules
 * - The 4th field (score) is opaque: a recall in some files, an integer count in others. It is
 *   kept as read and written back unchanged unless the caller supplies our own recall.
 * - A head a layer does not list means `["vertical_and_slash", 1000, 6096, 1]`, as in MInference.
 *   `numHeads` is one more than the largest head index listed in any layer; shorter layers are
 *   filled with that default (with a warning).
 * - A head means what MInference runs (engines.ts): block_sparse keeps 100 blocks whatever number
 *   is written; the written number is kept for export. `dense` has no MInference name.
 */
import { MINFERENCE_DEFAULT_HEAD, type HeadConfig, type HeadPattern, type PatternName } from '../../../contract/api.js';
import { MAX_BUDGET, MINFERENCE, readAsRun } from './engines.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type HeadEntry = HeadConfig['heads'][number][number];

export const MINFERENCE_PATTERNS = ['vertical_and_slash', 'stream_llm', 'block_sparse'] as const;
type MinferencePattern = (typeof MINFERENCE_PATTERNS)[number];

/** The largest head or layer index. */
export const MAX_INDEX = 4095;

/** What the two positional parameters mean for each pattern, for messages. */
export const PARAM_NAMES: Readonly<Record<PatternName, readonly [string, string]>> = {
  vertical_and_slash: ['vertical_size', 'slash_size'],
  stream_llm: ['n_init', 'n_local'],
  block_sparse: ['top_k', 'unused'],
  dense: ['unused', 'unused'],
  xattention: ['threshold (thousandths)', 'stride'],
  flexprefill: ['gamma (thousandths)', 'tau (thousandths)'],
};

export type MinferenceEntry = [MinferencePattern, number, number, number];
export type MinferenceLayer = Record<string, MinferenceEntry>;

const HEAD_KEY = /^(0|[1-9]\d{0,3})$/;

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isPattern(value: unknown): value is MinferencePattern {
  return typeof value === 'string' && (MINFERENCE_PATTERNS as readonly string[]).includes(value);
}

function checkBudget(value: unknown, at: string, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new ConfigError(`${at}: ${field} ${describe(value)} is not an integer`);
  if (value < 0) throw new ConfigError(`${at}: ${field} ${value} is negative`);
  if (value > MAX_BUDGET) throw new ConfigError(`${at}: ${field} ${value} exceeds ${MAX_BUDGET}`);
  return value;
}

function parseEntry(value: unknown, at: string): HeadEntry {
  if (!Array.isArray(value) || value.length !== 4) {
    throw new ConfigError(`${at}: expected [pattern, vertical_size, slash_size, score], got ${describe(value)}`);
  }
  const [pattern, a, b, score] = value as unknown[];
  if (!isPattern(pattern)) throw new ConfigError(`${at}: unknown pattern ${describe(pattern)} (MInference knows ${MINFERENCE_PATTERNS.join(', ')})`);
  const [nameA, nameB] = PARAM_NAMES[pattern];
  const entry: HeadEntry = { pattern, a: checkBudget(a, at, nameA), b: checkBudget(b, at, nameB) };
  if (typeof score !== 'number' || !Number.isFinite(score)) throw new ConfigError(`${at}: score ${describe(score)} is not a number`);
  entry.score = score;
  return entry;
}

/** Parse an MInference list as written; `where` names the file (and the key path for nested lists) in messages. */
export function parseMinferenceList(json: unknown, where: string): { config: HeadConfig; warnings: string[] } {
  if (!Array.isArray(json)) throw new ConfigError(`${where}: expected a list with one object per layer, got ${describe(json)}`);
  if (json.length === 0) throw new ConfigError(`${where}: the list of layers is empty`);
  if (json.length > MAX_INDEX + 1) throw new ConfigError(`${where}: ${json.length} layers exceed the ${MAX_INDEX + 1}-layer limit`);
  const listed: Map<number, HeadEntry>[] = json.map((layer: unknown, l) => {
    if (layer === null || typeof layer !== 'object' || Array.isArray(layer)) {
      throw new ConfigError(`${where}: layer ${l} is not an object mapping head index to [pattern, vertical_size, slash_size, score]`);
    }
    const heads = new Map<number, HeadEntry>();
    for (const [key, value] of Object.entries(layer as Record<string, unknown>)) {
      if (!HEAD_KEY.test(key) || Number(key) > MAX_INDEX) throw new ConfigError(`${where}: layer ${l}: head key ${describe(key)} is not a head index 0..${MAX_INDEX}`);
      heads.set(Number(key), parseEntry(value, `${where}: layer ${l} head ${key}`));
    }
    return heads;
  });
  // A loop, not Math.max(...heads): a spread of 100k+ heads overflows the call stack.
  const numHeads = listed.reduce((most, heads) => [...heads.keys()].reduce((m, h) => Math.max(m, h + 1), most), 0);
  if (numHeads === 0) throw new ConfigError(`${where}: no layer lists any head`);
  let missing = 0;
  let firstMissing = '';
  const heads = listed.map((layer, l) =>
    Array.from({ length: numHeads }, (_, h) => {
      const entry = layer.get(h);
      if (entry) return entry;
      if (missing++ === 0) firstMissing = `layer ${l} head ${h}`;
      return { ...MINFERENCE_DEFAULT_HEAD };
    }),
  );
  const warnings =
    missing > 0
      ? [`${where}: ${missing} heads not listed (first: ${firstMissing}) use MInference's default ${defaultText()}`]
      : [];
  return { config: { numLayers: json.length, numHeads, heads }, warnings };
}

function defaultText(): string {
  const { pattern, a, b } = MINFERENCE_DEFAULT_HEAD;
  return `${pattern} (${a}, ${b})`;
}

/** Parse an MInference file: each head as MInference runs it (a block_sparse head keeps 100 blocks whatever it says). */
export function parseMinference(json: unknown, where: string): { config: HeadConfig; warnings: string[] } {
  const { config, warnings } = parseMinferenceList(json, where);
  const read = readAsRun(MINFERENCE, config.heads, where);
  return { config: { ...config, heads: read.heads }, warnings: [...warnings, ...read.warnings] };
}

/** The list to write: each head's written pattern with its score. */
export function minferenceLayers(written: readonly HeadPattern[][], scoreOf: (layer: number, head: number) => number): MinferenceLayer[] {
  return written.map((layer, l) => {
    const out: MinferenceLayer = {};
    layer.forEach(({ pattern, a, b }, h) => {
      out[String(h)] = [pattern as MinferencePattern, a, b, scoreOf(l, h)];
    });
    return out;
  });
}

/**
 * Whether scores are written as floats. JSON numbers lose the int/float distinction on import, so
 * the file's convention is recovered: a list with any fractional score (recalls) writes integral
 * ones as `1.0`, like Python does; a list of integer counts stays integral.
 */
export function hasFractionalScores(list: readonly MinferenceLayer[]): boolean {
  return list.some((layer) => Object.values(layer).some((entry) => !Number.isInteger(entry[3])));
}

/** One layer in the style MInference writes (Python's json.dumps separators and floats). */
export function minferenceLayerText(layer: MinferenceLayer, floatScores: boolean): string {
  const entries = Object.entries(layer).map(([head, [pattern, a, b, score]]) => {
    const scoreText = floatScores && Number.isInteger(score) ? score.toFixed(1) : JSON.stringify(score);
    return `${JSON.stringify(head)}: [${JSON.stringify(pattern)}, ${a}, ${b}, ${scoreText}]`;
  });
  return `{${entries.join(', ')}}`;
}

export function minferenceText(list: MinferenceLayer[]): string {
  const floatScores = hasFractionalScores(list);
  return `[${list.map((layer) => minferenceLayerText(layer, floatScores)).join(', ')}]`;
}
