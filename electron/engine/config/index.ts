/**
 * Head config import and export in the three formats of spec section 3.2 and the methods' own
 * files (issue 15), with format detection: a JSON list of objects is MInference, a JSON list of
 * lists XAttention's threshold table, an object with `dual_chunk_attention_config` SGLang/vLLM (a
 * whole model config.json is accepted), with `version` Sparsescope, with `attn_type` MInference's
 * method setting, with `flex_prefill_gamma` FlexPrefill's; a `.tsv` file, or text of tab-separated
 * numbers, is DuoAttention's full_attention_heads.tsv (the only format that is not JSON).
 *
 * An imported head means what the file's engine runs; an export writes each head so that the
 * engine runs it, converting what the engine cannot express and saying so (engines.ts).
 *
 * Applying a config to a capture (`fitConfigToCapture`): a config may describe fewer layers or
 * heads than the capture; the missing ones use MInference's default head, exactly as MInference
 * does for heads its config does not list. A config with more layers or heads than the capture
 * is refused.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { fitHeadConfig, MINFERENCE_DEFAULT_HEAD, type CaptureSummary, type ConfigFormat, type HeadConfig, type RowSampling } from '../../../contract/api.js';
import { duoGroup, duoStreaming, duoText, duoWhy, looksLikeDuoTsv, parseDuo, planDuo } from './duo.js';
import { conversionWarning, headKey, measureConversions, MINFERENCE, planExport, SGLANG, type ConfigShape, type EngineDialect, type ExportPlan, type RecallEvaluator } from './engines.js';
import { CaptureNeededError, flexprefillSetting, flexprefillText, isFlexprefillConfig, parseFlexprefill, planUniform, UNIFORM_WHY } from './flexprefill.js';
import { isMinferenceAttn, minferenceAttnSetting, minferenceAttnText, parseMinferenceAttn } from './minference-attn.js';
import { ConfigError, minferenceLayers, minferenceText, parseMinference, type MinferenceLayer } from './minference.js';
import { denseRunWarnings, hasDualChunkConfig, parseSglang, sglangRuntime, sglangText } from './sglang.js';
import { isSparsescopeDocument, parseSparsescope, sparsescopeText, type Provenance } from './sparsescope.js';
import { isXattentionTable, parseXattention, planXattention, XATTENTION_WHY, xattentionText } from './xattention.js';
import { fileErrorReason, unreadableReason, unwritableReason } from '../fs-errors.js';

export { ConfigError } from './minference.js';
export type { ConfigShape, EvaluatedPattern, RecallEvaluator } from './engines.js';
export type { Provenance } from './sparsescope.js';

/** Config files are small (a 1M-token model's is well under a megabyte); more means a wrong file. */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

export interface ImportedConfig {
  config: HeadConfig;
  format: ConfigFormat;
  warnings: string[];
}

/** The format of parsed JSON config text (DuoAttention's TSV is not JSON: see importConfig). */
export function detectFormat(json: unknown): Exclude<ConfigFormat, 'duo'> | null {
  if (isXattentionTable(json)) return 'xattention';
  if (Array.isArray(json)) return 'minference';
  if (hasDualChunkConfig(json)) return 'sglang';
  if (isSparsescopeDocument(json)) return 'sparsescope';
  if (isMinferenceAttn(json)) return 'minference-attn';
  if (isFlexprefillConfig(json)) return 'flexprefill';
  return null;
}

const DUO_EXTENSION = '.tsv';

/**
 * Parse config text of any supported format; `fileName` names the source in messages. `shape`:
 * the capture the config is for, which the files of one setting for all heads (FlexPrefill,
 * MInference's attn_type) need and DuoAttention's KV-head lists use.
 */
export function importConfig(text: string, fileName: string, shape?: ConfigShape): ImportedConfig {
  if (extname(fileName).toLowerCase() === DUO_EXTENSION || looksLikeDuoTsv(text)) return { format: 'duo', ...parseDuo(text, fileName, shape) };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${fileName}: not valid JSON (${(error as Error).message})`);
  }
  const format = detectFormat(json);
  switch (format) {
    case 'minference':
      return { format, ...parseMinference(json, fileName) };
    case 'sglang':
      return { format, ...parseSglang(json as { dual_chunk_attention_config: unknown }, fileName) };
    case 'sparsescope':
      return { format, config: parseSparsescope(json, fileName).config, warnings: [] };
    case 'xattention':
      return { format, ...parseXattention(json as unknown[][], fileName) };
    case 'minference-attn':
      return { format, ...parseMinferenceAttn(json as { attn_type: unknown }, fileName, shape) };
    case 'flexprefill':
      return { format, ...parseFlexprefill(json as Record<string, unknown>, fileName, shape) };
    case null:
      throw new ConfigError(
        `${fileName}: not a head config (expected a MInference list, an object with dual_chunk_attention_config, a Sparsescope document with a version field, an XAttention threshold table, a FlexPrefill or MInference attn_type setting, or DuoAttention's full_attention_heads.tsv)`,
      );
  }
}

