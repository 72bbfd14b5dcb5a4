/**
 * The layer-mean target (search recallScope `layer`): the heads searched together must hold the
 * target recall on average, each at least its floor, rather than each head the target. A head's
 * last few points of recall can cost far more than another head's: on a 16K demo layer, the
 * cheapest mix of per-head budgets whose mean holds 0.95 (floor 0.92) was 8% less dense than every
 * head at 0.95 (whose mean came out at 0.9585).
 * Each head's per-head choice is followed down its main budget to the floor (headCurve, on every
 * evaluated row, so the recalls are exact); allocateRecall then picks one point per head.
 */
import { DENSE_HEAD, headRecallFloor, type HeadPattern, type SearchSettings } from '../../../contract/api.js';
import { searchCost } from './common.js';
import { bisectDown, heldChoice, type Measurer } from './head-search.js';
import { trackBelow } from './ladders.js';
import type { HeadProbe, HeadProbes, PatternMeasure } from './probe.js';

/** One budget a head may run at, with its exact recall and its search cost. */
export interface CurvePoint {
  pattern: HeadPattern;
  recall: number;
  cost: number;
}

/**
 * Bisection tolerance of a head's budgets below its choice: the allocation needs a few points of
 * the recall-cost curve, not its last percent, and each is measured on every row.
 */
const CURVE_TOLERANCE = 0.2;
/**
 * The mean is held with this much to spare: the report averages the same recalls, summed in
 * another order, and a target met to the last bit could read as missed.
 */
const MEAN_MARGIN = 1e-6;

function curvePoint(measure: PatternMeasure, seqLen: number): CurvePoint {
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

/**
 * `chosen` (measured on every evaluated row) and the budgets below it on its main budget's track
 * (trackBelow) that hold `floor` on every evaluated row: its cheapest such budget, bisected to
 * CURVE_TOLERANCE, and every budget measured on the way. (Measuring the track's minimum first, as
 * a search does, cost a measure a head and found less: on the 16K demo and the real sample, 106
 * and 128 measures on every row for layers 7.9% and 6.0% less dense, against 122, 141, 7.5%, 6.0%.)
 */
async function budgetsDown(exact: HeadProbe, chosen: PatternMeasure, floor: number, seqLen: number): Promise<CurvePoint[]> {
  const points = [curvePoint(chosen, seqLen)];
  const below = trackBelow(chosen.pattern);
  if (!below) return points;
  const keeping: Measurer = {
    measure: async (pattern) => {
      const measure = await exact.measure(pattern);
      if (measure.recall >= floor) points.push(curvePoint(measure, seqLen));
      return measure;
    },
  };
  const { track, budget } = below;
  await bisectDown(keeping, track, floor, track.min, { track, budget, measure: chosen }, CURVE_TOLERANCE);
  return points;
}

/**
 * The budgets a head may run at under a layer-mean target: its per-head choice and the budgets
 * below it down to the floor. A head that nothing sparse serves at the target is dense, or the
 * cheapest choice that holds the floor.
 */
export async function headCurve(probes: HeadProbes, settings: SearchSettings, seqLen: number): Promise<CurvePoint[]> {
  const { targetRecall } = settings;
  const floor = headRecallFloor(settings);
  const chosen = await heldChoice(probes, seqLen, targetRecall);
  if (chosen) return budgetsDown(probes.exact, chosen, floor, seqLen);
  const dense = curvePoint(await probes.exact.measure(DENSE_HEAD), seqLen);
  const atFloor = floor < targetRecall ? await heldChoice(probes, seqLen, floor) : null;
  return atFloor ? [dense, curvePoint(atFloor, seqLen)] : [dense];
}
