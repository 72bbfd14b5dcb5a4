/**
 * DuoAttention's head pattern (mit-han-lab/duo-attention): `full_attention_heads.tsv`, one line per
 * layer of tab-separated values, one per KV head, read with numpy's loadtxt (lines starting with
 * `#` are comments). A value >= 0.5 (its eval's default threshold) makes the KV head a retrieval
 * head (full attention: dense for every query head of it); below, a streaming head: sink tokens
 * plus a recent window (stream_llm), whose sizes DuoAttention reads from `config.json` beside the
 * file (`sink_size`, `recent_size`).
 *
 * Sparsescope writes one file: the sizes go in a first comment line, `# sink_size 64 recent_size
 * 256` (numpy skips it), which import reads back (without it: DUO_STREAMING_HEAD's 64 / 256); put
 * the same two numbers in the config.json DuoAttention loads. Values are written as numpy's
 * savetxt does (`1.000000000000000000e+00`).
 *
 * Query heads: the file lists KV heads, so import needs the capture's grouping (without it, one
 * query head per KV head) and export the capture's KV heads (without it, the same assumption,
 * warned). Export: a KV head streams when every query head of it is stream_llm within the sink and
 * window (a subset of what streaming computes); otherwise it is a retrieval head and all its query
 * heads run dense, the nearest DuoAttention pattern covering them (warned with counts).
 */
import { DENSE_HEAD, DUO_STREAMING_HEAD, type HeadConfig, type HeadPattern } from '../../../contract/api.js';
import { planHeads, type ConfigShape, type ExportPlan } from './engines.js';
import { ConfigError, MAX_INDEX } from './minference.js';

const RETRIEVAL_THRESHOLD = 0.5;
const SIZES = /^#\s*sink_size\s+(\d+)\s+recent_size\s+(\d+)\s*$/;
const VALUE = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** Whether text is a TSV of numbers (its comment lines aside), as DuoAttention writes. */
export function looksLikeDuoTsv(text: string): boolean {
  const lines = dataLines(text);
  return lines.length > 0 && lines.every((line) => line.split('\t').every((cell) => VALUE.test(cell.trim())));
}

function dataLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
}

/** The streaming head the file's comment gives, else DuoAttention's defaults. */
function streamingHead(text: string): HeadPattern {
  for (const line of text.split(/\r?\n/)) {
    const match = SIZES.exec(line.trim());
    if (match) return { pattern: 'stream_llm', a: Number(match[1]), b: Number(match[2]) };
  }
  return { ...DUO_STREAMING_HEAD };
}

/** The file's heads, each KV head's value spread over its query heads (`shape`: the capture's grouping). */
export function parseDuo(text: string, where: string, shape?: ConfigShape): { config: HeadConfig; warnings: string[] } {
  const rows = dataLines(text).map((line, l) =>
    line.split('\t').map((cell, k) => {
      const value = Number(cell.trim());
      if (!VALUE.test(cell.trim()) || !Number.isFinite(value)) throw new ConfigError(`${where}: layer ${l} KV head ${k}: ${JSON.stringify(cell)} is not a number`);
      return value;
    }),
  );
  if (rows.length === 0) throw new ConfigError(`${where}: no layer lines`);
  if (rows.length > MAX_INDEX + 1) throw new ConfigError(`${where}: ${rows.length} layers exceed the ${MAX_INDEX + 1}-layer limit`);
  const kvHeads = rows[0]!.length;
  rows.forEach((row, l) => {
    if (row.length !== kvHeads) throw new ConfigError(`${where}: layer ${l} lists ${row.length} KV heads, layer 0 ${kvHeads}`);
  });
  if (shape && shape.numKvHeads !== kvHeads) throw new ConfigError(`${where}: the file lists ${kvHeads} KV heads per layer but the capture has ${shape.numKvHeads}`);
  const group = shape ? shape.numHeads / shape.numKvHeads : 1;
  const streaming = streamingHead(text);
  const heads = rows.map((row) => row.flatMap((value) => Array.from({ length: group }, () => ({ ...(value >= RETRIEVAL_THRESHOLD ? DENSE_HEAD : streaming) }))));
  const warnings = shape ? [] : [`${where}: DuoAttention lists KV heads; read as one query head each (open the capture to spread them over its query heads)`];
  return { config: { numLayers: rows.length, numHeads: kvHeads * group, heads }, warnings };
}

/** Query heads per KV head of the capture, else 1. */
export function duoGroup(config: HeadConfig, shape?: Pick<ConfigShape, 'numHeads' | 'numKvHeads'>): number {
  if (!shape) return 1;
  if (shape.numHeads !== config.numHeads) throw new ConfigError(`the config has ${config.numHeads} heads per layer but the capture has ${shape.numHeads}`);
  return shape.numHeads / shape.numKvHeads;
}

/** The file's streaming head: the config's stream_llm heads' sizes where they all agree (a DuoAttention import), else DuoAttention's defaults. */
export function duoStreaming(config: HeadConfig): HeadPattern {
  const sizes = new Set(config.heads.flat().flatMap((head) => (head.pattern === 'stream_llm' ? [`${head.a} ${head.b}`] : [])));
  if (sizes.size !== 1) return { ...DUO_STREAMING_HEAD };
  const [a, b] = [...sizes][0]!.split(' ').map(Number);
  return { pattern: 'stream_llm', a: a!, b: b! };
}

/** Per head: `streaming` where its whole KV group streams within it (a subset of what it computes), else dense. */
export function planDuo(config: HeadConfig, group: number, streaming: HeadPattern): ExportPlan {
  const covered = (head: HeadPattern): boolean => head.pattern === 'stream_llm' && head.a <= streaming.a && head.b <= streaming.b;
  const streams = config.heads.map((layer) => Array.from({ length: Math.ceil(layer.length / group) }, (_, k) => layer.slice(k * group, (k + 1) * group).every(covered)));
  return planHeads(config, (_, l, h) => (streams[l]![Math.floor(h / group)] ? { ...streaming } : { ...DENSE_HEAD }));
}

export function duoWhy(streaming: HeadPattern): string {
  return `DuoAttention runs a KV head as retrieval (dense) unless every query head of it streams within sink ${streaming.a} and recent ${streaming.b}`;
}

/** The TSV: the sizes comment, then per layer one savetxt value per KV head (a group's first query head). */
export function duoText(written: readonly HeadPattern[][], group: number, streaming: HeadPattern): string {
  const lines = written.map((layer) =>
    layer
      .filter((_, h) => h % group === 0)
      .map((head) => (head.pattern === 'dense' ? 1 : 0).toExponential(18).replace(/e([+-])(\d)$/, 'e$10$2'))
      .join('\t'),
  );
  return `# sink_size ${streaming.a} recent_size ${streaming.b}\n${lines.join('\n')}\n`;
}
