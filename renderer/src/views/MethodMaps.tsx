/**
 * The small multiples of the Methods view: the head's map fetched once, each method's mask over it
 * in its own tile on the same colour scale, one scale and one legend for all.
 */
import { useCallback, useMemo, useState } from 'react';
import type { SearchMethod } from '../../../contract/api';
import { DEFAULT_DECADES, themeLut } from '../charts/colormap';
import { renderPooledMap } from '../charts/heatmap';
import { useApi, useApp } from '../state/context';
import type { MethodEntry } from '../state/methods';
import { errorMessage } from '../state/store';
import { TokenText } from '../state/tokens';
import { MapLegend } from './MapLegend';
import { MassScale } from './MassScale';
import { MethodTile, type PointedToken, type SharedMap } from './MethodTile';
import { cssColour, useResolvedTheme } from './theme';
import { useMethodMaps, type MethodHead } from './useMethodData';

/**
 * The veil over skipped cells (of 255): heavier than the head view's, since here what each method
 * skips is the point; the attention under it still shows faintly.
 */
const VEIL_ALPHA = 200;

/** Every tile's map at the same size: the smallest room any tile has (their parameter rows differ). */
function useCommonSize(): { size: number; onRoom: (method: SearchMethod, size: number) => void } {
  const [rooms, setRooms] = useState<Partial<Record<SearchMethod, number>>>({});
  const onRoom = useCallback((method: SearchMethod, size: number) => setRooms((known) => (known[method] === size ? known : { ...known, [method]: size })), []);
  const sizes = Object.values(rooms).filter((size) => size > 0);
  return { size: sizes.length > 0 ? Math.min(...sizes) : 0, onRoom };
}

export function MethodMaps({ head, entries, winner }: { head: MethodHead; entries: MethodEntry[]; winner: SearchMethod | null }) {
  const api = useApi();
  const capture = useApp((s) => s.capture)!;
  const theme = useResolvedTheme(useApp((s) => s.theme));
  const { map, masks, maskErrors } = useMethodMaps(head, entries);
  const [point, setPoint] = useState<PointedToken | null>(null);
  const { size, onRoom } = useCommonSize();
  const tokens = useMemo(() => (capture.tokens ? new TokenText(api, capture.captureId, capture.seqLen) : null), [api, capture]);

  const drawn = useMemo((): { shared: SharedMap } | { error: string } | null => {
    if (!map) return null;
    if ('error' in map) return { error: `map: ${map.error}` };
    try {
      const lut = themeLut(theme);
      const rendered = renderPooledMap(map.value, lut, { scale: 'log', empty: cssColour('--heat-empty') });
      return { shared: { map: map.value, image: rendered, lut, domain: { scale: 'log', vmax: rendered.vmax, decades: DEFAULT_DECADES }, veil: cssColour('--mask-veil', VEIL_ALPHA) } };
    } catch (error) {
      return { error: errorMessage(error) };
    }
    // theme: the colours read from CSS change with it.
  }, [map, theme]);
  const shared = drawn && 'shared' in drawn ? drawn.shared : null;
  const mapError = drawn && 'error' in drawn ? drawn.error : undefined;

  return (
    <section className="panel methods-maps" data-testid="methods-maps">
      <div className="method-tiles">
        {entries.map((entry) => (
          <MethodTile
            key={entry.method}
            entry={entry}
            seqLen={capture.seqLen}
            shared={shared}
            mask={masks[entry.method]}
            error={mapError ?? maskErrors[entry.method]}
            winner={winner === entry.method}
            point={point}
            onPoint={setPoint}
            tokens={tokens}
            size={size}
            onRoom={onRoom}
          />
        ))}
      </div>
      <div className="methods-legend">
        <MassScale lut={shared?.lut ?? themeLut(theme)} domain={shared?.domain ?? null} />
        <MapLegend lut={shared?.lut ?? themeLut(theme)} veilOpacity={VEIL_ALPHA / 255} mask vertical={null} slash={null} strip={false} />
        {Object.values(masks).some((mask) => mask.verticalColumns.length + mask.slashOffsets.length > 0) && (
          <ul className="legend" aria-label="Chosen lines">
            <li>
              <span className="legend-line legend-vertical" aria-hidden="true" /> chosen column
            </li>
            <li>
              <span className="legend-line legend-slash" aria-hidden="true" /> chosen diagonal (drawn where they stand apart)
            </li>
          </ul>
        )}
        <span className="muted small">Query ↓ · key →, one map in every tile; point at one to compare the methods there.</span>
      </div>
    </section>
  );
}
