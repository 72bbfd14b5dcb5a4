/**
 * Compare view: one head under two configs side by side (the loaded one and your edits, the
 * searched one, or a second file): each map with its mask and its recall, density, predicted
 * speedup and output error, then the difference: the numbers B − A and a map of the entries only
 * one of them computes.
 */
import { useEffect, useMemo, useState } from 'react';
import type { HeadConfig, HeadEvaluation, HeadPattern } from '../../../contract/api';
import { entryAt } from '../state/config';
import { useApi, useApp } from '../state/context';
import { errorMessage } from '../state/store';
import { DifferencePanel } from './CompareDifference';
import { CompareSide, type Side, type Source } from './CompareSide';
import { HeadPicker } from './HeadPicker';

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
