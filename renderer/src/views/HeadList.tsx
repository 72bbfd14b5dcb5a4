/** The overview's list of heads: sortable (lowest recall first) and filterable by pattern and layer. */
import { useMemo } from 'react';
import { shortPattern } from '../state/config';
import { useApp } from '../state/context';
import { listHeads, type HeadFilter, type HeadSort } from '../state/overview';
import { PatternSwatch } from './common';
import { fmtPercent, fmtRecall, fmtSpeedupOf, PATTERN_LABEL, PATTERNS } from './format';
import { LOW_RECALL } from './OverviewGrid';

const LIST_LIMIT = 250;

export function HeadList() {
  const capture = useApp((s) => s.capture);
  const config = useApp((s) => s.config);
  const stats = useApp((s) => s.stats);
  const focus = useApp((s) => s.focus);
  const selection = useApp((s) => s.selection);
  const focusHead = useApp((s) => s.focusHead);
  const sort = useApp((s) => s.headSort);
  const filter = useApp((s) => s.headFilter);
  const setHeadList = useApp((s) => s.setHeadList);
  const layers = useMemo(() => capture?.layers ?? [], [capture]);
  const rows = useMemo(() => (config ? listHeads(config, layers, stats, sort, filter) : []), [config, layers, stats, sort, filter]);
  const setSort = (next: HeadSort) => setHeadList(next, filter);
  const setFilter = (next: HeadFilter) => setHeadList(sort, next);

  return (
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
            <select value={filter.pattern} onChange={(e) => setFilter({ ...filter, pattern: e.target.value as HeadFilter['pattern'] })} data-testid="filter-pattern">
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
            <select value={String(filter.layer)} onChange={(e) => setFilter({ ...filter, layer: e.target.value === 'all' ? 'all' : Number(e.target.value) })} data-testid="filter-layer">
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
        {rows.length > LIST_LIMIT && (
          <p className="muted small">
            Showing {LIST_LIMIT} of {rows.length.toLocaleString()}; filter by layer or pattern to see the rest.
          </p>
        )}
      </div>
    </section>
  );
}
