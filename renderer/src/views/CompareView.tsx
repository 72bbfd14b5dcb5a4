/**
 * Compare view: one head under two configs side by side (the loaded one and your edits, the
 * searched one, or a second file): each map with its mask and its recall, density, predicted
 * speedup and output error, then the difference: the numbers B − A and a map of the entries only
 * one of them computes.
 */
import { useEffect, useMemo, useRef, useState, type ChangeEvent } from 'react';
import type { HeadConfig, HeadEvaluation, HeadPattern, HeadStats } from '../../../contract/api';
import { coverageDiffToPixels, themeLut } from '../charts/colormap';
import { drawPlaced, imageFromPixels, renderPooledMap } from '../charts/heatmap';
import { describePattern, entryAt, samePattern } from '../state/config';
import { useApi, useApp } from '../state/context';
import { errorMessage } from '../state/store';
import { PatternSwatch } from './common';
import { fmtPercent, fmtRecall, fmtSpeedupOf, PATTERN_LABEL } from './format';
import { HeadPicker } from './HeadPicker';
import { HeatmapPanel } from './HeatmapPanel';
import { cssColour, useResolvedTheme } from './theme';

type Source = 'loaded' | 'searched' | 'working' | 'file';
type Side = 'A' | 'B';

const DIFF_GRID = 128;
const DIFF_SIZE = 300;

/** The config each source names, or null where there is none (no search yet, no second file). */
function useSourceConfig(source: Source): HeadConfig | null {
  return useApp((s) => (source === 'loaded' ? s.loadedConfig : source === 'searched' ? (s.searched?.config ?? null) : source === 'working' ? s.config : (s.comparisonFile?.config ?? null)));
}

/** One head's measures under a pattern; null while measuring. */
function useEvaluation(pattern: HeadPattern | null, side: Side): { evaluation: HeadEvaluation | null; error: string | null } {
  const api = useApi();
  const capture = useApp((s) => s.capture);
  const focus = useApp((s) => s.focus);
  const [state, setState] = useState<{ evaluation: HeadEvaluation | null; error: string | null }>({ evaluation: null, error: null });
  const key = pattern ? `${pattern.pattern}:${pattern.a}:${pattern.b}` : '';
  useEffect(() => {
    if (!capture || !pattern) return setState({ evaluation: null, error: null });
    let current = true;
    setState({ evaluation: null, error: null });
    api
      .call('head.evaluate', { captureId: capture.captureId, layer: focus.layer, head: focus.head, pattern, staleKey: `compare-${side}` })
      .then((evaluation) => current && setState({ evaluation, error: null }))
      .catch((error: unknown) => current && setState({ evaluation: null, error: errorMessage(error) }));
    return () => {
      current = false;
    };
    // key stands for the pattern's values.
  }, [api, capture, focus.layer, focus.head, key, side]);
  return state;
}

function SourcePicker({ side, source, onChange }: { side: Side; source: Source; onChange: (source: Source) => void }) {
  const searched = useApp((s) => s.searched);
  const file = useApp((s) => s.comparisonFile);
  const importComparisonFile = useApp((s) => s.importComparisonFile);
  const input = useRef<HTMLInputElement>(null);
  const onFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const chosen = event.target.files?.[0];
    event.target.value = '';
    if (!chosen) return;
    await importComparisonFile({ text: await chosen.text(), fileName: chosen.name });
    onChange('file');
  };
  return (
    <div className="controls">
      <label>
        {side}
        <select value={source} onChange={(e) => onChange(e.target.value as Source)} data-testid={`compare-source-${side}`}>
          <option value="loaded">loaded config</option>
          <option value="working">working config (your edits)</option>
          <option value="searched" disabled={!searched}>
            searched config
          </option>
          <option value="file" disabled={!file}>
            {file ? file.fileName : 'second file'}
          </option>
        </select>
      </label>
      <button type="button" onClick={() => input.current?.click()} title="Import a config file to compare (it does not replace your config)">
        Import file…
      </button>
      <input ref={input} type="file" accept=".json" hidden onChange={(e) => void onFile(e)} data-testid={`compare-file-${side}`} />
    </div>
  );
}

function SideNumbers({ stats, error }: { stats: HeadStats | undefined; error: string | null }) {
  if (error) return <p className="error-text">{error}</p>;
  return (
    <div className="compare-side-stats muted">
      recall <strong>{fmtRecall(stats?.recall)}</strong> · density <strong>{fmtPercent(stats?.density)}</strong> · {fmtSpeedupOf(stats)}
    </div>
  );
}

