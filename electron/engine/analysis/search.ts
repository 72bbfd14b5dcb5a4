/**
 * The pattern search over a capture (spec 5, issue 3 item 4), head by head (head-search.ts):
 *  - candidates: MInference's candidate set; the best recall wins (lower density breaks ties).
 *  - target-recall: each head's cheapest config reaching the target on every evaluated row.
 *  - target-recall with recallScope `layer`: the heads' mean recall holds the target instead, each
 *    head at least its floor (layer-recall.ts).
 * The report and the config's score carry the exact recall of each choice.
 * Deterministic: same capture, settings and backend give the same config.
 */
import { DENSE_HEAD, fitHeadConfig, headRecallFloor, type Backend, type HeadComparison, type HeadPattern, type HeadStats, type SearchResult, type SearchSettings } from '../../../contract/api.js';
import type { Capture } from '../capture/types.js';
import type { AttentionInputs, AttentionResult, NativeBackend, NativeModule } from '../native-api.js';
import { buildReport, measuredHeadStats, selectLayers, shareLayerTimes, timeDenseHead } from './analyze.js';
import {
  BatchReader,
  batchBudget,
  evaluatedRows,
  headView,
  methodIndexOptions,
  resolveBackend,
  throwIfCancelled,
  type Control,
  type HeadBatch,
  type ProgressCallback,
  withIndexOptions,
} from './common.js';
import { heldChoice, searchHeadCandidates } from './head-search.js';
import { allocateRecall, headCurve, type CurvePoint } from './layer-recall.js';
import { comparedMethods, duoStreamingHeads, searchBatchMethods } from './method-search.js';
import { withHeadProbes, type HeadProbe, type HeadProbes, type PatternMeasure } from './probe.js';

/** One head's choice, measured on every evaluated row (`exact`); `sampled` does the searching. */
async function searchHead(probes: HeadProbes, settings: SearchSettings, seqLen: number): Promise<PatternMeasure> {
  if (settings.mode === 'candidates') return probes.exact.measure((await searchHeadCandidates(probes.sampled)).pattern);
  return (await heldChoice(probes, seqLen, settings.targetRecall)) ?? probes.exact.measure(DENSE_HEAD);
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
