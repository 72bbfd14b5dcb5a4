/**
 * Per-head pattern search (spec 5, issue 3 item 4).
 *  - candidates: MInference's candidate set; the best recall wins (lower density breaks ties).
 *  - target-recall: the cheapest config reaching the target, where cost = density + the index's
 *    own cost (see indexOverhead). Each family's budget tracks are monotone, so a track is walked
 *    up by doubling until the target is reached, then bisected to 5%; a track stops as soon as a
 *    step costs more than the best config found so far. A head that nothing serves below
 *    MAX_SPARSE_COST stays dense.
 * Deterministic: same capture, settings and backend give the same config.
 */
import { fitHeadConfig, type Backend, type HeadPattern, type HeadStats, type SearchResult, type SearchSettings } from '../../../contract/api.js';
import type { Capture } from '../capture/types.js';
import type { AttentionInputs, NativeBackend, NativeModule } from '../native-api.js';
import { analyzeLayer, buildReport, selectLayers } from './analyze.js';
import {
  evaluatedRows,
  indexOverhead,
  layerInputs,
  resolveBackend,
  throwIfCancelled,
  type Control,
  type ProgressCallback,
} from './common.js';
import { expectedDensity, MINFERENCE_CANDIDATES, searchTracks, type Track } from './ladders.js';
import { HeadProbe, type PatternMeasure } from './probe.js';

/** Above this cost a sparse kernel saves too little over dense to be worth its irregular access. */
export const MAX_SPARSE_COST = 0.8;
/** Bisection stops when the passing and failing budgets are this close (relative). */
const BISECTION_TOLERANCE = 0.05;

export interface HeadChoice {
  pattern: HeadPattern;
  recall: number;
  density: number;
}

const DENSE: HeadPattern = { pattern: 'dense', a: 0, b: 0 };

function cost(measure: PatternMeasure, seqLen: number): number {
  return measure.density + indexOverhead(measure.pattern.pattern, seqLen);
}

