/**
 * One method's pattern in the Methods view: a pattern choice where the method has several
 * (MInference's four, DuoAttention's streaming or dense), its parameters as number fields (taken on
 * Enter or blur, out-of-range values said inline), and a way back to the search's choice or the default.
 */
import type { HeadPattern, PatternName, SearchMethod } from '../../../contract/api';
import { useApp } from '../state/context';
import { METHOD_LABEL, methodPatternAt, methodPatternChoices, type MethodEntry } from '../state/methods';
import { paramSpecs } from '../state/params';
import { PATTERN_LABEL } from './format';
import { NumberField } from './NumberField';

function choiceLabel(method: SearchMethod, pattern: PatternName): string {
  if (method === 'duo') return pattern === 'dense' ? 'dense' : 'streaming';
  return PATTERN_LABEL[pattern];
}

/** The pattern a method gives the head, where it has several to choose from (none for XAttention and FlexPrefill). */
export function MethodPatternSelect({ entry, seqLen }: { entry: MethodEntry; seqLen: number }) {
  const setOverride = useApp((s) => s.setMethodOverride);
  const { method, pattern } = entry;
  const choices = methodPatternChoices(method);
  if (choices.length < 2) return null;
  return (
    <select
      className="method-pattern"
      aria-label={`${METHOD_LABEL[method]} pattern`}
      value={pattern.pattern}
      onChange={(e) => setOverride(method, methodPatternAt(method, e.target.value as PatternName, seqLen))}
      data-testid={`method-${method}-pattern`}
    >
      {choices.map((choice) => (
        <option key={choice} value={choice}>
          {choiceLabel(method, choice)}
        </option>
      ))}
    </select>
  );
}

export function MethodParams({ entry, seqLen }: { entry: MethodEntry; seqLen: number }) {
  const setOverride = useApp((s) => s.setMethodOverride);
  const { method, pattern } = entry;
  const specs = paramSpecs(pattern.pattern, seqLen);
  const edit = (next: HeadPattern) => setOverride(method, next);
  return (
    <div className="method-params" data-testid={`method-params-${method}`}>
      {specs.length === 0 && <span className="muted">dense: no parameters</span>}
      {specs.map((spec, index) => {
        const field = index === 0 ? 'a' : 'b';
        return (
          <label key={spec.label} title={spec.hint}>
            <span>{spec.label}</span>
            <NumberField value={pattern[field]} min={spec.min} max={spec.max} integer onCommit={(value) => edit({ ...pattern, [field]: value })} testId={`method-${method}-${field}`} />
          </label>
        );
      })}
      {entry.source === 'edited' && (
        <button type="button" className="link" onClick={() => setOverride(method, null)} title="Drop your edit of this method's parameters">
          reset
        </button>
      )}
    </div>
  );
}
