/**
 * One method's mask over the head's map, a small multiple of the Methods view: the same map and
 * colour scale in every tile, the skipped cells veiled, chosen lines where they stand apart, token
 * axes, and a cross-hair at the point the user points at in any tile, with what this method does
 * there (computed or skipped) and, in the tile under the pointer, the full hover readout.
 */
import { axisBottom, axisLeft, format, scaleLinear, zoomIdentity } from 'd3';
import { useEffect, useMemo, useRef, type MouseEvent } from 'react';
import type { MaskGeometry } from '../../../contract/api';
import { pixelToTokenX, pixelToTokenY, renderMask, sortedLines, type TokenView } from '../charts/heatmap';
import { readoutAt, type Readout } from '../charts/readout';
import { describePattern } from '../state/config';
import { METHOD_LABEL, type MethodEntry } from '../state/methods';
import type { TokenText } from '../state/tokens';
import { Axis } from './common';
import { fmtPercent, PATTERN_LABEL } from './format';
import { HeatmapReadout } from './HeatmapReadout';
import { MethodParams, MethodPatternSelect } from './MethodParams';
import { MethodSwatch } from './MethodLegend';
import { AXIS_BOTTOM, AXIS_LEFT, drawTile, readoutPlace, useSquareSize, type PointedToken, type SharedMap } from './method-tile-canvas';

const tick = format('~s');

const SOURCE_TEXT = { search: "search's choice", edited: 'your edit', config: 'from your config', default: 'defaults' } as const;

/** What this method does at the pointed cell, in a few words. */
function atPoint(readout: Readout): string {
  const where = `q ${readout.row.toLocaleString()} · k ${readout.col.toLocaleString()}`;
  if (readout.future) return `${where}: above the diagonal`;
  const coverage = readout.coverage ?? 0;
  return `${where}: ${coverage >= 0.999 ? 'computed' : coverage <= 0.001 ? 'skipped' : `${fmtPercent(coverage, 0)} computed`}`;
}

export type { PointedToken, SharedMap };

export interface MethodTileProps {
  entry: MethodEntry;
  seqLen: number;
  shared: SharedMap | null;
  mask: MaskGeometry | undefined;
  error: string | undefined;
  winner: boolean;
  point: PointedToken | null;
  onPoint: (point: PointedToken | null) => void;
  tokens: TokenText | null;
  /** The side of every tile's map (the smallest room any tile has), and how this tile tells its room. */
  size: number;
  onRoom: (method: MethodEntry['method'], size: number) => void;
}

export function MethodTile({ entry, seqLen, shared, mask, error, winner, point, onPoint, tokens, size, onRoom }: MethodTileProps) {
  const boxRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const { method, pattern } = entry;
  const room = useSquareSize(boxRef);
  useEffect(() => onRoom(method, room), [onRoom, method, room]);
  const veil = shared?.veil;
  // Only where a map drew (a map that cannot be drawn says so instead).
  const maskImage = useMemo(() => (mask && veil ? { image: renderMask(mask, veil), geometry: mask } : null), [mask, veil]);
  const view: TokenView = useMemo(() => ({ seqLen, size, transform: zoomIdentity }), [seqLen, size]);
  const ready = !!shared && !!maskImage && size > 0;

  useEffect(() => {
    const context = canvasRef.current?.getContext('2d');
    if (!context || size === 0) return;
    const dpr = window.devicePixelRatio || 1;
    context.setTransform(dpr, 0, 0, dpr, 0, 0);
    drawTile(context, view, shared, maskImage, point);
  }, [view, shared, maskImage, point, size]);

  const axes = useMemo(() => {
    const scale = scaleLinear().domain([0, seqLen]).range([0, size]);
    const ticks = Math.max(2, Math.floor(size / 70));
    return { left: axisLeft(scale).ticks(ticks).tickFormat(tick), bottom: axisBottom(scale).ticks(ticks).tickFormat(tick) };
  }, [seqLen, size]);
  const readout = point && shared ? readoutAt(point, [shared.map], [mask ?? null], mask ? sortedLines(mask) : null, 2 * (seqLen / Math.max(1, size))) : null;
  const onMove = (event: MouseEvent<HTMLCanvasElement>) => onPoint({ row: Math.floor(pixelToTokenY(view, event.nativeEvent.offsetY)), col: Math.floor(pixelToTokenX(view, event.nativeEvent.offsetX)), tile: method });
  const here = point?.tile === method;
  const dpr = typeof window === 'undefined' ? 1 : window.devicePixelRatio || 1;

  return (
    <figure className={winner ? 'method-tile winner' : 'method-tile'} data-testid={`method-tile-${method}`}>
      <header className="method-tile-head">
        <MethodSwatch method={method} /> <strong>{METHOD_LABEL[method]}</strong>
        <MethodPatternSelect entry={entry} seqLen={seqLen} />
        {winner && (
          <span className="badge winner-badge" title={`${METHOD_LABEL[method]} wins this head`}>
            ★
          </span>
        )}
      </header>
      <MethodParams entry={entry} seqLen={seqLen} />
      <div className="method-tile-map" ref={boxRef}>
        <svg width={AXIS_LEFT} height={size} aria-hidden="true">
          <Axis axis={axes.left} transform={`translate(${AXIS_LEFT - 1},0)`} />
        </svg>
        <div className="heatmap-canvas-box">
          <canvas
            ref={canvasRef}
            width={Math.round(size * dpr)}
            height={Math.round(size * dpr)}
            style={{ width: size, height: size }}
            data-testid="method-mask"
            data-method={method}
            data-ready={ready ? 'true' : 'false'}
            aria-label={`${METHOD_LABEL[method]}'s mask over the attention map: ${PATTERN_LABEL[pattern.pattern]}, ${describePattern(pattern)}`}
            onMouseMove={onMove}
            onMouseLeave={() => onPoint(null)}
          />
          {error && (
            <div className="heatmap-overlay heatmap-error" role="alert">
              {error}
            </div>
          )}
          {!ready && !error && <div className="heatmap-overlay">Loading mask…</div>}
          {here && readout && shared && <HeatmapReadout readout={readout} tokens={tokens} seqLen={seqLen} lut={shared.lut} domain={shared.domain} position={readoutPlace(point, view)} />}
        </div>
        <span />
        <svg width={size} height={AXIS_BOTTOM} aria-hidden="true">
          <Axis axis={axes.bottom} />
        </svg>
      </div>
      <figcaption className="muted small" title={`${PATTERN_LABEL[pattern.pattern]} · ${describePattern(pattern)}, ${SOURCE_TEXT[entry.source]}`}>
        {readout ? atPoint(readout) : `${SOURCE_TEXT[entry.source]} · computes ${fmtPercent(mask?.density)}`}
      </figcaption>
    </figure>
  );
}