export async function readConfigFile(path: string, shape?: ConfigShape): Promise<ImportedConfig> {
  const name = basename(path);
  const unreadable = await unreadableReason(path);
  if (unreadable) throw new ConfigError(`${name}: cannot read: ${unreadable}`);
  let text: string;
  try {
    // The size first: a capture of many GiB dropped as a config must not be read whole.
    const { size } = await stat(path);
    if (size > MAX_CONFIG_BYTES) throw new ConfigError(`${name}: ${size} bytes is too large for a head config`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${name}: cannot read: ${fileErrorReason(error)}`);
  }
  return importConfig(text, name, shape);
}

/** Rows a converted head's recall is measured on: enough for a warning, quick enough for an export. */
export const EXPORT_RECALL_SAMPLING: RowSampling = { mode: 'sampled', rows: 256, seed: 0 };

/** `measure` for the heads a capture holds; the others are not measured. */
export function captureRecallEvaluator(capture: Pick<CaptureSummary, 'layers' | 'numHeads'>, measure: RecallEvaluator): RecallEvaluator {
  return (layer, head, pattern) => (capture.layers.includes(layer) && head < capture.numHeads ? measure(layer, head, pattern) : undefined);
}

/** Settings MInference cannot carry, and what dropping them changes. */
function droppedRuntimeWarnings(config: HeadConfig): string[] {
  const threshold = config.runtime?.sparseAttentionThreshold;
  if (threshold === undefined) return [];
  return [`MInference has no sparse_attention_threshold: it runs the sparse config at every length, where SGLang/vLLM ran sequences of at most ${threshold} tokens dense`];
}

/** The MInference list `dialect`'s engine runs as `config` (or the closest), and the warning of its conversions. */
async function exportedList(config: HeadConfig, dialect: EngineDialect, provenance: Provenance, evaluate?: RecallEvaluator): Promise<{ list: MinferenceLayer[]; warnings: string[] }> {
  const seqLen = provenance.capture?.seqLen;
  const plan = planExport(config, dialect, seqLen);
  const recalls = evaluate ? await measureConversions(plan.conversions, evaluate) : null;
  const reported = new Map(provenance.report?.heads.map((stats) => [headKey(stats.layer, stats.head), stats.recall]));
  // A converted head's measured recall is that of what is written; without it, the report's is the best there is.
  const scoreOf = (layer: number, head: number): number => {
    const key = headKey(layer, head);
    return recalls?.get(key) ?? reported.get(key) ?? config.heads[layer]![head]!.score ?? MINFERENCE_DEFAULT_HEAD.score;
  };
  return { list: minferenceLayers(plan.written, scoreOf), warnings: conversionWarning(plan.conversions, dialect.writeWhy, recalls) };
}

/** The warning of a plan's conversions, with the recall of what is written where `evaluate` measures it. */
async function conversionWarnings(plan: ExportPlan, why: string, evaluate?: RecallEvaluator): Promise<string[]> {
  return conversionWarning(plan.conversions, why, evaluate ? await measureConversions(plan.conversions, evaluate) : null);
}

/** The methods' own files: text and the warnings of the heads each converts. */
async function exportMethodFile(config: HeadConfig, format: 'xattention' | 'duo' | 'flexprefill' | 'minference-attn', capture: CaptureSummary | undefined, evaluate?: RecallEvaluator): Promise<{ text: string; warnings: string[] }> {
  switch (format) {
    case 'xattention': {
      const plan = planXattention(config);
      return { text: xattentionText(plan.written), warnings: await conversionWarnings(plan, XATTENTION_WHY, evaluate) };
    }
    case 'duo': {
      const group = duoGroup(config, capture);
      const streaming = duoStreaming(config);
      const plan = planDuo(config, group, streaming);
      const noCapture = capture ? [] : ['DuoAttention lists KV heads: without the capture, each query head is written as a KV head of its own'];
      return { text: duoText(plan.written, group, streaming), warnings: [...(await conversionWarnings(plan, duoWhy(streaming), evaluate)), ...noCapture] };
    }
    case 'flexprefill': {
      const setting = flexprefillSetting(config);
      const plan = planUniform(config, setting);
      return { text: flexprefillText(setting, config), warnings: await conversionWarnings(plan, `FlexPrefill: ${UNIFORM_WHY}`, evaluate) };
    }
    case 'minference-attn': {
      const setting = minferenceAttnSetting(config);
      const plan = planUniform(config, setting);
      return { text: minferenceAttnText(setting, config), warnings: await conversionWarnings(plan, `MInference's attn_type ${setting.pattern}: ${UNIFORM_WHY}`, evaluate) };
    }
  }
}

