/**
 * The app state (zustand, vanilla so tests drive it without React). Everything the views share
 * lives here: the open capture, the working head config with undo/redo, per-head stats, jobs,
 * selection and view; notices are their own slice (notices.ts), and what survives a reload is
 * kept by session.ts. Views keep only their own transient state (zoom, hover, drafts).
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import {
  ApiError,
  BenchResult,
  Report,
  SearchResult,
  type Api,
  type CaptureSummary,
  type ConnectionState,
  type DeviceInfo,
  type HeadConfig,
  type HeadEvaluation,
  type HeadPattern,
  type HeadStats,
  type JobEvent,
  type JobState,
  type Params,
  type SearchMethod,
  type SearchSettings,
} from '../../../contract/api';
import type { GridColour, HeadFilter, HeadSort } from './overview';
import { defaultConfig, diffConfigs, fitImportedConfig, entryAt, headKey, parseHeadKey, samePattern, withEntries, type HeadId } from './config';
import { comparisonSlice, type ComparisonActions, type ComparisonState } from './comparison';
import type { MethodOverrides } from './methods';
import { errorMessage, noticesSlice, type NoticesActions, type NoticesState } from './notices';
import { persistSession, readSession, type ConfigEdit, type SavedSession } from './session';

export { errorMessage, type Notice } from './notices';

export type ViewName = 'overview' | 'head' | 'tune' | 'search' | 'bench' | 'files' | 'kernel' | 'error' | 'compare' | 'methods';
export const VIEWS: { name: ViewName; label: string; key: string }[] = [
  { name: 'overview', label: 'Overview', key: '1' },
  { name: 'head', label: 'Head', key: '2' },
  { name: 'tune', label: 'Tune', key: '3' },
  { name: 'search', label: 'Search', key: '4' },
  { name: 'bench', label: 'Benchmark', key: '5' },
  { name: 'files', label: 'Files', key: '6' },
  { name: 'kernel', label: 'Kernel', key: '7' },
  { name: 'error', label: 'Output error', key: '8' },
  { name: 'compare', label: 'Compare', key: '9' },
  { name: 'methods', label: 'Methods', key: '0' },
];

export type ThemeChoice = 'system' | 'light' | 'dark';
export type JobKind = JobEvent['kind'];

/** A finished search waiting for the user to decide about heads tuned by hand. */
export interface PendingSearch {
  result: SearchResult;
  tunedKeys: string[];
}

export interface AppState extends NoticesState, ComparisonState {
  device: DeviceInfo | null;
  capture: CaptureSummary | null;
  /** Whether the capture is the generated demo (reopened as such after a reload) or a file. */
  captureOrigin: 'demo' | 'file' | null;
  opening: boolean;
  config: HeadConfig | null;
  /** Config as loaded (import or capture default) and as the last search produced, for diffs. */
  loadedConfig: HeadConfig | null;
  /** The config as last imported or exported: edits beyond it are unsaved. */
  savedConfig: HeadConfig | null;
  searched: SearchResult | null;
  stats: Record<string, HeadStats>;
  /** Heads edited by hand since the config was loaded or searched. */
  tunedKeys: string[];
  undoStack: ConfigEdit[];
  redoStack: ConfigEdit[];
  focus: HeadId;
  selection: string[];
  /** The query block the Kernel view draws; null: the last one. */
  kernelBlock: number | null;
  /** Overview list order and filter, kept while the user visits other views. */
  headSort: HeadSort;
  headFilter: HeadFilter;
  /** What fills the overview grid's cells (a measure, with the pattern as a mark). */
  gridColour: GridColour;
  /** The Methods view's parameter edits per method, kept across heads and views. */
  methodOverrides: MethodOverrides;
  view: ViewName;
  theme: ThemeChoice;
  helpOpen: boolean;
  jobs: Partial<Record<JobKind, JobEvent>>;
  /** The engine's event stream under `serve`; null where it cannot drop (Electron). */
  connection: ConnectionState | null;
  lastReport: Report | null;
  bench: BenchResult | null;
  pendingSearch: PendingSearch | null;
}

