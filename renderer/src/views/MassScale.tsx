/** The attention-mass colour scale laid flat, for views whose maps share one scale in a row (the Methods view's tiles). */
import { colourBarTicks, lutColour, rampPosition, type ColourDomain } from '../charts/colormap';
import { fmtMass } from './format';

const STOPS = 16;

export function MassScale({ lut, domain }: { lut: Uint8ClampedArray; domain: ColourDomain | null }) {
  const stops = Array.from({ length: STOPS + 1 }, (_, i) => lutColour(lut, i / STOPS));
  const label = domain ? `attention mass per cell, ${domain.scale} scale: the brightest cell holds ${fmtMass(domain.vmax)} of its rows' attention` : 'attention mass per cell';
  return (
    <div className="mass-scale" role="img" aria-label={label} title={label} data-testid="colour-bar" data-scale={domain?.scale ?? ''}>
      <span className="muted">attention mass per cell{domain ? ` (${domain.scale})` : ''}</span>
      <span className="mass-scale-ramp">
        <span className="measure-ramp" style={{ background: `linear-gradient(to right, ${stops.join(', ')})` }} aria-hidden="true" />
        {domain &&
          colourBarTicks(domain).map((value) => (
            <span key={value} className="mass-scale-tick" style={{ left: `${rampPosition(value, domain) * 100}%` }}>
              {fmtMass(value)}
            </span>
          ))}
      </span>
    </div>
  );
}
