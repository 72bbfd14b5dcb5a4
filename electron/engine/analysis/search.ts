/**
 * Per-head pattern search (spec 5, issue 3 item 4).
 *  - candidates: MInference's candidate set; the best recall wins (lower density breaks ties).
 *  - target-recall: the cheapest config reaching the target, where cost = density + the index's
 *    own cost (see indexOverhead). Each family's budget tracks are monotone, so a track's most
 *    affordable budget is tried first, then bisected down to 2%; a track stops as soon as a step
 *    costs more than the best config found so far. A head that nothing serves below
 *    MAX_SPARSE_COST stays dense. The search runs on sampled rows for speed; the choice is then
 *    checked on every evaluated row and raised until its exact recall holds (holdTarget).
 *  - target-recall with recallScope `layer`: the heads' mean recall holds the target instead, each
 *    head at least its floor (layer-recall.ts).
 * The report and the config's score carry the exact recall of each choice.
 * Deterministic: same capture, settings and backend give the same config.
 */
import { fitHeadConfig, headRecallFloor, type Backend, type HeadComparison, type HeadPattern, type HeadStats, type SearchResult, type SearchSettings } from '../../../contract/api.js';
import type { Capture } from '../capture/types.js';
import type { AttentionInputs, AttentionResult, NativeBackend, NativeModule } from '../native-api.js';
import { buildReport, measuredHeadStats, selectLayers, shareLayerTimes, timeDenseHead } from './analyze.js';
import {
  BatchReader,
  batchBudget,
  evaluatedRows,
  headView,
  indexOverhead,
  searchCost,
  methodIndexOptions,
  resolveBackend,
  throwIfCancelled,
  type Control,
  type HeadBatch,
  type ProgressCallback,
  withIndexOptions,
} from './common.js';
import { expectedDensity, MINFERENCE_CANDIDATES, searchTracks, trackBelow, type Track } from './ladders.js';
import { comparedMethods, duoStreamingHeads, searchBatchMethods } from './method-search.js';
import { allocateRecall, curvePoint, type CurvePoint } from './layer-recall.js';
import { HeadProbe, withHeadProbes, type HeadProbes, type PatternMeasure } from './probe.js';

/** Above this cost a sparse kernel saves too little over dense to be worth its irregular access. */
export const MAX_SPARSE_COST = 0.8;
/**
 * Bisection stops when the passing and failing budgets are this close (relative). 2% rather than 5%:
 * on a 16K, 16-head demo the layer's density fell 1.7% for the same search time (CPU).
 */
const BISECTION_TOLERANCE = 0.02;
/**
 * The same for a head's budgets below its choice under a layer-mean target: the allocation needs
 * a few points of the recall-cost curve, not its last percent, and each is measured on every row.
 */
const CURVE_TOLERANCE = 0.2;

const DENSE: HeadPattern = { pattern: 'dense', a: 0, b: 0 };

/** A budget of a track and the pattern's measure there. */
export interface TrackStep {
  track: Track;
  budget: number;
  measure: PatternMeasure;
}