export interface AppActions extends NoticesActions, ComparisonActions {
  init(): Promise<void>;
  openDemo(): Promise<void>;
  /** The first screen: the real capture the app ships, searched to FIRST_SCREEN_SEARCH. */
  openSample(): Promise<void>;
  openCapture(path: string): Promise<void>;
  importConfig(params: Params<'config.import'>): Promise<void>;
  /** The config was written to a file: edits up to here are saved. */
  markConfigSaved(config: HeadConfig): void;
  setView(view: ViewName): void;
  setTheme(theme: ThemeChoice): void;
  toggleHelp(open?: boolean): void;
  focusHead(head: HeadId, options?: { view?: ViewName; extendSelection?: boolean }): void;
  setSelection(keys: string[]): void;
  /** Show the kernel's reads for a query block (null: the last), optionally switching to a view. */
  showKernelBlock(block: number | null, view?: ViewName): void;
  setHeadList(sort: HeadSort, filter: HeadFilter): void;
  setGridColour(colour: GridColour): void;
  /** Edit a method's pattern in the Methods view (null: back to the search's choice or the default). */
  setMethodOverride(method: SearchMethod, pattern: HeadPattern | null): void;
  setPatterns(keys: string[], pattern: HeadPattern, label: string): void;
  undo(): void;
  redo(): void;
  recordEvaluation(evaluation: HeadEvaluation): void;
  startJob(spec: Params<'job.start'>): Promise<void>;
  cancelJob(kind: JobKind): Promise<void>;
  handleJobEvent(event: JobEvent): void;
  resolvePendingSearch(choice: 'overwrite' | 'keep-tuned' | 'discard'): void;
  analyze(): Promise<void>;
}

export type AppStore = StoreApi<AppState & AppActions>;

const THEME_KEY = 'sparsescope.theme';
const MAX_UNDO = 200;

/**
 * The first screen's search: MInference's default config computes every entry of the 2,048-token
 * sample (recall 1 everywhere); each head's cheapest pattern keeping 95% of its mass teaches more,
 * and takes seconds on the CPU at this length.
 */
export const FIRST_SCREEN_SEARCH: SearchSettings = { mode: 'target-recall', targetRecall: 0.95, sampling: { mode: 'sampled', rows: 512, seed: 0 } };

export function isActive(job: JobEvent | undefined): boolean {
  return job?.state === 'running' || job?.state === 'queued';
}