function CompareSide({ side, source, onSource, pattern, stats, error }: { side: Side; source: Source; onSource: (s: Source) => void; pattern: HeadPattern | null; stats: HeadStats | undefined; error: string | null }) {
  const capture = useApp((s) => s.capture)!;
  const focus = useApp((s) => s.focus);
  const theme = useResolvedTheme(useApp((s) => s.theme));
  return (
    <section className="panel map-panel compare-side" data-testid={`compare-${side}`}>
      <header className="panel-head">
        <SourcePicker side={side} source={source} onChange={onSource} />
      </header>
      {pattern ? (
        <>
          <p className="compare-pattern">
            <PatternSwatch pattern={pattern.pattern} /> {PATTERN_LABEL[pattern.pattern]} · {describePattern(pattern)}
          </p>
          <HeatmapPanel captureId={capture.captureId} seqLen={capture.seqLen} layer={focus.layer} head={focus.head} theme={theme} scale="log" resolution={256} mask={pattern} rowStrip={null} />
          <SideNumbers stats={stats} error={error} />
        </>
      ) : (
        <p className="muted">{source === 'file' ? 'Import a config file to compare.' : 'No search has run yet.'}</p>
      )}
    </section>
  );
}

/** The entries only A computes and only B computes, over the faded map. */
function DifferenceMap({ a, b }: { a: HeadPattern; b: HeadPattern }) {
  const api = useApi();
  const capture = useApp((s) => s.capture)!;
  const focus = useApp((s) => s.focus);
  const theme = useResolvedTheme(useApp((s) => s.theme));
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [drawn, setDrawn] = useState(false);
  const [shares, setShares] = useState<{ onlyA: number; onlyB: number } | null>(null);
  const keyA = `${a.pattern}:${a.a}:${a.b}`;
  const keyB = `${b.pattern}:${b.a}:${b.b}`;

  useEffect(() => {
    let current = true;
    setDrawn(false);
    const head = { captureId: capture.captureId, layer: focus.layer, head: focus.head, resolution: DIFF_GRID };
    Promise.all([api.call('head.pooledMap', head), api.call('head.mask', { ...head, pattern: a }), api.call('head.mask', { ...head, pattern: b })])
      .then(([map, maskA, maskB]) => {
        const context = canvasRef.current?.getContext('2d');
        if (!current) return;
        // Shares of the causal cells' coverage that only one side computes (grid cells weigh alike).
        let onlyA = 0;
        let onlyB = 0;
        let causal = 0;
        for (let i = 0; i < maskA.coverage.length; i++) {
          if (Math.floor(i / maskA.cols) < i % maskA.cols) continue;
          causal++;
          const d = maskB.coverage[i]! - maskA.coverage[i]!;
          if (d > 0) onlyB += d;
          else onlyA -= d;
        }
        setShares({ onlyA: onlyA / Math.max(1, causal), onlyB: onlyB / Math.max(1, causal) });
        if (context) {
          const dpr = window.devicePixelRatio || 1;
          context.setTransform(dpr, 0, 0, dpr, 0, 0);
          context.fillStyle = `rgb(${cssColour('--heat-empty').slice(0, 3).join(' ')})`;
          context.fillRect(0, 0, DIFF_SIZE, DIFF_SIZE);
          const view = { seqLen: capture.seqLen, size: DIFF_SIZE, transform: { k: 1, x: 0, y: 0 } };
          context.globalAlpha = 0.3;
          drawPlaced(context, view, renderPooledMap(map, themeLut(theme), { scale: 'log', empty: cssColour('--heat-empty') }));
          context.globalAlpha = 1;
          const pixels = coverageDiffToPixels(maskA.coverage, maskB.coverage, { onlyA: cssColour('--only-a'), onlyB: cssColour('--only-b') });
          drawPlaced(context, view, { region: maskA.region, image: imageFromPixels(pixels, maskA.cols, maskA.rows) });
        }
        setDrawn(true);
      })
      .catch(() => current && setDrawn(true));
    return () => {
      current = false;
    };
  }, [api, capture.captureId, capture.seqLen, focus.layer, focus.head, keyA, keyB, theme]);

  const dpr = typeof window === 'undefined' ? 1 : window.devicePixelRatio || 1;
  return (
    <div className="compare-diff-map">
      <canvas ref={canvasRef} width={DIFF_SIZE * dpr} height={DIFF_SIZE * dpr} style={{ width: DIFF_SIZE, height: DIFF_SIZE }} data-testid="compare-diff-map" data-ready={drawn ? 'true' : 'false'} aria-label="Entries only A or only B computes" />
      <ul className="legend">
        <li>
          <span className="swatch only-a-swatch" aria-hidden="true" /> only A computes{shares ? ` (${fmtPercent(shares.onlyA)} of the causal map)` : ''}
        </li>
        <li>
          <span className="swatch only-b-swatch" aria-hidden="true" /> only B computes{shares ? ` (${fmtPercent(shares.onlyB)})` : ''}
        </li>
      </ul>
    </div>
  );
}

