/**
 * The view slice of the app store: which view shows, the focused and selected heads, and how the
 * views that outlive a visit (overview list, grid colour, Methods edits, theme) were left.
 */
import type { HeadPattern, SearchMethod } from '../../../contract/api';
import { headKey, type HeadId } from './config';
import type { MethodOverrides } from './methods';
import type { GridColour, HeadFilter, HeadSort } from './overview';
import type { GetApp, SetApp } from './store';

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

export interface ViewState {
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
}

export interface ViewActions {
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
}

const THEME_KEY = 'sparsescope.theme';

function readStoredTheme(storage: Pick<Storage, 'getItem'> | undefined): ThemeChoice {
  const value = storage?.getItem(THEME_KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

/** A clicked head becomes the focus; with extendSelection it toggles in the selection instead of replacing it. */
function selectionAfterFocus(selection: string[], key: string, extend: boolean | undefined): string[] {
  if (!extend) return [key];
  return selection.includes(key) ? selection.filter((k) => k !== key) : [...selection, key];
}

export function viewSlice(storage: Pick<Storage, 'getItem' | 'setItem'> | undefined, set: SetApp, get: GetApp): ViewState & ViewActions {
  return {
    focus: { layer: 0, head: 0 },
    selection: [],
    kernelBlock: null,
    headSort: 'layer',
    headFilter: { pattern: 'all', layer: 'all' },
    gridColour: 'density',
    methodOverrides: {},
    view: 'overview',
    theme: readStoredTheme(storage),
    helpOpen: false,

    setView(view) {
      set({ view });
    },
    setTheme(theme) {
      storage?.setItem(THEME_KEY, theme);
      set({ theme });
    },
    toggleHelp(open) {
      set({ helpOpen: open ?? !get().helpOpen });
    },
    focusHead(head, focusOptions = {}) {
      const selection = selectionAfterFocus(get().selection, headKey(head.layer, head.head), focusOptions.extendSelection);
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
  };
}
