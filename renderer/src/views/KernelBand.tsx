/**
 * The Kernel view's band: one query block's rows across a key range, the pooled attention under
 * the tiles and loose columns the sparse kernel reads, with a key axis below.
 */
import { axisBottom, scaleLinear } from 'd3';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { KernelBlocks, Region } from '../../../contract/api';
import { themeLut } from '../charts/colormap';
import { renderPooledMap } from '../charts/heatmap';
import { drawKernelBand } from '../charts/kernel';
import { useApi, useApp } from '../state/context';
import { errorMessage } from '../state/store';
import { Axis } from './common';
import { cssColour, cssVar, useResolvedTheme } from './theme';
import { useContentWidth } from './useContentWidth';

const BAND_HEIGHT = 200;
const AXIS_HEIGHT = 26;

/** The block's rows across keys [keyStart, keyEnd), with its tiles and loose columns over the pooled attention. */
export function KernelBand({ blocks, keyStart, keyEnd, title }: { blocks: KernelBlocks; keyStart: number; keyEnd: number; title: string }) {
  const api = useApi();
  const capture = useApp((s) => s.capture)!;
  const focus = useApp((s) => s.focus);
  const theme = useResolvedTheme(useApp((s) => s.theme));
  const [boxRef, width] = useContentWidth(200, 0);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  // What the canvas shows, as the key of the inputs it was drawn from: a resize clears the canvas
  // before the effect redraws it, so readiness must name the drawing, not just follow a flag.
  const [drawnKey, setDrawnKey] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const drawKey = [capture.captureId, focus.layer, focus.head, blocks.queryBlock, blocks.rowStart, keyStart, keyEnd, width, theme].join(':');

  useEffect(() => {
    if (width === 0) return;
    let current = true;
    setFailure(null);
    const region: Region = { rowStart: blocks.rowStart, rowEnd: blocks.rowEnd, colStart: keyStart, colEnd: keyEnd };
    api
      .call('head.pooledMap', { captureId: capture.captureId, layer: focus.layer, head: focus.head, region, resolution: Math.max(8, Math.min(1024, keyEnd - keyStart)), sampling: { mode: 'exact' } })
      .then((map) => {
        const context = canvasRef.current?.getContext('2d');
        if (!current) return;
        if (context) {
          const dpr = window.devicePixelRatio || 1;
          context.setTransform(dpr, 0, 0, dpr, 0, 0);
          const image = renderPooledMap(map, themeLut(theme), { scale: 'log', empty: cssColour('--heat-empty') });
          context.imageSmoothingEnabled = false;
          context.drawImage(image.image, 0, 0, width, BAND_HEIGHT);
          const veil = cssColour('--mask-veil', theme === 'dark' ? 190 : 215);
          drawKernelBand(context, { keyStart, keyEnd, width, height: BAND_HEIGHT }, blocks, {
            veil: `rgb(${veil[0]} ${veil[1]} ${veil[2]} / ${(veil[3] / 255).toFixed(2)})`,
            tile: cssVar('--kernel-tile'),
            label: cssVar('--accent-text'),
            column: cssVar('--kernel-column'),
            causal: cssVar('--kernel-causal'),
          });
        }
        setDrawnKey(drawKey);
      })
      .catch((error: unknown) => {
        if (!current) return;
        setFailure(errorMessage(error));
      });
    return () => {
      current = false;
    };
  }, [api, capture.captureId, focus.layer, focus.head, blocks, keyStart, keyEnd, width, theme, drawKey]);

  const dpr = typeof window === 'undefined' ? 1 : window.devicePixelRatio || 1;
  const axis = useMemo(() => axisBottom(scaleLinear().domain([keyStart, keyEnd]).range([0, width])).ticks(Math.max(3, Math.floor(width / 90))), [keyStart, keyEnd, width]);
  return (
    <div className="kernel-band-box" ref={boxRef}>
      <div className="kernel-band-title">
        <strong>{title}</strong>
        <span className="muted small">
          {' '}
          · query rows {blocks.rowStart.toLocaleString()}–{(blocks.rowEnd - 1).toLocaleString()} ↓ · keys {keyStart.toLocaleString()}–{(keyEnd - 1).toLocaleString()} →
        </span>
      </div>
      <canvas
        ref={canvasRef}
        className="kernel-band"
        width={Math.round(width * dpr)}
        height={Math.round(BAND_HEIGHT * dpr)}
        style={{ width, height: BAND_HEIGHT }}
        data-testid="kernel-band"
        data-block={blocks.queryBlock}
        data-ready={drawnKey === drawKey ? 'true' : failure ? 'error' : 'false'}
        aria-label={`Keys ${keyStart}–${keyEnd} read by query block ${blocks.queryBlock}: ${blocks.blockCount} tiles and ${blocks.columnCount} loose columns`}
      />
      {failure && (
        <div className="error-text small" role="alert" data-testid="kernel-band-error">
          Could not draw the attention under this block: {failure}
        </div>
      )}
      <svg width={width} height={AXIS_HEIGHT} aria-hidden="true">
        <Axis axis={axis} />
      </svg>
    </div>
  );
}
