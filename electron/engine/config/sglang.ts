/**
 * SGLang / vLLM head configs: the MInference list nested in a model's `config.json` as
 * `dual_chunk_attention_config.sparse_attention_config`. These engines run vertical_and_slash
 * only, so other patterns are converted on export (with a warning saying what became what).
 */
import type { HeadConfig } from '../../../contract/api.js';
import { ConfigError, hasFractionalScores, minferenceLayerText, parseMinferenceList, toMinferenceList, type MinferenceExportOptions } from './minference.js';

/** Context length from which the engines switch to sparse attention, and their estimate rows. */
export const SPARSE_ATTENTION_THRESHOLD = 32768;
export const SPARSE_ATTENTION_LAST_Q = 64;

export function hasDualChunkConfig(json: unknown): json is { dual_chunk_attention_config: unknown } {
  return json !== null && typeof json === 'object' && !Array.isArray(json) && 'dual_chunk_attention_config' in json;
}

/** Accepts the snippet or a whole model config.json; only the sparse attention list is read. */
export function parseSglang(json: { dual_chunk_attention_config: unknown }, where: string): { config: HeadConfig; warnings: string[] } {
  const section = json.dual_chunk_attention_config;
  if (section === null || typeof section !== 'object' || Array.isArray(section)) {
    throw new ConfigError(`${where}: dual_chunk_attention_config is not an object`);
  }
  if (!('sparse_attention_config' in section)) throw new ConfigError(`${where}: dual_chunk_attention_config.sparse_attention_config missing`);
  return parseMinferenceList(section.sparse_attention_config, `${where}: dual_chunk_attention_config.sparse_attention_config`);
}

export function sglangText(config: HeadConfig, options: Omit<MinferenceExportOptions, 'verticalSlashOnly'> = {}): { text: string; warnings: string[] } {
  const { list, warnings } = toMinferenceList(config, { ...options, verticalSlashOnly: true });
  const floatScores = hasFractionalScores(list);
  const layers = list.map((layer) => `      ${minferenceLayerText(layer, floatScores)}`).join(',\n');
  const text = [
    '{',
    '  "dual_chunk_attention_config": {',
    '    "sparse_attention_config": [',
    layers,
    '    ],',
    `    "sparse_attention_threshold": ${SPARSE_ATTENTION_THRESHOLD},`,
    `    "sparse_attention_last_q": ${SPARSE_ATTENTION_LAST_Q}`,
    '  }',
    '}',
    '',
  ].join('\n');
  return { text, warnings };
}
