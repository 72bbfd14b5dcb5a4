/**
 * Overview: what the user is looking at (capture and config, in words), model totals, the layers x
 * heads grid coloured by a measure, the sortable head list, and a preview of the focused head's map.
 */
import { useMemo } from 'react';
import { describePattern, entryAt, headKey, isDefaultConfig } from '../state/config';
import { useApp } from '../state/context';
import { modelTotals } from '../state/overview';
import { isActive } from '../state/store';
import { captureSubject, configStory } from './captions';
import { JobProgress, PatternSwatch, Stat } from './common';
import { fmtPercent, fmtRecall, fmtSpeedup, fmtSpeedupOf, fmtTokens, PATTERN_LABEL, plural } from './format';
import { HeadList } from './HeadList';
import { HeatmapPanel } from './HeatmapPanel';
import { OverviewGrid } from './OverviewGrid';
import { useResolvedTheme } from './theme';

function ScreenCaption() {
  const capture = useApp((s) => s.capture);
  const loadedConfig = useApp((s) => s.loadedConfig);
  const searched = useApp((s) => s.searched);
  const searching = useApp((s) => isActive(s.jobs.search));
  const tuned = useApp((s) => s.tunedKeys.length);
  if (!capture) return null;
  const subject = captureSubject(capture);
  const story = configStory({ seqLen: capture.seqLen, isDefault: !!loadedConfig && isDefaultConfig(loadedConfig), searched, searching, tuned });
  return (
    <p className="screen-caption" data-testid="screen-caption">
      <span className="truncate" title={subject}>
        {subject}.
      </span>
      <span>{story}</span>
    </p>
  );
}

export function OverviewView() {
  const capture = useApp((s) => s.capture);
  const config = useApp((s) => s.config);
  const stats = useApp((s) => s.stats);
  const focus = useApp((s) => s.focus);
  const focusHead = useApp((s) => s.focusHead);
  const jobs = useApp((s) => s.jobs);
  const cancelJob = useApp((s) => s.cancelJob);
  const theme = useResolvedTheme(useApp((s) => s.theme));
  const layers = useMemo(() => capture?.layers ?? [], [capture]);
  const totals = useMemo(() => (config ? modelTotals(config, layers, stats) : null), [config, layers, stats]);

  if (!capture || !config || !totals) return <div className="empty">No capture open. Use Files to open one, or wait for the sample.</div>;
  const focusStats = stats[headKey(focus.layer, focus.head)];
  const focusEntry = entryAt(config, focus.layer, focus.head);
  const running = jobs.search && isActive(jobs.search) ? jobs.search : jobs.analyze && isActive(jobs.analyze) ? jobs.analyze : undefined;

  return (
    <div className="overview">
      <section className="panel overview-grid">
        <header className="panel-head">
          <h2 className="truncate" title={`${capture.model} · ${capture.fileName}`}>
            {capture.model} · {plural(layers.length, 'layer')} × {plural(capture.numHeads, 'head')} · {fmtTokens(capture.seqLen)} tokens
          </h2>
        </header>
        <ScreenCaption />
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
        {running && <JobProgress job={running} onCancel={() => void cancelJob(running.kind)} />}
        <OverviewGrid patternCounts={totals.patternCounts} />
        <p className="muted small">Rows are layers, columns are heads. Click selects, shift-click adds to the selection (for Tune), double-click opens the head.</p>
      </section>

      <HeadList />

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
