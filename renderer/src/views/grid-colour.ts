/**
 * The overview grid coloured by a measure: each measure's range on the measure ramp (viridis,
 * low to high), how its values read, and which end is better, for the cells and the legend.
 */
import type { HeadStats } from '../../../contract/api';
import { lutColour, measureLut, textColourOn } from '../charts/colormap';
import type { GridColour } from '../state/overview';
import { fmtPercent, fmtSpeedup } from './format';

export type GridMeasure = Exclude<GridColour, 'pattern' | 'method'>;

export const GRID_COLOURS: { value: GridColour; label: string }[] = [
  { value: 'density', label: 'density' },
  { value: 'recall', label: 'recall' },
  { value: 'outputRelError', label: 'output error' },
  { value: 'speedup', label: 'speedup' },
  { value: 'method', label: 'method that wins' },
  { value: 'pattern', label: 'pattern only' },
];

export interface MeasureRamp {
  measure: GridMeasure;
  /** What the legend calls the measure, and which end is the good one. */
  label: string;
  better: 'higher' | 'lower';
  /** Ends of the ramp and values worth a tick between them. */
  ticks: number[];
  /** Where a value sits on the ramp, 0..1. */
  position(value: number): number;
  format(value: number): string;
}

const clamp01 = (t: number) => Math.max(0, Math.min(1, t));

/** The ramp of a measure over the heads shown: fixed ranges where the measure has one, else the values' own. */
export function measureRamp(measure: GridMeasure, stats: HeadStats[]): MeasureRamp {
  const values = stats.map((s) => measureValue(measure, s)).filter(Number.isFinite);
  const linear = (low: number, high: number) => (value: number) => clamp01((value - low) / (high - low || 1));
  switch (measure) {
    case 'recall': {
      // From the worst head (at most 0.9, to a 0.05 step) to 1, so a 0.95 target and a 0.3 outlier both read.
      const low = Math.min(0.9, Math.floor(Math.min(1, ...values) * 20) / 20);
      return { measure, label: 'recall', better: 'higher', ticks: [low, (low + 1) / 2, 1], position: linear(low, 1), format: (v) => v.toFixed(3) };
    }
    case 'density':
      return { measure, label: 'density (computed share)', better: 'lower', ticks: [0, 0.5, 1], position: linear(0, 1), format: (v) => fmtPercent(v, 0) };
    case 'outputRelError': {
      const high = Math.max(0.01, ...values);
      return { measure, label: 'output error', better: 'lower', ticks: [0, high / 2, high], position: linear(0, high), format: (v) => fmtPercent(v, v < 0.1 ? 1 : 0) };
    }
    case 'speedup': {
      // Log scale: 0.5x and 2x sit equally far from 1x.
      const low = Math.min(1, ...values);
      const high = Math.max(2, ...values);
      const log = (v: number) => clamp01((Math.log(v) - Math.log(low)) / (Math.log(high) - Math.log(low)));
      return { measure, label: 'speedup', better: 'higher', ticks: [low, Math.sqrt(low * high), high], position: (v) => (v > 0 ? log(v) : 0), format: (v) => fmtSpeedup(v).replace(/\.00×$/, '×') };
    }
  }
}

export function measureValue(measure: GridMeasure, stats: HeadStats): number {
  return measure === 'recall' ? stats.recall : measure === 'density' ? stats.density : measure === 'outputRelError' ? stats.outputRelError : stats.speedup;
}

/** A head's fill, and the text colour that reads on it. */
export function measureFill(ramp: MeasureRamp, value: number): { fill: string; text: string } {
  const t = ramp.position(value);
  return { fill: lutColour(measureLut(), t), text: textColourOn(measureLut(), t) };
}
