/**
 * The layer-mean target (search recallScope `layer`): the heads searched together must hold the
 * target recall on average, each at least its floor, rather than each head the target. A head's
 * last few points of recall can cost far more than another head's: on a 16K demo layer, the
 * cheapest mix of per-head budgets whose mean holds 0.95 (floor 0.92) was 8% less dense than every
 * head at 0.95 (whose mean came out at 0.9585).
 * Each head's per-head choice is followed down its main budget to the floor (search.ts headCurve,
 * on every evaluated row, so the recalls are exact); allocateRecall then picks one point per head.
 */
import type { HeadPattern } from '../../../contract/api.js';
import { searchCost } from './common.js';
import type { PatternMeasure } from './probe.js';

/** One budget a head may run at, with its exact recall and its search cost. */
export interface CurvePoint {
  pattern: HeadPattern;
  recall: number;
  cost: number;
}

/**
 * The mean is held with this much to spare: the report averages the same recalls, summed in
 * another order, and a target met to the last bit could read as missed.
 */
const MEAN_MARGIN = 1e-6;

export function curvePoint(measure: PatternMeasure, seqLen: number): CurvePoint {
  return { pattern: measure.pattern, recall: measure.recall, cost: searchCost(measure, seqLen) };
}

/**
 * A head's points that are worth climbing: by rising cost, each with more recall than every cheaper
 * one, and each step's recall per cost no better than the step before (the upper concave hull).
 */
function hull(points: readonly CurvePoint[]): CurvePoint[] {
  const byCost = [...points].sort((a, b) => a.cost - b.cost || b.recall - a.recall);
  const climb: CurvePoint[] = [];
  for (const point of byCost) {
    if (climb.length && point.recall <= climb.at(-1)!.recall) continue;
    while (climb.length >= 2 && gain(climb.at(-2)!, climb.at(-1)!) <= gain(climb.at(-1)!, point)) climb.pop();
    climb.push(point);
  }
  return climb;
}

function gain(from: CurvePoint, to: CurvePoint): number {
  return (to.recall - from.recall) / (to.cost - from.cost);
}

/**
 * One point per head: a cheap mix whose mean recall reaches `target`. Every head starts at its
 * cheapest point and climbs its hull, the step with the most recall per cost first, until the mean
 * holds (each head's best point must reach the target alone, as a per-head choice does); then a
 * head that can drop to a cheaper point and keep the mean does.
 */
export function allocateRecall(curves: readonly (readonly CurvePoint[])[], target: number): CurvePoint[] {
  const need = (target + MEAN_MARGIN) * curves.length;
  const hulls = curves.map(hull);
  const chosen = hulls.map((points) => points[0]!);
  const at = hulls.map(() => 0);
  let total = chosen.reduce((sum, point) => sum + point.recall, 0);
  while (total < need) {
    let best = -1;
    for (const [head, points] of hulls.entries()) {
      const next = points[at[head]! + 1];
      if (next && (best < 0 || gain(chosen[head]!, next) > gain(chosen[best]!, hulls[best]![at[best]! + 1]!))) best = head;
    }
    if (best < 0) break;
    at[best]!++;
    const next = hulls[best]![at[best]!]!;
    total += next.recall - chosen[best]!.recall;
    chosen[best] = next;
  }
  for (const [head, points] of curves.entries()) {
    const cheaper = points.filter((point) => point.cost < chosen[head]!.cost && total - chosen[head]!.recall + point.recall >= need);
    if (!cheaper.length) continue;
    const drop = cheaper.reduce((a, b) => (b.cost < a.cost ? b : a));
    total += drop.recall - chosen[head]!.recall;
    chosen[head] = drop;
  }
  return chosen;
}
