/**
 * XAttention's per-head threshold table (mit-han-lab/x-attention): a nested list, one list per
 * layer of one threshold per query head, the profiled `threshold` each head's estimate keeps
 * (0.9 = 90% of a query block's estimated mass). The table is for one stride, which it does not
 * name; Sparsescope reads and writes it for stride 8 (XAttention's and MInference's default) and
 * blocks of the config's xattentionBlockSize (default 128).
 *
 * Export: xattention heads keep their threshold (at stride 8); any other head gets threshold 1,
 * every block, the one XAttention setting sure to cover what it computed (warned with counts).
 */
import { type HeadConfig, type HeadPattern } from '../../../contract/api.js';
import { planHeads, THOUSANDTHS, type ExportPlan } from './engines.js';
import { ConfigError, MAX_INDEX } from './minference.js';

/** The stride the table is read and written for (ladders.ts XATTENTION_STRIDE). */
export const XATTENTION_TABLE_STRIDE = 8;

export function isXattentionTable(json: unknown): json is unknown[][] {
  return Array.isArray(json) && json.length > 0 && json.every((layer) => Array.isArray(layer));
}

function threshold(value: unknown, at: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) throw new ConfigError(`${at}: threshold ${JSON.stringify(value)} is not a number in (0, 1]`);
  return Math.max(1, Math.round(value * THOUSANDTHS));
}

export function parseXattention(json: unknown[][], where: string): { config: HeadConfig; warnings: string[] } {
  if (json.length > MAX_INDEX + 1) throw new ConfigError(`${where}: ${json.length} layers exceed the ${MAX_INDEX + 1}-layer limit`);
  const numHeads = json[0]!.length;
  if (numHeads === 0 || numHeads > MAX_INDEX + 1) throw new ConfigError(`${where}: layer 0 lists ${numHeads} heads (1..${MAX_INDEX + 1} expected)`);
  const heads = json.map((layer, l) => {
    if (layer.length !== numHeads) throw new ConfigError(`${where}: layer ${l} lists ${layer.length} thresholds, layer 0 ${numHeads} (one per query head)`);
    return layer.map((value, h): HeadPattern => ({ pattern: 'xattention', a: threshold(value, `${where}: layer ${l} head ${h}`), b: XATTENTION_TABLE_STRIDE }));
  });
  return { config: { numLayers: json.length, numHeads, heads }, warnings: [] };
}

export function planXattention(config: HeadConfig): ExportPlan {
  return planHeads(config, (entry) => ({ pattern: 'xattention', a: entry.pattern === 'xattention' ? entry.a : THOUSANDTHS, b: XATTENTION_TABLE_STRIDE }));
}

export const XATTENTION_WHY = `XAttention's table holds a threshold per head at stride ${XATTENTION_TABLE_STRIDE}; other patterns become threshold 1, every block`;

/** One layer per line, thresholds as decimals. */
export function xattentionText(written: readonly HeadPattern[][]): string {
  return `[\n${written.map((layer) => `  [${layer.map((head) => head.a / THOUSANDTHS).join(', ')}]`).join(',\n')}\n]\n`;
}
