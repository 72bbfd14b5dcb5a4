/**
 * A number field that commits on Enter or when it loses focus, never per keystroke (clamping "1" of
 * "120" to a minimum of 30 made 5020), with an inline error for what it cannot take. Esc puts back
 * the committed value; a new value from outside (a slider, another head) replaces the draft.
 */
import { useEffect, useId, useState } from 'react';

export interface NumberRange {
  min: number;
  max: number;
  /** Whole numbers only (budgets, repeats). */
  integer?: boolean;
}

/** The number a field's text stands for, or why it cannot be taken. */
export function parseNumberField(text: string, range: NumberRange): { value: number } | { error: string } {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (trimmed === '' || !Number.isFinite(value)) return { error: 'enter a number' };
  if (range.integer && !Number.isInteger(value)) return { error: 'enter a whole number' };
  if (value < range.min || value > range.max) return { error: `between ${range.min.toLocaleString()} and ${range.max.toLocaleString()}` };
  return { value };
}

export interface NumberFieldProps extends NumberRange {
  value: number;
  onCommit: (value: number) => void;
  step?: number;
  disabled?: boolean;
  testId?: string;
  /** The field's name for screen readers when no visible label wraps it. */
  label?: string;
}

export function NumberField({ value, onCommit, min, max, integer, step, disabled, testId, label }: NumberFieldProps) {
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const errorId = useId();

  useEffect(() => {
    setDraft(null);
    setError(null);
  }, [value]);

  const commit = () => {
    if (draft === null) return;
    const parsed = parseNumberField(draft, { min, max, integer });
    if ('error' in parsed) return setError(parsed.error);
    setDraft(null);
    setError(null);
    if (parsed.value !== value) onCommit(parsed.value);
  };

  return (
    <span className="number-field">
      <input
        type="number"
        min={min}
        max={max}
        step={step}
        value={draft ?? String(value)}
        disabled={disabled}
        aria-label={label}
        aria-invalid={error !== null}
        aria-describedby={error ? errorId : undefined}
        data-testid={testId}
        onChange={(e) => {
          setDraft(e.target.value);
          setError(null);
        }}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit();
          if (e.key === 'Escape' && draft !== null) {
            // Only this field's draft: Esc must not also close a dialog around it.
            e.stopPropagation();
            setDraft(null);
            setError(null);
          }
        }}
      />
      {error && (
        <span className="field-error" id={errorId} role="alert" data-testid={testId ? `${testId}-error` : undefined}>
          {error}
        </span>
      )}
    </span>
  );
}