function readStoredTheme(storage: Pick<Storage, 'getItem'> | undefined): ThemeChoice {
  const value = storage?.getItem(THEME_KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

export interface StoreOptions {
  /** Where the theme and the session are kept across reloads (localStorage in the app). */
  storage?: Pick<Storage, 'getItem' | 'setItem'>;
}

const JOB_STATE_ORDER: Record<JobState, number> = { queued: 0, running: 1, done: 2, failed: 2, cancelled: 2 };

/** Whether a listed job state is further along than what the store shows (a live event can be newer than a listing). */
function isAheadOf(listed: JobEvent, shown: JobEvent | undefined): boolean {
  if (shown?.jobId !== listed.jobId) return true;
  const step = JOB_STATE_ORDER[listed.state] - JOB_STATE_ORDER[shown.state];
  return step > 0 || (step === 0 && listed.progress > shown.progress);
}

/** The saved session's config, edits and view laid over a freshly opened capture; null if its shape no longer fits. */
function restoredState(saved: SavedSession, capture: CaptureSummary): Partial<AppState> | null {
  const fits = (config: HeadConfig) => config.numLayers === capture.numLayers && config.numHeads === capture.numHeads;
  if (![saved.config, saved.loadedConfig, saved.savedConfig, ...(saved.searched ? [saved.searched.config] : [])].every(fits)) return null;
  const view = VIEWS.find((v) => v.name === saved.view)?.name ?? 'overview';
  const focus = capture.layers.includes(saved.focus.layer) && saved.focus.head < capture.numHeads ? saved.focus : { layer: capture.layers[0] ?? 0, head: 0 };
  return {
    config: saved.config,
    loadedConfig: saved.loadedConfig,
    savedConfig: saved.savedConfig,
    searched: saved.searched,
    tunedKeys: saved.tunedKeys,
    undoStack: saved.undoStack,
    redoStack: saved.redoStack,
    focus,
    selection: saved.selection,
    view,
    kernelBlock: saved.kernelBlock,
    headSort: saved.headSort,
    headFilter: saved.headFilter,
  };
}

export function createAppStore(api: Api, options: StoreOptions = {}): AppStore {
  /** Which job id runs for each kind, so events of stale jobs are ignored. */
  const jobIds: Partial<Record<JobKind, string>> = {};
  /** The capture each job works on, so a result that lands after the user opened another is not applied to it. */
  const jobCaptures = new Map<string, string | undefined>();
  /** Events that arrived before job.start answered with their id (the socket can beat the reply). */
  const earlyEvents = new Map<string, JobEvent>();

  return createStore<AppState & AppActions>()((set, get, store) => {
    /** A newly opened capture with its default config (or a restored session's), clean of the previous capture's errors and results. */
    function applyCapture(capture: CaptureSummary, origin: 'demo' | 'file', restored: Partial<AppState> | null = null): void {
      const config = defaultConfig(capture);
      const firstLayer = capture.layers[0] ?? 0;
      const running = Object.fromEntries(Object.entries(get().jobs).filter(([, job]) => isActive(job)));
      get().clearErrors();
      set({
        capture,
        captureOrigin: origin,
        config,
        loadedConfig: config,
        savedConfig: config,
        searched: null,
        stats: {},
        tunedKeys: [],
        undoStack: [],
        redoStack: [],
        focus: { layer: firstLayer, head: 0 },
        selection: [headKey(firstLayer, 0)],
        lastReport: null,
        bench: null,
        pendingSearch: null,
        comparisonFile: null,
        kernelBlock: null,
        methodOverrides: {},
        jobs: running,
        ...restored,
      });
      void get().analyze();
    }

    /**
     * Reopen the capture of the last session through the engine and lay its work over it. A file
     * that is gone or changed (another identity) starts clean, saying why.
     */
    async function restoreSession(saved: SavedSession): Promise<void> {
      const { capture: ref } = saved;
      let capture: CaptureSummary;
      set({ opening: true });
      try {
        capture = ref.demo ? await api.call('capture.openDemo', {}) : await api.call('capture.open', { path: ref.path });
      } catch (error) {
        set({ opening: false });
        await get().openDemo();
        get().notify('error', `Could not reopen ${ref.fileName} from your last session (${errorMessage(error)}); started clean with the demo capture.`);
        return;
      }
      set({ opening: false });
      if (capture.hash !== ref.hash) {
        applyCapture(capture, ref.demo ? 'demo' : 'file');
        get().notify('error', `${ref.fileName} changed since your last session; its config and edits were not restored.`);
        return;
      }
      const restored = restoredState(saved, capture);
      applyCapture(capture, ref.demo ? 'demo' : 'file', restored);
      if (!restored) get().notify('error', `The saved config no longer fits ${capture.fileName}; started clean.`);
      else if (saved.undoStack.length > 0 || saved.searched) {
        const changed = diffConfigs(saved.loadedConfig, saved.config).length;
        const edits = saved.undoStack.length;
        get().notify('info', `Restored your session on ${capture.fileName}: ${changed} head${changed === 1 ? '' : 's'} changed, ${edits} edit${edits === 1 ? '' : 's'} to undo.`);
      }
    }

    /** Take the report's numbers for heads whose pattern is still the one it measured. */
    function mergeReport(report: Report): void {
      const { config } = get();
      const stats = { ...get().stats };
      for (const s of report.heads) {
        if (config && samePattern(entryAt(config, s.layer, s.head), { pattern: s.pattern, a: s.params[0], b: s.params[1] })) stats[headKey(s.layer, s.head)] = s;
      }
      set({ stats, lastReport: report });
    }

    function applyEdit(edit: ConfigEdit, direction: 'before' | 'after'): void {
      const { config } = get();
      if (!config) return;
      const changes = edit[direction];
      const stats = { ...get().stats };
      for (const { layer, head } of changes) delete stats[headKey(layer, head)];
      // A head counts as tuned while it differs from the config it came from (searched, else loaded).
      const baseline = get().searched?.config ?? get().loadedConfig;
      const tuned = new Set(get().tunedKeys);
      for (const { layer, head, entry } of changes) {
        const key = headKey(layer, head);
        if (baseline && samePattern(entryAt(baseline, layer, head), entry)) tuned.delete(key);
        else tuned.add(key);
      }
      set({ config: withEntries(config, changes), stats, tunedKeys: [...tuned] });
      void refreshStats(changes.map(({ layer, head }) => headKey(layer, head)));
    }

    /** Re-measure heads whose pattern changed, one at a time, so the overview never shows old numbers. */
    async function refreshStats(keys: string[]): Promise<void> {
      for (const key of keys) {
        const { capture, config } = get();
        if (!capture || !config) return;
        const { layer, head } = parseHeadKey(key);
        const entry = entryAt(config, layer, head);
        try {
          const evaluation = await api.call('head.evaluate', {
            captureId: capture.captureId,
            layer,
            head,
            pattern: { pattern: entry.pattern, a: entry.a, b: entry.b },
            staleKey: `stats-${key}`,
          });
          get().recordEvaluation(evaluation);
        } catch (error) {
          if (error instanceof ApiError && error.code === 'cancelled') continue;
          get().reportError(error, `measuring layer ${layer} head ${head}`);
          return;
        }
      }
    }

    function applySearch(result: SearchResult, keepKeys: Set<string>): void {
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

    /** Catch up on events a reconnecting transport dropped: each tracked job's latest state goes the live events' way. */
    async function catchUpOnJobs(): Promise<void> {
      let latest: JobEvent[];
      try {
        latest = await api.call('job.list', {});
      } catch (error) {
        get().reportError(error, 'catching up on running jobs');
        return;
      }
      for (const event of latest) {
        if (jobIds[event.kind] === event.jobId && isAheadOf(event, get().jobs[event.kind])) get().handleJobEvent(event);
      }
    }

    /** A finished job's report notices (`auto` on the CPU) and warnings (what the config's engine would run differently), once each. */
    function showNotices(report: Report | undefined): void {
      for (const notice of [...(report?.notices ?? []), ...(report?.warnings ?? [])]) get().notify('info', notice);
    }

    function onJobDone(event: JobEvent): void {
      const jobCapture = jobCaptures.get(event.jobId);
      if (jobCapture !== undefined && jobCapture !== get().capture?.captureId) {
        get().notify('info', `A ${event.kind} job finished for a capture that is no longer open; its result was set aside.`);
        return;
      }
      switch (event.kind) {
        case 'analyze': {
          const report = Report.safeParse(event.result);
          if (report.success) {
            mergeReport(report.data);
            showNotices(report.data);
          } else get().notify('error', 'Analysis finished but its report was malformed; per-head numbers were not updated.');
          return;
        }
        case 'search': {
          const parsed = SearchResult.safeParse(event.result);
          if (!parsed.success) {
            get().notify('error', 'Search finished but its result was malformed; your config was left as it was.');
            return;
          }
          showNotices(parsed.data.report);
          const searchedKeys = new Set(parsed.data.report.heads.map((s) => headKey(s.layer, s.head)));
          const { config } = get();
          const tunedKeys = get().tunedKeys.filter((key) => {
            if (!searchedKeys.has(key) || !config) return false;
            const { layer, head } = parseHeadKey(key);
            return !samePattern(entryAt(config, layer, head), entryAt(parsed.data.config, layer, head));
          });
          if (tunedKeys.length > 0) set({ pendingSearch: { result: parsed.data, tunedKeys } });
          else applySearch(parsed.data, new Set());
          return;
        }
        case 'bench': {
          const parsed = BenchResult.safeParse(event.result);
          // The capture benchmark and the synthetic sweep are separate jobs; keep the other's result.
          const previous = get().bench;
          if (parsed.success) {
            set({ bench: { report: parsed.data.report ?? previous?.report, sweep: parsed.data.sweep.length > 0 ? parsed.data.sweep : (previous?.sweep ?? []) } });
            showNotices(parsed.data.report);
          } else get().notify('error', 'Benchmark finished but its result was malformed.');
          return;
        }
      }
    }

    return {
      ...noticesSlice(set, get),
      ...comparisonSlice(api, set, get),
      device: null,
      capture: null,
      captureOrigin: null,
      opening: false,
      config: null,
      loadedConfig: null,
      savedConfig: null,
      searched: null,
      stats: {},
      tunedKeys: [],
      undoStack: [],
      redoStack: [],
      focus: { layer: 0, head: 0 },
      selection: [],
      kernelBlock: null,
      headSort: 'layer',
      headFilter: { pattern: 'all', layer: 'all' },
      gridColour: 'density',
      methodOverrides: {},
      view: 'overview',
      theme: readStoredTheme(options.storage),
      helpOpen: false,
      jobs: {},
      connection: null,
      lastReport: null,
      bench: null,
      pendingSearch: null,

      async init() {
        api.onJobEvent((event) => get().handleJobEvent(event));
        api.onConnectionChange?.((connection) => {
          set({ connection });
          if (connection === 'connected') void catchUpOnJobs();
        });
        const device = api.call('device.info', {}).then(
          (info) => set({ device: info }),
          (error: unknown) => get().reportError(error, 'reading the engine\'s device'),
        );
        const saved = readSession(options.storage);
        await Promise.all([device, saved ? restoreSession(saved) : get().openSample()]);
        // Saving starts once the last session is restored, so it never overwrites it with an empty one.
        if (options.storage) persistSession(store, options.storage);
      },

      async openDemo() {
        set({ opening: true });
        try {
          applyCapture(await api.call('capture.openDemo', {}), 'demo');
        } catch (error) {
          get().reportError(error, 'opening the demo capture');
        } finally {
          set({ opening: false });
        }
      },

      async openSample() {
        set({ opening: true });
        let capture: CaptureSummary;
        try {
          capture = await api.call('capture.openSample', {});
        } catch (error) {
          // An engine without the sample (a bare checkout) starts on the demo; any other failure is told
          // once the demo is open (opening a capture clears the previous errors).
          await get().openDemo();
          if (!(error instanceof ApiError && error.code === 'not-found')) get().reportError(error, 'opening the sample capture');
          return;
        } finally {
          set({ opening: false });
        }
        applyCapture(capture, 'file');
        // The first screen's search is the app's doing, not the user's: its config is nothing to save
        // (closing the app must not ask), unless the user tuned a head meanwhile.
        const unsubscribe = store.subscribe((state, previous) => {
          if (state.capture?.captureId !== capture.captureId) unsubscribe();
          else if (state.searched && !previous.searched) {
            unsubscribe();
            if (state.config && state.tunedKeys.length === 0) state.markConfigSaved(state.config);
          }
        });
        await get().startJob({ kind: 'search', captureId: capture.captureId, settings: FIRST_SCREEN_SEARCH });
      },

      async openCapture(path) {
        set({ opening: true });
        try {
          const previous = get().capture;
          const capture = await api.call('capture.open', { path });
          applyCapture(capture, 'file');
          if (previous && previous.captureId !== capture.captureId) {
            api.call('capture.close', { captureId: previous.captureId }).catch(() => undefined);
          }
          get().notify('info', `Opened ${capture.fileName}: ${capture.layers.length} layers × ${capture.numHeads} heads, ${capture.seqLen.toLocaleString()} tokens.`);
        } catch (error) {
          get().reportError(error, `opening ${path}`);
        } finally {
          set({ opening: false });
        }
      },

      async importConfig(params) {
        const { capture } = get();
        try {
          const imported = await api.call('config.import', params);
          let config = imported.config;
          if (capture) {
            let fit: ReturnType<typeof fitImportedConfig>;
            try {
              fit = fitImportedConfig(imported.config, capture);
            } catch (error) {
              throw new ApiError(`This config does not fit the open capture: ${error instanceof Error ? error.message : String(error)}.`);
            }
            config = fit.config;
            if (fit.defaulted > 0) get().notify('info', `${fit.defaulted} heads the config leaves out use MInference's default (vertical_and_slash 1000/6096).`);
          }
          set({ config, loadedConfig: config, savedConfig: config, searched: null, tunedKeys: [], undoStack: [], redoStack: [], stats: {} });
          for (const warning of imported.warnings) get().notify('info', warning);
          get().notify('info', `Imported a ${imported.format} config.`);
          void get().analyze();
        } catch (error) {
          get().reportError(error, 'importing the config');
        }
      },

      markConfigSaved(config) {
        set({ savedConfig: config });
      },

      setView(view) {
        set({ view });
      },

      setTheme(theme) {
        options.storage?.setItem(THEME_KEY, theme);
        set({ theme });
      },

      toggleHelp(open) {
        set({ helpOpen: open ?? !get().helpOpen });
      },

      focusHead(head, focusOptions = {}) {
        const key = headKey(head.layer, head.head);
        const selection = focusOptions.extendSelection
          ? get().selection.includes(key)
            ? get().selection.filter((k) => k !== key)
            : [...get().selection, key]
          : [key];
        set({ focus: { layer: head.layer, head: head.head }, selection, ...(focusOptions.view ? { view: focusOptions.view } : {}) });
      },

      setSelection(keys) {
        set({ selection: keys });
      },

      showKernelBlock(kernelBlock, view) {
        set({ kernelBlock, ...(view ? { view } : {}) });
      },

      setHeadList(headSort, headFilter) {
        set({ headSort, headFilter });
      },

      setGridColour(gridColour) {
        set({ gridColour });
      },

      setMethodOverride(method, pattern) {
        const { [method]: _previous, ...others } = get().methodOverrides;
        set({ methodOverrides: pattern ? { ...others, [method]: pattern } : others });
      },

      setPatterns(keys, pattern, label) {
        const { config } = get();
        if (!config || keys.length === 0) return;
        const targets = keys.map(parseHeadKey);
        const before = targets.map(({ layer, head }) => ({ layer, head, entry: entryAt(config, layer, head) }));
        const after = targets.map(({ layer, head }) => ({ layer, head, entry: { ...pattern } }));
        const edit = { label, before, after };
        set({ undoStack: [...get().undoStack, edit].slice(-MAX_UNDO), redoStack: [] });
        applyEdit(edit, 'after');
      },

      undo() {
        const edit = get().undoStack.at(-1);
        if (!edit) return;
        set({ undoStack: get().undoStack.slice(0, -1), redoStack: [...get().redoStack, edit] });
        applyEdit(edit, 'before');
      },

      redo() {
        const edit = get().redoStack.at(-1);
        if (!edit) return;
        set({ redoStack: get().redoStack.slice(0, -1), undoStack: [...get().undoStack, edit] });
        applyEdit(edit, 'after');
      },

      recordEvaluation(evaluation) {
        const { config } = get();
        const s = evaluation.stats;
        if (!config) return;
        const current = entryAt(config, s.layer, s.head);
        // A late answer for a pattern the head no longer has must not overwrite the numbers.
        if (!samePattern(current, { pattern: s.pattern, a: s.params[0], b: s.params[1] })) return;
        // Nor may a prediction replace a measurement of the same pattern (an analysis or a search).
        const key = headKey(s.layer, s.head);
        const known = get().stats[key];
        if (known?.speedupKind === 'measured' && samePattern(current, { pattern: known.pattern, a: known.params[0], b: known.params[1] })) return;
        set({ stats: { ...get().stats, [key]: s } });
      },

      async startJob(spec) {
        if (isActive(get().jobs[spec.kind])) {
          get().notify('info', `A ${spec.kind} job is already running; cancel it first.`);
          return;
        }
        try {
          const { jobId } = await api.call('job.start', spec);
          jobIds[spec.kind] = jobId;
          jobCaptures.set(jobId, spec.captureId);
          set({ jobs: { ...get().jobs, [spec.kind]: { jobId, kind: spec.kind, state: 'queued', progress: 0, message: 'queued', etaSeconds: null } } });
          const early = earlyEvents.get(jobId);
          earlyEvents.delete(jobId);
          if (early) get().handleJobEvent(early);
        } catch (error) {
          get().reportError(error, `starting the ${spec.kind} job`);
        }
      },

      async cancelJob(kind) {
        const jobId = jobIds[kind];
        if (!jobId) return;
        try {
          await api.call('job.cancel', { jobId });
        } catch (error) {
          get().reportError(error, `cancelling the ${kind} job`);
        }
      },

      handleJobEvent(event) {
        if (jobIds[event.kind] !== event.jobId) {
          earlyEvents.set(event.jobId, event);
          if (earlyEvents.size > 50) earlyEvents.delete(earlyEvents.keys().next().value!);
          return;
        }
        const previous = get().jobs[event.kind];
        if (previous && ['done', 'failed', 'cancelled'].includes(previous.state)) return;
        set({ jobs: { ...get().jobs, [event.kind]: event } });
        if (event.state === 'done') onJobDone(event);
        if (event.state === 'failed') get().notify('error', `The ${event.kind} job failed: ${event.error ?? event.message}. Your config and results were kept.`);
      },

      resolvePendingSearch(choice) {
        const pending = get().pendingSearch;
        if (!pending) return;
        if (choice === 'discard') set({ pendingSearch: null });
        else applySearch(pending.result, choice === 'keep-tuned' ? new Set(pending.tunedKeys) : new Set());
      },

      async analyze() {
        const { capture, config } = get();
        if (!capture || !config) return;
        // A new analysis supersedes one still running for an older config or capture.
        if (isActive(get().jobs.analyze)) {
          await get().cancelJob('analyze');
          const { analyze: _superseded, ...others } = get().jobs;
          set({ jobs: others });
        }
        await get().startJob({ kind: 'analyze', captureId: capture.captureId, config });
      },
    };
  });
}

