/**
 * The data behind a head's heatmap: the whole map (on a head, resolution or scale change), the
 * zoomed-in detail of the visible region, and the mask of the pattern over both, rendered to
 * images once on arrival. Kept in a ref the canvas draws from, so zoom and pan never re-render React.
 */
import { useEffect, useRef, useState, type RefObject } from 'react';
import { ApiError, type Api, type HeadPattern, type MaskGeometry, type PooledMap, type Region } from '../../../contract/api';
import { DEFAULT_DECADES, type ColourDomain, type ColourScale } from '../charts/colormap';
import { renderMask, renderPooledMap, sortedLines, type MaskLines, type PlacedImage } from '../charts/heatmap';
import { errorMessage } from '../state/store';
import { cssColour } from './theme';

/** How opaque the veil over skipped cells is (of 255): the attention it hides must still show through. */
export const VEIL_ALPHA = 140;
/** Quiet time after a budget change before the mask is asked for again (a slider drag sends one request). */
const MASK_DEBOUNCE_MS = 120;

export interface RenderedMap extends PlacedImage {
  map: PooledMap;
  vmax: number;
}

export interface RenderedMask extends PlacedImage {
  mask: MaskGeometry;
}

export interface Layers {
  base: RenderedMap | null;
  detail: RenderedMap | null;
  baseMask: RenderedMask | null;
  detailMask: RenderedMask | null;
  lines: MaskLines | null;
}

export const EMPTY_LAYERS: Layers = { base: null, detail: null, baseMask: null, detailMask: null, lines: null };

export interface MapStatus {
  loading: boolean;
  error: string | null;
  /** Data arrival to canvas drawn, for the whole map. */
  paintMs: number | null;
}

/** The map on screen (the detail once zoomed in): its grid, what it was computed from, and its colours. */
export interface ShownMap {
  region: Region;
  rows: number;
  cols: number;
  rowsUsed: number;
  backend: string;
  ms: number;
  domain: ColourDomain;
}

export interface LayerRequest {
  /** Where the layers go: the canvas's redraw reads them from here. */
  layers: RefObject<Layers>;
  api: Api;
  captureId: string;
  layer: number;
  head: number;
  resolution: number;
  scale: ColourScale;
  lut: Uint8ClampedArray;
  theme: 'light' | 'dark';
  /** The pattern whose computed set is drawn over the map, or null for none. */
  mask: HeadPattern | null;
  /** The zoomed-in region and its grid, or null at the whole map. */
  detailRegion: Region | null;
  detailResolution: number;
  redraw: () => void;
}

function shownOf(rendered: RenderedMap, scale: ColourScale): ShownMap {
  const { region, rows, cols, rowsUsed, backend, ms } = rendered.map;
  return { region, rows, cols, rowsUsed, backend, ms, domain: { scale, vmax: rendered.vmax, decades: DEFAULT_DECADES } };
}

