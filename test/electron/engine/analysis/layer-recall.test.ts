import { describe, expect, it } from 'vitest';
import type { HeadPattern, SearchSettings } from '../../../../contract/api.js';
import { allocateRecall, headCurve, type CurvePoint } from '../../../../electron/engine/analysis/layer-recall.js';
import { expectedDensity } from '../../../../electron/engine/analysis/ladders.js';
import type { HeadProbe } from '../../../../electron/engine/analysis/probe.js';

/** A head's points from (recall, cost) pairs; the pattern's b tells them apart. */
function curve(...points: [number, number][]): CurvePoint[] {
  return points.map(([recall, cost], b): CurvePoint => ({ pattern: { pattern: 'stream_llm', a: 16, b } as HeadPattern, recall, cost }));
}

const mean = (points: CurvePoint[]) => points.reduce((sum, point) => sum + point.recall, 0) / points.length;
const total = (points: CurvePoint[]) => points.reduce((sum, point) => sum + point.cost, 0);

describe('allocateRecall (layer-mean target)', () => {
  it('spends the recall one head has to spare on another whose last points are dear', () => {
    // Head 0 holds 0.99 cheaply; head 1 pays 0.1 of cost for its last 0.03 of recall.
    const heads = [curve([0.99, 0.05], [0.93, 0.04]), curve([0.95, 0.3], [0.92, 0.2])];
    const chosen = allocateRecall(heads, 0.95);
    expect(chosen.map((point) => point.pattern.b)).toEqual([0, 1]);
    expect(mean(chosen)).toBeGreaterThanOrEqual(0.95);
    expect(total(chosen)).toBeCloseTo(0.25, 12);
  });

  it('never lets the mean fall below the target, and never picks a point it was not given', () => {
    const heads = [curve([0.951, 0.1], [0.94, 0.08]), curve([0.952, 0.1], [0.93, 0.05]), curve([0.96, 0.2], [0.949, 0.15])];
    const chosen = allocateRecall(heads, 0.95);
    expect(mean(chosen)).toBeGreaterThanOrEqual(0.95);
    for (const [head, point] of chosen.entries()) expect(heads[head]).toContain(point);
    // Every cheaper mix that holds the mean: none is cheaper than the allocation's.
    let cheapest = Infinity;
    for (const a of heads[0]!) for (const b of heads[1]!) for (const c of heads[2]!) if (mean([a, b, c]) >= 0.95 + 1e-6) cheapest = Math.min(cheapest, total([a, b, c]));
    expect(total(chosen)).toBeCloseTo(cheapest, 12);
  });

  it('keeps every head at its best point when the mean needs all of it, and a lone point as it is', () => {
    const heads = [curve([0.95, 0.1], [0.91, 0.05]), curve([1, 1])];
    expect(allocateRecall(heads, 0.975).map((point) => point.recall)).toEqual([0.95, 1]);
    // The dense head's spare recall (1 against 0.95) pays for the other's cheaper point.
    expect(allocateRecall(heads, 0.95).map((point) => point.recall)).toEqual([0.91, 1]);
    // A mean met to the last bit is not met: 0.9 and 1 average exactly 0.95.
    expect(allocateRecall([curve([0.95, 0.1], [0.9, 0.05]), curve([1, 1])], 0.95).map((point) => point.recall)).toEqual([0.95, 1]);
  });

  it('climbs past points that give less recall per cost than the next one (the hull)', () => {
    // The middle point is a poor buy: from 0.90 it gains 0.01 for 0.05, the top gains 0.06 for 0.06.
    const steep = curve([0.96, 0.16], [0.91, 0.15], [0.9, 0.1]);
    const other = curve([0.95, 0.1]);
    const chosen = allocateRecall([steep, other], 0.955);
    expect(chosen[0]!.recall).toBe(0.96);
  });
});

describe('headCurve (layer-mean target, stubbed recall)', () => {
  const N = 4096;
  const settings: SearchSettings = { mode: 'target-recall', targetRecall: 0.95, recallScope: 'layer', minHeadRecall: 0.9, sampling: { mode: 'exact' } };
  const stubProbe = (recallOf: (pattern: HeadPattern) => number): HeadProbe =>
    ({ measure: async (pattern: HeadPattern) => ({ pattern, recall: recallOf(pattern), rowRecall: new Float32Array(), density: expectedDensity(pattern, N), index: {} }) }) as unknown as HeadProbe;

  it("follows a choice down its main budget to the floor, each point's recall its own", async () => {
    // A-shape only: recall grows with the window, 0.95 at 1000 tokens, 0.9 at 400.
    const recallOf = (p: HeadPattern) => (p.pattern === 'stream_llm' && p.a === 16 ? Math.min(0.99, 0.9 + ((p.b - 400) / 600) * 0.05) : 0.5);
    const probe = stubProbe(recallOf);
    const points = await headCurve({ sampled: probe, exact: probe }, settings, N);
    expect(points[0]!.recall).toBeGreaterThanOrEqual(0.95);
    expect(points.length).toBeGreaterThan(2);
    for (const point of points) expect(point.recall).toBeCloseTo(recallOf(point.pattern), 12);
    expect(Math.min(...points.map((point) => point.recall))).toBeGreaterThanOrEqual(0.9);
    // The cheapest point is within the bisection's 20% of the floor's window (400 tokens).
    expect(Math.min(...points.map((point) => point.pattern.b))).toBeLessThanOrEqual(400 * 1.2);
  });

  it('offers a head that nothing sparse serves at the target dense, and its cheapest choice at the floor', async () => {
    const recallOf = (p: HeadPattern) => (p.pattern === 'dense' ? 1 : p.pattern === 'stream_llm' && p.a === 16 && p.b >= 2000 ? 0.92 : 0.5);
    const probe = stubProbe(recallOf);
    const points = await headCurve({ sampled: probe, exact: probe }, settings, N);
    expect(points.map((point) => point.pattern.pattern)).toEqual(['dense', 'stream_llm']);
    expect(points[1]!.recall).toBe(0.92);
    // Without a floor below the target there is nothing but dense.
    const dense = await headCurve({ sampled: probe, exact: probe }, { ...settings, minHeadRecall: 0.95 }, N);
    expect(dense.map((point) => point.pattern.pattern)).toEqual(['dense']);
  });
});
