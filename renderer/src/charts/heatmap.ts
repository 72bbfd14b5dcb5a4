/**
 * Drawing pooled maps on a canvas under a d3-zoom transform. The map's coordinate system is token
 * positions [0, N) on both axes; `TokenView` maps it to canvas pixels. Images are pre-rendered
 * once per data arrival (an offscreen canvas per map) and only blitted on zoom/pan.
 */
import type { ZoomTransform } from 'd3';
import type { MaskGeometry, PooledMap, Region } from '../../../contract/api';
import { coverageToPixels, valuesToPixels, type MapOptions, type Rgba } from './colormap';

/** Token space -> canvas pixels for an N x N map drawn in a size x size canvas, zoomed by `transform`. */
export interface TokenView {
  seqLen: number;
  size: number;
  transform: Pick<ZoomTransform, 'k' | 'x' | 'y'>;
}

export function tokenToPixelX(view: TokenView, token: number): number {
  return view.transform.x + view.transform.k * (token * view.size) / view.seqLen;
}

export function tokenToPixelY(view: TokenView, token: number): number {
  return view.transform.y + view.transform.k * (token * view.size) / view.seqLen;
}

export function pixelToTokenX(view: TokenView, pixel: number): number {
  return ((pixel - view.transform.x) / view.transform.k) * (view.seqLen / view.size);
}

export function pixelToTokenY(view: TokenView, pixel: number): number {
  return ((pixel - view.transform.y) / view.transform.k) * (view.seqLen / view.size);
}

/** The token region visible in the canvas, clamped to the map and to whole tokens. */
export function visibleRegion(view: TokenView): Region {
  const clamp = (t: number) => Math.max(0, Math.min(view.seqLen, t));
  const colStart = Math.floor(clamp(pixelToTokenX(view, 0)));
  const colEnd = Math.max(colStart + 1, Math.ceil(clamp(pixelToTokenX(view, view.size))));
  const rowStart = Math.floor(clamp(pixelToTokenY(view, 0)));
  const rowEnd = Math.max(rowStart + 1, Math.ceil(clamp(pixelToTokenY(view, view.size))));
  return { rowStart, rowEnd, colStart, colEnd };
}

export function fullRegion(seqLen: number): Region {
  return { rowStart: 0, rowEnd: seqLen, colStart: 0, colEnd: seqLen };
}

/** A grid image positioned in token space. */
export interface PlacedImage {
  region: Region;
  image: HTMLCanvasElement;
}

export function imageFromPixels(pixels: Uint8ClampedArray, cols: number, rows: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = cols;
  canvas.height = rows;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('this browser cannot draw on a canvas');
  context.putImageData(new ImageData(new Uint8ClampedArray(pixels), cols, rows), 0, 0);
  return canvas;
}

export function renderPooledMap(map: PooledMap, lut: Uint8ClampedArray, options: MapOptions): PlacedImage & { vmax: number } {
  const { pixels, vmax } = valuesToPixels(map.mean, lut, options);
  return { region: map.region, image: imageFromPixels(pixels, map.cols, map.rows), vmax };
}

/** Whether grid cell `index` of a rows x cols grid over `region` holds any causal entry (j <= i). */
export function causalCell(region: Region, rows: number, cols: number): (index: number) => boolean {
  const rowStep = (region.rowEnd - region.rowStart) / rows;
  const colStep = (region.colEnd - region.colStart) / cols;
  return (index) => {
    const r = Math.floor(index / cols);
    const c = index % cols;
    const lastRow = region.rowStart + (r + 1) * rowStep - 1;
    const firstCol = region.colStart + c * colStep;
    return lastRow >= firstCol;
  };
}

export function renderMask(mask: MaskGeometry, veil: Rgba): PlacedImage {
  const pixels = coverageToPixels(mask.coverage, causalCell(mask.region, mask.rows, mask.cols), veil);
  return { region: mask.region, image: imageFromPixels(pixels, mask.cols, mask.rows) };
}

export function drawPlaced(context: CanvasRenderingContext2D, view: TokenView, placed: PlacedImage): void {
  const { region } = placed;
  const x0 = tokenToPixelX(view, region.colStart);
  const y0 = tokenToPixelY(view, region.rowStart);
  const x1 = tokenToPixelX(view, region.colEnd);
  const y1 = tokenToPixelY(view, region.rowEnd);
  context.imageSmoothingEnabled = false;
  context.drawImage(placed.image, x0, y0, x1 - x0, y1 - y0);
}

/** The cell of a rows x cols grid over `region` that holds token (row, col), or null outside it. */
export function cellIndexAt(grid: { region: Region; rows: number; cols: number }, row: number, col: number): number | null {
  const { region, rows, cols } = grid;
  if (row < region.rowStart || row >= region.rowEnd || col < region.colStart || col >= region.colEnd) return null;
  const r = Math.min(rows - 1, Math.floor(((row - region.rowStart) * rows) / (region.rowEnd - region.rowStart)));
  const c = Math.min(cols - 1, Math.floor(((col - region.colStart) * cols) / (region.colEnd - region.colStart)));
  return r * cols + c;
}

