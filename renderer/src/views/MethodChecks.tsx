/**
 * Which methods a target-recall search compares per head (SearchSettings.methods): MInference
 * always, XAttention, FlexPrefill and DuoAttention by choice.
 */
import type { SearchMethod } from '../../../contract/api';
import { METHOD_HINT, METHOD_LABEL, SEARCH_METHODS } from '../state/methods';
import { MethodSwatch } from './MethodLegend';

export function MethodChecks({ value, onChange, disabled }: { value: SearchMethod[]; onChange: (methods: SearchMethod[]) => void; disabled: boolean }) {
  const toggle = (method: SearchMethod, on: boolean) => onChange(SEARCH_METHODS.filter((m) => (m === method ? on : value.includes(m))));
  return (
    <fieldset disabled={disabled} data-testid="search-methods">
      <legend>Methods compared per head</legend>
      {SEARCH_METHODS.map((method) => (
        <label key={method} className="check" title={METHOD_HINT[method]}>
          <input
            type="checkbox"
            checked={method === 'minference' || value.includes(method)}
            disabled={method === 'minference'}
            onChange={(e) => toggle(method, e.target.checked)}
            data-testid={`search-method-${method}`}
          />{' '}
          <MethodSwatch method={method} /> {METHOD_LABEL[method]}
          {method === 'minference' && <span className="muted"> (always)</span>}
        </label>
      ))}
      {disabled && <p className="muted small">Only the target-recall search compares methods.</p>}
    </fieldset>
  );
}
