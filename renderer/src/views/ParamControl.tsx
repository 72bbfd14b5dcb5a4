/** One pattern parameter in Tune: a number field (committed on Enter or blur) and a log-scale slider. */
import { sliderToValue, SLIDER_STEPS, valueToSlider, type ParamSpec } from '../state/params';
import { NumberField } from './NumberField';

export function ParamControl({ spec, value, onChange, testId }: { spec: ParamSpec; value: number; onChange: (value: number) => void; testId: string }) {
  const clamp = (v: number) => Math.max(spec.min, Math.min(spec.max, Math.round(v)));
  return (
    <div className="param">
      <label title={spec.hint}>
        <span>{spec.label}</span>
        <NumberField value={value} min={spec.min} max={spec.max} integer onCommit={onChange} testId={`${testId}-number`} />
      </label>
      <input
        type="range"
        min={0}
        max={SLIDER_STEPS}
        value={valueToSlider(value, spec)}
        onChange={(e) => onChange(clamp(sliderToValue(Number(e.target.value), spec)))}
        aria-label={spec.label}
        data-testid={`${testId}-range`}
      />
      <div className="param-range muted small">
        <span>{spec.min.toLocaleString()}</span>
        <span>{spec.max.toLocaleString()}</span>
      </div>
    </div>
  );
}
