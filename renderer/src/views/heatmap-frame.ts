/**
 * One frame of the heatmap: the map's layers and mask lines on the canvas, the token axes over the
 * visible region, and the per-row recall strip.
 */
import { axisBottom, axisLeft, scaleLinear, select } from 'd3';
import { recallColour } from '../charts/colormap';
import { drawMaskLines, drawPlaced, drawRowStrip, linesToDraw, pixelToTokenX, pixelToTokenY, type TokenView } from '../charts/heatmap';
import { cssVar } from './theme';
import type { Layers } from './useHeatmapLayers';

export interface RowStrip {
  rowStart: number;
  rowEnd: number;
  recall: Float32Array;
}

/** Token positions on the axes: "1.5k" over a wide span, whole tokens ("2750") once zoomed in. */
function tokenTicks(domain: number[]): (value: { valueOf(): number }) => string {
  const span = Math.abs((domain[1] ?? 0) - (domain[0] ?? 0));
  return (value) => {
    const v = value.valueOf();
    return span >= 5000 && Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : String(Math.round(v));
  };
}

export interface HeatmapFrame {
  context: CanvasRenderingContext2D;
  view: TokenView;
  layers: Layers;
  xAxis: SVGGElement | null;
  yAxis: SVGGElement | null;
  strip: CanvasRenderingContext2D | null;
  rowStrip: RowStrip | null;
  stripWidth: number;
}

/** One frame: the map's layers and mask lines, the axes over the visible tokens, the recall strip. */
export function drawHeatmap({ context, view, layers, xAxis, yAxis, strip, rowStrip, stripWidth }: HeatmapFrame): void {
  const { size } = view;
  const dpr = window.devicePixelRatio || 1;
  context.setTransform(dpr, 0, 0, dpr, 0, 0);
  context.fillStyle = cssVar('--heat-empty') || '#000';
  context.fillRect(0, 0, size, size);
  for (const image of [layers.base, layers.detail, layers.baseMask, layers.detailMask]) if (image) drawPlaced(context, view, image);
  if (layers.lines) drawMaskLines(context, view, linesToDraw(layers.lines, view), { slash: cssVar('--mask-slash'), vertical: cssVar('--mask-vertical') });
  // Axes over the visible tokens only, so the axis lines stay beside the canvas when zoomed.
  const x = scaleLinear().domain([pixelToTokenX(view, 0), pixelToTokenX(view, size)]).range([0, size]);
  const y = scaleLinear().domain([pixelToTokenY(view, 0), pixelToTokenY(view, size)]).range([0, size]);
  const ticks = Math.max(2, Math.floor(size / 90));
  if (xAxis) select(xAxis).call(axisBottom(x).ticks(ticks).tickFormat(tokenTicks(x.domain())));
  if (yAxis) select(yAxis).call(axisLeft(y).ticks(ticks).tickFormat(tokenTicks(y.domain())));
  if (strip && rowStrip) {
    strip.setTransform(dpr, 0, 0, dpr, 0, 0);
    drawRowStrip(strip, view, rowStrip, stripWidth, (r) => recallColour(r));
  }
}
