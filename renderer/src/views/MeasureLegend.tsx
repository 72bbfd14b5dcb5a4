/** The overview grid's legend when it is coloured by a measure: the ramp with its values, which end is better, the pattern mark. */
import { lutColour, measureLut } from '../charts/colormap';
import type { MeasureRamp } from './grid-colour';

const RAMP_STOPS = 8;

export function MeasureLegend({ ramp }: { ramp: MeasureRamp }) {
  const stops = Array.from({ length: RAMP_STOPS + 1 }, (_, i) => lutColour(measureLut(), i / RAMP_STOPS));
  return (
    <div className="measure-legend" data-testid="grid-legend">
      <span className="measure-ramp" style={{ background: `linear-gradient(to right, ${stops.join(', ')})` }} aria-hidden="true" />
      <span className="measure-ticks">
        {ramp.ticks.map((value) => (
          <span key={value}>{ramp.format(value)}</span>
        ))}
      </span>
      <span className="muted small">
        {ramp.label}, {ramp.better} is better · corner: pattern · <span className="swatch unmeasured-swatch" aria-hidden="true" /> not measured yet
      </span>
    </div>
  );
}
