/**
 * The pooled attention heatmap of one head on a canvas: colour table and bar, linear/log scale,
 * d3-zoom down to 64-token tiles (the visible region re-requested), token axes, the computed mask
 * drawn over it with a legend, a hover readout, and an optional per-row recall strip.
 */
import { zoomIdentity, type ZoomTransform } from 'd3';
import { useCallback, useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import type { HeadPattern } from '../../../contract/api';
import { themeLut, type ColourScale } from '../charts/colormap';
import { fullRegion, pixelsPerToken, pixelToTokenX, pixelToTokenY, type TokenView } from '../charts/heatmap';
import { readoutAt } from '../charts/readout';
import { useApi } from '../state/context';
import { TokenText } from '../state/tokens';
import { ColourBar, COLOUR_BAR_WIDTH } from './ColourBar';
import { mapCaption } from './captions';
import { drawHeatmap, type RowStrip } from './heatmap-frame';
import { HeatmapReadout, type HeatmapReadoutProps } from './HeatmapReadout';
import { lineCounts, MapLegend } from './MapLegend';
import { EMPTY_LAYERS, useHeatmapLayers, VEIL_ALPHA, type Layers } from './useHeatmapLayers';
import { useMapZoom } from './useMapZoom';
import { useSquareSide } from './useSquareSide';

const AXIS_LEFT = 52;
const AXIS_BOTTOM = 30;
const STRIP_WIDTH = 14;
/** The grid's top padding and a little air above the caption. */
const GRID_PADDING = 10;
/** Pixels from the pointer within which a chosen line counts as pointed at. */
const LINE_REACH_PX = 4;
/** The square canvas fills the wrapper minus the axes, strip, colour bar, and the caption and legend below it. */
const SQUARE_MARGINS = { horizontal: AXIS_LEFT + STRIP_WIDTH + COLOUR_BAR_WIDTH + 12, vertical: AXIS_BOTTOM + GRID_PADDING, min: 64 };
/** Gap between the pointer and the readout box. */
const READOUT_OFFSET_PX = 14;

export interface HeatmapPanelProps {
  captureId: string;
  seqLen: number;
  layer: number;
  head: number;
  theme: 'light' | 'dark';
  scale: ColourScale;
  /** Cells of the full-map grid; zoomed views request up to the canvas's pixel count. */
  resolution: number;
  /** The pattern whose computed set is drawn over the map, or null for no overlay. */
  mask: HeadPattern | null;
  rowStrip?: RowStrip | null;
  /** Whether the capture holds token text for the readout. */
  tokens?: boolean;
  interactive?: boolean;
  /** Expose the canvas for PNG export. */
  canvasRef?: (canvas: HTMLCanvasElement | null) => void;
}

/** The readout box beside the pointer, on the side away from the nearer canvas edges. */
function readoutPlacement(pointer: { x: number; y: number } | null, size: number): HeatmapReadoutProps['position'] {
  if (!pointer) return {};
  const horizontal = pointer.x > size / 2 ? { right: size - pointer.x + READOUT_OFFSET_PX } : { left: pointer.x + READOUT_OFFSET_PX };
  const vertical = pointer.y > size / 2 ? { bottom: size - pointer.y + READOUT_OFFSET_PX } : { top: pointer.y + READOUT_OFFSET_PX };
  return { ...horizontal, ...vertical };
}

export function HeatmapPanel(props: HeatmapPanelProps) {
  const { captureId, seqLen, layer, head, theme, scale, resolution, mask, rowStrip, tokens: hasTokens = false, interactive = true } = props;
  const api = useApi();
  const wrapperRef = useRef<HTMLDivElement>(null);
  const footerRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement | null>(null);
  const stripRef = useRef<HTMLCanvasElement>(null);
  const xAxisRef = useRef<SVGGElement>(null);
  const yAxisRef = useRef<SVGGElement>(null);
  const transformRef = useRef<Pick<ZoomTransform, 'k' | 'x' | 'y'>>(zoomIdentity);
  const size = useSquareSide(wrapperRef, footerRef, SQUARE_MARGINS);
  const [pointer, setPointer] = useState<{ x: number; y: number } | null>(null);
  const lut = useMemo(() => themeLut(theme), [theme]);
  const tokens = useMemo(() => (hasTokens ? new TokenText(api, captureId, seqLen) : null), [api, captureId, seqLen, hasTokens]);

  const view = useCallback((): TokenView => ({ seqLen, size, transform: transformRef.current }), [seqLen, size]);
  // Read through refs: a new recall strip (every Tune evaluation) must only redraw, never give
  // `redraw` a new identity, which would re-request the pooled map and the mask.
  const rowStripRef = useRef(rowStrip);
  rowStripRef.current = rowStrip;
  const layersRef = useRef<Layers>(EMPTY_LAYERS);

  const redraw = useCallback(() => {
    const context = canvasRef.current?.getContext('2d');
    if (!context || size === 0) return;
    drawHeatmap({ context, view: view(), layers: layersRef.current, xAxis: xAxisRef.current, yAxis: yAxisRef.current, strip: stripRef.current?.getContext('2d') ?? null, rowStrip: rowStripRef.current ?? null, stripWidth: STRIP_WIDTH });
  }, [size, view]);

  const { detailRegion, resetZoom } = useMapZoom({ canvasRef, transformRef, size, seqLen, interactive, redraw, mapKey: `${captureId}:${layer}:${head}` });
  // Zoomed views ask for about one cell per device pixel, never finer than one token.
  const detailResolution = useMemo(() => {
    if (!detailRegion) return 0;
    const span = Math.max(detailRegion.rowEnd - detailRegion.rowStart, detailRegion.colEnd - detailRegion.colStart);
    return Math.max(8, Math.min(span, Math.round(size * (window.devicePixelRatio || 1)), 1024));
  }, [detailRegion, size]);
  const { status, maskState, shown } = useHeatmapLayers({ layers: layersRef, api, captureId, layer, head, resolution, scale, lut, theme, mask, detailRegion, detailResolution, redraw });

  useEffect(() => {
    redraw();
  }, [redraw, size, rowStrip]);

  const onPointer = (event: MouseEvent<HTMLCanvasElement>) => {
    // No readout while dragging: the map moves under the pointer.
    setPointer(event.buttons === 0 ? { x: event.nativeEvent.offsetX, y: event.nativeEvent.offsetY } : null);
  };

  const dpr = typeof window === 'undefined' ? 1 : window.devicePixelRatio || 1;
  const visible = detailRegion ?? fullRegion(seqLen);
  const current = view();
  // While a new mask loads, the legend keeps the last one's counts rather than blinking out.
  const counts = maskState !== 'none' && layersRef.current.lines ? lineCounts(layersRef.current.lines, current) : null;
  const readout =
    pointer && interactive
      ? readoutAt(
          { row: pixelToTokenY(current, pointer.y), col: pixelToTokenX(current, pointer.x) },
          [layersRef.current.detail?.map ?? null, layersRef.current.base?.map ?? null],
          [layersRef.current.detailMask?.mask ?? null, layersRef.current.baseMask?.mask ?? null],
          maskState === 'drawn' ? layersRef.current.lines : null,
          LINE_REACH_PX / pixelsPerToken(current),
        )
      : null;
  return (
    <div className="heatmap" ref={wrapperRef}>
      <div className="heatmap-grid">
        <svg className="heatmap-axis-left" width={AXIS_LEFT} height={size} aria-hidden="true">
          <g ref={yAxisRef} transform={`translate(${AXIS_LEFT - 1},0)`} />
        </svg>
        <div className="heatmap-canvas-box">
          <canvas
            ref={(element) => {
              canvasRef.current = element;
              props.canvasRef?.(element);
            }}
            className="heatmap-canvas"
            data-testid="heatmap"
            data-ready={status.loading ? 'false' : 'true'}
            data-paint-ms={status.paintMs?.toFixed(2) ?? ''}
            data-mask={maskState}
            width={Math.round(size * dpr)}
            height={Math.round(size * dpr)}
            style={{ width: size, height: size }}
            aria-label={`Attention map of layer ${layer} head ${head}, queries ${visible.rowStart}–${visible.rowEnd}, keys ${visible.colStart}–${visible.colEnd}`}
            onDoubleClick={resetZoom}
            onMouseMove={onPointer}
            onMouseLeave={() => setPointer(null)}
          />
          {status.loading && <div className="heatmap-overlay">Loading map…</div>}
          {status.error && (
            <div className="heatmap-overlay heatmap-error" role="alert">
              {status.error}
            </div>
          )}
          {readout && <HeatmapReadout readout={readout} tokens={tokens} seqLen={seqLen} lut={lut} domain={shown?.domain ?? null} position={readoutPlacement(pointer, size)} />}
        </div>
        {rowStrip ? (
          <canvas ref={stripRef} className="heatmap-strip" width={Math.round(STRIP_WIDTH * dpr)} height={Math.round(size * dpr)} style={{ width: STRIP_WIDTH, height: size }} title="Recall per query row (green = 1)" />
        ) : (
          <span />
        )}
        <ColourBar lut={lut} domain={shown?.domain ?? null} height={size} />
        <span />
        <svg className="heatmap-axis-bottom" width={size} height={AXIS_BOTTOM} aria-hidden="true">
          <g ref={xAxisRef} />
        </svg>
      </div>
      <div ref={footerRef}>
        <div className="heatmap-caption" data-testid="heatmap-caption">
          <span>query ↓ · key → · {mapCaption(shown, visible, seqLen, detailRegion ? null : status.paintMs, interactive)}</span>
          {detailRegion && (
            <button type="button" className="link" onClick={resetZoom}>
              reset zoom
            </button>
          )}
        </div>
        <MapLegend lut={lut} veilOpacity={VEIL_ALPHA / 255} mask={maskState !== 'none'} vertical={counts?.vertical ?? null} slash={counts?.slash ?? null} strip={!!rowStrip} />
      </div>
    </div>
  );
}
