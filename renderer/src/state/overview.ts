/** Rows of the overview's head list: sorting, filtering and model totals, as pure functions. */
import type { HeadConfig, HeadStats, PatternName, SpeedupKind } from '../../../contract/api';
import { entryAt, headKey, type HeadConfigEntry } from './config';

export type HeadSort = 'recall' | 'layer' | 'pattern' | 'density';

/** What fills the overview grid's cells: the pattern, a measure with the pattern as a mark, or the method that wins the head (after a search across methods). */
export type GridColour = 'pattern' | 'method' | 'recall' | 'density' | 'outputRelError' | 'speedup';

export interface HeadFilter {
  pattern: PatternName | 'all';
  layer: number | 'all';
}

export interface HeadRow {
  key: string;
  layer: number;
  head: number;
  entry: HeadConfigEntry;
  stats: HeadStats | undefined;
}

export function listHeads(config: HeadConfig, layers: number[], stats: Record<string, HeadStats>, sort: HeadSort, filter: HeadFilter): HeadRow[] {
  const rows: HeadRow[] = [];
  for (const layer of layers) {
    if (filter.layer !== 'all' && filter.layer !== layer) continue;
    for (let head = 0; head < config.numHeads; head++) {
      const entry = entryAt(config, layer, head);
      if (filter.pattern !== 'all' && filter.pattern !== entry.pattern) continue;
      const key = headKey(layer, head);
      rows.push({ key, layer, head, entry, stats: stats[key] });
    }
  }
  const byPosition = (x: HeadRow, y: HeadRow) => x.layer - y.layer || x.head - y.head;
  // Heads without numbers go last whatever the sort, so "lowest recall first" means measured heads.
  const byMeasure = (measure: (s: HeadStats) => number) => (x: HeadRow, y: HeadRow) => {
    if (!x.stats || !y.stats) return (x.stats ? -1 : 0) - (y.stats ? -1 : 0) || byPosition(x, y);
    return measure(x.stats) - measure(y.stats) || byPosition(x, y);
  };
  const comparators: Record<HeadSort, (x: HeadRow, y: HeadRow) => number> = {
    recall: byMeasure((s) => s.recall),
    density: byMeasure((s) => -s.density),
    layer: byPosition,
    pattern: (x, y) => x.entry.pattern.localeCompare(y.entry.pattern) || byMeasure((s) => s.recall)(x, y),
  };
  return rows.sort(comparators[sort]);
}

export interface ModelTotals {
  heads: number;
  measured: number;
  meanRecall: number | null;
  minRecall: number | null;
  meanDensity: number | null;
  /** Sum of dense time over sum of index + sparse time for the measured heads. */
  speedup: number | null;
  /** `predicted` as soon as one head's times are (a tuned head is evaluated on sampled rows). */
  speedupKind: SpeedupKind;
  patternCounts: Record<PatternName, number>;
}

export function modelTotals(config: HeadConfig, layers: number[], stats: Record<string, HeadStats>): ModelTotals {
  const patternCounts: Record<PatternName, number> = { vertical_and_slash: 0, stream_llm: 0, block_sparse: 0, dense: 0, xattention: 0, flexprefill: 0 };
  let measured = 0;
  let recallSum = 0;
  let densitySum = 0;
  let minRecall = Infinity;
  let denseMs = 0;
  let sparseMs = 0;
  let speedupKind: SpeedupKind = 'measured';
  for (const layer of layers) {
    for (let head = 0; head < config.numHeads; head++) {
      patternCounts[entryAt(config, layer, head).pattern]++;
      const s = stats[headKey(layer, head)];
      if (!s) continue;
      measured++;
      recallSum += s.recall;
      densitySum += s.density;
      minRecall = Math.min(minRecall, s.recall);
      denseMs += s.denseMs;
      sparseMs += s.indexMs + s.sparseMs;
      if (s.speedupKind === 'predicted') speedupKind = 'predicted';
    }
  }
  return {
    heads: layers.length * config.numHeads,
    measured,
    meanRecall: measured ? recallSum / measured : null,
    minRecall: measured ? minRecall : null,
    meanDensity: measured ? densitySum / measured : null,
    speedup: denseMs > 0 && sparseMs > 0 ? denseMs / sparseMs : null,
    speedupKind,
    patternCounts,
  };
}
