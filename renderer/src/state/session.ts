/**
 * The user's work kept across reloads and restarts: the open capture (by path and identity, never
 * its data), the config, the loaded and searched configs, the undo history (bounded), the
 * selection, the view and the Methods view's parameter edits. The browser keeps it in the serve origin's localStorage; the desktop
 * renderer's localStorage lives in the app's user data folder, so it survives a restart too.
 * Numbers are not kept: they are measured again once the capture is reopened.
 */
import { z } from 'zod';
import { HeadConfig, HeadConfigEntry, HeadPattern, PatternName, SearchMethod, SearchResult } from '../../../contract/api';
import { diffConfigs } from './config';
import type { AppActions, AppState, AppStore } from './store';

export const SESSION_KEY = 'sparsescope.session';
/** Edits kept for undo and redo across reloads (the page itself keeps up to 200). */
export const SAVED_EDITS = 100;

const HeadChange = z.object({ layer: z.number().int(), head: z.number().int(), entry: HeadConfigEntry });
const ConfigEdit = z.object({ label: z.string(), before: z.array(HeadChange), after: z.array(HeadChange) });
/** One undoable edit: the heads it changed, before and after. */
export type ConfigEdit = z.infer<typeof ConfigEdit>;

export const SavedSession = z.object({
  version: z.literal(1),
  capture: z.object({ path: z.string(), hash: z.string(), fileName: z.string(), demo: z.boolean() }),
  config: HeadConfig,
  loadedConfig: HeadConfig,
  /** The config as last imported or exported: edits beyond it are unsaved. */
  savedConfig: HeadConfig,
  searched: SearchResult.nullable(),
  tunedKeys: z.array(z.string()),
  undoStack: z.array(ConfigEdit),
  redoStack: z.array(ConfigEdit),
  focus: z.object({ layer: z.number().int(), head: z.number().int() }),
  selection: z.array(z.string()),
  view: z.string(),
  kernelBlock: z.number().int().min(0).nullable().default(null),
  headSort: z.enum(['recall', 'layer', 'pattern', 'density']),
  headFilter: z.object({ pattern: PatternName.or(z.literal('all')), layer: z.number().int().or(z.literal('all')) }),
  methodOverrides: z.partialRecord(SearchMethod, HeadPattern).default({}),
});
export type SavedSession = z.infer<typeof SavedSession>;

/** What of the state is kept; null while no capture is open (nothing to restore). */
export function sessionOf(state: AppState): SavedSession | null {
  const { capture, config, loadedConfig, savedConfig } = state;
  if (!capture || !config || !loadedConfig || !savedConfig || !state.captureOrigin) return null;
  return {
    version: 1,
    capture: { path: capture.path, hash: capture.hash, fileName: capture.fileName, demo: state.captureOrigin === 'demo' },
    config,
    loadedConfig,
    savedConfig,
    searched: state.searched,
    tunedKeys: state.tunedKeys,
    undoStack: state.undoStack.slice(-SAVED_EDITS),
    redoStack: state.redoStack.slice(-SAVED_EDITS),
    focus: state.focus,
    selection: state.selection,
    view: state.view,
    kernelBlock: state.kernelBlock,
    headSort: state.headSort,
    headFilter: state.headFilter,
    methodOverrides: state.methodOverrides,
  };
}

/** The saved session, or null when there is none or it cannot be read (an older or damaged one). */
export function readSession(storage: Pick<Storage, 'getItem'> | undefined): SavedSession | null {
  const text = storage?.getItem(SESSION_KEY);
  if (!text) return null;
  try {
    const parsed = SavedSession.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The fields whose change is worth a write; numbers and notices change often and are not kept. */
function keptFields(state: AppState): unknown[] {
  return [state.capture, state.config, state.loadedConfig, state.savedConfig, state.searched, state.tunedKeys, state.undoStack, state.redoStack, state.focus, state.selection, state.view, state.kernelBlock, state.headSort, state.headFilter, state.methodOverrides];
}

/**
 * Write the session whenever a kept field changes (a synchronous write, so a reload right after an
 * edit keeps it). A full storage is told once; the page goes on without saving.
 */
export function persistSession(store: AppStore, storage: Pick<Storage, 'setItem'>): () => void {
  let last = keptFields(store.getState());
  let warned = false;
  const save = (state: AppState & AppActions) => {
    const session = sessionOf(state);
    if (!session) return;
    try {
      storage.setItem(SESSION_KEY, JSON.stringify(session));
    } catch (error) {
      if (!warned) state.reportError(error, 'keeping this session for the next reload');
      warned = true;
    }
  };
  save(store.getState());
  return store.subscribe((state) => {
    const fields = keptFields(state);
    if (fields.every((field, i) => field === last[i])) return;
    last = fields;
    save(state);
  });
}

/** Whether the config holds edits that no file has yet (not exported since it was loaded). */
export function hasUnsavedEdits(state: Pick<AppState, 'config' | 'savedConfig'>): boolean {
  return !!state.config && !!state.savedConfig && diffConfigs(state.savedConfig, state.config).length > 0;
}

/**
 * Ask before the page goes away with unsaved edits: the browser shows its own "leave site?"
 * prompt; in the desktop app the shell asks (will-prevent-unload in electron/main/shell.ts).
 */
export function guardUnload(target: Pick<Window, 'addEventListener' | 'removeEventListener'>, store: AppStore): () => void {
  const onBeforeUnload = (event: BeforeUnloadEvent) => {
    if (!hasUnsavedEdits(store.getState())) return;
    event.preventDefault();
    event.returnValue = ''; // what older Chromium (and Electron) look for
  };
  target.addEventListener('beforeunload', onBeforeUnload);
  return () => target.removeEventListener('beforeunload', onBeforeUnload);
}
