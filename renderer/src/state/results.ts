/**
 * The results slice of the app store: what finished jobs brought (the last report, the benchmark,
 * a search waiting for the user's word on heads tuned by hand) and how each lands in the config.
 */
import { BenchResult, Report, SearchResult, type JobEvent } from '../../../contract/api';
import { entryAt, headKey, parseHeadKey, samePattern, withEntries } from './config';
import type { GetApp, SetApp } from './store';

/** A finished search waiting for the user to decide about heads tuned by hand. */
export interface PendingSearch {
  result: SearchResult;
  tunedKeys: string[];
}

export interface ResultsState {
  lastReport: Report | null;
  bench: BenchResult | null;
  pendingSearch: PendingSearch | null;
}

export interface ResultsActions {
  resolvePendingSearch(choice: 'overwrite' | 'keep-tuned' | 'discard'): void;
}

/** A finished job's report notices (`auto` on the CPU) and warnings (what the config's engine would run differently), once each. */
function showNotices(report: Report | undefined, get: GetApp): void {
  for (const notice of [...(report?.notices ?? []), ...(report?.warnings ?? [])]) get().notify('info', notice);
}

/** Take the report's numbers for heads whose pattern is still the one it measured. */
function mergeReport(report: Report, set: SetApp, get: GetApp): void {
  const { config } = get();
  const stats = { ...get().stats };
  for (const s of report.heads) {
    if (config && samePattern(entryAt(config, s.layer, s.head), { pattern: s.pattern, a: s.params[0], b: s.params[1] })) stats[headKey(s.layer, s.head)] = s;
  }
  set({ stats, lastReport: report });
}

/** Lay a search's choices over the config, but for the heads in `keepKeys` (tuned by hand and kept). */
function applySearch(result: SearchResult, keepKeys: Set<string>, set: SetApp, get: GetApp): void {
  const { config } = get();
  if (!config) return;
  // Only the heads the search measured change (a search may cover some layers only).
  const replaced = result.report.heads.filter((s) => !keepKeys.has(headKey(s.layer, s.head)));
  const stats = { ...get().stats };
  for (const s of replaced) stats[headKey(s.layer, s.head)] = s;
  set({
    config: withEntries(config, replaced.map(({ layer, head }) => ({ layer, head, entry: entryAt(result.config, layer, head) }))),
    searched: result,
    stats,
    lastReport: result.report,
    tunedKeys: [...keepKeys],
    undoStack: [],
    redoStack: [],
    pendingSearch: null,
  });
}

function applyAnalysis(result: unknown, set: SetApp, get: GetApp): void {
  const report = Report.safeParse(result);
  if (report.success) {
    mergeReport(report.data, set, get);
    showNotices(report.data, get);
  } else get().notify('error', 'Analysis finished but its report was malformed; per-head numbers were not updated.');
}

/** A search applies at once unless it would overwrite heads tuned by hand: then the user decides. */
function offerSearch(result: unknown, set: SetApp, get: GetApp): void {
  const parsed = SearchResult.safeParse(result);
  if (!parsed.success) {
    get().notify('error', 'Search finished but its result was malformed; your config was left as it was.');
    return;
  }
  showNotices(parsed.data.report, get);
  const searchedKeys = new Set(parsed.data.report.heads.map((s) => headKey(s.layer, s.head)));
  const { config } = get();
  const tunedKeys = get().tunedKeys.filter((key) => {
    if (!searchedKeys.has(key) || !config) return false;
    const { layer, head } = parseHeadKey(key);
    return !samePattern(entryAt(config, layer, head), entryAt(parsed.data.config, layer, head));
  });
  if (tunedKeys.length > 0) set({ pendingSearch: { result: parsed.data, tunedKeys } });
  else applySearch(parsed.data, new Set(), set, get);
}

function applyBench(result: unknown, set: SetApp, get: GetApp): void {
  const parsed = BenchResult.safeParse(result);
  // The capture benchmark and the synthetic sweep are separate jobs; keep the other's result.
  const previous = get().bench;
  if (parsed.success) {
    set({ bench: { report: parsed.data.report ?? previous?.report, sweep: parsed.data.sweep.length > 0 ? parsed.data.sweep : (previous?.sweep ?? []) } });
    showNotices(parsed.data.report, get);
  } else get().notify('error', 'Benchmark finished but its result was malformed.');
}

/** Apply a finished job's result (for the capture still open) to the store. */
export function applyJobResult(event: JobEvent, set: SetApp, get: GetApp): void {
  switch (event.kind) {
    case 'analyze':
      return applyAnalysis(event.result, set, get);
    case 'search':
      return offerSearch(event.result, set, get);
    case 'bench':
      return applyBench(event.result, set, get);
  }
}

export function resultsSlice(set: SetApp, get: GetApp): ResultsState & ResultsActions {
  return {
    lastReport: null,
    bench: null,
    pendingSearch: null,
    resolvePendingSearch(choice) {
      const pending = get().pendingSearch;
      if (!pending) return;
      if (choice === 'discard') set({ pendingSearch: null });
      else applySearch(pending.result, choice === 'keep-tuned' ? new Set(pending.tunedKeys) : new Set(), set, get);
    },
  };
}
