/**
 * What lies under the pointer on a head's map: the query row and key column, the grid cell they
 * fall in with its attention mass, whether the pattern computes it, and the chosen column or
 * diagonal nearby. Pure, so the hover readout's numbers are tested without a canvas.
 */
import type { MaskGeometry, PooledMap, Region } from '../../../contract/api';
import { cellBounds, cellIndexAt, nearestChosen, type MaskLines } from './heatmap';

export interface Readout {
  row: number;
  col: number;
  /** Keys after the query (j > i): the causal mask leaves them out. */
  future: boolean;
  /** The map cell under the pointer, in tokens. */
  cell: Region;
  /** The cell's attention mass: per row, the summed weights of its keys, averaged over its rows. */
  mass: number;
  /** The largest single weight in the cell. */
  peak: number;
  /** Share of the cell's causal entries the pattern computes; null without a mask. */
  coverage: number | null;
  /** A chosen key column or diagonal offset (i - j) within reach of the pointer. */
  vertical: number | null;
  slash: number | null;
}

/** The finest grid holding the point: the zoomed-in detail where it covers the point, else the whole map. */
function finest<T extends { region: Region; rows: number; cols: number }>(grids: (T | null)[], row: number, col: number): { grid: T; index: number } | null {
  for (const grid of grids) {
    const index = grid ? cellIndexAt(grid, row, col) : null;
    if (grid && index !== null) return { grid, index };
  }
  return null;
}

export function readoutAt(
  point: { row: number; col: number },
  maps: (PooledMap | null)[],
  masks: (MaskGeometry | null)[],
  lines: MaskLines | null,
  /** How far, in tokens, a chosen line may be from the pointer to count as pointed at. */
  reach: number,
): Readout | null {
  const row = Math.floor(point.row);
  const col = Math.floor(point.col);
  const found = finest(maps, row, col);
  if (!found) return null;
  const { grid, index } = found;
  const mask = finest(masks, row, col);
  const future = col > row;
  const vertical = lines && !future ? nearestChosen(lines.verticalColumns, col) : null;
  const slash = lines && !future ? nearestChosen(lines.slashOffsets, row - col) : null;
  return {
    row,
    col,
    future,
    cell: cellBounds(grid, index),
    mass: grid.mean[index] ?? 0,
    peak: grid.max[index] ?? 0,
    coverage: mask ? Math.max(0, Math.min(1, mask.grid.coverage[mask.index] ?? 0)) : null,
    vertical: vertical !== null && Math.abs(vertical - col) <= reach && vertical <= row ? vertical : null,
    slash: slash !== null && Math.abs(slash - (row - col)) <= reach * Math.SQRT2 ? slash : null,
  };
}
