/**
 * Output error view: where the focused head's sparse output loses against dense. A strip of the
 * relative output error of each sampled query row (coloured by the row's recall), the rows that
 * lose the most, and the skipped key columns and diagonals that carried the missing mass, with
 * what that says about the budget.
 */
import { useEffect, useMemo, useState } from 'react';
import { KERNEL_BLOCK, MAX_ERROR_ROWS, type OutputErrorBreakdown } from '../../../contract/api';
import { describePattern, entryAt } from '../state/config';
import { useApi, useApp } from '../state/context';
import { diagnose, worstRows } from '../state/diagnosis';
import { errorMessage } from '../state/store';
import { PatternSwatch, Stat } from './common';
import { fmtPercent, PATTERN_LABEL } from './format';
import { HeadPicker } from './HeadPicker';
import { RowErrorChart } from './RowErrorChart';


/** Token texts at a few positions, for labels; empty where the capture has no tokens. */
function useTokenTexts(positions: number[]): Map<number, string> {
  const api = useApi();
  const capture = useApp((s) => s.capture);
  const [texts, setTexts] = useState(new Map<number, string>());
  const key = positions.join(',');
  useEffect(() => {
    if (!capture?.tokens || positions.length === 0) return setTexts(new Map());
    let current = true;
    Promise.all(positions.map((p) => api.call('capture.tokens', { captureId: capture.captureId, start: p, end: p + 1 }).then((t) => [p, t.text[0] ?? ''] as const)))
      .then((pairs) => current && setTexts(new Map(pairs)))
      .catch(() => current && setTexts(new Map()));
    return () => {
      current = false;
    };
  }, [api, capture, key]);
  return texts;
}

