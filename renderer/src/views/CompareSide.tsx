/**
 * One side of the Compare view: where its config comes from (loaded, working, searched or an
 * imported file), the head's map under that config's pattern, and its measures.
 */
import { useRef, type ChangeEvent } from 'react';
import type { HeadPattern, HeadStats } from '../../../contract/api';
import { describePattern } from '../state/config';
import { useApp } from '../state/context';
import { PatternSwatch } from './common';
import { fmtPercent, fmtRecall, fmtSpeedupOf, PATTERN_LABEL } from './format';
import { HeatmapPanel } from './HeatmapPanel';
import { useResolvedTheme } from './theme';

export type Source = 'loaded' | 'searched' | 'working' | 'file';
export type Side = 'A' | 'B';

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

export function CompareSide({ side, source, onSource, pattern, stats, error }: { side: Side; source: Source; onSource: (s: Source) => void; pattern: HeadPattern | null; stats: HeadStats | undefined; error: string | null }) {
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
