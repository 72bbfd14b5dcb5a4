/**
 * Head view: the focused head's pooled map with the computed mask over it, its per-row recall
 * strip, its numbers and the recall-versus-budget curve of its pattern family.
 */
import { useEffect, useRef, useState } from 'react';
import type { BudgetCurve, HeadEvaluation } from '../../../contract/api';
import type { ColourScale } from '../charts/colormap';
import { describePattern, entryAt } from '../state/config';
import { useApi, useApp } from '../state/context';
import { errorMessage } from '../state/store';
import { BudgetCurveChart } from './BudgetCurveChart';
import { PatternSwatch, Stat } from './common';
import { downloadCanvas, stem } from './download';
import { fmtPercent, fmtRecall, fmtSpeedupOf, PATTERN_LABEL } from './format';
import { HeadPicker } from './HeadPicker';
import { HeatmapPanel } from './HeatmapPanel';
import { useResolvedTheme } from './theme';

export interface MapSettings {
  scale: ColourScale;
  showMask: boolean;
  resolution: number;
}

/** The map toolbar shared by Head and Tune: scale, mask toggle, grid resolution. */
export function MapToolbar({ settings, onChange }: { settings: MapSettings; onChange: (next: MapSettings) => void }) {
  return (
    <div className="controls">
      <label title="Colour scale (key L)">
        Scale
        <select value={settings.scale} onChange={(e) => onChange({ ...settings, scale: e.target.value as ColourScale })} data-testid="scale">
          <option value="log">log</option>
          <option value="linear">linear</option>
        </select>
      </label>
      <label title="Grid cells of the whole map">
        Grid
        <select value={settings.resolution} onChange={(e) => onChange({ ...settings, resolution: Number(e.target.value) })} data-testid="resolution">
          {[256, 512, 1024].map((r) => (
            <option key={r} value={r}>
              {r}²
            </option>
          ))}
        </select>
      </label>
      <label className="check" title="Show what the pattern computes (key M)">
        <input type="checkbox" checked={settings.showMask} onChange={(e) => onChange({ ...settings, showMask: e.target.checked })} data-testid="mask-toggle" />
        mask
      </label>
    </div>
  );
}

export function useMapSettings(): [MapSettings, (next: MapSettings) => void] {
  const [settings, setSettings] = useState<MapSettings>({ scale: 'log', showMask: true, resolution: 512 });
  // Keyboard shortcuts L and M act on the visible map.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement || event.ctrlKey || event.metaKey) return;
      if (event.key === 'l') setSettings((s) => ({ ...s, scale: s.scale === 'log' ? 'linear' : 'log' }));
      if (event.key === 'm') setSettings((s) => ({ ...s, showMask: !s.showMask }));
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return [settings, setSettings];
}

