import type { EventEmitter } from 'node:events';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

const mocks = vi.hoisted(() => ({
  windows: [] as unknown[],
  ipcHandlers: new Map<string, (event: unknown, ...args: unknown[]) => Promise<unknown>>(),
  appEvents: new Map<string, (...args: unknown[]) => void>(),
  quit: vi.fn(),
  hasLock: true,
}));

vi.mock('electron', async () => {
  const { EventEmitter } = await import('node:events');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  class BrowserWindow extends EventEmitter {
    static fromWebContents = vi.fn(() => null);
    webContents = { send: vi.fn(), on: vi.fn() };
    loadFile = vi.fn(async () => {});
    loadURL = vi.fn(async () => {});
    show = vi.fn();
    focus = vi.fn();
    restore = vi.fn();
    isMinimized = () => false;
    isDestroyed = () => false;
    constructor(readonly options: unknown) {
      super();
      mocks.windows.push(this);
    }
  }
  return {
    app: {
      requestSingleInstanceLock: () => mocks.hasLock,
      quit: mocks.quit,
      whenReady: () => Promise.resolve(),
      on: (name: string, listener: (...args: unknown[]) => void) => mocks.appEvents.set(name, listener),
      getPath: () => mkdtempSync(join(tmpdir(), 'sparsescope-userdata-')),
    },
    BrowserWindow,
    session: { defaultSession: { setPermissionRequestHandler: vi.fn(), setPermissionCheckHandler: vi.fn(), webRequest: { onHeadersReceived: vi.fn() } } },
    ipcMain: {
      handle: (channel: string, handler: (event: unknown, ...args: unknown[]) => Promise<unknown>) => mocks.ipcHandlers.set(channel, handler),
      removeHandler: vi.fn(),
    },
    dialog: {},
    utilityProcess: { fork: vi.fn() },
  };
});

describe('Electron entry', () => {
  it('opens one locked-down window on the built renderer with the preload, and wires IPC', async () => {
    await import('../../../electron/main/main.js');
    await vi.waitFor(() => expect(mocks.windows).toHaveLength(1));
    const window = mocks.windows[0] as { options: { webPreferences: Record<string, unknown> }; loadFile: ReturnType<typeof vi.fn> };
    expect(window.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
    expect(String(window.options.webPreferences.preload)).toMatch(/electron\/preload\/preload\.cjs$/);
    expect(String(window.loadFile.mock.calls[0]![0])).toMatch(/renderer\/index\.html$/);
    expect([...mocks.ipcHandlers.keys()].sort()).toEqual(['sparsescope:call', 'sparsescope:dialog', 'sparsescope:dropped', 'sparsescope:remote']);
    expect([...mocks.appEvents.keys()]).toEqual(expect.arrayContaining(['web-contents-created', 'second-instance', 'window-all-closed', 'will-quit']));
    // Closing over unsaved edits asks first (shell.confirmUnsavedClose).
    expect((window as unknown as { webContents: { on: ReturnType<typeof vi.fn> } }).webContents.on).toHaveBeenCalledWith('will-prevent-unload', expect.any(Function));
    expect(mocks.quit).not.toHaveBeenCalled();
  });

  it('gives the engine no folder the user did not open: not home, not temp (issue 10)', async () => {
    await import('../../../electron/main/main.js');
    await vi.waitFor(() => expect(mocks.windows).toHaveLength(1));
    const main = mocks.windows[0] as { loadFile: ReturnType<typeof vi.fn> };
    const sender = { senderFrame: { url: pathToFileURL(String(main.loadFile.mock.calls[0]![0])).href, parent: null }, sender: {} };
    const call = mocks.ipcHandlers.get('sparsescope:call')!;
    for (const path of [join(homedir(), 'capture.safetensors'), join(tmpdir(), 'capture.safetensors')]) {
      expect(await call(sender, 'capture.open', { path })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    }
    expect(await call(sender, 'files.list', {})).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('opens a remote engine in a second window: its URL, no preload, shown when ready', async () => {
    await import('../../../electron/main/main.js');
    await vi.waitFor(() => expect(mocks.windows).toHaveLength(1));
    const main = mocks.windows[0] as { loadFile: ReturnType<typeof vi.fn> };
    const appUrl = pathToFileURL(String(main.loadFile.mock.calls[0]![0])).href;
    const remote = mocks.ipcHandlers.get('sparsescope:remote')!;
    const reply = await remote({ senderFrame: { url: appUrl, parent: null }, sender: {} }, 'http://127.0.0.1:7700/?token=t');
    expect(reply).toEqual({ ok: true, result: 'http://127.0.0.1:7700' });
    const window = mocks.windows[1] as EventEmitter & { options: { webPreferences: Record<string, unknown> }; loadURL: ReturnType<typeof vi.fn>; show: ReturnType<typeof vi.fn> };
    expect(window.loadURL).toHaveBeenCalledWith('http://127.0.0.1:7700/?token=t');
    expect(window.options.webPreferences).not.toHaveProperty('preload');
    expect(window.options.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true });
    window.emit('ready-to-show');
    expect(window.show).toHaveBeenCalled();
  });
});
