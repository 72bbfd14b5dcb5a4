// @vitest-environment jsdom
import { act } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../../renderer/src/views/App';
import { ErrorBoundary } from '../../../renderer/src/views/Chrome';
import { JobProgress } from '../../../renderer/src/views/common';
import { button, byTestId, click, mount, type Mounted } from '../dom.js';

function Boom(): never {
  throw new Error('pooled map has 3 cells for a 4x4 grid');
}

describe('app frame', () => {
  let mounted: Mounted;
  afterEach(() => {
    mounted?.unmount();
    vi.restoreAllMocks();
  });

  it('shows a render error with a way back instead of a blank view', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    mounted = await mount(
      <ErrorBoundary label="head view">
        <Boom />
      </ErrorBoundary>,
    );
    const alert = mounted.container.querySelector('[role=alert]')!;
    expect(alert.textContent).toContain('The head view hit an error');
    expect(alert.textContent).toContain('pooled map has 3 cells for a 4x4 grid');
    expect(button(mounted.container, 'Try again')).toBeTruthy();
  });

  it('switches views with number keys, opens help with ?, and shows engine errors as dismissable notices', async () => {
    mounted = await mount(<App />);
    const { container, store } = mounted;
    await act(async () => window.dispatchEvent(new KeyboardEvent('keydown', { key: '4' })));
    expect(store.getState().view).toBe('search');
    expect(byTestId(container, 'tab-search').getAttribute('aria-selected')).toBe('true');
    await act(async () => window.dispatchEvent(new KeyboardEvent('keydown', { key: '?' })));
    expect(byTestId(container, 'help').textContent).toContain('Keyboard shortcuts');
    expect(byTestId(container, 'build-info').textContent).toBe('Sparsescope 0.0.0-test, built 2026-01-02 03:04 UTC');
    await act(async () => window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' })));
    expect(container.querySelector('[data-testid=help]')).toBeNull();

    await act(async () => store.getState().reportError(new Error('capture is truncated at byte 1024'), 'opening x.safetensors'));
    const notice = byTestId(container, 'notice-error');
    expect(notice.textContent).toContain('Failed opening x.safetensors: capture is truncated at byte 1024');
    await click(notice.querySelector('button'));
    expect(container.querySelector('[data-testid=notice-error]')).toBeNull();
  });

  it('shows backend, device and job state in the status bar', async () => {
    mounted = await mount(<App />);
    const status = byTestId(mounted.container, 'status-bar');
    expect(status.textContent).toContain('CPU · Fake CPU (2 threads)');
    expect(byTestId(mounted.container, 'status-jobs').textContent).toBe('idle');
    await act(async () => mounted.store.getState().startJob({ kind: 'bench', captureId: 'cap-1' }));
    await act(async () => undefined);
    expect(byTestId(mounted.container, 'status-jobs').textContent).toBe('bench 10%');
  });

  it('lists every GPU and the workers jobs run on (issue 16)', async () => {
    mounted = await mount(<App />);
    const card = (index: number) => ({ index, name: 'NVIDIA H100', totalMemoryBytes: 80e9, freeMemoryBytes: 70e9, computeCapability: '9.0' });
    const workers = [0, 1].map((index) => ({ name: `gpu-${index}`, label: `GPU ${index} · NVIDIA H100`, cudaIndex: index }));
    await act(async () => mounted.store.setState({ device: { ...mounted.store.getState().device!, cuda: { available: true, devices: [card(0), card(1)] }, defaultBackend: 'cuda', workers } }));
    const backend = byTestId(mounted.container, 'status-backend');
    expect(backend.textContent).toBe('CUDA · 2 GPUs · NVIDIA H100');
    expect(backend.title.split('\n').slice(1)).toEqual(['GPU 0 · NVIDIA H100 · 9.3 GiB / 74.5 GiB', 'GPU 1 · NVIDIA H100 · 9.3 GiB / 74.5 GiB', 'jobs run on: GPU 0 · NVIDIA H100, GPU 1 · NVIDIA H100']);
  });

  it('shows a running job\'s part on each worker, and nothing of it once the job is done', async () => {
    const running = {
      jobId: 'job-1',
      kind: 'search' as const,
      state: 'running' as const,
      progress: 0.4,
      message: 'GPU 1 · H100: layer 5 head 2',
      etaSeconds: 30,
      workers: [
        { worker: 'GPU 0 · H100', shard: 'layer 4', progress: 0.25, shardsDone: 2 },
        { worker: 'GPU 1 · H100', shard: null, progress: 0, shardsDone: 3 },
      ],
    };
    mounted = await mount(<JobProgress job={running} />);
    const rows = [...mounted.container.querySelectorAll('[data-testid=job-worker]')];
    expect(rows.map((row) => row.textContent)).toEqual(['GPU 0 · H100layer 4 · 2 done', 'GPU 1 · H100idle · 3 done']);
    expect(rows[0]!.querySelector('progress')!.value).toBe(0.25);
    mounted.unmount();
    mounted = await mount(<JobProgress job={{ ...running, state: 'done', progress: 1 }} />);
    expect(mounted.container.querySelector('[data-testid=job-worker]')).toBeNull();
  });

  it('shows the event stream of serve as connected, reconnecting or disconnected, and nothing where it cannot drop', async () => {
    mounted = await mount(<App />);
    const { api, container, store } = mounted;
    const connection = () => container.querySelector('[data-testid=status-connection]');
    expect(connection()?.textContent).toBe('connected');
    await act(async () => api.disconnect());
    expect(connection()?.textContent).toBe('reconnecting…');
    expect(connection()?.getAttribute('data-state')).toBe('reconnecting');
    await act(async () => store.setState({ connection: 'disconnected' }));
    expect(connection()?.textContent).toBe('disconnected, retrying');
    expect(connection()?.getAttribute('title')).toMatch(/is it still running/);
    await act(async () => api.reconnect());
    expect(connection()?.textContent).toBe('connected');
    await act(async () => store.setState({ connection: null }));
    expect(connection()).toBeNull();
  });

  it('greys the numbers while the event stream is down, and only then (issue 12 item 8)', async () => {
    mounted = await mount(<App />);
    const stale = () => document.documentElement.dataset.stale;
    expect(stale()).toBeUndefined();
    await act(async () => mounted!.api.disconnect());
    expect(stale()).toBe('true');
    await act(async () => mounted!.store.setState({ connection: 'disconnected' }));
    expect(stale()).toBe('true');
    await act(async () => mounted!.api.reconnect());
    expect(stale()).toBeUndefined();
  });
});
