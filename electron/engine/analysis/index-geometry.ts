/**
 * Reading the sparse index (native-api.ts SparseIndex): which keys a query row computes.
 */
import type { SparseIndex } from '../native-api.js';
import { BLOCK } from './common.js';

/**
 * Computed key intervals [from, to) of query row `i` of head `head`, ascending and merged:
 * the block's tiles and loose columns under the causal mask, and for A-shape heads the
 * window restriction j < n_init or i - n_local < j. With `fromKey`, only keys j >= fromKey.
 */
export function computedIntervals(index: SparseIndex, head: number, i: number, fromKey = 0): [number, number][] {
  const spans: [number, number][] = [];
  forEachBlockSpan(index, head, Math.floor(i / BLOCK), fromKey, (from, to) => spans.push([from, to]));
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

/**
 * Visits the key spans [from, to) that query block `block` of `head` lists, cut to keys >= fromKey,
 * before the causal mask and the A-shape window: tiles, then loose columns, each descending (both
 * lists ascend, so the walk stops at the first span below fromKey). The spans are disjoint.
 */
export function forEachBlockSpan(index: SparseIndex, head: number, block: number, fromKey: number, visit: (from: number, to: number) => void): void {
  const r = head * index.numBlocks + block;
  for (let t = index.tileOffsets[r + 1]! - 1; t >= index.tileOffsets[r]! && index.tileStarts[t]! + BLOCK > fromKey; t--) {
    visit(Math.max(index.tileStarts[t]!, fromKey), index.tileStarts[t]! + BLOCK);
  }
  for (let c = index.colOffsets[r + 1]! - 1; c >= index.colOffsets[r]! && index.columns[c]! >= fromKey; c--) visit(index.columns[c]!, index.columns[c]! + 1);
}

/**
 * Head `head` of a layer's index as a one-head index, sharing the layer's arrays (only the
 * offsets are copied, rebased): a batch's index serves its heads' measures without a build each.
 * `ms` is that head's own build time.
 */
export function headOfIndex(index: SparseIndex, head: number, ms: number): SparseIndex {
  const blocks = (offsets: Int32Array, values: Int32Array) => {
    const first = offsets[head * index.numBlocks]!;
    const last = offsets[(head + 1) * index.numBlocks]!;
    return { offsets: offsets.subarray(head * index.numBlocks, (head + 1) * index.numBlocks + 1).map((offset) => offset - first), values: values.subarray(first, last) };
  };
  const perHead = (offsets: Int32Array, values: Int32Array) => ({ offsets: Int32Array.of(0, offsets[head + 1]! - offsets[head]!), values: values.subarray(offsets[head]!, offsets[head + 1]!) });
  const tiles = blocks(index.tileOffsets, index.tileStarts);
  const columns = blocks(index.colOffsets, index.columns);
  const verticals = perHead(index.verticalOffsets, index.verticals);
  const slashes = perHead(index.slashOffsets, index.slashes);
  return {
    numHeads: 1,
    seqLen: index.seqLen,
    numBlocks: index.numBlocks,
    tileOffsets: tiles.offsets,
    tileStarts: tiles.values,
    colOffsets: columns.offsets,
    columns: columns.values,
    window: index.window.subarray(2 * head, 2 * head + 2),
    verticalOffsets: verticals.offsets,
    verticals: verticals.values,
    slashOffsets: slashes.offsets,
    slashes: slashes.values,
    density: index.density.subarray(head, head + 1),
    ms,
  };
}
