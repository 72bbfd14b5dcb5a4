/**
 * The edits slice of the app store: the working head config with its undo/redo history, the
 * configs it is compared against (loaded, saved, searched), and the per-head numbers measured for
 * it (re-measured head by head as edits land).
 */
import { ApiError, type Api, type CaptureSummary, type HeadConfig, type HeadEvaluation, type HeadPattern, type HeadStats, type Params, type SearchResult } from '../../../contract/api';
import { entryAt, fitImportedConfig, headKey, parseHeadKey, samePattern, withEntries } from './config';
import type { ConfigEdit } from './session';
import type { GetApp, SetApp } from './store';

export interface EditsState {
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
}

export interface EditsActions {
  importConfig(params: Params<'config.import'>): Promise<void>;
  /** The config was written to a file: edits up to here are saved. */
  markConfigSaved(config: HeadConfig): void;
  setPatterns(keys: string[], pattern: HeadPattern, label: string): void;
  undo(): void;
  redo(): void;
  recordEvaluation(evaluation: HeadEvaluation): void;
}

const MAX_UNDO = 200;

/** The edits state of a freshly loaded config: nothing edited, searched or measured yet. */
export function freshEdits(config: HeadConfig): EditsState {
  return { config, loadedConfig: config, savedConfig: config, searched: null, stats: {}, tunedKeys: [], undoStack: [], redoStack: [] };
}

/** Whether the numbers in `stats` were measured for `pattern`. */
function measures(stats: HeadStats, pattern: HeadPattern): boolean {
  return samePattern(pattern, { pattern: stats.pattern, a: stats.params[0], b: stats.params[1] });
}

/** Fit an imported config to the capture open when the import began, saying how many heads it left out. */
function fitToCapture(config: HeadConfig, capture: CaptureSummary | null, get: GetApp): HeadConfig {
  if (!capture) return config;
  let fit: ReturnType<typeof fitImportedConfig>;
  try {
    fit = fitImportedConfig(config, capture);
  } catch (error) {
    throw new ApiError(`This config does not fit the open capture: ${error instanceof Error ? error.message : String(error)}.`);
  }
  if (fit.defaulted > 0) get().notify('info', `${fit.defaulted} heads the config leaves out use MInference's default (vertical_and_slash 1000/6096).`);
  return fit.config;
}

export function editsSlice(api: Api, set: SetApp, get: GetApp): EditsState & EditsActions {
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

  return {
    config: null,
    loadedConfig: null,
    savedConfig: null,
    searched: null,
    stats: {},
    tunedKeys: [],
    undoStack: [],
    redoStack: [],

    async importConfig(params) {
      const { capture } = get();
      try {
        // The open capture gives the config its shape: DuoAttention lists KV heads, FlexPrefill and attn_type files none.
        const imported = await api.call('config.import', capture ? { captureId: capture.captureId, ...params } : params);
        set(freshEdits(fitToCapture(imported.config, capture, get)));
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
      if (!measures(s, current)) return;
      // Nor may a prediction replace a measurement of the same pattern (an analysis or a search).
      const key = headKey(s.layer, s.head);
      const known = get().stats[key];
      if (known?.speedupKind === 'measured' && measures(known, current)) return;
      set({ stats: { ...get().stats, [key]: s } });
    },
  };
}
