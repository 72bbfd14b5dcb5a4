/**
 * Search: the per-head automatic search over the capture (MInference's candidate set, or the
 * cheapest budgets reaching a target recall, per head or as each layer's mean) as a job with
 * progress, ETA and cancel. Results fill the overview; heads tuned by hand are only replaced after
 * the user confirms.
 */
import { useState } from 'react';
import type { RowSampling, SearchMethod, SearchSettings } from '../../../contract/api';
import { useApp } from '../state/context';
import { isActive } from '../state/store';
import { JobProgress } from './common';
import { plural } from './format';
import { MethodChecks } from './MethodChecks';
import { Modal } from './Modal';
import { NumberField } from './NumberField';
import { recallScopeSettings, RecallScopeFields, type RecallScope } from './RecallScopeFields';
import { SearchResultPanel } from './SearchResultPanel';

const SAMPLING_CHOICES: { label: string; value: RowSampling }[] = [
  { label: '256 sampled rows (fast)', value: { mode: 'sampled', rows: 256, seed: 0 } },
  { label: '512 sampled rows', value: { mode: 'sampled', rows: 512, seed: 0 } },
  { label: '2048 sampled rows', value: { mode: 'sampled', rows: 2048, seed: 0 } },
  { label: 'exact (all evaluated rows)', value: { mode: 'exact' } },
];

export function SearchView() {
  const capture = useApp((s) => s.capture);
  const job = useApp((s) => s.jobs.search);
  const tunedCount = useApp((s) => s.tunedKeys.length);
  const { startJob, cancelJob } = useApp((s) => s);
  const [mode, setMode] = useState<SearchSettings['mode']>('target-recall');
  const [targetRecall, setTargetRecall] = useState(0.95);
  const [samplingIndex, setSamplingIndex] = useState(1);
  const [layerScope, setLayerScope] = useState<'all' | number>('all');
  const [methods, setMethods] = useState<SearchMethod[]>(['minference']);
  const [recallScope, setRecallScope] = useState<RecallScope>({ scope: 'head', floor: null });

  if (!capture) return <div className="empty">No capture open.</div>;
  const running = isActive(job);
  const comparesMethods = mode === 'target-recall' && methods.length > 1;
  const layerMean = mode === 'target-recall' && !comparesMethods;
  const start = () =>
    void startJob({
      kind: 'search',
      captureId: capture.captureId,
      settings: {
        mode,
        targetRecall,
        sampling: SAMPLING_CHOICES[samplingIndex]!.value,
        ...(layerScope === 'all' ? {} : { layers: [layerScope] }),
        // MInference alone is the search's default: the settings name methods only when more are compared.
        ...(comparesMethods ? { methods } : {}),
        ...(layerMean ? recallScopeSettings(recallScope, targetRecall) : {}),
      },
    });

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
        <RecallScopeFields value={recallScope} onChange={setRecallScope} targetRecall={targetRecall} disabled={!layerMean} note={comparesMethods ? "A layer's mean is held over MInference's patterns only." : null} />
        <MethodChecks value={methods} onChange={setMethods} disabled={mode !== 'target-recall'} />
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
      <SearchResultPanel />
    </div>
  );
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
