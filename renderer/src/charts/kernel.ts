/**
 * Drawing what the sparse kernel reads for one query block: the block's rows across the keys it
 * may see, its 64-wide key tiles (block_offset) and loose columns (column_index) over the pooled
 * attention, everything it skips veiled, and what the causal mask (and an A-shape's window) drops
 * inside what it reads.
 */
import { KERNEL_BLOCK, type KernelBlocks } from '../../../contract/api';

/** Key intervals [from, to) the block reads, merged and ascending: its tiles and its loose columns. */
export function readIntervals(blocks: Pick<KernelBlocks, 'blockOffset' | 'columnIndex' | 'rowEnd'>): [number, number][] {
  const spans: [number, number][] = [...blocks.blockOffset.map((s): [number, number] => [s, s + KERNEL_BLOCK]), ...blocks.columnIndex.map((c): [number, number] => [c, c + 1])];
  spans.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [from, rawTo] of spans) {
    const to = Math.min(rawTo, blocks.rowEnd);
    if (to <= from) continue;
    const last = merged[merged.length - 1];
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/** The key intervals of [0, keyEnd) that are not read. */
export function skippedIntervals(read: [number, number][], keyEnd: number): [number, number][] {
  const gaps: [number, number][] = [];
  let next = 0;
  for (const [from, to] of read) {
    if (from > next) gaps.push([next, Math.min(from, keyEnd)]);
    next = Math.max(next, to);
  }
  if (next < keyEnd) gaps.push([next, keyEnd]);
  return gaps.filter(([from, to]) => to > from);
}

/** The query block holding a pixel row of a square map of `size` pixels over `seqLen` tokens. */
export function blockAtPixel(y: number, size: number, seqLen: number): number {
  const numBlocks = Math.ceil(seqLen / KERNEL_BLOCK);
  const row = Math.floor((y / size) * seqLen);
  return Math.max(0, Math.min(numBlocks - 1, Math.floor(row / KERNEL_BLOCK)));
}

export interface BandGeometry {
  /** Keys shown: [keyStart, keyEnd). */
  keyStart: number;
  keyEnd: number;
  width: number;
  height: number;
}

export function keyToX(band: BandGeometry, key: number): number {
  return ((key - band.keyStart) / (band.keyEnd - band.keyStart)) * band.width;
}

export interface BandColours {
  veil: string;
  tile: string;
  /** Text on a tile's number chip. */
  label: string;
  column: string;
  causal: string;
}

/**
 * The reads of one block drawn over the band (the pooled map already drawn under it): skipped keys
 * veiled, tiles outlined (numbered when wide enough), loose columns as lines, and in the causal
 * colour what is read but masked: the triangle past the diagonal, and an A-shape's gap.
 */
export function drawKernelBand(context: CanvasRenderingContext2D, band: BandGeometry, blocks: KernelBlocks, colours: BandColours): void {
  const { height } = band;
  const x = (key: number) => keyToX(band, key);
  context.fillStyle = colours.veil;
  for (const [from, to] of skippedIntervals(readIntervals(blocks), band.keyEnd)) {
    if (to <= band.keyStart) continue;
    context.fillRect(x(Math.max(from, band.keyStart)), 0, x(to) - x(Math.max(from, band.keyStart)), height);
  }
  // Keys after a row's own position: read as part of the diagonal tile, dropped by the causal mask.
  const rows = blocks.rowEnd - blocks.rowStart;
  context.fillStyle = colours.causal;
  context.beginPath();
  context.moveTo(x(blocks.rowStart + 1), 0);
  context.lineTo(x(blocks.rowEnd), 0);
  context.lineTo(x(blocks.rowEnd), ((rows - 1) / rows) * height);
  context.closePath();
  context.fill();
  // A-shape: inside the tiles each row keeps only its sink (j < n_init) and its window (j > i - n_local).
  if (blocks.window) {
    const [nInit, nLocal] = blocks.window;
    for (let r = 0; r < rows; r++) {
      const i = blocks.rowStart + r;
      // Whole-pixel rows that meet without overlap: a translucent colour painted twice would stripe.
      const top = Math.round((r * height) / rows);
      const bottom = Math.round(((r + 1) * height) / rows);
      for (const start of blocks.blockOffset) {
        const from = Math.max(start, nInit, band.keyStart);
        const to = Math.min(start + KERNEL_BLOCK, i - nLocal + 1, band.keyEnd);
        if (to > from && bottom > top) context.fillRect(x(from), top, x(to) - x(from), bottom - top);
      }
    }
  }
  context.lineWidth = 1;
  context.strokeStyle = colours.column;
  context.globalAlpha = 0.9;
  context.beginPath();
  for (const column of blocks.columnIndex) {
    if (column < band.keyStart || column >= band.keyEnd) continue;
    const centre = Math.round(x(column + 0.5)) + 0.5;
    context.moveTo(centre, 0);
    context.lineTo(centre, height);
  }
  context.stroke();
  context.globalAlpha = 1;
  context.strokeStyle = colours.tile;
  context.lineWidth = 2;
  context.font = '11px system-ui, sans-serif';
  context.textAlign = 'center';
  context.textBaseline = 'middle';
  blocks.blockOffset.forEach((start, t) => {
    if (start + KERNEL_BLOCK <= band.keyStart || start >= band.keyEnd) return;
    const x0 = x(start);
    const w = Math.max(2, x(Math.min(start + KERNEL_BLOCK, band.keyEnd)) - x0);
    context.strokeRect(x0 + 1, 1, w - 2, height - 2);
    // The tile's place in block_offset, on a chip so it reads over any colour.
    if (w < 18) return;
    context.fillStyle = colours.tile;
    context.fillRect(x0 + w / 2 - 8, 4, 16, 14);
    context.fillStyle = colours.label;
    context.fillText(String(t), x0 + w / 2, 11);
  });
}
