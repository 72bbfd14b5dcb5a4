/**
 * The pooled attention heatmap of one head on a canvas: colour LUT, linear/log scale, d3-zoom
 * down to 64-token tiles (re-requesting head.pooledMap for the visible region), token axes,
 * the computed mask drawn over it, and an optional per-row recall strip on the right.
 */
import { axisBottom, axisLeft, scaleLinear, select, zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from 'd3';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, type HeadPattern, type MaskGeometry, type Region } from '../../../contract/api';
import { recallColour, themeLut, type ColourScale } from '../charts/colormap';
import { drawMaskLines, drawPlaced, drawRowStrip, fullRegion, pixelToTokenX, pixelToTokenY, renderMask, renderPooledMap, visibleRegion, type PlacedImage, type TokenView } from '../charts/heatmap';
import { errorMessage } from '../state/store';
import { useApi } from '../state/context';
import { cssColour, cssVar } from './theme';

/** Smallest visible span in tokens: a 64-token tile then fills a good part of the canvas. */
const MIN_SPAN = 256;
const AXIS_LEFT = 52;
const AXIS_BOTTOM = 30;
const STRIP_WIDTH = 14;
/** The caption line under the axis plus the grid's top padding. */
const CAPTION_HEIGHT = 26;

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
  interactive?: boolean;
  /** Expose the canvas for PNG export. */
  canvasRef?: (canvas: HTMLCanvasElement | null) => void;
}

interface Layers {
  base: PlacedImage | null;
  detail: PlacedImage | null;
  baseMask: PlacedImage | null;
  detailMask: PlacedImage | null;
  lines: Pick<MaskGeometry, 'slashOffsets' | 'verticalColumns'> | null;
}

const EMPTY_LAYERS: Layers = { base: null, detail: null, baseMask: null, detailMask: null, lines: null };

/** Token positions on the axes: "1.5k" over a wide span, whole tokens ("2750") once zoomed in. */
function tokenTicks(domain: number[]): (value: { valueOf(): number }) => string {
  const span = Math.abs((domain[1] ?? 0) - (domain[0] ?? 0));
  return (value) => {
    const v = value.valueOf();
    return span >= 5000 && Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : String(Math.round(v));
  };
}

function regionKey(region: Region): string {
  return `${region.rowStart}-${region.rowEnd}-${region.colStart}-${region.colEnd}`;
}

