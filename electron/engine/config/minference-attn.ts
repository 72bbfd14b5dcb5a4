/**
 * MInference's settings for the methods it runs besides its own per-head patterns: `attn_type`
 * with its `attn_kwargs`, e.g. `{"attn_type": "xattention", "attn_kwargs": {"stride": 8,
 * "threshold": 0.9, "block_size": 128}}` or `{"attn_type": "flexprefill", "attn_kwargs": {"gamma":
 * 0.95, "tau": 0.1, "min_budget": 512, "max_budget": null, "block_size": 128}}`. One setting for
 * every head, so import needs the capture (see flexprefill.ts). XAttention's `norm` and
 * `chunk_size` are left to MInference's defaults (a file's are ignored with a warning).
 *
 * Export: the method of most of the config's xattention / flexprefill heads (ties: xattention),
 * at its widest head's setting; every other head is converted to it (warned with counts). A config
 * with neither has no such file: its MInference export is the per-head list (`minference`).
 */
import { methodSettingsOf, type HeadConfig, type HeadPattern } from '../../../contract/api.js';
import { THOUSANDTHS, type ConfigShape } from './engines.js';
import { readBlockSize, readField, readFlexprefillSettings, uniformConfig, widestHead } from './flexprefill.js';
import { ConfigError } from './minference.js';

const ATTN_TYPES = ['xattention', 'flexprefill'] as const;
const XATTENTION_KWARGS = ['stride', 'threshold', 'block_size'];
const FLEXPREFILL_KWARGS = ['gamma', 'tau', 'min_budget', 'max_budget', 'block_size'];

export function isMinferenceAttn(json: unknown): json is { attn_type: unknown; attn_kwargs?: unknown } {
  return json !== null && typeof json === 'object' && !Array.isArray(json) && 'attn_type' in json;
}

function ignoredKwargs(kwargs: Record<string, unknown>, known: readonly string[], where: string): string[] {
  const ignored = Object.keys(kwargs).filter((key) => !known.includes(key));
  return ignored.length > 0 ? [`${where}: attn_kwargs ${ignored.join(', ')} ignored (not modelled; MInference's defaults assumed)`] : [];
}

export function parseMinferenceAttn(json: { attn_type: unknown; attn_kwargs?: unknown }, where: string, shape?: ConfigShape): { config: HeadConfig; warnings: string[] } {
  const kwargs = (json.attn_kwargs ?? {}) as Record<string, unknown>;
  if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) throw new ConfigError(`${where}: attn_kwargs is not an object`);
  const at = `${where}: attn_kwargs`;
  switch (json.attn_type) {
    case 'xattention': {
      const threshold = readField(kwargs, 'threshold', at, { min: 0.001, max: 1 });
      const blockSize = readBlockSize(kwargs, 'block_size', at);
      const stride = readField(kwargs, 'stride', at, { min: 1, max: blockSize, integer: true }, 8);
      if (blockSize % stride !== 0) throw new ConfigError(`${at}: stride ${stride} does not divide block_size ${blockSize}`);
      const head: HeadPattern = { pattern: 'xattention', a: Math.round(threshold * THOUSANDTHS), b: stride };
      return { config: uniformConfig(shape, head, { xattentionBlockSize: blockSize }, where, `MInference's ${json.attn_type} setting`), warnings: ignoredKwargs(kwargs, XATTENTION_KWARGS, where) };
    }
    case 'flexprefill': {
      const { head, runtime, warnings } = readFlexprefillSettings(kwargs, { gamma: 'gamma', tau: 'tau', minBudget: 'min_budget', maxBudget: 'max_budget' }, at);
      return { config: uniformConfig(shape, head, runtime, where, `MInference's ${json.attn_type} setting`), warnings: [...warnings, ...ignoredKwargs(kwargs, FLEXPREFILL_KWARGS, where)] };
    }
    default:
      throw new ConfigError(`${where}: attn_type ${JSON.stringify(json.attn_type)} is not one Sparsescope reads (${ATTN_TYPES.join(', ')}; MInference's own patterns are its per-head list)`);
  }
}

/** The setting to write: the method most xattention / flexprefill heads use, at its widest head. */
export function minferenceAttnSetting(config: HeadConfig): HeadPattern {
  const count = (pattern: string): number => config.heads.flat().filter((head) => head.pattern === pattern).length;
  const [xattention, flexprefill] = [count('xattention'), count('flexprefill')];
  if (xattention + flexprefill === 0) throw new ConfigError('the config has no xattention or flexprefill head, the methods MInference runs by attn_type: export it as minference');
  const method = xattention >= flexprefill ? 'xattention' : 'flexprefill';
  return widestHead(config, method, { pattern: method, a: THOUSANDTHS, b: 0 });
}

export function minferenceAttnText(setting: HeadPattern, config: HeadConfig): string {
  const settings = methodSettingsOf(config.runtime);
  const attn_kwargs =
    setting.pattern === 'xattention'
      ? { stride: setting.b, threshold: setting.a / THOUSANDTHS, block_size: settings.xattentionBlockSize }
      : { gamma: setting.a / THOUSANDTHS, tau: setting.b / THOUSANDTHS, min_budget: settings.flexprefillMinBudget, max_budget: null, block_size: settings.flexprefillBlockSize };
  return `${JSON.stringify({ attn_type: setting.pattern, attn_kwargs }, null, 2)}\n`;
}
