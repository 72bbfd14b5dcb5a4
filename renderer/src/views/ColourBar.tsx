/** The heatmap's colour bar: its colours from the map's own table, with the values they stand for. */
import { useEffect, useRef } from 'react';
import { colourBarTicks, LUT_SIZE, rampPosition, type ColourDomain } from '../charts/colormap';
import { fmtMass } from './format';

const BAR_WIDTH = 12;
export const COLOUR_BAR_WIDTH = 72;

export function ColourBar({ lut, domain, height }: { lut: Uint8ClampedArray; domain: ColourDomain | null; height: number }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const context = canvasRef.current?.getContext('2d');
    if (!context) return;
    // One row per table entry, top colour at the top; the canvas scales it to the bar's height.
    const pixels = new Uint8ClampedArray(LUT_SIZE * 4);
    for (let i = 0; i < LUT_SIZE; i++) pixels.set(lut.subarray((LUT_SIZE - 1 - i) * 4, (LUT_SIZE - i) * 4), i * 4);
    context.putImageData(new ImageData(pixels, 1, LUT_SIZE), 0, 0);
  }, [lut]);

  const ticks = domain ? colourBarTicks(domain, Math.max(2, Math.floor(height / 60))) : [];
  const label = domain ? `attention mass per cell, ${domain.scale} scale: the brightest cell holds ${fmtMass(domain.vmax)} of its rows' attention` : 'attention mass per cell';
  return (
    <div className="colour-bar" style={{ width: COLOUR_BAR_WIDTH, height }} role="img" aria-label={label} title={label} data-testid="colour-bar" data-scale={domain?.scale ?? ''}>
      <canvas ref={canvasRef} width={1} height={LUT_SIZE} style={{ width: BAR_WIDTH, height }} />
      <svg width={COLOUR_BAR_WIDTH - BAR_WIDTH} height={height} aria-hidden="true">
        <text className="colour-bar-title" transform={`translate(${COLOUR_BAR_WIDTH - BAR_WIDTH - 4},${height / 2}) rotate(90)`} textAnchor="middle">
          attention mass per cell{domain ? ` (${domain.scale})` : ''}
        </text>
        {domain &&
          ticks.map((value) => {
            const y = Math.round((1 - rampPosition(value, domain)) * (height - 1)) + 0.5;
            return (
              <g key={value} transform={`translate(0,${y})`}>
                <line x2={4} />
                <text x={6} dy="0.32em">
                  {fmtMass(value)}
                </text>
              </g>
            );
          })}
      </svg>
    </div>
  );
}
