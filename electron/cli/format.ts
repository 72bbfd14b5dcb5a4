/** Human-readable tables for the terminal; `--json` output bypasses these. */
import type { CaptureSummary, PatternName, Report, SpeedupKind } from '../../contract/api.js';
import type { MethodTotals } from '../engine/analysis/method-search.js';

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/** "0-3, 7" for [0, 1, 2, 3, 7]. */
export function formatRanges(values: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === (values[j] as number) + 1) j++;
    parts.push(i === j ? `${values[i]}` : `${values[i]}-${values[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

export function plantedCounts(summary: CaptureSummary): Partial<Record<PatternName, number>> | null {
  if (!summary.planted) return null;
  const counts: Partial<Record<PatternName, number>> = {};
  for (const head of summary.planted.flat()) counts[head.pattern] = (counts[head.pattern] ?? 0) + 1;
  return counts;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => rows.reduce((widest, row) => Math.max(widest, row[c]?.length ?? 0), 0)) ?? [];
  return rows.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join('  ').trimEnd()).join('\n');
}

function tokensLine(summary: CaptureSummary): string {
  if (!summary.tokens) return 'no';
  return summary.tokenizer ? `yes (tokenizer ${summary.tokenizer})` : 'yes';
}

/** The capture's facts; `firstTokens`, when given, are shown quoted so spaces and newlines stay visible. */
export function formatSummary(summary: CaptureSummary, firstTokens?: readonly string[]): string {
  const planted = plantedCounts(summary);
  const preview: [string, string][] = firstTokens ? [['first tokens', firstTokens.map((text) => JSON.stringify(text)).join(' ')]] : [];
  const rows: [string, string][] = [
    ['file', `${summary.fileName} (${formatBytes(summary.sizeBytes)})`],
    ['model', summary.model || '(not given)'],
    ['source', summary.source || '(not given)'],
    ['layers', `${summary.layers.length} of ${summary.numLayers} (${formatRanges(summary.layers)})`],
    ['heads', `${summary.numHeads} query, ${summary.numKvHeads} kv (${summary.numHeads / summary.numKvHeads} query heads per kv head)`],
    ['head dim', String(summary.headDim)],
    ['seq len', String(summary.seqLen)],
    ['dtype', summary.dtype],
    ['tokens', tokensLine(summary)],
    ...preview,
    ['hash', summary.hash.slice(0, 16)],
  ];
  if (planted) rows.push(['planted', Object.entries(planted).map(([pattern, count]) => `${pattern} ${count}`).join(', ')]);
  return `${table(rows)}\n`;
}

const fixed = (digits: number) => (value: number) => value.toFixed(digits);

/** A speedup with how it was obtained: "6.80x measured", "~5.10x predicted". */
export function formatSpeedup(speedup: number, kind: SpeedupKind): string {
  return kind === 'measured' ? `${fixed(2)(speedup)}x measured` : `~${fixed(2)(speedup)}x predicted`;
}

export function formatReport(report: Report): string {
  const header = ['layer', 'head', 'pattern', 'params', 'recall', 'out err', 'density', 'dense ms', 'index ms', 'sparse ms', 'speedup'];
  const rows = report.heads.map((h) => [
    String(h.layer),
    String(h.head),
    h.pattern,
    `${h.params[0]}, ${h.params[1]}`,
    fixed(4)(h.recall),
    fixed(4)(h.outputRelError),
    fixed(3)(h.density),
    fixed(2)(h.denseMs),
    fixed(2)(h.indexMs),
    fixed(2)(h.sparseMs),
    formatSpeedup(h.speedup, h.speedupKind),
  ]);
  const t = report.totals;
  return [
    `${report.backend} (${report.device}), ${report.dtype}, seq len ${report.seqLen}`,
    table([header, ...rows]),
    `total: dense ${fixed(2)(t.denseMs)} ms, index ${fixed(2)(t.indexMs)} ms, sparse ${fixed(2)(t.sparseMs)} ms, speedup ${formatSpeedup(t.speedup, t.speedupKind)}, mean recall ${fixed(4)(t.meanRecall)}, min recall ${fixed(4)(t.minRecall)}`,
    '',
  ].join('\n');
}

/** The methods a search compared, side by side over its heads (timings as if each ran every head). */
export function formatMethodTotals(totals: readonly MethodTotals[]): string {
  const header = ['method', 'held', 'wins', 'mean recall', 'min recall', 'density', 'index ms', 'sparse ms', 'speedup'];
  const rows = totals.map((t) => [
    t.method,
    `${t.held}/${t.heads}`,
    String(t.wins),
    fixed(4)(t.meanRecall),
    fixed(4)(t.minRecall),
    fixed(3)(t.meanDensity),
    fixed(2)(t.indexMs),
    fixed(2)(t.sparseMs),
    formatSpeedup(t.speedup, 'measured'),
  ]);
  return `methods compared per head (winner: lowest cost that holds the target):\n${table([header, ...rows])}\n`;
}
