import { useEffect, type DragEvent } from 'react';
import { useApp, useAppStore } from '../state/context';
import { VIEWS, type ThemeChoice, type ViewName } from '../state/store';
import { BenchView } from './BenchView';
import { CompareView } from './CompareView';
import { ErrorBoundary, HelpOverlay, Notices, StatusBar } from './Chrome';
import { handleDroppedFile } from './drop';
import { isTextField, takesPlainKeys } from './keys';
import { FilesView } from './FilesView';
import { HeadView } from './HeadView';
import { KernelView } from './KernelView';
import { MethodsView } from './MethodsView';
import { OutputErrorView } from './OutputErrorView';
import { OverviewView } from './OverviewView';
import { SearchConfirm, SearchView } from './SearchView';
import { useResolvedTheme } from './theme';
import { TuneView } from './TuneView';

const VIEW_COMPONENTS: Record<ViewName, () => React.JSX.Element> = {
  overview: OverviewView,
  head: HeadView,
  tune: TuneView,
  search: SearchView,
  bench: BenchView,
  files: FilesView,
  kernel: KernelView,
  error: OutputErrorView,
  compare: CompareView,
  methods: MethodsView,
};

const THEME_CYCLE: ThemeChoice[] = ['system', 'light', 'dark'];

function useShortcuts() {
  const store = useAppStore();
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const state = store.getState();
      const mod = event.ctrlKey || event.metaKey;
      // Undo and redo of config edits wherever focus is (a slider, a select, a button), except in text fields.
      const key = event.key.toLowerCase();
      if (mod && !event.altKey && (key === 'z' || key === 'y')) {
        if (isTextField(event.target)) return;
        event.preventDefault();
        if (key === 'y' || event.shiftKey) state.redo();
        else state.undo();
        return;
      }
      if (mod || event.altKey || takesPlainKeys(event.target)) return;
      const view = VIEWS.find((v) => v.key === event.key);
      if (view) state.setView(view.name);
      else if (event.key === '?') state.toggleHelp();
      else if (event.key === 't') state.setTheme(THEME_CYCLE[(THEME_CYCLE.indexOf(state.theme) + 1) % THEME_CYCLE.length]!);
      else if ((event.key === '[' || event.key === ']') && state.capture) {
        const { layers, numHeads } = state.capture;
        const total = layers.length * numHeads;
        const flat = layers.indexOf(state.focus.layer) * numHeads + state.focus.head + (event.key === ']' ? 1 : -1);
        const index = ((flat % total) + total) % total;
        state.focusHead({ layer: layers[Math.floor(index / numHeads)]!, head: index % numHeads });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);
}

export function App() {
  const view = useApp((s) => s.view);
  const setView = useApp((s) => s.setView);
  const themeChoice = useApp((s) => s.theme);
  const setTheme = useApp((s) => s.setTheme);
  const toggleHelp = useApp((s) => s.toggleHelp);
  const opening = useApp((s) => s.opening);
  const undoCount = useApp((s) => s.undoStack.length);
  const store = useAppStore();
  const theme = useResolvedTheme(themeChoice);
  useShortcuts();

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) void handleDroppedFile(file, store.getState());
  };
  const ActiveView = VIEW_COMPONENTS[view];

  return (
    <div className="app" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
      <header className="top-bar">
        <div className="brand" title="Sparsescope">
          <span className="logo" aria-hidden="true" />
          <span className="brand-name">Sparsescope</span>
        </div>
        <nav className="tabs" role="tablist">
          {VIEWS.map((v) => (
            <button key={v.name} type="button" role="tab" aria-selected={view === v.name} className={view === v.name ? 'tab active' : 'tab'} onClick={() => setView(v.name)} title={`${v.label} (${v.key})`} data-testid={`tab-${v.name}`}>
              {v.label}
              {v.name === 'tune' && undoCount > 0 ? <span className="badge">{undoCount}</span> : null}
            </button>
          ))}
        </nav>
        <div className="top-actions">
          {opening && <span className="muted">opening…</span>}
          <label className="theme-pick">
            <span className="label-text">Theme</span>
            <select value={themeChoice} onChange={(e) => setTheme(e.target.value as ThemeChoice)} data-testid="theme">
              <option value="system">system</option>
              <option value="light">light</option>
              <option value="dark">dark</option>
            </select>
          </label>
          <button type="button" onClick={() => toggleHelp()} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">
            ?
          </button>
        </div>
      </header>
      <Notices />
      <main className="workspace" data-view={view}>
        <ErrorBoundary key={view} label={`${view} view`}>
          <ActiveView />
        </ErrorBoundary>
      </main>
      <StatusBar />
      <HelpOverlay />
      <SearchConfirm />
    </div>
  );
}
