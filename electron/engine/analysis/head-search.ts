/**
 * One head's target-recall search (spec 5, issue 3 item 4): the cheapest config reaching the target,
 * where cost = density + the index's own cost (see indexOverhead). Each family's budget tracks are
 * monotone, so a track's most affordable budget is tried first, then bisected down to 2%; a track
 * stops as soon as a step costs more than the best config found so far. A head that nothing serves
 * below MAX_SPARSE_COST stays dense. The search runs on sampled rows for speed; the choice is then
 * checked on every evaluated row and raised until its exact recall holds (holdTarget). Also
 * MInference's candidate search (searchHeadCandidates).
 */
import { searchCost } from './common.js';
import { expectedDensity, MINFERENCE_CANDIDATES, searchTracks, type Track } from './ladders.js';
import type { HeadProbe, HeadProbes, PatternMeasure } from './probe.js';

/** Above this cost a sparse kernel saves too little over dense to be worth its irregular access. */
export const MAX_SPARSE_COST = 0.8;
/**
 * Bisection stops when the passing and failing budgets are this close (relative). 2% rather than 5%:
 * on a 16K, 16-head demo the layer's density fell 1.7% for the same search time (CPU).
 */
const BISECTION_TOLERANCE = 0.02;

/** A budget of a track and the pattern's measure there. */
export interface TrackStep {
  track: Track;
  budget: number;
  measure: PatternMeasure;
}

/** Whether a track's budget is expected (from its budget alone) to cost less than `costLimit`. */
function affordable(track: Track, budget: number, costLimit: number, seqLen: number): boolean {
  const pattern = track.at(budget);
  return searchCost({ pattern, density: expectedDensity(pattern, seqLen) }, seqLen) < costLimit;
}

/** Largest budget of a track whose expected cost stays under `costLimit`, or null. */
function affordableBudget(track: Track, costLimit: number, seqLen: number): number | null {
  if (!affordable(track, track.min, costLimit, seqLen)) return null;
  let lo = track.min;
  let hi = track.max;
  if (affordable(track, hi, costLimit, seqLen)) return hi;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (affordable(track, mid, costLimit, seqLen)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** What a bisection measures with: a probe, or a wrapper that keeps what it measures. */
export type Measurer = Pick<HeadProbe, 'measure'>;

/**
 * Bisects in log space between budgets known to fail below `low` and `passing` (measured, reaching
 * the target) down to `tolerance`: the cheapest passing step found.
 */
export async function bisectDown(probe: Measurer, track: Track, target: number, low: number, passing: TrackStep, tolerance = BISECTION_TOLERANCE): Promise<TrackStep> {
  let best = passing;
  while (best.budget > low * (1 + tolerance)) {
    const mid = Math.max(low, Math.min(best.budget - 1, Math.floor(Math.sqrt(low * best.budget))));
    const measure = await probe.measure(track.at(mid));
    if (measure.recall >= target) best = { track, budget: mid, measure };
    else low = mid + 1;
  }
  return best;
}

/** `found` when its measured cost stays under `costLimit`, else null. */
function within(found: TrackStep, costLimit: number, seqLen: number): TrackStep | null {
  return searchCost(found.measure, seqLen) < costLimit ? found : null;
}

/**
 * Cheapest step of a track reaching `target` on the probe's rows, or null when none does below
 * `costLimit`. The most affordable budget is tried first (one measure rules a failing track out),
 * then bisected down.
 */
async function cheapestOnTrack(probe: HeadProbe, track: Track, target: number, costLimit: number, seqLen: number): Promise<TrackStep | null> {
  const top = affordableBudget(track, costLimit, seqLen);
  if (top === null) return null;
  const measure = await probe.measure(track.at(top));
  if (measure.recall < target) return null;
  return within(await bisectDown(probe, track, target, track.min, { track, budget: top, measure }), costLimit, seqLen);
}

/**
 * Cheapest step of a track above `failing` (a budget known to fail) reaching `target`, or null when
 * none does below MAX_SPARSE_COST. A choice that misses the target on every row usually misses by
 * little, so budgets grow from it by 2%, 4%, 8%, ... until one passes, then the gap is bisected:
 * a few measures where bisecting down from the track's most affordable budget took about eight,
 * each on every evaluated row (at 1M tokens about a tenth of a second each).
 */
async function raiseOnTrack(probe: HeadProbe, track: Track, target: number, seqLen: number, failing: number): Promise<TrackStep | null> {
  let low = failing + 1;
  for (let growth = BISECTION_TOLERANCE; low <= track.max; growth *= 2) {
    const budget = Math.min(track.max, Math.max(low, Math.ceil(failing * (1 + growth))));
    if (!affordable(track, budget, MAX_SPARSE_COST, seqLen)) return null;
    const measure = await probe.measure(track.at(budget));
    if (measure.recall >= target) return within(await bisectDown(probe, track, target, low, { track, budget, measure }), MAX_SPARSE_COST, seqLen);
    low = budget + 1;
  }
  return null;
}

/** Target-recall search for one head on the probe's rows over `tracks`: the cheapest passing step, or null (dense). */
export async function searchHeadTarget(probe: HeadProbe, seqLen: number, target: number, tracks: readonly Track[] = searchTracks(seqLen)): Promise<TrackStep | null> {
  let best: TrackStep | null = null;
  for (const track of tracks) {
    const found = await cheapestOnTrack(probe, track, target, best ? searchCost(best.measure, seqLen) : MAX_SPARSE_COST, seqLen);
    if (found) best = found;
  }
  return best;
}

/**
 * The target as a promise: the step chosen on sampled rows, checked on every evaluated row
 * (`exact`) and raised along its track until the exact recall reaches the target. When the track
 * tops out, the exact search over every track decides; null (dense) when nothing serves.
 */
export async function holdTarget(exact: HeadProbe, chosen: TrackStep | null, seqLen: number, target: number, tracks: readonly Track[] = searchTracks(seqLen)): Promise<PatternMeasure | null> {
  if (!chosen) return null;
  const checked = await exact.measure(chosen.measure.pattern);
  if (checked.recall >= target) return checked;
  const raised = await raiseOnTrack(exact, chosen.track, target, seqLen, chosen.budget);
  return (raised ?? (await searchHeadTarget(exact, seqLen, target, tracks)))?.measure ?? null;
}

/** MInference candidate search for one head: best recall, then lowest density. */
export async function searchHeadCandidates(probe: HeadProbe): Promise<PatternMeasure> {
  let best: PatternMeasure | null = null;
  for (const candidate of MINFERENCE_CANDIDATES) {
    const measure = await probe.measure(candidate);
    if (!best || measure.recall > best.recall || (measure.recall === best.recall && measure.density < best.density)) best = measure;
  }
  return best!;
}

/**
 * The cheapest choice reaching `target` on every evaluated row, or null (dense): searched over
 * `tracks` on the sampled rows, then held on every row (holdTarget).
 */
export async function heldChoice({ sampled, exact }: HeadProbes, seqLen: number, target: number, tracks: readonly Track[] = searchTracks(seqLen)): Promise<PatternMeasure | null> {
  return holdTarget(exact, await searchHeadTarget(sampled, seqLen, target, tracks), seqLen, target, tracks);
}
