/**
 * The Methods view's numbers side by side: per method its pattern, recall, density, index cost,
 * speedup (measured or predicted, as obtained) and whether it keeps the target recall, the winner
 * marked; a method's pattern can be given to the head in the config from here (Ctrl+Z undoes it).
 */
import type { HeadStats, SearchMethod } from '../../../contract/api';
import { entryAt, headKey, samePattern, shortPattern } from '../state/config';
import { useApp } from '../state/context';
import { holdsTarget, METHOD_LABEL, type MethodEntry, type Winner } from '../state/methods';
import { fmtMs, fmtPercent, fmtRecall, fmtSpeedupOf, PATTERN_LABEL } from './format';
import { MethodSwatch } from './MethodLegend';
import type { MethodMeasures } from './useMethodData';

const MISSING = '—';

function TargetCell({ holds }: { holds: boolean | null }) {
  if (holds === null) return <td className="num muted">{MISSING}</td>;
  return <td className={holds ? 'num target-kept' : 'num target-missed'}>{holds ? '✓ yes' : '✗ no'}</td>;
}

/** An index's cost as a share of the dense time: whole percents, "<1%" below. */
const shareOfDense = (share: number) => (share > 0 && share < 0.01 ? '<1%' : fmtPercent(share, 0));

function timesOf(stats: HeadStats): string {
  return `dense ${fmtMs(stats.denseMs)} → index ${fmtMs(stats.indexMs)} + sparse ${fmtMs(stats.sparseMs)} (${stats.speedupKind})`;
}

function MethodRow({ entry, stats, error, winner, target }: { entry: MethodEntry; stats: HeadStats | undefined; error: string | undefined; winner: boolean; target: number }) {
  const focus = useApp((s) => s.focus);
  const current = useApp((s) => (s.config ? entryAt(s.config, focus.layer, focus.head) : null));
  const setPatterns = useApp((s) => s.setPatterns);
  const { method, pattern } = entry;
  const inConfig = !!current && samePattern(current, pattern);
  const use = () => setPatterns([headKey(focus.layer, focus.head)], pattern, `${METHOD_LABEL[method]} on layer ${focus.layer} head ${focus.head}`);
  return (
    <tr className={winner ? 'winner-row' : undefined} data-method={method} aria-current={winner ? 'true' : undefined}>
      <th scope="row">
        <MethodSwatch method={method} /> {METHOD_LABEL[method]} {winner && <span className="badge winner-badge">★ wins</span>}
      </th>
      <td title={PATTERN_LABEL[pattern.pattern]}>{shortPattern(pattern)}</td>
      {error ? (
        <td colSpan={5} className="error-text">
          {error}
        </td>
      ) : (
        <>
          <td className="num">{fmtRecall(stats?.recall)}</td>
          <td className="num">{fmtPercent(stats?.density)}</td>
          <td className="num" title={stats ? timesOf(stats) : undefined}>
            {stats ? `${fmtMs(stats.indexMs)} · ${shareOfDense(stats.indexMs / stats.denseMs)} of dense` : MISSING}
          </td>
          <td className="num" title={stats ? timesOf(stats) : undefined}>
            {fmtSpeedupOf(stats)}
          </td>
          <TargetCell holds={holdsTarget(entry, stats ?? null, target)} />
        </>
      )}
      <td>
        <button type="button" onClick={use} disabled={inConfig} title={inConfig ? 'The head already has this pattern in your config' : 'Give the head this pattern in your config (Ctrl+Z undoes)'} data-testid={`use-${method}`}>
          {inConfig ? 'in config' : 'Use'}
        </button>
      </td>
    </tr>
  );
}

export interface MethodTableProps {
  entries: MethodEntry[];
  measures: MethodMeasures;
  winner: Winner;
  target: number;
}

export function MethodTable({ entries, measures, winner, target }: MethodTableProps) {
  const fromSearch = entries.some((e) => e.choice);
  const measuring = entries.some((e) => !measures.stats[e.method] && !measures.errors[e.method]);
  return (
    <section className="panel methods-numbers">
      <table className="compare-numbers" data-testid="methods-table">
        <thead>
          <tr>
            <th>method</th>
            <th>pattern</th>
            <th className="num">recall</th>
            <th className="num">density</th>
            <th className="num">index cost</th>
            <th className="num">speedup</th>
            <th className="num" title="Whether the method's pattern keeps the target recall on this head">recall ≥ {target}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <MethodRow key={entry.method} entry={entry} stats={measures.stats[entry.method]} error={measures.errors[entry.method]} winner={winner.method === entry.method} target={target} />
          ))}
        </tbody>
      </table>
      <p className="muted small" data-testid="methods-winner-rule">
        {measuring && winner.from === 'shown' ? 'Measuring…' : winnerSentence(winner, target)} {fromSearch ? "The search's choices are measured on every evaluated row. " : ''}
        {entries.some((e) => !e.choice) ? `${fromSearch ? 'Patterns the search did not choose are' : 'Each pattern is'} evaluated on 256 sampled rows, speedups predicted by the backend’s cost model. ` : ''}
        DuoAttention decides per KV head: it streams only where every query head of the KV head keeps the target.
      </p>
    </section>
  );
}

function winnerSentence(winner: Winner, target: number): string {
  const rule = `the least index + sparse time among the methods that keep recall ≥ ${target}`;
  if (!winner.method) return `No method keeps recall ≥ ${target} here: the search would run this head dense.`;
  const name = METHOD_LABEL[winner.method as SearchMethod];
  return winner.from === 'search' ? `★ ${name} wins: the search's verdict, ${rule}.` : `★ ${name} wins on the numbers shown: ${rule}.`;
}
