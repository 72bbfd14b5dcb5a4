/**
 * The pooled attention heatmap of one head on a canvas: colour table and bar, linear/log scale,
 * d3-zoom down to 64-token tiles (the visible region re-requested), token axes, the computed mask
 * drawn over it with a legend, a hover readout, and an optional per-row recall strip.
 */
import { axisBottom, axisLeft, scaleLinear, select, zoomIdentity, type ZoomTransform } from 'd3';
import { useCallback, useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import type { HeadPattern } from '../../../contract/api';
import { recallColour, themeLut, type ColourScale } from '../charts/colormap';
import { drawMaskLines, drawPlaced, drawRowStrip, fullRegion, linesToDraw, pixelsPerToken, pixelToTokenX, pixelToTokenY, type TokenView } from '../charts/heatmap';
import { readoutAt } from '../charts/readout';
import { useApi } from '../state/context';
import { TokenText } from '../state/tokens';
import { ColourBar, COLOUR_BAR_WIDTH } from './ColourBar';
import { mapCaption } from './captions';
import { HeatmapReadout } from './HeatmapReadout';
import { lineCounts, MapLegend } from './MapLegend';
import { cssVar } from './theme';
import { EMPTY_LAYERS, useHeatmapLayers, VEIL_ALPHA, type Layers } from './useHeatmapLayers';
import { useMapZoom } from './useMapZoom';

const AXIS_LEFT = 52;
const AXIS_BOTTOM = 30;
const STRIP_WIDTH = 14;
/** The grid's top padding and a little air above the caption. */
const GRID_PADDING = 10;
/** Pixels from the pointer within which a chosen line counts as pointed at. */
const LINE_REACH_PX = 4;

export interface RowStrip {
  rowStart: number;
  rowEnd: number;
  recall: Float32Array;
}

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

/** Token positions on the axes: "1.5k" over a wide span, whole tokens ("2750") once zoomed in. */
function tokenTicks(domain: number[]): (value: { valueOf(): number }) => string {
  const span = Math.abs((domain[1] ?? 0) - (domain[0] ?? 0));
  return (value) => {
    const v = value.valueOf();
    return span >= 5000 && Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : String(Math.round(v));
  };
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
  const [size, setSize] = useState(0);
  const [pointer, setPointer] = useState<{ x: number; y: number } | null>(null);
  const lut = useMemo(() => themeLut(theme), [theme]);
  const tokens = useMemo(() => (hasTokens ? new TokenText(api, captureId, seqLen) : null), [api, captureId, seqLen, hasTokens]);

  // Square canvas that fills the wrapper, minus axes, strip, colour bar, and the caption and legend
  // below it (measured: the legend wraps to a second line in narrow panels).
  useEffect(() => {
    const wrapper = wrapperRef.current;
    const footer = footerRef.current;
    if (!wrapper || !footer) return;
    const observer = new ResizeObserver(() => {
      const width = wrapper.clientWidth - AXIS_LEFT - STRIP_WIDTH - COLOUR_BAR_WIDTH - 12;
      const height = wrapper.clientHeight - AXIS_BOTTOM - footer.offsetHeight - GRID_PADDING;
      setSize(Math.max(64, Math.floor(Math.min(width, height))));
    });
    observer.observe(wrapper);
    observer.observe(footer);
    return () => observer.disconnect();
  }, []);

  const view = useCallback((): TokenView => ({ seqLen, size, transform: transformRef.current }), [seqLen, size]);
  // Read through refs: a new recall strip (every Tune evaluation) must only redraw, never give
  // `redraw` a new identity, which would re-request the pooled map and the mask.
  const rowStripRef = useRef(rowStrip);
  rowStripRef.current = rowStrip;
  const layersRef = useRef<Layers>(EMPTY_LAYERS);

  const redraw = useCallback(() => {
    const canvas = canvasRef.current;
    const context = canvas?.getContext('2d');
    const layers = layersRef.current;
    if (!canvas || !context || size === 0) return;
    const dpr = window.devicePixelRatio || 1;
    context.setTransform(dpr, 0, 0, dpr, 0, 0);
    context.fillStyle = cssVar('--heat-empty') || '#000';
    context.fillRect(0, 0, size, size);
    const current = view();
    for (const image of [layers.base, layers.detail, layers.baseMask, layers.detailMask]) if (image) drawPlaced(context, current, image);
    if (layers.lines) drawMaskLines(context, current, linesToDraw(layers.lines, current), { slash: cssVar('--mask-slash'), vertical: cssVar('--mask-vertical') });
    // Axes over the visible tokens only, so the axis lines stay beside the canvas when zoomed.
    const x = scaleLinear().domain([pixelToTokenX(current, 0), pixelToTokenX(current, size)]).range([0, size]);
    const y = scaleLinear().domain([pixelToTokenY(current, 0), pixelToTokenY(current, size)]).range([0, size]);
    const ticks = Math.max(2, Math.floor(size / 90));
    if (xAxisRef.current) select(xAxisRef.current).call(axisBottom(x).ticks(ticks).tickFormat(tokenTicks(x.domain())));
    if (yAxisRef.current) select(yAxisRef.current).call(axisLeft(y).ticks(ticks).tickFormat(tokenTicks(y.domain())));
    const strip = stripRef.current?.getContext('2d');
    if (strip && rowStripRef.current) {
      strip.setTransform(dpr, 0, 0, dpr, 0, 0);
      drawRowStrip(strip, current, rowStripRef.current, STRIP_WIDTH, (r) => recallColour(r));
    }
  }, [size, seqLen, view]);

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
  const readoutPosition = pointer ? { ...(pointer.x > size / 2 ? { right: size - pointer.x + 14 } : { left: pointer.x + 14 }), ...(pointer.y > size / 2 ? { bottom: size - pointer.y + 14 } : { top: pointer.y + 14 }) } : {};
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
          {readout && <HeatmapReadout readout={readout} tokens={tokens} seqLen={seqLen} lut={lut} domain={shown?.domain ?? null} position={readoutPosition} />}
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
