/** The Files view's summary of the config in use: where it came from and its patterns. */
import { useMemo } from 'react';
import { searchRule } from '../../../contract/api';
import { isDefaultConfig } from '../state/config';
import { modelTotals } from '../state/overview';
import { useApp } from '../state/context';
import { PATTERN_LABEL, PATTERNS, plural } from './format';

export function ConfigFactsPanel() {
  const capture = useApp((s) => s.capture);
  const config = useApp((s) => s.config);
  const searched = useApp((s) => s.searched);
  const loadedConfig = useApp((s) => s.loadedConfig);
  const tunedCount = useApp((s) => s.tunedKeys.length);
  const configSource = searched
    ? `search (${searchRule(searched.settings)})`
    : loadedConfig && isDefaultConfig(loadedConfig)
      ? 'MInference default for every head'
      : 'imported file';
  const patternCounts = useMemo(() => (config && capture ? modelTotals(config, capture.layers, {}).patternCounts : null), [config, capture]);
  return (
    <section className="panel">
      <h2>Head config</h2>
      {config && capture && patternCounts ? (
        <dl className="facts" data-testid="config-facts">
          <dt>Source</dt>
          <dd>{configSource}</dd>
          <dt>Heads</dt>
          <dd>
            {capture.layers.length * config.numHeads} in {plural(capture.layers.length, 'layer')}; {tunedCount} tuned by hand
          </dd>
          <dt>Patterns</dt>
          <dd>
            {PATTERNS.map((p) => `${PATTERN_LABEL[p]} ${patternCounts[p]}`).join(' · ')}
          </dd>
        </dl>
      ) : (
        <p className="muted">No config.</p>
      )}
    </section>
  );
}
