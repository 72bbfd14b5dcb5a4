/**
 * The sparse kernel's reads for one query block, read off the head's CSR index (native-api.ts
 * SparseIndex): its tiles are MInference's block_offset, its loose columns column_index.
 */
import { ApiError, KERNEL_BLOCK, type KernelBlocks, type ParsedParams } from '../../../contract/api.js';
import type { Capture } from '../capture/types.js';
import type { NativeModule, SparseIndex } from '../native-api.js';
import { resolveBackend, throwIfCancelled, type Control } from './common.js';
import { CachedHead } from './head.js';
import { HeadCache } from './head-cache.js';
import { computedIntervals } from './index-geometry.js';

/** The lists of query block `block` of a one-head index, and its computed and causal entries. */
export function kernelBlocksOf(index: SparseIndex, block: number): Omit<KernelBlocks, 'density'> {
  if (block >= index.numBlocks) throw new ApiError(`query block ${block} is out of range: the head has ${index.numBlocks} blocks of ${KERNEL_BLOCK} rows`, 'bad-request');
  const blockOffset = Array.from(index.tileStarts.subarray(index.tileOffsets[block], index.tileOffsets[block + 1]));
  const columnIndex = Array.from(index.columns.subarray(index.colOffsets[block], index.colOffsets[block + 1]));
  const rowStart = block * KERNEL_BLOCK;
  const rowEnd = Math.min(index.seqLen, rowStart + KERNEL_BLOCK);
  let computedEntries = 0;
  let causalEntries = 0;
  for (let i = rowStart; i < rowEnd; i++) {
    causalEntries += i + 1;
    for (const [from, to] of computedIntervals(index, 0, i)) computedEntries += to - from;
  }
  const windowed = index.window[0]! >= 0;
  return {
    queryBlock: block,
    numBlocks: index.numBlocks,
    rowStart,
    rowEnd,
    blockCount: blockOffset.length,
    blockOffset,
    columnCount: columnIndex.length,
    columnIndex,
    window: windowed ? [index.window[0]!, index.window[1]!] : null,
    computedEntries,
    causalEntries,
  };
}

export async function kernelBlocks(
  native: NativeModule,
  capture: Capture,
  params: Omit<ParsedParams<'head.kernelBlocks'>, 'captureId'>,
  control?: Control,
  cache = new HeadCache(),
): Promise<KernelBlocks> {
  const { backend } = resolveBackend(native, 'auto', capture.summary);
  const index = await new CachedHead(native, capture, cache, params.layer, params.head, backend, control).index(params.pattern, params.lastQ, params.methodSettings);
  throwIfCancelled(control);
  return { ...kernelBlocksOf(index, params.queryBlock), density: index.density[0] ?? 0 };
}
