/**
 * Head config import and export in the three formats of spec section 3.2, with format detection:
 * a JSON list is MInference, an object with `dual_chunk_attention_config` is SGLang/vLLM (a whole
 * model config.json is accepted), an object with `version` is Sparsescope.
 *
 * Applying a config to a capture (`fitConfigToCapture`): a config may describe fewer layers or
 * heads than the capture; the missing ones use MInference's default head, exactly as MInference
 * does for heads its config does not list. A config with more layers or heads than the capture
 * is refused.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fitHeadConfig, type CaptureSummary, type ConfigFormat, type HeadConfig } from '../../../contract/api.js';
import { ConfigError, minferenceText, parseMinferenceList, toMinferenceList } from './minference.js';
import { hasDualChunkConfig, parseSglang, sglangText } from './sglang.js';
import { isSparsescopeDocument, parseSparsescope, sparsescopeText, type Provenance } from './sparsescope.js';
import { fileErrorReason } from '../fs-errors.js';

export { ConfigError } from './minference.js';
export type { Provenance } from './sparsescope.js';

/** Config files are small (a 1M-token model's is well under a megabyte); more means a wrong file. */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

export interface ImportedConfig {
  config: HeadConfig;
  format: ConfigFormat;
  warnings: string[];
}

export function detectFormat(json: unknown): ConfigFormat | null {
  if (Array.isArray(json)) return 'minference';
  if (hasDualChunkConfig(json)) return 'sglang';
  if (isSparsescopeDocument(json)) return 'sparsescope';
  return null;
}

/** Parse config text of any supported format; `fileName` names the source in messages. */
export function importConfig(text: string, fileName: string): ImportedConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${fileName}: not valid JSON (${(error as Error).message})`);
  }
  const format = detectFormat(json);
  switch (format) {
    case 'minference':
      return { format, ...parseMinferenceList(json, fileName) };
    case 'sglang':
      return { format, ...parseSglang(json as { dual_chunk_attention_config: unknown }, fileName) };
    case 'sparsescope':
      return { format, config: parseSparsescope(json, fileName).config, warnings: [] };
    case null:
      throw new ConfigError(
        `${fileName}: not a head config (expected a MInference list, an object with dual_chunk_attention_config, or a Sparsescope document with a version field)`,
      );
  }
}

export async function readConfigFile(path: string): Promise<ImportedConfig> {
  const name = basename(path);
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_CONFIG_BYTES) throw new ConfigError(`${name}: ${bytes.length} bytes is too large for a head config`);
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${name}: cannot read: ${fileErrorReason(error)}`);
  }
  return importConfig(text, name);
}

/**
 * Config text in `format`. Scores: our recall from `provenance.report` where it has the head,
 * else the score as read, else 1. Warnings say which heads had to be converted.
 */
export function exportConfig(config: HeadConfig, format: ConfigFormat, provenance: Provenance = {}): { text: string; warnings: string[] } {
  const recalls = new Map(provenance.report?.heads.map((stats) => [`${stats.layer}/${stats.head}`, stats.recall]));
  const options = { recallOf: (layer: number, head: number) => recalls.get(`${layer}/${head}`), seqLen: provenance.capture?.seqLen };
  switch (format) {
    case 'minference': {
      const { list, warnings } = toMinferenceList(config, options);
      return { text: `${minferenceText(list)}\n`, warnings };
    }
    case 'sglang':
      return sglangText(config, options);
    case 'sparsescope':
      return { text: sparsescopeText(config, provenance), warnings: [] };
  }
}

/** Write text so that a failed write never leaves a half-written config under `path`. */
export async function writeConfigFile(path: string, text: string): Promise<void> {
  const partial = `${path}.partial`;
  await writeFile(partial, text);
  await rename(partial, path);
}

/** The config's heads for every layer and head of a capture (rule in the file comment). */
export function fitConfigToCapture(config: HeadConfig, capture: Pick<CaptureSummary, 'numLayers' | 'numHeads' | 'fileName'>): HeadConfig {
  try {
    return fitHeadConfig(config, capture);
  } catch (error) {
    throw new ConfigError(`${capture.fileName}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
