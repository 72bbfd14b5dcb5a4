/**
 * The capture slice of the app store: the engine's device and the open capture. Opening one
 * (the sample, the demo, a file, or the last session's) resets everything measured on the
 * previous one.
 */
import { ApiError, type Api, type CaptureSummary, type DeviceInfo, type SearchSettings } from '../../../contract/api';
import { defaultConfig, diffConfigs, headKey } from './config';
import { freshEdits } from './edits';
import { isActive } from './jobs';
import { errorMessage } from './notices';
import type { SavedSession } from './session';
import type { AppState, AppStore, GetApp, SetApp } from './store';
import { VIEWS } from './view';

export interface CaptureState {
  device: DeviceInfo | null;
  capture: CaptureSummary | null;
  /** Whether the capture is the generated demo (reopened as such after a reload) or a file. */
  captureOrigin: 'demo' | 'file' | null;
  opening: boolean;
}

export interface CaptureActions {
  openDemo(): Promise<void>;
  /** The first screen: the real capture the app ships, searched to FIRST_SCREEN_SEARCH. */
  openSample(): Promise<void>;
  openCapture(path: string): Promise<void>;
}

/**
 * The first screen's search: MInference's default config computes every entry of the 2,048-token
 * sample (recall 1 everywhere); each head's cheapest pattern keeping 95% of its mass teaches more,
 * and takes seconds on the CPU at this length.
 */
export const FIRST_SCREEN_SEARCH: SearchSettings = { mode: 'target-recall', targetRecall: 0.95, sampling: { mode: 'sampled', rows: 512, seed: 0 } };

/** A newly opened capture with its default config (or a restored session's), clean of the previous capture's errors and results. */
function applyCapture(capture: CaptureSummary, origin: 'demo' | 'file', set: SetApp, get: GetApp, restored: Partial<AppState> | null = null): void {
  const firstLayer = capture.layers[0] ?? 0;
  const running = Object.fromEntries(Object.entries(get().jobs).filter(([, job]) => isActive(job)));
  get().clearErrors();
  set({
    capture,
    captureOrigin: origin,
    ...freshEdits(defaultConfig(capture)),
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

/** The saved session's config, edits and view laid over a freshly opened capture; null if its shape no longer fits. */
function restoredState(saved: SavedSession, capture: CaptureSummary): Partial<AppState> | null {
  const fits = (config: SavedSession['config']) => config.numLayers === capture.numLayers && config.numHeads === capture.numHeads;
  if (![saved.config, saved.loadedConfig, saved.savedConfig, ...(saved.searched ? [saved.searched.config] : [])].every(fits)) return null;
  const view = VIEWS.find((v) => v.name === saved.view)?.name ?? 'overview';
  const focus = capture.layers.includes(saved.focus.layer) && saved.focus.head < capture.numHeads ? saved.focus : { layer: capture.layers[0] ?? 0, head: 0 };
  const { config, loadedConfig, savedConfig, searched, tunedKeys, undoStack, redoStack, selection, kernelBlock, headSort, headFilter, methodOverrides } = saved;
  return { config, loadedConfig, savedConfig, searched, tunedKeys, undoStack, redoStack, focus, selection, view, kernelBlock, headSort, headFilter, methodOverrides };
}

/**
 * Reopen the capture of the last session through the engine and lay its work over it. A file
 * that is gone or changed (another identity) starts clean, saying why.
 */
export async function restoreSession(api: Api, saved: SavedSession, set: SetApp, get: GetApp): Promise<void> {
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
  const origin = ref.demo ? 'demo' : 'file';
  if (capture.hash !== ref.hash) {
    applyCapture(capture, origin, set, get);
    get().notify('error', `${ref.fileName} changed since your last session; its config and edits were not restored.`);
    return;
  }
  const restored = restoredState(saved, capture);
  applyCapture(capture, origin, set, get, restored);
  if (!restored) get().notify('error', `The saved config no longer fits ${capture.fileName}; started clean.`);
  else if (saved.undoStack.length > 0 || saved.searched) {
    const changed = diffConfigs(saved.loadedConfig, saved.config).length;
    const edits = saved.undoStack.length;
    get().notify('info', `Restored your session on ${capture.fileName}: ${changed} head${changed === 1 ? '' : 's'} changed, ${edits} edit${edits === 1 ? '' : 's'} to undo.`);
  }
}

/**
 * The first screen's search is the app's doing, not the user's: its config is nothing to save
 * (closing the app must not ask), unless the user tuned a head meanwhile.
 */
function saveFirstScreenSearch(store: AppStore, captureId: string): void {
  const unsubscribe = store.subscribe((state, previous) => {
    if (state.capture?.captureId !== captureId) unsubscribe();
    else if (state.searched && !previous.searched) {
      unsubscribe();
      if (state.config && state.tunedKeys.length === 0) state.markConfigSaved(state.config);
    }
  });
}

export function captureSlice(api: Api, store: AppStore, set: SetApp, get: GetApp): CaptureState & CaptureActions {
  return {
    device: null,
    capture: null,
    captureOrigin: null,
    opening: false,

    async openDemo() {
      set({ opening: true });
      try {
        applyCapture(await api.call('capture.openDemo', {}), 'demo', set, get);
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
      applyCapture(capture, 'file', set, get);
      saveFirstScreenSearch(store, capture.captureId);
      await get().startJob({ kind: 'search', captureId: capture.captureId, settings: FIRST_SCREEN_SEARCH });
    },

    async openCapture(path) {
      set({ opening: true });
      try {
        const previous = get().capture;
        const capture = await api.call('capture.open', { path });
        applyCapture(capture, 'file', set, get);
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
  };
}
