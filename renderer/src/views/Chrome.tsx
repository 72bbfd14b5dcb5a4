/** The app's frame: status bar, notices, help overlay and the error boundary. */
import { Component, useEffect, type ErrorInfo, type ReactNode } from 'react';
import type { ConnectionState } from '../../../contract/api';
import { buildLabel, type BuildInfo } from '../../../contract/build-info';
import { useApp } from '../state/context';
import { isActive, VIEWS } from '../state/store';
import { fmtBytes } from './format';
import { Modal } from './Modal';

const CONNECTION_LABELS: Record<ConnectionState, { text: string; title: string }> = {
  connecting: { text: 'connecting…', title: 'Opening the job event stream of `sparsescope serve`.' },
  connected: { text: 'connected', title: 'Job progress streams live from `sparsescope serve`.' },
  reconnecting: { text: 'reconnecting…', title: 'The job event stream dropped; job states catch up once it is back. Greyed numbers may be out of date.' },
  disconnected: { text: 'disconnected, retrying', title: 'No answer from `sparsescope serve` for a while: is it still running, and the SSH tunnel up? Greyed numbers may be out of date.' },
};

/** Whether numbers on screen may be out of date: the event stream that updates them is down. */
export function isStale(connection: ConnectionState | null): boolean {
  return connection === 'reconnecting' || connection === 'disconnected';
}

/** The job event stream under `serve`; nothing in Electron, where the engine is part of the app. */
export function ConnectionStatus() {
  const connection = useApp((s) => s.connection);
  const stale = isStale(connection);
  // On the root element, like the theme, so every view's numbers grey out (styles.css).
  useEffect(() => {
    if (stale) document.documentElement.dataset.stale = 'true';
    else delete document.documentElement.dataset.stale;
  }, [stale]);
  if (!connection) return null;
  const { text, title } = CONNECTION_LABELS[connection];
  return (
    <span className={`connection connection-${connection}`} role="status" title={title} data-testid="status-connection" data-state={connection}>
      {text}
    </span>
  );
}

export function StatusBar() {
  const device = useApp((s) => s.device);
  const capture = useApp((s) => s.capture);
  const jobs = useApp((s) => s.jobs);
  const gpus = device?.cuda.available ? device.cuda.devices : [];
  const gpu = gpus[0];
  const backend = device ? (device.defaultBackend === 'cuda' && gpu ? `CUDA · ${gpus.length > 1 ? `${gpus.length} GPUs · ` : ''}${gpu.name}` : `CPU · ${device.cpu.model} (${device.cpu.threads} threads)`) : 'connecting…';
  const memoryOf = (card: NonNullable<typeof gpu>) => `${fmtBytes(card.totalMemoryBytes - card.freeMemoryBytes)} / ${fmtBytes(card.totalMemoryBytes)}`;
  const memory = gpu ? `${memoryOf(gpu)} GPU memory${gpus.length > 1 ? ` (GPU 0 of ${gpus.length})` : ''}` : device ? 'no GPU' : '';
  // Every GPU with its memory, and the workers jobs are sharded over.
  const gpuList = [...gpus.map((card) => `GPU ${card.index} · ${card.name} · ${memoryOf(card)}`), ...(device?.workers?.length ? [`jobs run on: ${device.workers.map((worker) => worker.label).join(', ')}`] : [])].join('\n');
  const active = Object.values(jobs).filter(isActive);
  return (
    <footer className="status-bar" data-testid="status-bar">
      <ConnectionStatus />
      <span title={gpuList ? `Backend the engine uses for \`auto\`\n${gpuList}` : 'Backend the engine uses for `auto`'} data-testid="status-backend">
        {backend}
      </span>
      <span title={device?.cuda.reason ?? gpuList}>{memory}</span>
      <span className="truncate" title={capture?.path}>
        {capture ? `${capture.fileName} · ${capture.seqLen.toLocaleString()} tokens · ${capture.dtype}` : 'no capture'}
      </span>
      <span className="status-jobs" data-testid="status-jobs">
        {active.length === 0 ? 'idle' : active.map((j) => `${j.kind} ${(j.progress * 100).toFixed(0)}%`).join(' · ')}
      </span>
      <span className="muted">{device ? `engine ${device.engineVersion} · ${device.host}` : ''}</span>
    </footer>
  );
}

export function Notices() {
  const notices = useApp((s) => s.notices);
  const dismiss = useApp((s) => s.dismissNotice);
  // The container stays in the page even when empty: it is a row of the app's grid.
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice notice-${n.level}`} role={n.level === 'error' ? 'alert' : 'status'} data-testid={`notice-${n.level}`}>
          <span>{n.message}</span>
          <button type="button" className="link" onClick={() => dismiss(n.id)} aria-label="Dismiss">
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}

const SHORTCUTS: [string, string][] = [
  ...VIEWS.map((v): [string, string] => [v.key, `${v.label} view`]),
  ['[ / ]', 'previous / next head'],
  ['L', 'linear / log colour scale'],
  ['M', 'mask overlay on / off'],
  ['Scroll, drag', 'zoom and pan the map; double-click resets'],
  ['Ctrl+Z / Ctrl+Shift+Z', 'undo / redo a config edit (from any control but a text field)'],
  ['T', 'cycle theme: system, light, dark'],
  ['?', 'this help'],
  ['Esc', 'close dialogs'],
];

/** dist/build-info.json, put into the bundle by vite.config.ts (and by vitest.config.ts in tests). */
declare const __SPARSESCOPE_BUILD__: BuildInfo;

export function HelpOverlay() {
  const open = useApp((s) => s.helpOpen);
  const toggle = useApp((s) => s.toggleHelp);
  if (!open) return null;
  return (
    <Modal onClose={() => toggle(false)} labelledBy="help-title" testId="help">
      <header className="panel-head">
        <h2 id="help-title">Keyboard shortcuts</h2>
        <button type="button" onClick={() => toggle(false)} aria-label="Close">
          ✕
        </button>
      </header>
      <table className="shortcuts">
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={keys}>
              <td>
                <kbd>{keys}</kbd>
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">
        Recall is the attention mass the pattern computes, averaged over query rows; density is the computed share of the causal entries. Heatmap cells are the attention mass per cell averaged over the
        cell's rows.
      </p>
      <p className="muted small" data-testid="build-info">
        {buildLabel(__SPARSESCOPE_BUILD__)}
      </p>
    </Modal>
  );
}

/** A render error shows what happened and a way back instead of a blank window. */
export class ErrorBoundary extends Component<{ children: ReactNode; label: string }, { error: Error | null }> {
  override state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo) {
    console.error(`${this.props.label} failed`, error, info.componentStack);
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="panel crash" role="alert">
        <h2>The {this.props.label} hit an error</h2>
        <pre>{this.state.error.message}</pre>
        <p className="muted">Your config and results are kept. Try again, or switch to another view.</p>
        <button type="button" onClick={() => this.setState({ error: null })}>
          Try again
        </button>
      </div>
    );
  }
}
