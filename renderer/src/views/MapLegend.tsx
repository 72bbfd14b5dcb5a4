/** What the marks over a head's map mean: coverage, the chosen lines (how many drawn at this zoom) and the recall strip. */
import { lutColour, recallColour } from '../charts/colormap';
import { linesToDraw, type MaskLines, type TokenView } from '../charts/heatmap';
import { plural } from './format';

/** A mid-bright map colour, bare (computed) and under the veil (skipped), as the canvas shows them. */
const SAMPLE_T = 0.75;

export interface LineCounts {
  chosen: number;
  drawn: number;
}

/** How many chosen lines a mask has, and how many this view draws apart. */
export function lineCounts(lines: MaskLines, view: TokenView): { vertical: LineCounts; slash: LineCounts } {
  const drawn = linesToDraw(lines, view);
  return {
    vertical: { chosen: lines.verticalColumns.length, drawn: drawn.verticalColumns.length },
    slash: { chosen: lines.slashOffsets.length, drawn: drawn.slashOffsets.length },
  };
}

export interface MapLegendProps {
  lut: Uint8ClampedArray;
  /** The veil's opacity over skipped cells, 0..1. */
  veilOpacity: number;
  mask: boolean;
  vertical: LineCounts | null;
  slash: LineCounts | null;
  strip: boolean;
}

function lineText(counts: LineCounts, noun: string, pluralNoun: string): string {
  const chosen = plural(counts.chosen, noun, pluralNoun);
  if (counts.drawn === counts.chosen) return chosen;
  return counts.drawn === 0 ? `${chosen} (zoom in to draw them apart)` : `${chosen}, ${counts.drawn.toLocaleString()} drawn (zoom in for the rest)`;
}

export function MapLegend({ lut, veilOpacity, mask, vertical, slash, strip }: MapLegendProps) {
  if (!mask && !strip) return null;
  const sample = lutColour(lut, SAMPLE_T);
  return (
    <ul className="legend map-legend" aria-label="Map legend" data-testid="map-legend">
      {mask && (
        <>
          <li>
            <span className="swatch" style={{ background: sample }} aria-hidden="true" /> computed by the pattern
          </li>
          <li>
            <span className="swatch" style={{ background: `color-mix(in srgb, var(--mask-veil) ${Math.round(veilOpacity * 100)}%, ${sample})` }} aria-hidden="true" /> skipped (veiled; mass there is lost)
          </li>
          {vertical && vertical.chosen > 0 && (
            <li>
              <span className="legend-line legend-vertical" aria-hidden="true" /> {lineText(vertical, 'chosen column', 'chosen columns')}
            </li>
          )}
          {slash && slash.chosen > 0 && (
            <li>
              <span className="legend-line legend-slash" aria-hidden="true" /> {lineText(slash, 'chosen diagonal', 'chosen diagonals')}
            </li>
          )}
        </>
      )}
      {strip && (
        <li>
          <span className="legend-strip" style={{ background: `linear-gradient(to right, ${recallColour(0.5)}, ${recallColour(0.75)}, ${recallColour(1)})` }} aria-hidden="true" /> strip: recall per query row (red 0.5 or less, green 1)
        </li>
      )}
    </ul>
  );
}