const signed = (value: number, format: (v: number) => string) => (value > 0 ? `+${format(value)}` : value < 0 ? `−${format(-value)}` : format(0));

function DifferencePanel({ a, b, statsA, statsB }: { a: HeadPattern | null; b: HeadPattern | null; statsA: HeadStats | undefined; statsB: HeadStats | undefined }) {
  const rows: { label: string; of: (s: HeadStats) => number; format: (v: number) => string }[] = [
    { label: 'recall', of: (s) => s.recall, format: (v) => v.toFixed(4) },
    { label: 'density', of: (s) => s.density, format: (v) => fmtPercent(v) },
    { label: 'predicted speedup', of: (s) => s.speedup, format: (v) => `${v.toFixed(2)}×` },
    { label: 'output error', of: (s) => s.outputRelError, format: (v) => fmtPercent(v, 2) },
  ];
  return (
    <section className="panel compare-difference" data-testid="compare-difference">
      <h2>Difference</h2>
      {a && b && samePattern(a, b) && <p className="muted">A and B give this head the same pattern.</p>}
      <table className="compare-numbers">
        <thead>
          <tr>
            <th />
            <th className="num">A</th>
            <th className="num">B</th>
            <th className="num">B − A</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ label, of, format }) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td className="num">{statsA ? format(of(statsA)) : '—'}</td>
              <td className="num">{statsB ? format(of(statsB)) : '—'}</td>
              <td className="num">{statsA && statsB ? signed(of(statsB) - of(statsA), format) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">Measured on the same sampled rows; speedups are predicted from each pattern's density by the backend's cost model.</p>
      {a && b && <DifferenceMap a={a} b={b} />}
    </section>
  );
}

export function CompareView() {
  const capture = useApp((s) => s.capture);
  const focus = useApp((s) => s.focus);
  // Your edits against what they started from: the search's config when one ran, else the loaded one.
  const searched = useApp((s) => s.searched);
  const [sources, setSources] = useState<Record<Side, Source>>(() => ({ A: searched ? 'searched' : 'loaded', B: 'working' }));
  const configA = useSourceConfig(sources.A);
  const configB = useSourceConfig(sources.B);
  const entryA = configA ? entryAt(configA, focus.layer, focus.head) : null;
  const entryB = configB ? entryAt(configB, focus.layer, focus.head) : null;
  const a = useMemo(() => (entryA ? { pattern: entryA.pattern, a: entryA.a, b: entryA.b } : null), [entryA?.pattern, entryA?.a, entryA?.b]);
  const b = useMemo(() => (entryB ? { pattern: entryB.pattern, a: entryB.a, b: entryB.b } : null), [entryB?.pattern, entryB?.a, entryB?.b]);
  const measuredA = useEvaluation(a, 'A');
  const measuredB = useEvaluation(b, 'B');
  if (!capture) return <div className="empty">No capture open.</div>;
  return (
    <div className="compare-view">
      <header className="panel compare-head">
        <HeadPicker />
        <span className="muted">One head under two configs: pick what A and B are.</span>
      </header>
      <CompareSide side="A" source={sources.A} onSource={(A) => setSources({ ...sources, A })} pattern={a} stats={measuredA.evaluation?.stats} error={measuredA.error} />
      <CompareSide side="B" source={sources.B} onSource={(B) => setSources({ ...sources, B })} pattern={b} stats={measuredB.evaluation?.stats} error={measuredB.error} />
      <DifferencePanel a={a} b={b} statsA={measuredA.evaluation?.stats} statsB={measuredB.evaluation?.stats} />
    </div>
  );
}
