/**
 * SGLang / vLLM head configs: the MInference list nested in a model's `config.json` as
 * `dual_chunk_attention_config.sparse_attention_config`, with `sparse_attention_threshold` and
 * `sparse_attention_last_q`. What these engines run for a head is in engines.ts: vertical_and_slash
 * only, vertical_size 30 runs as 130, sequences up to the threshold run dense, and the estimate
 * uses the last min(last_q, N) queries. Import keeps both settings (defaults filled in); export
 * writes them back.
 */
import { DEFAULT_LAST_Q, type HeadConfig, type RuntimeSettings } from '../../../contract/api.js';
import { MIN_SLASHES, MIN_VERTICALS, patternText, readAsRun, SGLANG, tallyChanges, type Change } from './engines.js';
import { ConfigError, hasFractionalScores, minferenceLayerText, parseMinferenceList, type MinferenceLayer } from './minference.js';

/** The engines' defaults: sequences of at most this many tokens run dense; estimate rows. */
export const SPARSE_ATTENTION_THRESHOLD = 32768;
export const SPARSE_ATTENTION_LAST_Q = DEFAULT_LAST_Q;

export function hasDualChunkConfig(json: unknown): json is { dual_chunk_attention_config: unknown } {
  return json !== null && typeof json === 'object' && !Array.isArray(json) && 'dual_chunk_attention_config' in json;
}

function readSetting(section: object, key: string, where: string, min: number, max: number, fallback: number): number {
  if (!(key in section)) return fallback;
  const value = (section as Record<string, unknown>)[key];
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new ConfigError(`${where}: dual_chunk_attention_config.${key} ${JSON.stringify(value)} is not an integer`);
  if (value < min || value > max) throw new ConfigError(`${where}: dual_chunk_attention_config.${key} ${value} is outside ${min}..${max}${key === 'sparse_attention_last_q' ? " (Sparsescope's estimate takes at most 64 query rows)" : ''}`);
  return value;
}

/** Heads that would stop the engine, or that it runs with fewer lines than Sparsescope's floors (which it lacks). */
function engineLimitWarnings(config: HeadConfig, where: string): string[] {
  const unrunnable: Change[] = [];
  const below: Change[] = [];
  config.heads.forEach((layer, l) =>
    layer.forEach((entry, h) => {
      if (entry.pattern !== 'vertical_and_slash') unrunnable.push({ layer: l, head: h, from: patternText(entry), to: 'not runnable' });
      else if (entry.a < MIN_VERTICALS || entry.b < MIN_SLASHES) below.push({ layer: l, head: h, from: patternText(entry), to: `measured with at least ${MIN_VERTICALS} verticals and ${MIN_SLASHES} slashes` });
    }),
  );
  return [
    ...(unrunnable.length ? [`${where}: ${unrunnable.length} heads are not vertical_and_slash, which SGLang/vLLM refuse (an assert): ${tallyChanges(unrunnable)}`] : []),
    ...(below.length ? [`${where}: ${below.length} heads ask for fewer lines than Sparsescope computes, so their measured recall is an upper bound: ${tallyChanges(below)}`] : []),
  ];
}

/** Accepts the snippet or a whole model config.json; each head means what the engine runs. */
export function parseSglang(json: { dual_chunk_attention_config: unknown }, where: string): { config: HeadConfig; warnings: string[] } {
  const section = json.dual_chunk_attention_config;
  if (section === null || typeof section !== 'object' || Array.isArray(section)) {
    throw new ConfigError(`${where}: dual_chunk_attention_config is not an object`);
  }
  if (!('sparse_attention_config' in section)) throw new ConfigError(`${where}: dual_chunk_attention_config.sparse_attention_config missing`);
  const runtime: RuntimeSettings = {
    sparseAttentionThreshold: readSetting(section, 'sparse_attention_threshold', where, 0, Number.MAX_SAFE_INTEGER, SPARSE_ATTENTION_THRESHOLD),
    sparseAttentionLastQ: readSetting(section, 'sparse_attention_last_q', where, 1, DEFAULT_LAST_Q, SPARSE_ATTENTION_LAST_Q),
  };
  const listWhere = `${where}: dual_chunk_attention_config.sparse_attention_config`;
  const parsed = parseMinferenceList(section.sparse_attention_config, listWhere);
  const read = readAsRun(SGLANG, parsed.config.heads, listWhere);
  return {
    config: { ...parsed.config, heads: read.heads, runtime },
    warnings: [...parsed.warnings, ...read.warnings, ...engineLimitWarnings(parsed.config, listWhere)],
  };
}

/** Why the engine would not use the config on a capture of `seqLen` tokens: at most the threshold runs dense. */
export function denseRunWarnings(runtime: RuntimeSettings | undefined, seqLen: number): string[] {
  const threshold = runtime?.sparseAttentionThreshold;
  if (threshold === undefined || seqLen > threshold) return [];
  return [`SGLang/vLLM run sequences of at most sparse_attention_threshold ${threshold} tokens dense: this ${seqLen}-token capture would not use the sparse config there`];
}

/** The settings the engines use: the config's, else their defaults. */
export function sglangRuntime(runtime: RuntimeSettings | undefined): Required<Pick<RuntimeSettings, 'sparseAttentionThreshold' | 'sparseAttentionLastQ'>> {
  return {
    sparseAttentionThreshold: runtime?.sparseAttentionThreshold ?? SPARSE_ATTENTION_THRESHOLD,
    sparseAttentionLastQ: runtime?.sparseAttentionLastQ ?? SPARSE_ATTENTION_LAST_Q,
  };
}

export function sglangText(list: readonly MinferenceLayer[], runtime: RuntimeSettings | undefined): string {
  const { sparseAttentionThreshold, sparseAttentionLastQ } = sglangRuntime(runtime);
  const floatScores = hasFractionalScores(list);
  const layers = list.map((layer) => `      ${minferenceLayerText(layer, floatScores)}`).join(',\n');
  return [
    '{',
    '  "dual_chunk_attention_config": {',
    '    "sparse_attention_config": [',
    layers,
    '    ],',
    `    "sparse_attention_threshold": ${sparseAttentionThreshold},`,
    `    "sparse_attention_last_q": ${sparseAttentionLastQ}`,
    '  }',
    '}',
    '',
  ].join('\n');
}
