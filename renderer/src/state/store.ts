/**
 * The app state (zustand, vanilla so tests drive it without React). Everything the views share
 * lives here, composed of slices: the open capture (capture.ts), the working head config with
 * undo/redo and its numbers (edits.ts), the engine's jobs (jobs.ts) and what they brought
 * (results.ts), view and selection (view.ts), notices (notices.ts) and a second config to compare
 * (comparison.ts); what survives a reload is kept by session.ts. Views keep only their own
 * transient state (zoom, hover, drafts).
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { Api } from '../../../contract/api';
import { captureSlice, restoreSession, type CaptureActions, type CaptureState } from './capture';
import { comparisonSlice, type ComparisonActions, type ComparisonState } from './comparison';
import { editsSlice, type EditsActions, type EditsState } from './edits';
import { followEngine, jobsSlice, newJobTracking, type JobsActions, type JobsState } from './jobs';
import { noticesSlice, type NoticesActions, type NoticesState } from './notices';
import { resultsSlice, type ResultsActions, type ResultsState } from './results';
import { persistSession, readSession } from './session';
import { viewSlice, type ViewActions, type ViewState } from './view';

export { FIRST_SCREEN_SEARCH } from './capture';
export { isActive, type JobKind } from './jobs';
export { errorMessage, type Notice } from './notices';
export type { PendingSearch } from './results';
export { VIEWS, type ThemeChoice, type ViewName } from './view';

export interface AppState extends NoticesState, ComparisonState, CaptureState, EditsState, JobsState, ResultsState, ViewState {}

export interface AppActions extends NoticesActions, ComparisonActions, CaptureActions, EditsActions, JobsActions, ResultsActions, ViewActions {
  init(): Promise<void>;
}

export type AppStore = StoreApi<AppState & AppActions>;

/** What every slice gets: set and get over the whole store, since slices act on each other (opening a capture resets the config). */
export type SetApp = (partial: Partial<AppState>) => void;
export type GetApp = () => AppState & AppActions;

export interface StoreOptions {
  /** Where the theme and the session are kept across reloads (localStorage in the app). */
  storage?: Pick<Storage, 'getItem' | 'setItem'>;
}

export function createAppStore(api: Api, options: StoreOptions = {}): AppStore {
  const tracking = newJobTracking();
  return createStore<AppState & AppActions>()((set, get, store) => ({
    ...noticesSlice(set, get),
    ...comparisonSlice(api, set, get),
    ...captureSlice(api, store, set, get),
    ...editsSlice(api, set, get),
    ...jobsSlice(api, tracking, set, get),
    ...resultsSlice(set, get),
    ...viewSlice(options.storage, set, get),

    async init() {
      followEngine(api, tracking, set, get);
      const device = api.call('device.info', {}).then(
        (info) => set({ device: info }),
        (error: unknown) => get().reportError(error, 'reading the engine\'s device'),
      );
      const saved = readSession(options.storage);
      await Promise.all([device, saved ? restoreSession(api, saved, set, get) : get().openSample()]);
      // Saving starts once the last session is restored, so it never overwrites it with an empty one.
      if (options.storage) persistSession(store, options.storage);
    },
  }));
}
