/**
 * Search: the per-head automatic search over the capture (MInference's candidate set, or the
 * cheapest budget reaching a target recall) as a job with progress, ETA and cancel. Results fill
 * the overview; heads tuned by hand are only replaced after the user confirms.
 */
import { useState } from 'react';
import type { PatternName, RowSampling, SearchSettings } from '../../../contract/api';
import { diffConfigs, headKey, shortPattern } from '../state/config';
import { useApp } from '../state/context';
import { isActive } from '../state/store';
import { JobProgress, PatternLegend, PatternSwatch, Stat } from './common';
import { fmtMs, fmtPercent, fmtRecall, fmtSpeedupOf, PATTERN_LABEL, PATTERNS, plural } from './format';
import { Modal } from './Modal';
import { NumberField } from './NumberField';

const SAMPLING_CHOICES: { label: string; value: RowSampling }[] = [
  { label: '256 sampled rows (fast)', value: { mode: 'sampled', rows: 256, seed: 0 } },
  { label: '512 sampled rows', value: { mode: 'sampled', rows: 512, seed: 0 } },
  { label: '2048 sampled rows', value: { mode: 'sampled', rows: 2048, seed: 0 } },
  { label: 'exact (all evaluated rows)', value: { mode: 'exact' } },
];

export function SearchView() {
  const capture = useApp((s) => s.capture);
  const loadedConfig = useApp((s) => s.loadedConfig);
  const searched = useApp((s) => s.searched);
  const job = useApp((s) => s.jobs.search);
  const tunedCount = useApp((s) => s.tunedKeys.length);
  const { startJob, cancelJob, focusHead } = useApp((s) => s);
  const [mode, setMode] = useState<SearchSettings['mode']>('target-recall');
  const [targetRecall, setTargetRecall] = useState(0.95);
  const [samplingIndex, setSamplingIndex] = useState(1);
  const [layerScope, setLayerScope] = useState<'all' | number>('all');

  if (!capture) return <div className="empty">No capture open.</div>;
  const running = isActive(job);
  const start = () =>
    void startJob({
      kind: 'search',
      captureId: capture.captureId,
      settings: {
        mode,
        targetRecall,
        sampling: SAMPLING_CHOICES[samplingIndex]!.value,
        ...(layerScope === 'all' ? {} : { layers: [layerScope] }),
      },
    });
  const changes = searched && loadedConfig ? diffConfigs(loadedConfig, searched.config) : [];
  const counts = searched ? countPatterns(searched.report.heads.map((h) => h.pattern)) : null;
  const statsByKey = new Map(searched?.report.heads.map((h) => [headKey(h.layer, h.head), h]));

  return (
    <div className="split search">
      <section className="panel side-panel">
        <h2>Per-head search</h2>
        <fieldset>
          <legend>Method</legend>
          <label className="check">
            <input type="radio" name="mode" checked={mode === 'candidates'} onChange={() => setMode('candidates')} /> MInference candidate set (best recall wins)
          </label>
          <label className="check">
            <input type="radio" name="mode" checked={mode === 'target-recall'} onChange={() => setMode('target-recall')} /> Cheapest budget reaching a target recall
          </label>
        </fieldset>
        <label className="field">
          Target recall
          <NumberField value={targetRecall} min={0.5} max={1} step={0.005} disabled={mode !== 'target-recall'} onCommit={setTargetRecall} testId="target-recall" />
        </label>
        <label className="field">
          Rows per head
          <select value={samplingIndex} onChange={(e) => setSamplingIndex(Number(e.target.value))}>
            {SAMPLING_CHOICES.map((choice, index) => (
              <option key={choice.label} value={index}>
                {choice.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Layers
          <select value={String(layerScope)} onChange={(e) => setLayerScope(e.target.value === 'all' ? 'all' : Number(e.target.value))}>
            <option value="all">{capture.layers.length === 1 ? 'its one layer' : `all ${capture.layers.length} layers`}</option>
            {capture.layers.map((l) => (
              <option key={l} value={l}>
                layer {l} only
              </option>
            ))}
          </select>
        </label>
        {tunedCount > 0 && (
          <p className="muted small">
            {tunedCount === 1 ? '1 head was' : `${tunedCount} heads were`} tuned by hand; you will be asked before the search replaces {tunedCount === 1 ? 'it' : 'them'}.
          </p>
        )}
        <div className="button-row">
          <button type="button" className="primary" onClick={start} disabled={running} data-testid="start-search">
            Start search
          </button>
          {running && (
            <button type="button" onClick={() => void cancelJob('search')} data-testid="cancel-search">
              Cancel
            </button>
          )}
        </div>
        <JobProgress job={job} />
      </section>
      <section className="panel search-result">
        <h2>Result</h2>
        {!searched && <p className="muted">No search has finished for this capture yet. The overview shows the loaded config until then.</p>}
        {searched && counts && (
          <div data-testid="search-result">
            <p>
              {searched.settings.mode === 'candidates' ? 'MInference candidate set' : `Cheapest budget reaching recall ${searched.settings.targetRecall}`} ·{' '}
              {searched.settings.sampling.mode === 'exact' ? 'exact rows' : `searched on ${plural(searched.settings.sampling.rows, 'sampled row')}, recall checked on all rows`} · {plural(searched.report.heads.length, 'head')} ·{' '}
              <strong>{changes.length}</strong> differ from the loaded config
            </p>
            <div className="totals">
              <Stat label="mean recall" value={fmtRecall(searched.report.totals.meanRecall)} />
              <Stat label="min recall" value={fmtRecall(searched.report.totals.minRecall)} />
              <Stat label="speedup" value={fmtSpeedupOf(searched.report.totals)} hint="full-row pre-fill timed per head: dense / (index + sparse)" />
              <Stat label="dense" value={fmtMs(searched.report.totals.denseMs)} />
              <Stat label="index + sparse" value={fmtMs(searched.report.totals.indexMs + searched.report.totals.sparseMs)} />
            </div>
            <p className="muted small">
              Measured on {searched.report.device} · {searched.report.backend.toUpperCase()} · {searched.report.dtype} · {searched.report.seqLen.toLocaleString()} tokens.
            </p>
            <h3>Patterns chosen</h3>
            <div className="share-bar" role="img" aria-label="Share of heads per pattern">
              {PATTERNS.filter((p) => counts[p] > 0).map((p) => (
                <span key={p} className={`pat-${p}`} style={{ flexGrow: counts[p] }} title={`${PATTERN_LABEL[p]}: ${counts[p]}`} />
              ))}
            </div>
            <PatternLegend counts={counts} />
            <h3>Changes vs the loaded config</h3>
            <div className="table-scroll">
              <table className="heads-table">
                <thead>
                  <tr>
                    <th>head</th>
                    <th>loaded</th>
                    <th>searched</th>
                    <th className="num">recall</th>
                    <th className="num">density</th>
                  </tr>
                </thead>
                <tbody>
                  {changes.slice(0, 200).map((d) => {
                    const stats = statsByKey.get(headKey(d.layer, d.head));
                    return (
                      <tr key={`${d.layer}:${d.head}`} onClick={() => focusHead(d, { view: 'head' })}>
                        <td>
                          L{d.layer} H{d.head}
                        </td>
                        <td className="muted">{shortPattern(d.before)}</td>
                        <td>
                          <PatternSwatch pattern={d.after.pattern} /> {shortPattern(d.after)}
                        </td>
                        <td className="num">{fmtRecall(stats?.recall)}</td>
                        <td className="num">{fmtPercent(stats?.density)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </div>
        )}
      </section>
    </div>
  );
}

function countPatterns(patterns: PatternName[]): Record<PatternName, number> {
  const counts: Record<PatternName, number> = { vertical_and_slash: 0, stream_llm: 0, block_sparse: 0, dense: 0, xattention: 0, flexprefill: 0 };
  for (const p of patterns) counts[p]++;
  return counts;
}

/** Shown when a finished search would replace heads the user tuned by hand. */
export function SearchConfirm() {
  const pending = useApp((s) => s.pendingSearch);
  const resolve = useApp((s) => s.resolvePendingSearch);
  if (!pending) return null;
  return (
    // Esc keeps the tuned heads: the choice that loses no work.
    <Modal onClose={() => resolve('keep-tuned')} closeOnBackdrop={false} labelledBy="confirm-title" testId="search-confirm">
      <h2 id="confirm-title">Search finished</h2>
      <p>
        The search chose other settings for <strong>{plural(pending.tunedKeys.length, 'head')}</strong> you tuned by hand. What should happen to {pending.tunedKeys.length === 1 ? 'it' : 'them'}?
      </p>
      <div className="button-row">
        <button type="button" className="primary" onClick={() => resolve('keep-tuned')} autoFocus>
          Keep my tuned heads
        </button>
        <button type="button" className="danger" onClick={() => resolve('overwrite')} data-testid="confirm-overwrite">
          Overwrite them
        </button>
        <button type="button" onClick={() => resolve('discard')}>
          Discard the search result
        </button>
      </div>
      <p className="muted small">Esc keeps your tuned heads.</p>
    </Modal>
  );
}
