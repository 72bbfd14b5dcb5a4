/**
 * What a target-recall search holds (SearchSettings.recallScope): every head's recall, or each
 * layer's mean with a floor per head, where heads with recall to spare pay for dear ones.
 */
import { headRecallFloor } from '../../../contract/api';
import { NumberField } from './NumberField';

export interface RecallScope {
  scope: 'head' | 'layer';
  /** The floor per head under the layer scope; null: the contract's default (headRecallFloor). */
  floor: number | null;
}

export function RecallScopeFields({ value, onChange, targetRecall, disabled, note }: { value: RecallScope; onChange: (value: RecallScope) => void; targetRecall: number; disabled: boolean; note: string | null }) {
  const floor = Math.min(targetRecall, headRecallFloor({ targetRecall, recallScope: 'layer', ...(value.floor === null ? {} : { minHeadRecall: value.floor }) }));
  return (
    <fieldset disabled={disabled} data-testid="recall-scope">
      <legend>Recall held by</legend>
      <label className="check">
        <input type="radio" name="recall-scope" checked={value.scope === 'head'} onChange={() => onChange({ ...value, scope: 'head' })} /> every head
      </label>
      <label className="check" title="Heads with recall to spare pay for heads whose last points are dear: less computed for the same mean.">
        <input type="radio" name="recall-scope" checked={value.scope === 'layer'} onChange={() => onChange({ ...value, scope: 'layer' })} data-testid="recall-scope-layer" /> each layer's mean
      </label>
      {value.scope === 'layer' && (
        <label className="field">
          No head below
          <NumberField value={floor} min={0} max={targetRecall} step={0.005} onCommit={(next) => onChange({ ...value, floor: next })} testId="min-head-recall" />
        </label>
      )}
      {note && <p className="muted small">{note}</p>}
    </fieldset>
  );
}

/** The settings a scope adds to a search: nothing for every head. */
export function recallScopeSettings(value: RecallScope, targetRecall: number): { recallScope?: 'layer'; minHeadRecall?: number } {
  if (value.scope === 'head') return {};
  return { recallScope: 'layer', ...(value.floor === null ? {} : { minHeadRecall: Math.min(value.floor, targetRecall) }) };
}
