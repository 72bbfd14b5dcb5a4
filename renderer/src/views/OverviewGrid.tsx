/**
 * The overview's layers x heads grid on a canvas, coloured by a chosen measure (the pattern as a
 * corner mark), by pattern, or by the method that wins each head (after a search across methods),
 * with its legend and a tooltip per head. Click selects, shift-click adds to the selection,
 * double-click opens the head.
 */
import { useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import type { HeadStats, PatternName, SearchMethod } from '../../../contract/api';
import { cellAt, drawGrid, gridLayout } from '../charts/grid';
import { entryAt, headKey } from '../state/config';
import { useApp } from '../state/context';
import { countWinners, METHOD_SHORT, SEARCH_METHODS, winnersByHead } from '../state/methods';
import type { GridColour } from '../state/overview';
import { PatternLegend } from './common';
import { PATTERNS } from './format';
import { GRID_COLOURS, measureFill, measureRamp, measureValue } from './grid-colour';
import { HeadTooltip, TOOLTIP_WIDTH } from './HeadTooltip';
import { MeasureLegend } from './MeasureLegend';
import { MethodLegend } from './MethodLegend';
import { cssVar, useResolvedTheme } from './theme';

export const LOW_RECALL = 0.9;

/** The winning method of each head of the last search across methods (empty without one). */
function useWinners(): Map<string, SearchMethod> {
  const comparison = useApp((s) => s.searched?.comparison);
  return useMemo(() => winnersByHead(comparison), [comparison]);
}

export function OverviewGrid({ patternCounts }: { patternCounts: Record<PatternName, number> }) {
  const capture = useApp((s) => s.capture);
  const config = useApp((s) => s.config);
  const stats = useApp((s) => s.stats);
  const focus = useApp((s) => s.focus);
  const selection = useApp((s) => s.selection);
  const filter = useApp((s) => s.headFilter);
  const winners = useWinners();
  // Colouring by method needs a search that compared methods; without one the grid shows patterns.
  const chosenColour = useApp((s) => s.gridColour);
  const colour = chosenColour === 'method' && winners.size === 0 ? 'pattern' : chosenColour;
  const setColour = useApp((s) => s.setGridColour);
  const focusHead = useApp((s) => s.focusHead);
  const theme = useResolvedTheme(useApp((s) => s.theme));
  const [hover, setHover] = useState<{ layer: number; head: number; x: number; y: number } | null>(null);
  const gridRef = useRef<HTMLCanvasElement>(null);
  const boxRef = useRef<HTMLDivElement>(null);
  const [box, setBox] = useState({ width: 520, height: 400 });

  useEffect(() => {
    const element = boxRef.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => entry && setBox({ width: entry.contentRect.width, height: entry.contentRect.height }));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const layers = useMemo(() => capture?.layers ?? [], [capture]);
  const layout = useMemo(() => gridLayout(layers, capture?.numHeads ?? 0, box.width, box.height), [layers, capture, box]);
  const ramp = useMemo(() => (colour === 'pattern' || colour === 'method' ? null : measureRamp(colour, Object.values(stats))), [colour, stats]);

  useEffect(() => {
    const canvas = gridRef.current;
    const context = canvas?.getContext('2d');
    if (!canvas || !context || !config) return;
    const dpr = window.devicePixelRatio || 1;
    context.setTransform(dpr, 0, 0, dpr, 0, 0);
    const selected = new Set(selection);
    const patternFill = Object.fromEntries(PATTERNS.map((p) => [p, cssVar(`--pat-${p}`)])) as Record<PatternName, string>;
    const methodFill = Object.fromEntries(SEARCH_METHODS.map((m) => [m, cssVar(`--method-${m}`)])) as Record<SearchMethod, string>;
    const unmeasured = cssVar('--panel-2');
    drawGrid(
      context,
      layout,
      (layer, head) => {
        const entry = entryAt(config, layer, head);
        const s: HeadStats | undefined = stats[headKey(layer, head)];
        const measured = ramp && s ? measureFill(ramp, measureValue(ramp.measure, s)) : null;
        const winner = colour === 'method' ? winners.get(headKey(layer, head)) : undefined;
        return {
          fill: colour === 'method' ? (winner ? methodFill[winner] : unmeasured) : ramp ? (measured?.fill ?? unmeasured) : patternFill[entry.pattern],
          mark: ramp ? patternFill[entry.pattern] : null,
          label: winner ? METHOD_SHORT[winner] : ramp && s ? ramp.format(measureValue(ramp.measure, s)) : null,
          labelColour: measured?.text ?? '#fff',
          dimmed: (filter.pattern !== 'all' && entry.pattern !== filter.pattern) || (filter.layer !== 'all' && filter.layer !== layer),
          warn: s !== undefined && s.recall < LOW_RECALL,
          selected: selected.has(headKey(layer, head)),
          focused: focus.layer === layer && focus.head === head,
        };
      },
      { text: cssVar('--muted'), warn: cssVar('--danger'), focus: cssVar('--focus'), background: cssVar('--panel') },
    );
  }, [config, stats, layout, selection, focus, filter, theme, ramp, colour, winners]);

  if (!capture || !config) return null;
  const pointer = (event: MouseEvent<HTMLCanvasElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    return cellAt(layout, event.clientX - rect.left, event.clientY - rect.top);
  };
  const dpr = window.devicePixelRatio || 1;

  return (
    <>
      <div className="grid-head">
        <label>
          Colour by
          <select value={colour} onChange={(e) => setColour(e.target.value as GridColour)} data-testid="grid-colour">
            {GRID_COLOURS.map((c) => (
              <option key={c.value} value={c.value} disabled={c.value === 'method' && winners.size === 0} title={c.value === 'method' && winners.size === 0 ? 'Search with more than MInference (Search view) to compare methods per head' : undefined}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        {ramp ? <MeasureLegend ramp={ramp} /> : colour === 'method' ? <MethodLegend counts={countWinners(winners)} notCompared={layers.length * capture.numHeads - winners.size} /> : <PatternLegend counts={patternCounts} />}
      </div>
      {ramp && <PatternLegend counts={patternCounts} />}
      <div className="grid-box" ref={boxRef}>
        <canvas
          ref={gridRef}
          data-testid="head-grid"
          data-colour={colour}
          width={Math.round(layout.width * dpr)}
          height={Math.round(layout.height * dpr)}
          style={{ width: layout.width, height: layout.height }}
          aria-label="Layers by heads grid; click a head to select it, shift-click to add to the selection, double-click to open it"
          onMouseMove={(event) => {
            const cell = pointer(event);
            setHover(cell ? { ...cell, x: event.nativeEvent.offsetX, y: event.nativeEvent.offsetY } : null);
          }}
          onMouseLeave={() => setHover(null)}
          onClick={(event) => {
            const cell = pointer(event);
            if (cell) focusHead(cell, { extendSelection: event.shiftKey || event.metaKey || event.ctrlKey });
          }}
          onDoubleClick={(event) => {
            const cell = pointer(event);
            if (cell) focusHead(cell, { view: 'head' });
          }}
        />
        {hover && (
          <HeadTooltip
            layer={hover.layer}
            head={hover.head}
            entry={entryAt(config, hover.layer, hover.head)}
            stats={stats[headKey(hover.layer, hover.head)]}
            winner={winners.get(headKey(hover.layer, hover.head))}
            left={Math.max(0, Math.min(hover.x + 14, box.width - TOOLTIP_WIDTH))}
            top={hover.y + 14}
          />
        )}
      </div>
    </>
  );
}
