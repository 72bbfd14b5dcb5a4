/**
 * One method's pattern in the Methods view: its parameters as number fields (taken on Enter or
 * blur, out-of-range values said inline), a pattern choice where the method has several
 * (MInference's four, DuoAttention's streaming or dense), and a way back to the search's choice or the default.
 */
import type { HeadPattern, PatternName, SearchMethod } from '../../../contract/api';
import { useApp } from '../state/context';
import { METHOD_LABEL, methodPatternAt, methodPatternChoices, type MethodEntry } from '../state/methods';
import { paramSpecs } from '../state/params';
import { PATTERN_LABEL } from './format';
import { NumberField } from './NumberField';

function choiceLabel(method: SearchMethod, pattern: PatternName): string {
  if (method === 'duo') return pattern === 'dense' ? 'retrieval (dense)' : 'streaming';
  return PATTERN_LABEL[pattern];
}

export function MethodParams({ entry, seqLen }: { entry: MethodEntry; seqLen: number }) {
  const setOverride = useApp((s) => s.setMethodOverride);
  const { method, pattern } = entry;
  const choices = methodPatternChoices(method);
  const specs = paramSpecs(pattern.pattern, seqLen);
  const edit = (next: HeadPattern) => setOverride(method, next);
  return (
    <div className="method-params" data-testid={`method-params-${method}`}>
      {choices.length > 1 && (
        <select aria-label={`${METHOD_LABEL[method]} pattern`} value={pattern.pattern} onChange={(e) => edit(methodPatternAt(method, e.target.value as PatternName, seqLen))} data-testid={`method-${method}-pattern`}>
          {choices.map((choice) => (
            <option key={choice} value={choice}>
              {choiceLabel(method, choice)}
            </option>
          ))}
        </select>
      )}
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