/** Bars of the missing mass that skipped keys carried, as shares of all missing mass. */
function MassBars({ title, items, total, label, testId }: { title: string; items: { key: number; mass: number }[]; total: number; label: (key: number) => string; testId: string }) {
  const largest = Math.max(1e-12, ...items.map((i) => i.mass));
  return (
    <div className="mass-bars" data-testid={testId}>
      <h3>{title}</h3>
      {items.length === 0 ? (
        <p className="muted">None: no skipped key carries mass.</p>
      ) : (
        <ol>
          {items.map(({ key, mass }) => (
            <li key={key}>
              <span className="mass-label">{label(key)}</span>
              <span className="mass-bar" style={{ width: `${(mass / largest) * 100}%` }} />
              <span className="mass-value">{fmtPercent(total > 0 ? mass / total : 0)}</span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

export function OutputErrorView() {
  const api = useApi();
  const capture = useApp((s) => s.capture);
  const config = useApp((s) => s.config);
  const focus = useApp((s) => s.focus);
  const showKernelBlock = useApp((s) => s.showKernelBlock);
  const [rows, setRows] = useState(256);
  const [result, setResult] = useState<{ data: OutputErrorBreakdown | null; error: string | null; loading: boolean }>({ data: null, error: null, loading: true });
  const entry = config ? entryAt(config, focus.layer, focus.head) : null;
  const pattern = useMemo(() => (entry ? { pattern: entry.pattern, a: entry.a, b: entry.b } : null), [entry?.pattern, entry?.a, entry?.b]);
  const lastQ = config?.runtime?.sparseAttentionLastQ;

  useEffect(() => {
    if (!capture || !pattern) return;
    let current = true;
    setResult((r) => ({ ...r, loading: true, error: null }));
    api
      .call('head.outputError', { captureId: capture.captureId, layer: focus.layer, head: focus.head, pattern, rows, ...(lastQ ? { lastQ } : {}) })
      .then((data) => current && setResult({ data, error: null, loading: false }))
      .catch((error: unknown) => current && setResult({ data: null, error: errorMessage(error), loading: false }));
    return () => {
      current = false;
    };
  }, [api, capture, focus.layer, focus.head, pattern, rows, lastQ]);

  const data = result.data;
  const worst = data ? worstRows(data, 8) : [];
  const tokens = useTokenTexts([...(data?.topColumns.map((c) => c.column) ?? []), ...worst.map((r) => r.row)]);
  if (!capture || !pattern) return <div className="empty">No capture open.</div>;
  const token = (position: number) => (tokens.has(position) ? ` ${JSON.stringify(tokens.get(position))}` : '');
  const diagnosis = data ? diagnose(data, pattern) : null;

  return (
    <div className="split error-view">
      <section className="panel">
        <header className="panel-head">
          <HeadPicker />
          <div className="controls">
            <span>
              <PatternSwatch pattern={pattern.pattern} /> {PATTERN_LABEL[pattern.pattern]} · {describePattern(pattern)}
            </span>
            <label title="Query rows sampled from the evaluated rows; each costs a pass over the keys it skips">
              Rows
              <select value={rows} onChange={(e) => setRows(Number(e.target.value))} data-testid="error-rows">
                {[128, 256, MAX_ERROR_ROWS].map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </label>
          </div>
        </header>
        <h3>Output error of each query row, sparse against dense</h3>
        {result.error && <p className="error-text">{result.error}</p>}
        {!data && !result.error && <p className="muted">Computing the dense and sparse outputs…</p>}
        {data && <RowErrorChart breakdown={data} seqLen={capture.seqLen} />}
        {data && (
          <p className="muted small">
            Bars: ‖sparse − dense‖ / ‖dense‖ of each row's output, coloured by the row's recall (green = 1, red ≤ 0.5); the line is the whole head's error. {data.rows.length} rows
            {data.rows.length < data.rowsRequested ? ` (of ${data.rowsRequested} asked: the rest would cost too much at ${capture.seqLen.toLocaleString()} tokens)` : ''} · {data.backend} · {data.ms.toFixed(0)} ms
          </p>
        )}
        {data && (
          <table className="heads-table worst-rows" data-testid="worst-rows">
            <caption>Rows that lose the most (a row opens its query block in the Kernel view)</caption>
            <thead>
              <tr>
                <th>row</th>
                <th className="num">output error</th>
                <th className="num">recall</th>
                <th>token</th>
              </tr>
            </thead>
            <tbody>
              {worst.map((r) => (
                <tr key={r.row}>
                  <td>
                    <button type="button" className="link" onClick={() => showKernelBlock(Math.floor(r.row / KERNEL_BLOCK), 'kernel')} title="Show what the kernel reads for this row's query block">
                      {r.row}
                    </button>
                  </td>
                  <td className="num">{fmtPercent(r.error, 2)}</td>
                  <td className="num">{r.recall.toFixed(4)}</td>
                  <td className="muted">{tokens.has(r.row) ? JSON.stringify(tokens.get(r.row)) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <aside className="panel side-panel" data-testid="missing-mass">
        <h2>Where the missing mass went</h2>
        {data && diagnosis && (
          <>
            <div className="stats-grid" data-pending={result.loading}>
              <Stat label="output error" value={fmtPercent(data.outputRelError, 2)} />
              <Stat label="mass missed per row" value={fmtPercent(data.missingMass, 2)} />
            </div>
            <p className={`diagnosis diagnosis-${diagnosis.kind}`} data-testid="diagnosis">
              <strong>{diagnosis.finding}</strong> {diagnosis.advice}
            </p>
            <MassBars title="Skipped key columns" items={data.topColumns.map((c) => ({ key: c.column, mass: c.mass }))} total={data.missingMass} label={(c) => `key ${c}${token(c)}`} testId="missed-columns" />
            <MassBars title="Skipped diagonals (i − j)" items={data.topDiagonals.map((d) => ({ key: d.offset, mass: d.mass }))} total={data.missingMass} label={(d) => `${d} back`} testId="missed-diagonals" />
            <p className="muted small">Shares of all the mass the pattern misses on these rows; a key can count in both lists.</p>
          </>
        )}
      </aside>
    </div>
  );
}
