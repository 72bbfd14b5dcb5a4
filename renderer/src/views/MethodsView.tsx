/**
 * Methods view (issue 15): the focused head under every method a search can compare (MInference,
 * XAttention, FlexPrefill, DuoAttention), each one's mask over the same map and their numbers side
 * by side, the winner marked. After a search across methods each shows the search's choice; else
 * each is evaluated at its published defaults (MInference as the config has it), all editable.
 */
import { useMemo } from 'react';
import { methodSettingsOf, type HeadComparison, type SearchResult } from '../../../contract/api';
import { entryAt } from '../state/config';
import { useApp } from '../state/context';
import { comparisonOf, methodEntries, methodWinner, type Winner } from '../state/methods';
import { HeadPicker } from './HeadPicker';
import { MethodMaps } from './MethodMaps';
import { MethodTable } from './MethodTable';
import { useMethodMeasures, type MethodHead } from './useMethodData';

/** Where the view's patterns come from, in a sentence. */
function sourceSentence(searched: SearchResult | null, comparison: HeadComparison | null): string {
  if (comparison) return `Each method's cheapest pattern keeping recall ≥ ${searched?.settings.targetRecall} on this head, as your search chose it. Edit a parameter to try another.`;
  const defaults = 'XAttention threshold 0.9 · stride 8, FlexPrefill gamma 0.9 · tau 0.1, DuoAttention streaming with sink 64 · recent 256';
  const why = searched?.comparison ? 'Your search did not cover this head' : 'No search across methods yet (Search view: tick the methods)';
  return `${why}: each method at its defaults (${defaults}), MInference as your config has it. Edit a parameter to try another.`;
}

export function MethodsView() {
  const capture = useApp((s) => s.capture);
  const config = useApp((s) => s.config);
  if (!capture || !config) return <div className="empty">No capture open.</div>;
  return <MethodsOfHead />;
}

function MethodsOfHead() {
  const capture = useApp((s) => s.capture)!;
  const config = useApp((s) => s.config)!;
  const focus = useApp((s) => s.focus);
  const searched = useApp((s) => s.searched);
  const overrides = useApp((s) => s.methodOverrides);
  const comparison = comparisonOf(searched?.comparison, focus.layer, focus.head);
  const configEntry = entryAt(config, focus.layer, focus.head);
  const entries = useMemo(() => methodEntries(comparison, configEntry, overrides), [comparison, configEntry, overrides]);
  const methodSettings = searched?.settings.methodSettings ?? methodSettingsOf(config.runtime);
  const head: MethodHead = { captureId: capture.captureId, layer: focus.layer, head: focus.head, methodSettings };
  const measures = useMethodMeasures(head, entries);
  const target = searched?.settings.targetRecall ?? 0.95;
  const measuring = entries.some((e) => !measures.stats[e.method] && !measures.errors[e.method]);
  const found = methodWinner(entries, measures.stats, comparison, target);
  // A winner worked out here waits for every method's numbers.
  const winner: Winner = measuring && found.from === 'shown' ? { method: null, from: 'shown' } : found;

  return (
    <div className="methods-view">
      <header className="panel methods-head">
        <HeadPicker />
        <span className="muted small methods-source truncate" title={sourceSentence(searched, comparison)} data-testid="methods-source">
          {sourceSentence(searched, comparison)}
        </span>
      </header>
      <MethodMaps head={head} entries={entries} winner={winner.method} />
      <MethodTable entries={entries} measures={measures} winner={winner} target={target} />
    </div>
  );
}