export function HeatmapPanel(props: HeatmapPanelProps) {
  const { captureId, seqLen, layer, head, theme, scale, resolution, mask, rowStrip, interactive = true } = props;
  const api = useApi();
  const wrapperRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement | null>(null);
  const stripRef = useRef<HTMLCanvasElement>(null);
  const xAxisRef = useRef<SVGGElement>(null);
  const yAxisRef = useRef<SVGGElement>(null);
  const layersRef = useRef<Layers>(EMPTY_LAYERS);
  const transformRef = useRef<Pick<ZoomTransform, 'k' | 'x' | 'y'>>(zoomIdentity);
  const zoomRef = useRef<ZoomBehavior<HTMLCanvasElement, unknown> | null>(null);
  const [size, setSize] = useState(0);
  const [detailRegion, setDetailRegion] = useState<Region | null>(null);
  const [status, setStatus] = useState<{ loading: boolean; error: string | null; paintMs: number | null; caption: string }>({ loading: true, error: null, paintMs: null, caption: '' });
  const [zoomed, setZoomed] = useState(false);
  /** Whether the overlay for the current pattern is on the canvas (tests and screen readers read it). */
  const [maskState, setMaskState] = useState<'none' | 'loading' | 'drawn'>('none');
  const lut = useMemo(() => themeLut(theme), [theme]);
  const maskKey = mask ? `${mask.pattern}:${mask.a}:${mask.b}` : '';
  // Zoomed views ask for about one cell per device pixel, never finer than one token.
  const detailResolution = useMemo(() => {
    if (!detailRegion) return 0;
    const span = Math.max(detailRegion.rowEnd - detailRegion.rowStart, detailRegion.colEnd - detailRegion.colStart);
    return Math.max(8, Math.min(span, Math.round(size * (window.devicePixelRatio || 1)), 1024));
  }, [detailRegion, size]);

  // Square canvas that fills the wrapper, minus axes and strip.
  useEffect(() => {
    const wrapper = wrapperRef.current;
    if (!wrapper) return;
    const observer = new ResizeObserver(([entry]) => {
      if (!entry) return;
      const { width, height } = entry.contentRect;
      setSize(Math.max(120, Math.floor(Math.min(width - AXIS_LEFT - STRIP_WIDTH - 8, height - AXIS_BOTTOM - CAPTION_HEIGHT))));
    });
    observer.observe(wrapper);
    return () => observer.disconnect();
  }, []);

  const view = useCallback((): TokenView => ({ seqLen, size, transform: transformRef.current }), [seqLen, size]);
  // Read through a ref: a new recall strip (every Tune evaluation) must only redraw, never give
  // `redraw` a new identity, which would re-request the pooled map and the mask.
  const rowStripRef = useRef(rowStrip);
  rowStripRef.current = rowStrip;

  const redraw = useCallback(() => {
    const canvas = canvasRef.current;
    const context = canvas?.getContext('2d');
    if (!canvas || !context || size === 0) return;
    const dpr = window.devicePixelRatio || 1;
    context.setTransform(dpr, 0, 0, dpr, 0, 0);
    context.fillStyle = cssVar('--heat-empty') || '#000';
    context.fillRect(0, 0, size, size);
    const current = view();
    const { base, detail, baseMask, detailMask, lines } = layersRef.current;
    if (base) drawPlaced(context, current, base);
    if (detail) drawPlaced(context, current, detail);
    if (baseMask) drawPlaced(context, current, baseMask);
    if (detailMask) drawPlaced(context, current, detailMask);
    if (lines) drawMaskLines(context, current, lines, { slash: cssVar('--mask-slash'), vertical: cssVar('--mask-vertical') });
    // Axes in token positions follow the zoom.
    // Scales over the visible tokens only, so the axis lines stay beside the canvas when zoomed.
    const x = scaleLinear().domain([pixelToTokenX(current, 0), pixelToTokenX(current, size)]).range([0, size]);
    const y = scaleLinear().domain([pixelToTokenY(current, 0), pixelToTokenY(current, size)]).range([0, size]);
    const ticks = Math.max(3, Math.floor(size / 90));
    if (xAxisRef.current) select(xAxisRef.current).call(axisBottom(x).ticks(ticks).tickFormat(tokenTicks(x.domain())));
    if (yAxisRef.current) select(yAxisRef.current).call(axisLeft(y).ticks(ticks).tickFormat(tokenTicks(y.domain())));
    const strip = stripRef.current?.getContext('2d');
    if (strip && rowStripRef.current) {
      strip.setTransform(dpr, 0, 0, dpr, 0, 0);
      drawRowStrip(strip, current, rowStripRef.current, STRIP_WIDTH, (r) => recallColour(r));
    }
  }, [size, seqLen, view]);

  // Full map: fetched when the head, resolution or theme changes.
  useEffect(() => {
    let current = true;
    setStatus((s) => ({ ...s, loading: true, error: null }));
    layersRef.current = { ...layersRef.current, detail: null, detailMask: null };
    api
      .call('head.pooledMap', { captureId, layer, head, resolution })
      .then((map) => {
        if (!current) return;
        const started = performance.now();
        const rendered = renderPooledMap(map, lut, { scale, empty: cssColour('--heat-empty') });
        layersRef.current = { ...layersRef.current, base: rendered };
        redraw();
        const paintMs = performance.now() - started;
        setStatus({
          loading: false,
          error: null,
          paintMs,
          caption: `${map.cols}² cells · ${map.rowsUsed.toLocaleString()} rows · ${map.backend} ${map.ms.toFixed(0)} ms · paint ${paintMs.toFixed(1)} ms`,
        });
      })
      .catch((error: unknown) => {
        if (current) setStatus((s) => ({ ...s, loading: false, error: errorMessage(error) }));
      });
    return () => {
      current = false;
    };
  }, [api, captureId, layer, head, resolution, scale, lut, redraw]);

  // Zoomed-in detail: re-requested for the visible region once the user stops moving.
  useEffect(() => {
    if (!detailRegion) {
      layersRef.current = { ...layersRef.current, detail: null };
      redraw();
      return;
    }
    let current = true;
    api
      .call('head.pooledMap', { captureId, layer, head, resolution: detailResolution, region: detailRegion })
      .then((map) => {
        if (!current) return;
        layersRef.current = { ...layersRef.current, detail: renderPooledMap(map, lut, { scale, empty: cssColour('--heat-empty') }) };
        redraw();
      })
      .catch((error: unknown) => {
        if (current && !(error instanceof ApiError && error.code === 'cancelled')) setStatus((s) => ({ ...s, error: errorMessage(error) }));
      });
    return () => {
      current = false;
    };
  }, [api, captureId, layer, head, detailRegion, detailResolution, scale, lut, redraw]);

  // Mask overlay for the full map and the zoomed region, debounced while a slider moves.
  useEffect(() => {
    if (!mask) {
      layersRef.current = { ...layersRef.current, baseMask: null, detailMask: null, lines: null };
      redraw();
      setMaskState('none');
      return;
    }
    let current = true;
    setMaskState('loading');
    // Skipped cells fade towards the background (light) or go dark (dark theme).
    const veil = cssColour('--mask-veil', theme === 'dark' ? 175 : 200);
    const timer = setTimeout(() => {
      const regions: (Region | null)[] = detailRegion ? [null, detailRegion] : [null];
      Promise.all(
        regions.map((region) =>
          region
            ? api.call('head.mask', { captureId, layer, head, pattern: mask, resolution: detailResolution, region })
            : api.call('head.mask', { captureId, layer, head, pattern: mask, resolution }),
        ),
      )
        .then(([full, detail]) => {
          if (!current || !full) return;
          layersRef.current = {
            ...layersRef.current,
            baseMask: renderMask(full, veil),
            detailMask: detail ? renderMask(detail, veil) : null,
            lines: { slashOffsets: full.slashOffsets, verticalColumns: full.verticalColumns },
          };
          redraw();
          setMaskState('drawn');
        })
        .catch((error: unknown) => {
          if (current) setStatus((s) => ({ ...s, error: `mask: ${errorMessage(error)}` }));
        });
    }, 120);
    return () => {
      current = false;
      clearTimeout(timer);
    };
    // maskKey stands for `mask` so a new object with the same values does not refetch.
  }, [api, captureId, layer, head, maskKey, resolution, detailRegion, detailResolution, theme, redraw]);

  // d3-zoom on the canvas; the transform lives in a ref so panning never re-renders React.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || size === 0 || !interactive) return;
    let settle: ReturnType<typeof setTimeout> | undefined;
    const behaviour = zoom<HTMLCanvasElement, unknown>()
      .scaleExtent([1, Math.max(1, seqLen / MIN_SPAN)])
      .translateExtent([[0, 0], [size, size]])
      .extent([[0, 0], [size, size]])
      .on('zoom', (event: { transform: ZoomTransform }) => {
        transformRef.current = event.transform;
        requestAnimationFrame(redraw);
        clearTimeout(settle);
        settle = setTimeout(() => {
          const zoomedIn = event.transform.k > 1.01;
          setZoomed(zoomedIn);
          const region = visibleRegion({ seqLen, size, transform: event.transform });
          setDetailRegion((old) => (zoomedIn ? (old && regionKey(old) === regionKey(region) ? old : region) : null));
        }, 150);
      });
    zoomRef.current = behaviour;
    const selection = select(canvas);
    selection.call(behaviour).on('dblclick.zoom', null);
    selection.call(behaviour.transform, transformRef.current as ZoomTransform);
    return () => {
      clearTimeout(settle);
      selection.on('.zoom', null);
    };
  }, [size, seqLen, interactive, redraw]);

  // New head or capture: back to the whole map.
  useEffect(() => {
    transformRef.current = zoomIdentity;
    setDetailRegion(null);
    setZoomed(false);
    if (canvasRef.current && zoomRef.current) select(canvasRef.current).call(zoomRef.current.transform, zoomIdentity);
  }, [captureId, layer, head]);

  useEffect(() => {
    redraw();
  }, [redraw, size, rowStrip]);

  const resetZoom = () => {
    if (canvasRef.current && zoomRef.current) select(canvasRef.current).call(zoomRef.current.transform, zoomIdentity);
  };

  const dpr = typeof window === 'undefined' ? 1 : window.devicePixelRatio || 1;
  const region = detailRegion ?? fullRegion(seqLen);
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
            aria-label={`Attention map of layer ${layer} head ${head}, rows ${region.rowStart}–${region.rowEnd}, columns ${region.colStart}–${region.colEnd}`}
            onDoubleClick={resetZoom}
          />
          {status.loading && <div className="heatmap-overlay">Loading map…</div>}
          {status.error && <div className="heatmap-overlay heatmap-error" role="alert">{status.error}</div>}
        </div>
        {rowStrip ? (
          <canvas ref={stripRef} className="heatmap-strip" width={Math.round(STRIP_WIDTH * dpr)} height={Math.round(size * dpr)} style={{ width: STRIP_WIDTH, height: size }} title="Recall per query row (green = 1)" />
        ) : (
          <span />
        )}
        <span />
        <svg className="heatmap-axis-bottom" width={size} height={AXIS_BOTTOM} aria-hidden="true">
          <g ref={xAxisRef} />
        </svg>
      </div>
      <div className="heatmap-caption">
        <span>query ↓ · key → · {status.caption}</span>
        {zoomed && (
          <button type="button" className="link" onClick={resetZoom}>
            reset zoom
          </button>
        )}
      </div>
    </div>
  );
}
