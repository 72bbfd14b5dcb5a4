/** Pure helpers over head configs: defaults, edits, diffs and the per-head CSV. */
import { fitHeadConfig, MINFERENCE_DEFAULT_HEAD, type CaptureSummary, type HeadConfig, type HeadPattern, type HeadStats } from '../../../contract/api';

export type HeadConfigEntry = HeadConfig['heads'][number][number];

export interface HeadId {
  layer: number;
  head: number;
}

export const headKey = (layer: number, head: number): string => `${layer}:${head}`;

export function parseHeadKey(key: string): HeadId {
  const [layer, head] = key.split(':').map(Number);
  return { layer: layer ?? 0, head: head ?? 0 };
}

/** Every head of the capture at MInference's missing-head default. */
export function defaultConfig(capture: Pick<CaptureSummary, 'numLayers' | 'numHeads'>): HeadConfig {
  return fitHeadConfig(null, capture);
}

/** Whether every head has MInference's missing-head default (nothing loaded or searched yet). */
export function isDefaultConfig(config: HeadConfig): boolean {
  return config.heads.every((row) => row.every((entry) => samePattern(entry, MINFERENCE_DEFAULT_HEAD)));
}

export function entryAt(config: HeadConfig, layer: number, head: number): HeadConfigEntry {
  return config.heads[layer]?.[head] ?? MINFERENCE_DEFAULT_HEAD;
}

export function samePattern(x: HeadPattern, y: HeadPattern): boolean {
  return x.pattern === y.pattern && x.a === y.a && x.b === y.b;
}

/** A copy of `config` with the given heads replaced; rows of untouched layers are shared. */
export function withEntries(config: HeadConfig, changes: { layer: number; head: number; entry: HeadConfigEntry }[]): HeadConfig {
  const heads = config.heads.slice();
  for (const { layer, head, entry } of changes) {
    const row = (heads[layer] ?? []).slice();
    row[head] = entry;
    heads[layer] = row;
  }
  return { ...config, heads };
}

export interface HeadDiff extends HeadId {
  before: HeadConfigEntry;
  after: HeadConfigEntry;
}

export function diffConfigs(baseline: HeadConfig, current: HeadConfig): HeadDiff[] {
  const diffs: HeadDiff[] = [];
  for (let layer = 0; layer < current.numLayers; layer++) {
    for (let head = 0; head < current.numHeads; head++) {
      const before = entryAt(baseline, layer, head);
      const after = entryAt(current, layer, head);
      if (!samePattern(before, after)) diffs.push({ layer, head, before, after });
    }
  }
  return diffs;
}

/**
 * An imported config laid over the open capture: heads it leaves out get MInference's default
 * (counted in `defaulted`); a config with more layers or heads than the capture is refused.
 */
export function fitImportedConfig(config: HeadConfig, capture: Pick<CaptureSummary, 'numLayers' | 'numHeads'>): { config: HeadConfig; defaulted: number } {
  const fitted = fitHeadConfig(config, capture);
  const listed = config.heads.slice(0, capture.numLayers).reduce((sum, row) => sum + Math.min(row.length, capture.numHeads), 0);
  return { config: fitted, defaulted: capture.numLayers * capture.numHeads - listed };
}

export function describePattern(entry: HeadPattern): string {
  switch (entry.pattern) {
    case 'vertical_and_slash':
      return `vertical ${entry.a} · slash ${entry.b}`;
    case 'stream_llm':
      return `sink ${entry.a} · local ${entry.b}`;
    case 'block_sparse':
      return `top ${entry.a} block${entry.a === 1 ? '' : 's'}`;
    case 'dense':
      return 'dense';
    case 'xattention':
      return `threshold ${entry.a / 1000} · stride ${entry.b}`;
    case 'flexprefill':
      return `gamma ${entry.a / 1000} · tau ${entry.b / 1000}`;
  }
}

/** A few characters for tables: "VS 1000/6096", "A 100/800", "BS 100", "dense". */
export function shortPattern(entry: HeadPattern): string {
  switch (entry.pattern) {
    case 'vertical_and_slash':
      return `VS ${entry.a}/${entry.b}`;
    case 'stream_llm':
      return `A ${entry.a}/${entry.b}`;
    case 'block_sparse':
      return `BS ${entry.a}`;
    case 'dense':
      return 'dense';
    case 'xattention':
      return `XA ${entry.a / 1000}/${entry.b}`;
    case 'flexprefill':
      return `FP ${entry.a / 1000}/${entry.b / 1000}`;
  }
}

function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const CSV_COLUMNS = ['layer', 'head', 'pattern', 'a', 'b', 'recall', 'outputRelError', 'density', 'rowsUsed', 'denseMs', 'indexMs', 'sparseMs', 'speedup', 'speedupKind'] as const;

/** One line per head of the config, stats left empty where none were measured. */
export function statsCsv(config: HeadConfig, stats: Record<string, HeadStats>, layers: number[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const layer of layers) {
    for (let head = 0; head < config.numHeads; head++) {
      const entry = entryAt(config, layer, head);
      const s = stats[headKey(layer, head)];
      const measured = s && samePattern(entry, { pattern: s.pattern, a: s.params[0], b: s.params[1] });
      const values = [layer, head, entry.pattern, entry.a, entry.b];
      const measures = measured
        ? [s.recall, s.outputRelError, s.density, s.rowsUsed, s.denseMs, s.indexMs, s.sparseMs, s.speedup, s.speedupKind]
        : CSV_COLUMNS.slice(values.length).map(() => '');
      lines.push([...values, ...measures].map(csvField).join(','));
    }
  }
  return lines.join('\n') + '\n';
}