export function HeadView() {
  const api = useApi();
  const capture = useApp((s) => s.capture);
  const config = useApp((s) => s.config);
  const focus = useApp((s) => s.focus);
  const stats = useApp((s) => (s.capture ? s.stats[`${s.focus.layer}:${s.focus.head}`] : undefined));
  const recordEvaluation = useApp((s) => s.recordEvaluation);
  const reportError = useApp((s) => s.reportError);
  const theme = useResolvedTheme(useApp((s) => s.theme));
  const [settings, setSettings] = useMapSettings();
  const [evaluation, setEvaluation] = useState<HeadEvaluation | null>(null);
  const [curve, setCurve] = useState<{ data: BudgetCurve | null; error: string | null }>({ data: null, error: null });
  const canvas = useRef<HTMLCanvasElement | null>(null);
  const entry = config ? entryAt(config, focus.layer, focus.head) : null;
  const entryKey = entry ? `${entry.pattern}:${entry.a}:${entry.b}` : '';

  useEffect(() => {
    if (!capture || !entry) return;
    let current = true;
    setEvaluation(null);
    api
      .call('head.evaluate', { captureId: capture.captureId, layer: focus.layer, head: focus.head, pattern: { pattern: entry.pattern, a: entry.a, b: entry.b }, staleKey: 'head-view' })
      .then((result) => {
        if (!current) return;
        setEvaluation(result);
        recordEvaluation(result);
      })
      .catch((error: unknown) => current && reportError(error, `evaluating layer ${focus.layer} head ${focus.head}`));
    return () => {
      current = false;
    };
    // entryKey stands for the entry's values.
  }, [api, capture, focus.layer, focus.head, entryKey]);

  useEffect(() => {
    if (!capture || !entry || entry.pattern === 'dense') {
      setCurve({ data: null, error: null });
      return;
    }
    let current = true;
    setCurve({ data: null, error: null });
    api
      .call('head.budgetCurve', { captureId: capture.captureId, layer: focus.layer, head: focus.head, pattern: entry.pattern })
      .then((data) => current && setCurve({ data, error: null }))
      .catch((error: unknown) => current && setCurve({ data: null, error: errorMessage(error) }));
    return () => {
      current = false;
    };
  }, [api, capture, focus.layer, focus.head, entry?.pattern]);

  if (!capture || !config || !entry) return <div className="empty">No capture open.</div>;
  const shown = evaluation?.stats ?? stats;

  return (
    <div className="split">
      <section className="panel map-panel">
        <header className="panel-head">
          <HeadPicker />
          <MapToolbar settings={settings} onChange={setSettings} />
          <button type="button" onClick={() => canvas.current && void downloadCanvas(`${stem(capture.fileName)}-L${focus.layer}-H${focus.head}.png`, canvas.current).catch((e: unknown) => reportError(e, 'saving the PNG'))}>
            Save PNG
          </button>
        </header>
        <HeatmapPanel
          captureId={capture.captureId}
          seqLen={capture.seqLen}
          layer={focus.layer}
          head={focus.head}
          theme={theme}
          scale={settings.scale}
          resolution={settings.resolution}
          mask={settings.showMask ? entry : null}
          rowStrip={evaluation?.rowRecall ?? null}
          tokens={capture.tokens}
          canvasRef={(element) => (canvas.current = element)}
        />
      </section>
      <aside className="panel side-panel">
        <h2>
          <PatternSwatch pattern={entry.pattern} /> {PATTERN_LABEL[entry.pattern]}
        </h2>
        <p className="muted">{describePattern(entry)}</p>
        <div className="stats-grid" data-testid="head-stats">
          <Stat label="recall" value={fmtRecall(shown?.recall)} />
          <Stat label="output error" value={fmtPercent(shown?.outputRelError, 2)} />
          <Stat label="density" value={fmtPercent(shown?.density)} />
          <Stat label="predicted speedup" value={fmtSpeedupOf(evaluation?.stats)} hint="full-row times from the density and the backend's cost model (measured once per engine)" />
          <Stat label="measured speedup" value={fmtSpeedupOf(stats?.speedupKind === 'measured' ? stats : null)} hint="full-row timing of this head; run Analyze to measure it" />
          <Stat label="rows used" value={shown ? shown.rowsUsed.toLocaleString() : '—'} />
        </div>
        <h3>Recall vs budget</h3>
        {entry.pattern === 'dense' && <p className="muted">Dense heads compute everything: recall is 1.</p>}
        {curve.error && <p className="error-text">{curve.error}</p>}
        {!curve.data && !curve.error && entry.pattern !== 'dense' && <p className="muted">Computing the curve…</p>}
        {curve.data && <BudgetCurveChart curve={curve.data} current={shown ? { recall: shown.recall, density: shown.density } : null} />}
        <p className="muted small">Point at the map to read a cell: its queries and keys{capture.tokens ? ' with their text' : ''}, its attention mass, and whether the pattern computes it. Scroll to zoom, drag to pan, double-click to reset.</p>
      </aside>
    </div>
  );
}
