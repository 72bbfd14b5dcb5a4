/**
 * Tune: edit the pattern and budgets of the focused head (or apply them to the selection), with
 * recall, output error, density and predicted speedup re-evaluated as the values move
 * (debounced; older requests cancelled through `staleKey`), undo/redo, and a diff against the
 * loaded or searched config.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, type HeadEvaluation, type HeadPattern } from '../../../contract/api';
import { describePattern, diffConfigs, entryAt, headKey, samePattern } from '../state/config';
import { useApi, useApp } from '../state/context';
import { errorMessage } from '../state/store';
import { PatternSwatch, Stat } from './common';
import { fmtPercent, fmtRecall, fmtSpeedupOf, PATTERN_LABEL, PATTERNS, plural } from './format';
import { HeadPicker } from './HeadPicker';
import { MapToolbar, useMapSettings } from './HeadView';
import { HeatmapPanel } from './HeatmapPanel';
import { defaultsFor, paramSpecs } from '../state/params';
import { ParamControl } from './ParamControl';
import { useResolvedTheme } from './theme';

// Short enough to feel immediate; a drag still sends one request per pause, and staleKey cancels the rest.
const EVALUATE_DEBOUNCE_MS = 80;

export function TuneView() {
  const api = useApi();
  const capture = useApp((s) => s.capture);
  const config = useApp((s) => s.config);
  const loadedConfig = useApp((s) => s.loadedConfig);
  const searched = useApp((s) => s.searched);
  const focus = useApp((s) => s.focus);
  const selection = useApp((s) => s.selection);
  const undoStack = useApp((s) => s.undoStack);
  const redoStack = useApp((s) => s.redoStack);
  const { setPatterns, undo, redo, focusHead, recordEvaluation } = useApp((s) => s);
  const theme = useResolvedTheme(useApp((s) => s.theme));
  const [settings, setSettings] = useMapSettings();
  const entry = config ? entryAt(config, focus.layer, focus.head) : null;
  const [draft, setDraft] = useState<HeadPattern | null>(entry);
  /** latencyMs: from the last edit to the numbers on screen; engineMs: the head.evaluate round trip. */
  const [result, setResult] = useState<{ evaluation: HeadEvaluation | null; pending: boolean; error: string | null; latencyMs: number | null; engineMs: number | null }>({
    evaluation: null,
    pending: false,
    error: null,
    latencyMs: null,
    engineMs: null,
  });
  const [baseline, setBaseline] = useState<'loaded' | 'searched'>('loaded');
  const changedAt = useRef(0);

  // A new focused head (or an undo that changes it) resets the draft to the head's config.
  const entryKey = entry ? `${focus.layer}:${focus.head}:${entry.pattern}:${entry.a}:${entry.b}` : '';
  useEffect(() => {
    if (entry) setDraft({ pattern: entry.pattern, a: entry.a, b: entry.b });
  }, [entryKey]);

  const draftKey = draft ? `${draft.pattern}:${draft.a}:${draft.b}` : '';
  useEffect(() => {
    if (!capture || !draft) return;
    let current = true;
    setResult((r) => ({ ...r, pending: true, error: null }));
    const timer = setTimeout(() => {
      const requestedAt = performance.now();
      api
        .call('head.evaluate', { captureId: capture.captureId, layer: focus.layer, head: focus.head, pattern: draft, staleKey: `tune-${focus.layer}:${focus.head}` })
        .then((evaluation) => {
          if (!current) return;
          const now = performance.now();
          setResult({ evaluation, pending: false, error: null, latencyMs: now - changedAt.current, engineMs: now - requestedAt });
          recordEvaluation(evaluation);
        })
        .catch((error: unknown) => {
          if (!current || (error instanceof ApiError && error.code === 'cancelled')) return;
          setResult((r) => ({ ...r, pending: false, error: errorMessage(error) }));
        });
    }, EVALUATE_DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
    // draftKey stands for the draft's values, so re-typing the same number does not re-evaluate.
  }, [api, capture, focus.layer, focus.head, draftKey]);

  const baselineConfig = baseline === 'searched' && searched ? searched.config : loadedConfig;
  const diffs = useMemo(() => (config && baselineConfig ? diffConfigs(baselineConfig, config) : []), [config, baselineConfig]);

  if (!capture || !config || !entry || !draft) return <div className="empty">No capture open.</div>;

  const updateDraft = (next: HeadPattern) => {
    changedAt.current = performance.now();
    setDraft(next);
  };
  const specs = paramSpecs(draft.pattern, capture.seqLen);
  const focusKey = headKey(focus.layer, focus.head);
  const targets = selection.includes(focusKey) ? selection : [focusKey];
  const unchanged = targets.every((key) => {
    const [layer, head] = key.split(':').map(Number);
    return samePattern(entryAt(config, layer ?? 0, head ?? 0), draft);
  });
  const shown = result.evaluation?.stats;

  return (
    <div className="split tune">
      <aside className="panel side-panel tune-controls">
        <HeadPicker />
        <p className="muted small">
          Config: <PatternSwatch pattern={entry.pattern} /> {describePattern(entry)}
        </p>
        <fieldset className="pattern-choice">
          <legend>Pattern</legend>
          {PATTERNS.map((pattern) => (
            <label key={pattern} className="check">
              <input type="radio" name="pattern" value={pattern} checked={draft.pattern === pattern} onChange={() => updateDraft(defaultsFor(pattern, capture.seqLen))} />
              <PatternSwatch pattern={pattern} /> {PATTERN_LABEL[pattern]}
            </label>
          ))}
        </fieldset>
        {specs[0] && <ParamControl spec={specs[0]} value={draft.a} onChange={(a) => updateDraft({ ...draft, a })} testId="param-a" />}
        {specs[1] && <ParamControl spec={specs[1]} value={draft.b} onChange={(b) => updateDraft({ ...draft, b })} testId="param-b" />}
        <div className="stats-grid" data-testid="tune-stats" data-pending={result.pending ? 'true' : 'false'} data-latency-ms={result.latencyMs?.toFixed(1) ?? ''} data-engine-ms={result.engineMs?.toFixed(1) ?? ''}>
          <Stat label="recall" value={fmtRecall(shown?.recall)} />
          <Stat label="output error" value={fmtPercent(shown?.outputRelError, 2)} />
          <Stat label="density" value={fmtPercent(shown?.density)} />
          <Stat label="speedup" value={fmtSpeedupOf(shown)} hint="full-row times from the density and the backend's cost model (measured once per engine)" />
        </div>
        <div className="eval-status small" aria-live="polite">
          {result.pending ? (
            <span className="spinner-line">
              <span className="spinner" aria-hidden="true" /> computing…
            </span>
          ) : result.error ? (
            <span className="error-text">{result.error}</span>
          ) : (
            <span className="muted">
              {shown ? `${plural(shown.rowsUsed, 'row')} sampled · updated ${result.latencyMs?.toFixed(0) ?? '—'} ms after the change` : ''}
            </span>
          )}
        </div>
        <div className="button-row">
          <button type="button" className="primary" disabled={unchanged} onClick={() => setPatterns(targets, draft, `${describePattern(draft)} on ${targets.length} head${targets.length > 1 ? 's' : ''}`)} data-testid="apply">
            Apply to {targets.length > 1 ? `${targets.length} selected heads` : 'this head'}
          </button>
          <button type="button" disabled={undoStack.length === 0} onClick={undo} title={`Undo ${undoStack.at(-1)?.label ?? ''} (Ctrl+Z)`}>
            Undo
          </button>
          <button type="button" disabled={redoStack.length === 0} onClick={redo} title={`Redo ${redoStack.at(-1)?.label ?? ''} (Ctrl+Shift+Z)`}>
            Redo
          </button>
        </div>
        <div className="diff">
          <div className="diff-head">
            <h3>
              Changes vs{' '}
              <select value={baseline} onChange={(e) => setBaseline(e.target.value as 'loaded' | 'searched')} aria-label="Compare against">
                <option value="loaded">loaded config</option>
                <option value="searched" disabled={!searched}>
                  searched config
                </option>
              </select>
            </h3>
            <span className="muted">{diffs.length === 1 ? '1 head' : `${diffs.length} heads`}</span>
          </div>
          <ul className="diff-list" data-testid="diff">
            {diffs.slice(0, 100).map((d) => (
              <li key={`${d.layer}:${d.head}`}>
                <button type="button" className="link" onClick={() => focusHead(d)}>
                  L{d.layer} H{d.head}
                </button>{' '}
                <span className="muted">{describePattern(d.before)}</span> → {describePattern(d.after)}
              </li>
            ))}
          </ul>
        </div>
      </aside>
      <section className="panel map-panel">
        <header className="panel-head">
          <h2>
            Mask of the draft on layer {focus.layer} head {focus.head}
          </h2>
          <MapToolbar settings={settings} onChange={setSettings} />
        </header>
        <HeatmapPanel
          captureId={capture.captureId}
          seqLen={capture.seqLen}
          layer={focus.layer}
          head={focus.head}
          theme={theme}
          scale={settings.scale}
          resolution={settings.resolution}
          mask={settings.showMask ? draft : null}
          rowStrip={result.evaluation?.rowRecall ?? null}
          tokens={capture.tokens}
        />
      </section>
    </div>
  );
}
