/**
 * d3-zoom on a head's map canvas, down to MIN_SPAN tokens: the transform lives in a ref so panning
 * never re-renders React; once the user stops moving, the visible region becomes the zoomed-in
 * detail to fetch. A new head or capture goes back to the whole map.
 */
import { select, zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from 'd3';
import { useEffect, useRef, useState, type RefObject } from 'react';
import type { Region } from '../../../contract/api';
import { visibleRegion } from '../charts/heatmap';

/** Smallest visible span in tokens: a 64-token tile then fills a good part of the canvas. */
const MIN_SPAN = 256;
/** Quiet time after a wheel or drag before the detail is asked for. */
const SETTLE_MS = 150;

function regionKey(region: Region): string {
  return `${region.rowStart}-${region.rowEnd}-${region.colStart}-${region.colEnd}`;
}

export interface MapZoomOptions {
  canvasRef: RefObject<HTMLCanvasElement | null>;
  transformRef: RefObject<Pick<ZoomTransform, 'k' | 'x' | 'y'>>;
  size: number;
  seqLen: number;
  interactive: boolean;
  redraw: () => void;
  /** Changes when the map shows another head or capture. */
  mapKey: string;
}

export function useMapZoom({ canvasRef, transformRef, size, seqLen, interactive, redraw, mapKey }: MapZoomOptions): { detailRegion: Region | null; resetZoom: () => void } {
  const zoomRef = useRef<ZoomBehavior<HTMLCanvasElement, unknown> | null>(null);
  const [detailRegion, setDetailRegion] = useState<Region | null>(null);

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
          const region = visibleRegion({ seqLen, size, transform: event.transform });
          setDetailRegion((old) => (event.transform.k > 1.01 ? (old && regionKey(old) === regionKey(region) ? old : region) : null));
        }, SETTLE_MS);
      });
    zoomRef.current = behaviour;
    const selection = select(canvas);
    selection.call(behaviour).on('dblclick.zoom', null);
    selection.call(behaviour.transform, transformRef.current as ZoomTransform);
    return () => {
      clearTimeout(settle);
      selection.on('.zoom', null);
    };
  }, [canvasRef, transformRef, size, seqLen, interactive, redraw]);

  const resetZoom = () => {
    if (canvasRef.current && zoomRef.current) select(canvasRef.current).call(zoomRef.current.transform, zoomIdentity);
  };

  useEffect(() => {
    transformRef.current = zoomIdentity;
    setDetailRegion(null);
    resetZoom();
    // resetZoom reads refs only.
  }, [mapKey]);

  return { detailRegion, resetZoom };
}
