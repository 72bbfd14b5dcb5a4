/**
 * The Search view's result: what was searched, its totals, the patterns chosen, the heads each
 * method wins (after a search across methods), and the heads that differ from the loaded config.
 */
import { searchRule, type PatternName } from '../../../contract/api';
import { diffConfigs, headKey, shortPattern } from '../state/config';
import { useApp } from '../state/context';
import { countWinners, winnersByHead } from '../state/methods';
import { PatternLegend, PatternSwatch, Stat } from './common';
import { fmtMs, fmtPercent, fmtRecall, fmtSpeedupOf, PATTERN_LABEL, PATTERNS, plural } from './format';
import { MethodLegend } from './MethodLegend';

export function SearchResultPanel() {
  const loadedConfig = useApp((s) => s.loadedConfig);
  const searched = useApp((s) => s.searched);
  const focusHead = useApp((s) => s.focusHead);
  const changes = searched && loadedConfig ? diffConfigs(loadedConfig, searched.config) : [];
  const counts = searched ? countPatterns(searched.report.heads.map((h) => h.pattern)) : null;
  const statsByKey = new Map(searched?.report.heads.map((h) => [headKey(h.layer, h.head), h]));
  return (
    <section className="panel search-result">
      <h2>Result</h2>
      {!searched && <p className="muted">No search has finished for this capture yet. The overview shows the loaded config until then.</p>}
      {searched && counts && (
        <div data-testid="search-result">
          <p>
            {searched.settings.mode === 'candidates' ? 'MInference candidate set' : `Cheapest budgets reaching ${searchRule(searched.settings)}`} ·{' '}
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
          {searched.comparison && (
            <>
              <h3>Heads each method wins</h3>
              <MethodLegend counts={countWinners(winnersByHead(searched.comparison))} />
              <p className="muted small">
                The Methods view shows every method&apos;s choice for a head; the overview colours the grid by the method that wins.
              </p>
            </>
          )}
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
  );
}

function countPatterns(patterns: PatternName[]): Record<PatternName, number> {
  const counts: Record<PatternName, number> = { vertical_and_slash: 0, stream_llm: 0, block_sparse: 0, dense: 0, xattention: 0, flexprefill: 0 };
  for (const p of patterns) counts[p]++;
  return counts;
}