/** Largest budget of a track whose expected cost stays under `costLimit`, or null. */
function affordableBudget(track: Track, costLimit: number, seqLen: number): number | null {
  const affordable = (budget: number): boolean => expectedDensity(track.at(budget), seqLen) + indexOverhead(track.at(budget).pattern, seqLen) < costLimit;
  if (!affordable(track.min)) return null;
  let lo = track.min;
  let hi = track.max;
  if (affordable(hi)) return hi;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (affordable(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Cheapest step of a track reaching `target`, or null when none does below `costLimit`.
 * The most affordable budget is tried first (one measure rules a failing track out), then the
 * passing budget is bisected down in log space to BISECTION_TOLERANCE.
 */
async function cheapestOnTrack(probe: HeadProbe, track: Track, target: number, costLimit: number, seqLen: number): Promise<PatternMeasure | null> {
  const top = affordableBudget(track, costLimit, seqLen);
  if (top === null) return null;
  let passing = await probe.measure(track.at(top));
  if (passing.recall < target) return null;
  // Budgets below `low` fail (recall grows along the track); `pass` passes.
  let low = track.min;
  let pass = top;
  while (pass > low * (1 + BISECTION_TOLERANCE)) {
    const mid = Math.max(low, Math.min(pass - 1, Math.floor(Math.sqrt(low * pass))));
    const measure = await probe.measure(track.at(mid));
    if (measure.recall >= target) {
      passing = measure;
      pass = mid;
    } else low = mid + 1;
  }
  return cost(passing, seqLen) < costLimit ? passing : null;
}

/** Target-recall search for one head. */
export async function searchHeadTarget(probe: HeadProbe, seqLen: number, target: number): Promise<HeadChoice> {
  let best: PatternMeasure | null = null;
  let bestCost = MAX_SPARSE_COST;
  for (const track of searchTracks(seqLen)) {
    const found = await cheapestOnTrack(probe, track, target, bestCost, seqLen);
    if (found && cost(found, seqLen) < bestCost) {
      best = found;
      bestCost = cost(found, seqLen);
    }
  }
  return best ? { pattern: best.pattern, recall: best.recall, density: best.density } : { pattern: DENSE, recall: 1, density: 1 };
}

/** MInference candidate search for one head: best recall, then lowest density. */
export async function searchHeadCandidates(probe: HeadProbe): Promise<HeadChoice> {
  let best: PatternMeasure | null = null;
  for (const candidate of MINFERENCE_CANDIDATES) {
    const measure = await probe.measure(candidate);
    if (!best || measure.recall > best.recall || (measure.recall === best.recall && measure.density < best.density)) best = measure;
  }
  return { pattern: best!.pattern, recall: best!.recall, density: best!.density };
}

/** A one-head view into a layer's inputs (no copy). */
export function headView(inputs: AttentionInputs, head: number): AttentionInputs {
  const bytes = inputs.q.byteLength / (inputs.numHeads * inputs.seqLen * inputs.headDim);
  const headBytes = inputs.seqLen * inputs.headDim * bytes;
  const kvHead = Math.floor(head / (inputs.numHeads / inputs.numKvHeads));
  const slice = (buffer: Uint8Array, index: number): Uint8Array => buffer.subarray(index * headBytes, (index + 1) * headBytes);
  return {
    ...inputs,
    numHeads: 1,
    numKvHeads: 1,
    q: slice(inputs.q, head),
    k: slice(inputs.k, kvHead),
    ...(inputs.v ? { v: slice(inputs.v, kvHead) } : {}),
  };
}

/** Search every head of one layer's inputs; progress per head. */
export async function searchLayer(
  native: NativeModule,
  inputs: AttentionInputs,
  settings: SearchSettings,
  backend: NativeBackend,
  onHeadDone: (head: number, choice: HeadChoice) => void,
  control?: Control,
): Promise<HeadChoice[]> {
  const rows = evaluatedRows(inputs.seqLen, settings.sampling);
  const choices: HeadChoice[] = [];
  for (let head = 0; head < inputs.numHeads; head++) {
    throwIfCancelled(control);
    const probe = new HeadProbe(native, headView(inputs, head), backend, rows, control);
    const choice = settings.mode === 'candidates' ? await searchHeadCandidates(probe) : await searchHeadTarget(probe, inputs.seqLen, settings.targetRecall);
    choices.push(choice);
    onHeadDone(head, choice);
  }
  return choices;
}

export async function searchCapture(
  native: NativeModule,
  capture: Capture,
  settings: SearchSettings,
  backend: Backend,
  onProgress: ProgressCallback = () => {},
  control?: Control,
): Promise<SearchResult> {
  const resolved = resolveBackend(native, backend, capture.summary);
  const { summary } = capture;
  const layers = selectLayers(capture, settings.layers);
  const rows = evaluatedRows(summary.seqLen, settings.sampling);
  const config = fitHeadConfig(null, summary);
  const stats: HeadStats[] = [];
  const totalHeads = layers.length * summary.numHeads;
  const fraction = (layerIndex: number, headsDone: number): number => (layerIndex * summary.numHeads + headsDone) / totalHeads;
  for (const [layerIndex, layer] of layers.entries()) {
    const inputs = await layerInputs(capture, layer);
    const choices = await searchLayer(
      native,
      inputs,
      settings,
      resolved.backend,
      (head, choice) => onProgress(fraction(layerIndex, head + 1), `layer ${layer} head ${head}: ${choice.pattern.pattern} (${choice.pattern.a}, ${choice.pattern.b}) recall ${choice.recall.toFixed(3)}`),
      control,
    );
    choices.forEach((choice, head) => (config.heads[layer]![head] = { ...choice.pattern, score: Number(choice.recall.toFixed(6)) }));
    stats.push(...(await analyzeLayer(native, inputs, layer, choices.map((choice) => choice.pattern), resolved.backend, rows, control)));
  }
  onProgress(1, 'done');
  return { config, report: buildReport(resolved, capture, stats), settings };
}
