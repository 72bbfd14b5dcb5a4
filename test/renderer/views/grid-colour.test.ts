import { describe, expect, it } from 'vitest';
import type { HeadStats } from '../../../contract/api.js';
import { measureFill, measureRamp } from '../../../renderer/src/views/grid-colour';

const head = (recall: number, density: number, outputRelError: number, speedup: number) => ({ recall, density, outputRelError, speedup }) as HeadStats;
const heads = [head(0.95, 0.05, 0.08, 8), head(0.97, 0.5, 0.02, 1.5), head(0.31, 1, 0.4, 0.7)];

describe('the overview grid coloured by a measure', () => {
  it('spans recall from the worst head to 1, density 0 to 100%, error from 0, speedup on a log scale', () => {
    const recall = measureRamp('recall', heads);
    expect(recall.ticks).toEqual([0.3, 0.65, 1]);
    expect(recall.better).toBe('higher');
    expect(recall.position(0.3)).toBe(0);
    expect(recall.position(1)).toBe(1);
    expect(measureRamp('recall', [head(0.95, 0, 0, 1)]).ticks[0]).toBe(0.9);
    const density = measureRamp('density', heads);
    expect([density.position(0.5), density.better, density.format(0.25)]).toEqual([0.5, 'lower', '25%']);
    expect(measureRamp('outputRelError', heads).position(0.2)).toBeCloseTo(0.5, 12);
    const speedup = measureRamp('speedup', heads);
    expect(speedup.position(Math.sqrt(0.7 * 8))).toBeCloseTo(0.5, 12);
    expect(speedup.format(8)).toBe('8×');
  });

  it('writes values in a colour that reads on their fill', () => {
    const density = measureRamp('density', heads);
    expect(measureFill(density, 0)).toEqual({ fill: 'rgb(68, 1, 84)', text: '#fff' });
    expect(measureFill(density, 1).text).toBe('#111');
  });
});
