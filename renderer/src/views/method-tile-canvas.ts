/**
 * Drawing a tile of the Methods view: the shared map, one method's mask veil and chosen lines, and
 * the cross-hair at the token pointed at in any tile; the tile's square size and where its readout goes.
 */
import { useEffect, useState, type RefObject } from 'react';
import type { MaskGeometry, PooledMap } from '../../../contract/api';
import type { ColourDomain, Rgba } from '../charts/colormap';
import { drawMaskLines, drawPlaced, linesToDraw, sortedLines, type PlacedImage, type TokenView } from '../charts/heatmap';
import { cssVar } from './theme';

export const AXIS_LEFT = 34;
export const AXIS_BOTTOM = 18;

/** The head's map as every tile draws it. */
export interface SharedMap {
  map: PooledMap;
  image: PlacedImage;
  domain: ColourDomain;
  lut: Uint8ClampedArray;
  veil: Rgba;
}

/** The token the user points at, and in which tile. */
export interface PointedToken {
  row: number;
  col: number;
  tile: string;
}

/** The largest square the box holds beside its axes. */
export function useSquareSize(box: RefObject<HTMLDivElement | null>): number {
  const [size, setSize] = useState(0);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setSize(Math.max(48, Math.floor(Math.min(element.clientWidth - AXIS_LEFT - 2, element.clientHeight - AXIS_BOTTOM)))));
    observer.observe(element);
    return () => observer.disconnect();
  }, [box]);
  return size;
}

export function drawTile(context: CanvasRenderingContext2D, view: TokenView, shared: SharedMap | null, mask: { image: PlacedImage; geometry: MaskGeometry } | null, point: PointedToken | null): void {
  context.fillStyle = cssVar('--heat-empty') || '#000';
  context.fillRect(0, 0, view.size, view.size);
  if (shared) drawPlaced(context, view, shared.image);
  if (!mask) return;
  drawPlaced(context, view, mask.image);
  drawMaskLines(context, view, linesToDraw(sortedLines(mask.geometry), view), { slash: cssVar('--mask-slash'), vertical: cssVar('--mask-vertical') });
  if (!point) return;
  const x = ((point.col + 0.5) * view.size) / view.seqLen;
  const y = ((point.row + 0.5) * view.size) / view.seqLen;
  context.strokeStyle = cssVar('--focus');
  context.globalAlpha = 0.6;
  context.beginPath();
  context.moveTo(x, 0);
  context.lineTo(x, view.size);
  context.moveTo(0, y);
  context.lineTo(view.size, y);
  context.stroke();
  context.globalAlpha = 1;
}

/** The readout box on the side of the tile away from the pointer. */
export function readoutPlace(point: PointedToken, view: TokenView): { left?: number; right?: number; top?: number; bottom?: number } {
  const x = (point.col * view.size) / view.seqLen;
  const y = (point.row * view.size) / view.seqLen;
  return { ...(x > view.size / 2 ? { right: view.size - x + 12 } : { left: x + 12 }), ...(y > view.size / 2 ? { bottom: view.size - y + 12 } : { top: y + 12 }) };
}
