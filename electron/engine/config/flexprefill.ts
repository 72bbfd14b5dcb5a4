/**
 * FlexPrefill's parameters (ByteDance-Seed/FlexPrefill): one config dict for every head of the
 * model, `block_size`, `flex_prefill_gamma`, `flex_prefill_tau`, `flex_prefill_min_budget`,
 * `flex_prefill_max_budget` (null: none). gamma and tau are written as decimals; Sparsescope keeps
 * them in thousandths (flexprefill a and b), block size and minimum budget in the config's runtime.
 * Sparsescope has no maximum budget: a file's is ignored with a warning, export writes null.
 *
 * The file has no heads, so import needs the capture (its layers and heads all get the setting).
 * Export writes the setting of the config's flexprefill head with the largest gamma (the most mass
 * kept), or gamma 0.95 / tau 0.1 where it has none; every other head is converted to it (warned
 * with counts: FlexPrefill runs one setting everywhere).
 */
import { MethodSettings, methodSettingsOf, type HeadConfig, type HeadPattern, type RuntimeSettings } from '../../../contract/api.js';
import { planHeads, THOUSANDTHS, type ConfigShape, type ExportPlan } from './engines.js';
import { ConfigError } from './minference.js';

/** A config file that is read only for a capture (it has no head count). */
export class CaptureNeededError extends ConfigError {}

/** What export writes when the config has no flexprefill head. */
const FALLBACK: HeadPattern = { pattern: 'flexprefill', a: 950, b: 100 };

export function isFlexprefillConfig(json: unknown): json is Record<string, unknown> {
  return json !== null && typeof json === 'object' && !Array.isArray(json) && 'flex_prefill_gamma' in json;
}

/** A field of a settings object, checked; absent: `fallback` (undefined: required). */
export function readField(section: Record<string, unknown>, key: string, where: string, check: { min: number; max: number; integer?: boolean }, fallback?: number): number {
  const value = section[key];
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || (check.integer && !Number.isInteger(value))) throw new ConfigError(`${where}: ${key} ${JSON.stringify(value)} is not ${check.integer ? 'an integer' : 'a number'}`);
  if (value < check.min || value > check.max) throw new ConfigError(`${where}: ${key} ${value} is outside ${check.min}..${check.max}`);
  return value;
}

/** A method block size as the contract takes it (a multiple of the kernel's 64). */
export function readBlockSize(section: Record<string, unknown>, key: string, where: string): number {
  const size = readField(section, key, where, { min: 1, max: 1 << 20, integer: true }, 128);
  const checked = MethodSettings.shape.xattentionBlockSize.safeParse(size);
  if (!checked.success) throw new ConfigError(`${where}: ${key} ${size} must be ${checked.error.issues[0]?.message ?? 'a multiple of 64'}`);
  return size;
}

/** Every head of the capture's shape set to `head`. */
export function uniformConfig(shape: ConfigShape | undefined, head: HeadPattern, runtime: RuntimeSettings, where: string, format: string): HeadConfig {
  if (!shape) throw new CaptureNeededError(`${where}: ${format} holds one setting for all heads and no head count: import it with the capture it is for`);
  const heads = Array.from({ length: shape.numLayers }, () => Array.from({ length: shape.numHeads }, () => ({ ...head })));
  return { numLayers: shape.numLayers, numHeads: shape.numHeads, heads, runtime };
}

/** gamma, tau, block size and minimum budget of a FlexPrefill settings object, under its own key names. */
export function readFlexprefillSettings(section: Record<string, unknown>, keys: { gamma: string; tau: string; minBudget: string; maxBudget: string }, where: string): { head: HeadPattern; runtime: RuntimeSettings; warnings: string[] } {
  const gamma = readField(section, keys.gamma, where, { min: 0.001, max: 1 });
  const tau = readField(section, keys.tau, where, { min: 0, max: 1 });
  const runtime = { flexprefillBlockSize: readBlockSize(section, 'block_size', where), flexprefillMinBudget: readField(section, keys.minBudget, where, { min: 0, max: 1 << 24, integer: true }, 512) };
  const maxBudget = section[keys.maxBudget];
  const warnings = maxBudget === undefined || maxBudget === null ? [] : [`${where}: ${keys.maxBudget} ${JSON.stringify(maxBudget)} is ignored (Sparsescope has no maximum budget)`];
  return { head: { pattern: 'flexprefill', a: Math.round(gamma * THOUSANDTHS), b: Math.round(tau * THOUSANDTHS) }, runtime, warnings };
}

const KEYS = { gamma: 'flex_prefill_gamma', tau: 'flex_prefill_tau', minBudget: 'flex_prefill_min_budget', maxBudget: 'flex_prefill_max_budget' };

export function parseFlexprefill(json: Record<string, unknown>, where: string, shape?: ConfigShape): { config: HeadConfig; warnings: string[] } {
  const { head, runtime, warnings } = readFlexprefillSettings(json, KEYS, where);
  return { config: uniformConfig(shape, head, runtime, where, 'a FlexPrefill config'), warnings };
}

/** The config's head of `pattern` with the largest a (threshold or gamma), or `fallback`. */
export function widestHead(config: HeadConfig, pattern: 'xattention' | 'flexprefill', fallback: HeadPattern): HeadPattern {
  let widest: HeadPattern | null = null;
  for (const head of config.heads.flat()) if (head.pattern === pattern && (!widest || head.a > widest.a)) widest = head;
  return widest ? { pattern, a: widest.a, b: widest.b } : { ...fallback };
}

export function flexprefillSetting(config: HeadConfig): HeadPattern {
  return widestHead(config, 'flexprefill', FALLBACK);
}

export function planUniform(config: HeadConfig, setting: HeadPattern): ExportPlan {
  return planHeads(config, () => ({ ...setting }));
}

export const UNIFORM_WHY = 'the file holds one setting for every head';

export function flexprefillText(setting: HeadPattern, config: HeadConfig): string {
  const { flexprefillBlockSize, flexprefillMinBudget } = methodSettingsOf(config.runtime);
  const fields = { block_size: flexprefillBlockSize, flex_prefill_gamma: setting.a / THOUSANDTHS, flex_prefill_tau: setting.b / THOUSANDTHS, flex_prefill_min_budget: flexprefillMinBudget, flex_prefill_max_budget: null };
  return `${JSON.stringify(fields, null, 2)}\n`;
}