/**
 * Config text in `format`. Scores: for a converted head the recall `evaluate` measured for what is
 * written, else our recall from `provenance.report` where it has the head, else the score as read,
 * else 1. Warnings say which heads had to be converted, from what to what, and their recall;
 * `evaluate` measures it on the open capture (without it the warning says it was not measured).
 */
export async function exportConfig(config: HeadConfig, format: ConfigFormat, provenance: Provenance = {}, evaluate?: RecallEvaluator): Promise<{ text: string; warnings: string[] }> {
  switch (format) {
    case 'minference': {
      const { list, warnings } = await exportedList(config, MINFERENCE, provenance, evaluate);
      return { text: `${minferenceText(list)}\n`, warnings: [...warnings, ...droppedRuntimeWarnings(config)] };
    }
    case 'sglang': {
      const { list, warnings } = await exportedList(config, SGLANG, provenance, evaluate);
      const seqLen = provenance.capture?.seqLen;
      return { text: sglangText(list, config.runtime), warnings: [...warnings, ...(seqLen === undefined ? [] : denseRunWarnings(sglangRuntime(config.runtime), seqLen))] };
    }
    case 'sparsescope':
      return { text: sparsescopeText(config, provenance), warnings: [] };
    case 'xattention':
    case 'duo':
    case 'flexprefill':
    case 'minference-attn':
      return exportMethodFile(config, format, provenance.capture, evaluate);
  }
}

/** The file name ending a format is written to. */
export function configExtension(format: ConfigFormat): string {
  return format === 'duo' ? DUO_EXTENSION : '.json';
}

/**
 * Refuse, before any work, an export that writeConfigFile would refuse: a name that does not end
 * as `format`'s files do (`.json`; DuoAttention's `.tsv`), a folder, a missing folder, or an
 * existing file that is not empty and not a head config of a known format (a capture, a model's
 * weights index, someone's notes are never overwritten).
 */
export async function checkConfigTarget(path: string, format: ConfigFormat = 'minference'): Promise<void> {
  const refuse = (reason: string) => new ConfigError(`cannot write ${path}: ${reason}`);
  const unwritable = await unwritableReason(path);
  if (unwritable) throw refuse(unwritable);
  const extension = configExtension(format);
  if (extname(path).toLowerCase() !== extension) throw refuse(format === 'duo' ? `DuoAttention's head pattern is written to a ${extension} file` : `a head config is written to a ${extension} file`);
  const existing = await stat(path).catch(() => null);
  if (!existing || existing.size === 0) return;
  try {
    await readConfigFile(path);
  } catch (error) {
    if (error instanceof CaptureNeededError) return; // a head config, of one setting for all heads
    throw refuse(`it exists and is not a head config (${error instanceof Error ? error.message : String(error)}); choose another file`);
  }
}

/**
 * Write a config to `path` (checked by checkConfigTarget) so that a failed write leaves the file
 * there as it was and no partial file behind. Each write has its own partial file: two exports to
 * one path at once must not rename each other's.
 */
export async function writeConfigFile(path: string, text: string, format: ConfigFormat = 'minference'): Promise<void> {
  await checkConfigTarget(path, format);
  const partial = `${path}.${randomBytes(6).toString('hex')}.partial`;
  try {
    await writeFile(partial, text);
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { force: true });
    throw new ConfigError(`cannot write ${path}: ${fileErrorReason(error)}`);
  }
}

/** The config's heads for every layer and head of a capture (rule in the file comment). */
export function fitConfigToCapture(config: HeadConfig, capture: Pick<CaptureSummary, 'numLayers' | 'numHeads' | 'fileName'>): HeadConfig {
  try {
    return fitHeadConfig(config, capture);
  } catch (error) {
    throw new ConfigError(`${capture.fileName}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
