/**
 * The target-recall search across methods (issue 15): per head, each method's cheapest config
 * that holds the target under the same rule as MInference's search (head-search.ts: tracks searched on
 * sampled rows, the choice checked and raised on every evaluated row by holdTarget), and the
 * winner, the lowest cost (density + the index's own cost) among them, ties to the earlier method
 * in SearchMethod's order.
 *  - minference: its tracks (ladders.ts searchTracks), exactly MInference's own search;
 *  - xattention: the threshold track at stride 8 (MInference's `stride`);
 *  - flexprefill: the gamma track at tau 0.1 (FlexPrefill's and MInference's default);
 *  - duo: DuoAttention decides per KV head: its query heads all stream (DUO_STREAMING_HEAD) when
 *    each holds the target so on every evaluated row, else all run dense (retrieval).
 * A method whose patterns reach the target nowhere below MAX_SPARSE_COST falls back to dense and
 * does not hold (`holds` false), as the MInference search keeps such heads dense; so does a Duo
 * KV head that must stay a retrieval head.
 */
import { ApiError, DENSE_HEAD, DUO_STREAMING_HEAD, SearchMethod, type HeadComparison, type HeadStats, type Report, type SearchSettings } from '../../../contract/api.js';
import type { Capture } from '../capture/types.js';
import type { AttentionInputs, NativeBackend, NativeModule } from '../native-api.js';
import { measuredHeadStats, reportTotals, shareLayerTimes } from './analyze.js';
import { batchInputs, evaluatedRows, headView, kvHeadOf, mean, searchCost, type Control, type HeadBatch } from './common.js';
import { heldChoice } from './head-search.js';
import { FLEXPREFILL_TAU, searchTracks, XATTENTION_STRIDE, type Track } from './ladders.js';
import { HeadProbe, withHeadProbes, type PatternMeasure } from './probe.js';

/** Thresholds are in thousandths. */
const THOUSANDTHS = 1000;

type TrackedMethod = Exclude<SearchMethod, 'duo'>;

/**
 * The methods a search compares, in SearchMethod's order (the tie order), or null for MInference's
 * search alone (no `methods`, or only minference): that search runs exactly as before.
 */
export function comparedMethods(settings: SearchSettings): SearchMethod[] | null {
  const methods = settings.methods ?? ['minference'];
  if (methods.every((method) => method === 'minference')) return null;
  if (settings.mode !== 'target-recall') throw new ApiError('searching methods other than minference needs target-recall mode (a --target-recall)');
  return SearchMethod.options.filter((method) => methods.includes(method));
}

/** The monotone tracks a method is searched along (duo has none: it is decided per KV head). */
export function methodTracks(method: TrackedMethod, seqLen: number): Track[] {
  switch (method) {
    case 'minference':
      return searchTracks(seqLen);
    case 'xattention':
      return [{ label: `xattention stride ${XATTENTION_STRIDE}`, min: 1, max: THOUSANDTHS, at: (threshold) => ({ pattern: 'xattention', a: threshold, b: XATTENTION_STRIDE }) }];
    case 'flexprefill':
      return [{ label: `flexprefill tau ${FLEXPREFILL_TAU / THOUSANDTHS}`, min: 1, max: THOUSANDTHS, at: (gamma) => ({ pattern: 'flexprefill', a: gamma, b: FLEXPREFILL_TAU }) }];
  }
}

/** One method's choice for a head, measured on every evaluated row. */
export interface MethodMeasure {
  method: SearchMethod;
  holds: boolean;
  measure: PatternMeasure;
}

/** A head's choice under one tracked method: searched on `sampled`, held on `exact`. */
export async function searchHeadMethod(method: TrackedMethod, sampled: HeadProbe, exact: HeadProbe, seqLen: number, target: number): Promise<MethodMeasure> {
  const tracks = methodTracks(method, seqLen);
  const held = await heldChoice({ sampled, exact }, seqLen, target, tracks);
  return held ? { method, holds: true, measure: held } : { method, holds: false, measure: await exact.measure(DENSE_HEAD) };
}

/** DuoAttention's choice for a query head, its KV head's decision (`streams`) given. */
async function duoChoice(exact: HeadProbe, streams: boolean): Promise<MethodMeasure> {
  return { method: 'duo', holds: streams, measure: await exact.measure(streams ? DUO_STREAMING_HEAD : DENSE_HEAD) };
}

/** The winning choice: the lowest cost, ties to the earlier method of `choices`. */
export function winnerOf(choices: readonly MethodMeasure[], seqLen: number): MethodMeasure {
  return choices.reduce((best, choice) => (searchCost(choice.measure, seqLen) < searchCost(best.measure, seqLen) ? choice : best));
}

/**
 * DuoAttention's decision for a layer's heads: whether each query head's KV head streams, i.e.
 * every query head of it reaches `target` at DUO_STREAMING_HEAD on every evaluated row. A pass of
 * its own over the batches, as a KV group's query heads may be read in several batches.
 */
