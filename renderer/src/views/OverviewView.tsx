/**
 * Overview: the layers x heads grid coloured by pattern, a sortable/filterable head list, model
 * totals, and a preview of the focused head's map. Selecting cells selects heads for Tune.
 */
import { useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import type { PatternName } from '../../../contract/api';
import { cellAt, drawGrid, gridLayout } from '../charts/grid';
import { describePattern, entryAt, headKey, shortPattern } from '../state/config';
import { listHeads, modelTotals, type HeadFilter, type HeadSort } from '../state/overview';
import { useApp } from '../state/context';
import { isActive } from '../state/store';
import { JobProgress, PatternLegend, PatternSwatch, Stat } from './common';
import { fmtPercent, fmtRecall, fmtSpeedup, fmtSpeedupOf, PATTERN_LABEL, PATTERNS } from './format';
import { HeatmapPanel } from './HeatmapPanel';
import { cssVar, useResolvedTheme } from './theme';

const LOW_RECALL = 0.9;
const LIST_LIMIT = 250;
/** Room the grid tooltip needs; near the right edge it shifts left to stay inside the panel. */
const TOOLTIP_WIDTH = 320;

export function OverviewView() {
  const capture = useApp((s) => s.capture);
  const config = useApp((s) => s.config);
  const stats = useApp((s) => s.stats);
  const focus = useApp((s) => s.focus);
  const selection = useApp((s) => s.selection);
  const focusHead = useApp((s) => s.focusHead);
  const analyzeJob = useApp((s) => s.jobs.analyze);
  const cancelJob = useApp((s) => s.cancelJob);
  const theme = useResolvedTheme(useApp((s) => s.theme));
  const sort = useApp((s) => s.headSort);
  const filter = useApp((s) => s.headFilter);
  const setHeadList = useApp((s) => s.setHeadList);
  const setSort = (next: HeadSort) => setHeadList(next, filter);
  const setFilter = (next: HeadFilter) => setHeadList(sort, next);
  const [hover, setHover] = useState<{ layer: number; head: number; x: number; y: number } | null>(null);
  const gridRef = useRef<HTMLCanvasElement>(null);
  const gridBoxRef = useRef<HTMLDivElement>(null);
  const [gridBox, setGridBox] = useState({ width: 520, height: 400 });

  useEffect(() => {
    const box = gridBoxRef.current;
    if (!box) return;
    const observer = new ResizeObserver(([entry]) => entry && setGridBox({ width: entry.contentRect.width, height: entry.contentRect.height }));
    observer.observe(box);
    return () => observer.disconnect();
  }, []);

  const layers = useMemo(() => capture?.layers ?? [], [capture]);
  const rows = useMemo(() => (config ? listHeads(config, layers, stats, sort, filter) : []), [config, layers, stats, sort, filter]);
  const totals = useMemo(() => (config ? modelTotals(config, layers, stats) : null), [config, layers, stats]);
  const layout = useMemo(() => gridLayout(layers, capture?.numHeads ?? 0, gridBox.width, gridBox.height), [layers, capture, gridBox]);

  useEffect(() => {
    const canvas = gridRef.current;
    const context = canvas?.getContext('2d');
    if (!canvas || !context || !config) return;
    const dpr = window.devicePixelRatio || 1;
    context.setTransform(dpr, 0, 0, dpr, 0, 0);
    const selected = new Set(selection);
    const fills = Object.fromEntries(PATTERNS.map((p) => [p, cssVar(`--pat-${p}`)])) as Record<PatternName, string>;
    drawGrid(
      context,
      layout,
      (layer, head) => {
        const entry = entryAt(config, layer, head);
        const s = stats[headKey(layer, head)];
        return {
          fill: fills[entry.pattern],
          dimmed: (filter.pattern !== 'all' && entry.pattern !== filter.pattern) || (filter.layer !== 'all' && filter.layer !== layer),
          warn: s !== undefined && s.recall < LOW_RECALL,
          selected: selected.has(headKey(layer, head)),
          focused: focus.layer === layer && focus.head === head,
        };
      },
      { text: cssVar('--muted'), warn: cssVar('--danger'), focus: cssVar('--focus'), background: cssVar('--panel') },
    );
  }, [config, stats, layout, selection, focus, filter, theme]);

  if (!capture || !config || !totals) return <div className="empty">No capture open. Use Files to open one, or wait for the demo.</div>;

  const pointer = (event: MouseEvent<HTMLCanvasElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    return cellAt(layout, event.clientX - rect.left, event.clientY - rect.top);
  };
  const hovered = hover ? { entry: entryAt(config, hover.layer, hover.head), stats: stats[headKey(hover.layer, hover.head)] } : null;
  const focusStats = stats[headKey(focus.layer, focus.head)];
  const focusEntry = entryAt(config, focus.layer, focus.head);
  const dpr = window.devicePixelRatio || 1;

  return (
    <div className="overview">
      <section className="panel overview-grid">
        <header className="panel-head">
          <h2>
            {capture.model} · {layers.length} layers × {capture.numHeads} heads
          </h2>
          <PatternLegend counts={totals.patternCounts} />
        </header>
        <div className="totals">
          <Stat label="mean recall" value={fmtRecall(totals.meanRecall)} />
          <Stat label="min recall" value={fmtRecall(totals.minRecall)} />
          <Stat label="mean density" value={fmtPercent(totals.meanDensity)} />
          <Stat
            label="speedup"
            value={totals.speedup == null ? fmtSpeedup(null) : fmtSpeedupOf({ speedup: totals.speedup, speedupKind: totals.speedupKind })}
            hint="sum of dense time / sum of index + sparse time over measured heads; predicted where a tuned head has only a cost-model estimate (run Analyze to measure)"
          />
          <Stat label="heads measured" value={`${totals.measured}/${totals.heads}`} />
        </div>
        {isActive(analyzeJob) && <JobProgress job={analyzeJob} onCancel={() => void cancelJob('analyze')} />}
        <div className="grid-box" ref={gridBoxRef}>
          <canvas
            ref={gridRef}
            data-testid="head-grid"
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
          {hover && hovered && (
            <div className="tooltip" role="tooltip" style={{ left: Math.max(0, Math.min(hover.x + 14, gridBox.width - TOOLTIP_WIDTH)), top: hover.y + 14 }}>
              <strong>
                L{hover.layer} H{hover.head}
              </strong>{' '}
              · {PATTERN_LABEL[hovered.entry.pattern]}
              <br />
              {describePattern(hovered.entry)}
              <br />
              recall {fmtRecall(hovered.stats?.recall)} · density {fmtPercent(hovered.stats?.density)} · speedup {fmtSpeedupOf(hovered.stats)}
            </div>
          )}
        </div>
        <p className="muted small">Rows are layers, columns are heads. Click selects, shift-click adds to the selection (for Tune), double-click opens the head.</p>
      </section>

      <section className="panel overview-list">
        <header className="panel-head">
          <h2>Heads</h2>
          <div className="controls">
            <label>
              Sort
              <select value={sort} onChange={(e) => setSort(e.target.value as HeadSort)} data-testid="sort">
                <option value="layer">by layer</option>
                <option value="recall">lowest recall first</option>
                <option value="density">densest first</option>
                <option value="pattern">by pattern</option>
              </select>
            </label>
            <label>
              Pattern
              <select value={filter.pattern} onChange={(e) => setFilter({ ...filter, pattern: e.target.value as HeadFilter['pattern'] })}>
                <option value="all">all</option>
                {PATTERNS.map((p) => (
                  <option key={p} value={p}>
                    {PATTERN_LABEL[p]}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Layer
              <select value={String(filter.layer)} onChange={(e) => setFilter({ ...filter, layer: e.target.value === 'all' ? 'all' : Number(e.target.value) })}>
                <option value="all">all</option>
                {layers.map((l) => (
                  <option key={l} value={l}>
                    {l}
                  </option>
                ))}
              </select>
            </label>
          </div>
        </header>
        <div className="table-scroll">
          <table className="heads-table" data-testid="heads-table">
            <thead>
              <tr>
                <th>head</th>
                <th>pattern</th>
                <th className="num">recall</th>
                <th className="num">density</th>
                <th className="num">speedup</th>
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, LIST_LIMIT).map((row) => (
                <tr
                  key={row.key}
                  className={focus.layer === row.layer && focus.head === row.head ? 'focused' : selection.includes(row.key) ? 'selected' : ''}
                  onClick={(event) => focusHead(row, { extendSelection: event.shiftKey || event.metaKey || event.ctrlKey })}
                  onDoubleClick={() => focusHead(row, { view: 'head' })}
                  data-head={row.key}
                >
                  <td>
                    L{row.layer} H{row.head}
                  </td>
                  <td>
                    <PatternSwatch pattern={row.entry.pattern} /> {shortPattern(row.entry)}
                  </td>
                  <td className={`num ${row.stats && row.stats.recall < LOW_RECALL ? 'bad' : ''}`}>{fmtRecall(row.stats?.recall)}</td>
                  <td className="num">{fmtPercent(row.stats?.density)}</td>
                  <td className="num">{fmtSpeedupOf(row.stats)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length > LIST_LIMIT && <p className="muted small">Showing {LIST_LIMIT} of {rows.length}; filter by layer or pattern to see the rest.</p>}
        </div>
      </section>

      <section className="panel overview-preview">
        <header className="panel-head">
          <h2>
            Layer {focus.layer} · head {focus.head}
          </h2>
          <button type="button" onClick={() => focusHead(focus, { view: 'head' })} data-testid="open-head">
            Open head →
          </button>
        </header>
        <div className="preview-stats">
          <PatternSwatch pattern={focusEntry.pattern} /> {PATTERN_LABEL[focusEntry.pattern]} · {describePattern(focusEntry)} · recall {fmtRecall(focusStats?.recall)} · density{' '}
          {fmtPercent(focusStats?.density)}
        </div>
        <HeatmapPanel captureId={capture.captureId} seqLen={capture.seqLen} layer={focus.layer} head={focus.head} theme={theme} scale="log" resolution={256} mask={null} interactive={false} />
      </section>
    </div>
  );
}
