/**
 * Reading the sparse index (native-api.ts SparseIndex): which keys a query row computes.
 */
import type { SparseIndex } from '../native-api.js';
import { BLOCK } from './common.js';

/**
 * Computed key intervals [from, to) of query row `i` of head `head`, ascending and merged:
 * the block's tiles and loose columns under the causal mask, and for A-shape heads the
 * window restriction j < n_init or i - n_local < j.
 */
export function computedIntervals(index: SparseIndex, head: number, i: number): [number, number][] {
  const r = head * index.numBlocks + Math.floor(i / BLOCK);
  const spans: [number, number][] = [];
  for (let t = index.tileOffsets[r]!; t < index.tileOffsets[r + 1]!; t++) spans.push([index.tileStarts[t]!, index.tileStarts[t]! + BLOCK]);
  for (let c = index.colOffsets[r]!; c < index.colOffsets[r + 1]!; c++) spans.push([index.columns[c]!, index.columns[c]! + 1]);
  spans.sort((a, b) => a[0] - b[0]);
  const nInit = index.window[2 * head]!;
  const nLocal = index.window[2 * head + 1]!;
  const intervals: [number, number][] = [];
  const push = (from: number, to: number): void => {
    const end = Math.min(to, i + 1, index.seqLen);
    if (end <= from) return;
    const last = intervals[intervals.length - 1];
    if (last && from <= last[1]) last[1] = Math.max(last[1], end);
    else intervals.push([from, end]);
  };
  for (const [from, to] of spans) {
    if (nInit < 0) push(from, to);
    else {
      push(from, Math.min(to, nInit));
      push(Math.max(from, i - nLocal + 1), to);
    }
  }
  return intervals;
}