export async function duoStreamingHeads(native: NativeModule, capture: Capture, layer: number, batches: readonly HeadBatch[], backend: NativeBackend, target: number, control?: Control): Promise<Map<number, boolean>> {
  const allRows = evaluatedRows(capture.summary.seqLen, { mode: 'exact' });
  const kvHolds = new Map<number, boolean>();
  for (const batch of batches) {
    const inputs = await batchInputs(capture, layer, batch);
    for (let head = batch.first; head < batch.end; head++) {
      const { recall } = await new HeadProbe(native, headView(inputs, head - batch.first), backend, allRows, control).measure(DUO_STREAMING_HEAD);
      const kvHead = kvHeadOf(capture, head);
      kvHolds.set(kvHead, (kvHolds.get(kvHead) ?? true) && recall >= target);
    }
  }
  const streams = new Map<number, boolean>();
  for (const batch of batches) for (let head = batch.first; head < batch.end; head++) streams.set(head, kvHolds.get(kvHeadOf(capture, head))!);
  return streams;
}

/** What searchBatchMethods needs besides the batch's inputs. */
export interface MethodBatch {
  layer: number;
  batch: HeadBatch;
  methods: readonly SearchMethod[];
  settings: SearchSettings;
  backend: NativeBackend;
  /** Dense pre-fill of one head of the layer (timeDenseHead). */
  denseMs: number;
  /** Per query head (layer numbering): whether its KV head streams under DuoAttention (duoStreamingHeads). */
  duoStreams: ReadonlyMap<number, boolean>;
}

/** Per head of a batch, the winner's stats (what the report holds) and every method's choice. */
export interface BatchComparison {
  winners: HeadStats[];
  comparison: HeadComparison[];
}

/**
 * Search every head of a batch with each method, measure each method's choices as analyze does
 * (timings shared out of one layer call per method, as if the layer ran that method), and pick
 * each head's winner. `onHead` is told each head's winner as it is chosen.
 */
export async function searchBatchMethods(native: NativeModule, inputs: AttentionInputs, job: MethodBatch, onHead: (head: number, winner: PatternMeasure) => void, control?: Control): Promise<BatchComparison> {
  const { layer, batch, methods, settings, backend, denseMs, duoStreams } = job;
  const { seqLen } = inputs;
  const rows = { sampled: evaluatedRows(seqLen, settings.sampling), all: evaluatedRows(seqLen, { mode: 'exact' }) };
  const statsByMethod: HeadStats[][] = methods.map(() => []);
  const holds: boolean[][] = [];
  const winners: SearchMethod[] = [];
  for (let head = batch.first; head < batch.end; head++) {
    const choices = await withHeadProbes(native, headView(inputs, head - batch.first), backend, rows, control, async ({ exact, sampled }) => {
      const measured: MethodMeasure[] = [];
      for (const method of methods) {
        measured.push(method === 'duo' ? await duoChoice(exact, duoStreams.get(head)!) : await searchHeadMethod(method, sampled, exact, seqLen, settings.targetRecall));
      }
      for (const [m, choice] of measured.entries()) statsByMethod[m]!.push(await measuredHeadStats(layer, head, exact, choice.measure, denseMs));
      return measured;
    });
    holds.push(choices.map((choice) => choice.holds));
    const winner = winnerOf(choices, seqLen);
    winners.push(winner.method);
    onHead(head, winner.measure);
  }
  // One method at a time: timings must not share the device.
  const shared: HeadStats[][] = [];
  for (const stats of statsByMethod) shared.push(await shareLayerTimes(native, inputs, stats, backend, control));
  const comparison = winners.map((winner, h) => ({
    layer,
    head: batch.first + h,
    winner,
    choices: methods.map((method, m) => ({ method, holds: holds[h]![m]!, stats: shared[m]![h]! })),
  }));
  return { winners: winners.map((winner, h) => shared[methods.indexOf(winner)]![h]!), comparison };
}

/** One method over the compared heads: its choices' totals (as a report's), how many held the target and won. */
export interface MethodTotals extends Omit<Report['totals'], 'speedupKind'> {
  method: SearchMethod;
  heads: number;
  held: number;
  wins: number;
  meanDensity: number;
}

/** Per method of a search's comparison, its totals in the comparison's order of methods. */
export function methodTotals(comparison: readonly HeadComparison[]): MethodTotals[] {
  const methods = comparison[0]?.choices.map((choice) => choice.method) ?? [];
  return methods.map((method, m) => {
    const choices = comparison.map((head) => head.choices[m]!);
    const stats = choices.map((choice) => choice.stats);
    const { speedupKind: _kind, ...totals } = reportTotals(stats, 'measured');
    return {
      method,
      heads: choices.length,
      held: choices.filter((choice) => choice.holds).length,
      wins: comparison.filter((head) => head.winner === method).length,
      meanDensity: mean(stats.map((head) => head.density)),
      ...totals,
    };
  });
}