/** The token rectangle of grid cell `index`, in whole tokens. */
export function cellBounds(grid: { region: Region; rows: number; cols: number }, index: number): Region {
  const { region, rows, cols } = grid;
  const r = Math.floor(index / cols);
  const c = index % cols;
  const rowAt = (k: number) => region.rowStart + Math.round((k * (region.rowEnd - region.rowStart)) / rows);
  const colAt = (k: number) => region.colStart + Math.round((k * (region.colEnd - region.colStart)) / cols);
  return { rowStart: rowAt(r), rowEnd: Math.max(rowAt(r) + 1, rowAt(r + 1)), colStart: colAt(c), colEnd: Math.max(colAt(c) + 1, colAt(c + 1)) };
}

/** Smallest gap, in pixels, between two drawn mask lines: closer ones would paint over the map. */
export const MIN_LINE_GAP_PX = 5;

/**
 * The chosen lines (sorted token positions) inside [start, end) that stand at least `minGap` pixels
 * from their chosen neighbours at this zoom. Crowded lines are left to the coverage image, which
 * shows them as computed cells; zooming in separates them.
 */
export function separatedLines(sorted: readonly number[], start: number, end: number, pixelsPerToken: number, minGap = MIN_LINE_GAP_PX): number[] {
  const kept: number[] = [];
  for (let k = 0; k < sorted.length; k++) {
    const value = sorted[k]!;
    if (value < start || value >= end) continue;
    const before = k > 0 ? (value - sorted[k - 1]!) * pixelsPerToken : Infinity;
    const after = k + 1 < sorted.length ? (sorted[k + 1]! - value) * pixelsPerToken : Infinity;
    if (before >= minGap && after >= minGap) kept.push(value);
  }
  return kept;
}

/** The chosen value nearest to `value` in a sorted list (null when the list is empty). */
export function nearestChosen(sorted: readonly number[], value: number): number | null {
  if (sorted.length === 0) return null;
  let low = 0;
  let high = sorted.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  const above = sorted[low]!;
  const below = low > 0 ? sorted[low - 1]! : above;
  return Math.abs(value - below) <= Math.abs(above - value) ? below : above;
}

/** Pixels per token on both axes of the view. */
export function pixelsPerToken(view: TokenView): number {
  return (view.transform.k * view.size) / view.seqLen;
}

/** Chosen diagonals (i - j = offset) and vertical columns, as thin lines over the visible map. */
export function drawMaskLines(context: CanvasRenderingContext2D, view: TokenView, mask: Pick<MaskGeometry, 'slashOffsets' | 'verticalColumns'>, colours: { slash: string; vertical: string }): void {
  const n = view.seqLen;
  context.lineWidth = 1;
  context.globalAlpha = 0.7;
  context.strokeStyle = colours.slash;
  context.beginPath();
  for (const offset of mask.slashOffsets) {
    if (offset >= n) continue;
    context.moveTo(tokenToPixelX(view, 0), tokenToPixelY(view, offset));
    context.lineTo(tokenToPixelX(view, n - offset), tokenToPixelY(view, n));
  }
  context.stroke();
  context.strokeStyle = colours.vertical;
  context.beginPath();
  for (const column of mask.verticalColumns) {
    if (column >= n) continue;
    const x = tokenToPixelX(view, column + 0.5);
    context.moveTo(x, tokenToPixelY(view, column));
    context.lineTo(x, tokenToPixelY(view, n));
  }
  context.stroke();
  context.globalAlpha = 1;
}

/** Per-row recall bins drawn as a vertical strip aligned with the map's rows. */
export function drawRowStrip(context: CanvasRenderingContext2D, view: TokenView, strip: { rowStart: number; rowEnd: number; recall: Float32Array }, width: number, colourOf: (recall: number) => string): void {
  const bins = strip.recall.length;
  const step = (strip.rowEnd - strip.rowStart) / bins;
  context.clearRect(0, 0, width, view.size);
  for (let i = 0; i < bins; i++) {
    const y0 = tokenToPixelY(view, strip.rowStart + i * step);
    const y1 = tokenToPixelY(view, strip.rowStart + (i + 1) * step);
    if (y1 < 0 || y0 > view.size) continue;
    context.fillStyle = colourOf(strip.recall[i]!);
    context.fillRect(0, y0, width, Math.max(1, y1 - y0));
  }
}

/** The chosen lines of a mask, each list sorted. */
export interface MaskLines {
  slashOffsets: number[];
  verticalColumns: number[];
}

export function sortedLines(mask: Pick<MaskGeometry, 'slashOffsets' | 'verticalColumns'>): MaskLines {
  const ascending = (x: number, y: number) => x - y;
  return { slashOffsets: [...mask.slashOffsets].sort(ascending), verticalColumns: [...mask.verticalColumns].sort(ascending) };
}

/** The chosen lines worth drawing in this view: inside it and apart from their neighbours (separatedLines). */
export function linesToDraw(lines: MaskLines, view: TokenView): MaskLines {
  const region = visibleRegion(view);
  const px = pixelsPerToken(view);
  return {
    verticalColumns: separatedLines(lines.verticalColumns, region.colStart, region.colEnd, px),
    // Neighbouring diagonals one token apart are 1/√2 tokens apart across.
    slashOffsets: separatedLines(lines.slashOffsets, Math.max(0, region.rowStart - region.colEnd + 1), region.rowEnd - region.colStart, px / Math.SQRT2),
  };
}
