// @vitest-environment jsdom
import { act } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../../renderer/src/views/App';
import { ErrorBoundary } from '../../../renderer/src/views/Chrome';
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