export function useHeatmapLayers(request: LayerRequest): { status: MapStatus; maskState: 'none' | 'loading' | 'drawn'; shown: ShownMap | null } {
  const { layers, api, captureId, layer, head, resolution, scale, lut, theme, mask, detailRegion, detailResolution } = request;
  // Through a ref: a resized canvas gives `redraw` a new identity, which must not fetch the data again.
  const redrawRef = useRef(request.redraw);
  redrawRef.current = request.redraw;
  const redraw = () => redrawRef.current();
  const [status, setStatus] = useState<MapStatus>({ loading: true, error: null, paintMs: null });
  const [maskState, setMaskState] = useState<'none' | 'loading' | 'drawn'>('none');
  const [baseShown, setBaseShown] = useState<ShownMap | null>(null);
  const [detailShown, setDetailShown] = useState<ShownMap | null>(null);
  const maskKey = mask ? `${mask.pattern}:${mask.a}:${mask.b}` : '';
  // The head whose mask the layers hold: a budget change keeps it drawn while the next one loads,
  // another head's never is (its lines would be read as this head's).
  const maskHead = useRef<string | null>(null);
  const headId = `${captureId}:${layer}:${head}`;

  // Whole map: fetched when the head, resolution, scale or theme changes.
  useEffect(() => {
    let current = true;
    setStatus((s) => ({ ...s, loading: true, error: null }));
    layers.current = { ...layers.current, detail: null, detailMask: null };
    api
      .call('head.pooledMap', { captureId, layer, head, resolution })
      .then((map) => {
        if (!current) return;
        const started = performance.now();
        const base = { ...renderPooledMap(map, lut, { scale, empty: cssColour('--heat-empty') }), map };
        layers.current = { ...layers.current, base };
        redraw();
        setStatus({ loading: false, error: null, paintMs: performance.now() - started });
        setBaseShown(shownOf(base, scale));
      })
      .catch((error: unknown) => {
        if (current) setStatus((s) => ({ ...s, loading: false, error: errorMessage(error) }));
      });
    return () => {
      current = false;
    };
  }, [api, captureId, layer, head, resolution, scale, lut]);

  // Zoomed-in detail: re-requested for the visible region once the user stops moving.
  useEffect(() => {
    if (!detailRegion) {
      layers.current = { ...layers.current, detail: null };
      setDetailShown(null);
      redraw();
      return;
    }
    let current = true;
    api
      .call('head.pooledMap', { captureId, layer, head, resolution: detailResolution, region: detailRegion })
      .then((map) => {
        if (!current) return;
        const detail = { ...renderPooledMap(map, lut, { scale, empty: cssColour('--heat-empty') }), map };
        layers.current = { ...layers.current, detail };
        setDetailShown(shownOf(detail, scale));
        redraw();
      })
      .catch((error: unknown) => {
        if (current && !(error instanceof ApiError && error.code === 'cancelled')) setStatus((s) => ({ ...s, error: errorMessage(error) }));
      });
    return () => {
      current = false;
    };
  }, [api, captureId, layer, head, detailRegion, detailResolution, scale, lut]);

  // Mask over the whole map and the zoomed region, debounced while a slider moves.
  useEffect(() => {
    const clearMask = () => {
      layers.current = { ...layers.current, baseMask: null, detailMask: null, lines: null };
      maskHead.current = null;
      redraw();
    };
    if (!mask) {
      clearMask();
      setMaskState('none');
      return;
    }
    if (maskHead.current !== headId) clearMask();
    let current = true;
    setMaskState('loading');
    // Skipped cells fade towards the background (light theme) or darken (dark theme), translucently.
    const veil = cssColour('--mask-veil', VEIL_ALPHA);
    const timer = setTimeout(() => {
      const whole = api.call('head.mask', { captureId, layer, head, pattern: mask, resolution });
      const zoomed = detailRegion ? api.call('head.mask', { captureId, layer, head, pattern: mask, resolution: detailResolution, region: detailRegion }) : Promise.resolve(null);
      Promise.all([whole, zoomed])
        .then(([full, detail]) => {
          if (!current) return;
          layers.current = {
            ...layers.current,
            baseMask: { ...renderMask(full, veil), mask: full },
            detailMask: detail ? { ...renderMask(detail, veil), mask: detail } : null,
            lines: sortedLines(full),
          };
          maskHead.current = headId;
          redraw();
          setMaskState('drawn');
        })
        .catch((error: unknown) => {
          if (!current) return;
          // No mask is shown rather than one that is not this pattern's.
          clearMask();
          setMaskState('none');
          setStatus((s) => ({ ...s, error: `mask: ${errorMessage(error)}` }));
        });
    }, MASK_DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
    // maskKey stands for `mask` so a new object with the same values does not refetch.
  }, [api, captureId, layer, head, headId, maskKey, resolution, detailRegion, detailResolution, theme]);

  return { status, maskState, shown: detailShown ?? baseShown };
}