/** Whether a track's budget is expected (from its budget alone) to cost less than `costLimit`. */
function affordable(track: Track, budget: number, costLimit: number, seqLen: number): boolean {
  const pattern = track.at(budget);
  return expectedDensity(pattern, seqLen) + indexOverhead(pattern, seqLen) < costLimit;
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
type Measurer = Pick<HeadProbe, 'measure'>;

/**
 * Bisects in log space between budgets known to fail below `low` and `passing` (measured, reaching
 * the target) down to `tolerance`: the cheapest passing step found.
 */
async function bisectDown(probe: Measurer, track: Track, target: number, low: number, passing: TrackStep, tolerance = BISECTION_TOLERANCE): Promise<TrackStep> {
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

/** One head's choice, measured on every evaluated row (`exact`); `sampled` does the searching. */
async function searchHead({ sampled, exact }: HeadProbes, settings: SearchSettings, seqLen: number): Promise<PatternMeasure> {
  if (settings.mode === 'candidates') return exact.measure((await searchHeadCandidates(sampled)).pattern);
  const held = await holdTarget(exact, await searchHeadTarget(sampled, seqLen, settings.targetRecall), seqLen, settings.targetRecall);
  return held ?? exact.measure(DENSE);
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
export async function headCurve({ sampled, exact }: HeadProbes, settings: SearchSettings, seqLen: number): Promise<CurvePoint[]> {
  const { targetRecall } = settings;
  const floor = headRecallFloor(settings);
  const chosen = await holdTarget(exact, await searchHeadTarget(sampled, seqLen, targetRecall), seqLen, targetRecall);
  if (chosen) return budgetsDown(exact, chosen, floor, seqLen);
  const dense = curvePoint(await exact.measure(DENSE), seqLen);
  const atFloor = floor < targetRecall ? await holdTarget(exact, await searchHeadTarget(sampled, seqLen, floor), seqLen, floor) : null;
  return atFloor ? [dense, curvePoint(atFloor, seqLen)] : [dense];
}

/** Called as each head is chosen, with its measure and probe on every evaluated row. */
export type HeadSearched = (head: number, choice: PatternMeasure, exact: HeadProbe) => Promise<void> | void;

/** Whether a search holds the layer's mean recall (two passes over the heads) rather than each head's. */
export function holdsLayerMean(settings: SearchSettings): boolean {
  return settings.mode === 'target-recall' && settings.recallScope === 'layer';
}

/**
 * Search every head of one layer's inputs: on the settings' rows, then checked on all evaluated
 * rows, so the recall of every choice is exact. Returns the chosen patterns. Under a layer-mean
 * target a first pass measures each head's budgets (`onHeadPlanned` after each) and allocateRecall
 * picks among them; the second pass measures the picks.
 */
export async function searchLayer(
  native: NativeModule,
  inputs: AttentionInputs,
  settings: SearchSettings,
  backend: NativeBackend,
  onHeadSearched: HeadSearched,
  control?: Control,
  onHeadPlanned: (head: number) => void = () => {},
): Promise<HeadPattern[]> {
  const { seqLen } = inputs;
  const rows = { sampled: evaluatedRows(seqLen, settings.sampling), all: evaluatedRows(seqLen, { mode: 'exact' }) };
  // The first pass keeps each head's dense log-sum-exp on every row (N floats a head), so that the
  // second needs no dense pass of its own: on the CPU, most of what a head costs.
  const denseLse: AttentionResult[] = [];
  const eachHead = async (run: (head: number, probes: HeadProbes) => Promise<void>): Promise<void> => {
    for (let head = 0; head < inputs.numHeads; head++) {
      throwIfCancelled(control);
      await withHeadProbes(native, headView(inputs, head), backend, rows, control, (probes) => run(head, probes), denseLse[head]);
    }
  };
  let planned: HeadPattern[] | null = null;
  if (holdsLayerMean(settings)) {
    const curves: CurvePoint[][] = [];
    await eachHead(async (head, probes) => {
      curves.push(await headCurve(probes, settings, seqLen));
      denseLse[head] = await probes.exact.dense();
      onHeadPlanned(head);
    });
    planned = allocateRecall(curves, settings.targetRecall).map((point) => point.pattern);
  }
  const patterns: HeadPattern[] = [];
  await eachHead(async (head, probes) => {
    const choice = planned ? await probes.exact.measure(planned[head]!) : await searchHead(probes, settings, seqLen);
    patterns.push(choice.pattern);
    await onHeadSearched(head, choice, probes.exact);
  });
  return patterns;
}

function describeChoice(layer: number, head: number, { pattern, recall, rowRecall }: PatternMeasure): string {
  return `layer ${layer} head ${head}: ${pattern.pattern} (${pattern.a}, ${pattern.b}) recall ${recall.toFixed(3)} on all ${rowRecall.length} rows`;
}

/** Progress callbacks of a batch: a head chosen, and (layer-mean target) a head's budgets measured. */
interface BatchProgress {
  chosen: (head: number, choice: PatternMeasure) => void;
  planned: (head: number) => void;
}

/** One batch's heads under MInference's search: each head's stats, the layer's timings shared out. */
async function searchBatch(native: NativeModule, inputs: AttentionInputs, layer: number, batch: HeadBatch, settings: SearchSettings, backend: NativeBackend, denseMs: number, progress: BatchProgress, control?: Control): Promise<HeadStats[]> {
  const batchStats: HeadStats[] = [];
  const onHeadSearched: HeadSearched = async (batchHead, choice, exact) => {
    const head = batch.first + batchHead;
    batchStats.push(await measuredHeadStats(layer, head, exact, choice, denseMs));
    progress.chosen(head, choice);
  };
  await searchLayer(native, inputs, settings, backend, onHeadSearched, control, (batchHead) => progress.planned(batch.first + batchHead));
  return shareLayerTimes(native, inputs, batchStats, backend, control);
}

/**
 * Search the capture's layers batch by batch (see headBatches); the report's recall is exact and its
 * timings measured per head. `heads`: only these query heads of each layer (a shard of whole KV groups).
 * With settings.methods other than MInference alone, every method is searched per head
 * (method-search.ts): the config and report hold each head's winner, `comparison` every choice.
 */
export async function searchCapture(
  native: NativeModule,
  capture: Capture,
  settings: SearchSettings,
  backend: Backend,
  onProgress: ProgressCallback = () => {},
  control?: Control,
  heads: HeadBatch = { first: 0, end: capture.summary.numHeads },
): Promise<SearchResult> {
  const resolved = resolveBackend(native, backend, capture.summary);
  const methods = comparedMethods(settings);
  const searching = withIndexOptions(native, methodIndexOptions(settings.methodSettings));
  const { summary } = capture;
  const layers = selectLayers(capture, settings.layers);
  const config = fitHeadConfig(null, summary);
  if (methods && settings.methodSettings) config.runtime = { ...settings.methodSettings };
  const headsPerLayer = heads.end - heads.first;
  // A head is one step, or two under a layer-mean target (its budgets measured, then its pick).
  const totalSteps = layers.length * headsPerLayer * (holdsLayerMean(settings) ? 2 : 1);
  let steps = 0;
  const reader = new BatchReader(capture, batchBudget(native, resolved.backend), heads);
  const stats: HeadStats[] = [];
  const comparison: HeadComparison[] = [];
  for (const [layerIndex, layer] of layers.entries()) {
    const progress: BatchProgress = {
      chosen: (head, choice) => {
        config.heads[layer]![head] = { ...choice.pattern, score: Number(choice.recall.toFixed(6)) };
        onProgress(++steps / totalSteps, describeChoice(layer, head, choice));
      },
      planned: (head) => onProgress(++steps / totalSteps, `layer ${layer} head ${head}: budgets measured down to recall ${headRecallFloor(settings)}`),
    };
    const duoStreams = methods?.includes('duo') ? await duoStreamingHeads(searching, capture, layer, reader.batches, resolved.backend, settings.targetRecall, control) : new Map<number, boolean>();
    let denseMs: number | undefined;
    for await (const { batch, inputs } of reader.layer(layer)) {
      if (denseMs === undefined) onProgress(steps / totalSteps, `layer ${layer}: timing dense`);
      denseMs ??= await timeDenseHead(native, inputs, resolved.backend, control);
      if (!methods) stats.push(...(await searchBatch(searching, inputs, layer, batch, settings, resolved.backend, denseMs, progress, control)));
      else {
        const job = { layer, batch, methods, settings, backend: resolved.backend, denseMs, duoStreams };
        const compared = await searchBatchMethods(searching, inputs, job, progress.chosen, control);
        stats.push(...compared.winners);
        comparison.push(...compared.comparison);
      }
    }
  }
  onProgress(1, 'done');
  return { config, report: buildReport(resolved, capture, stats, 'measured'), settings, ...(methods ? { comparison } : {}) };
}
