import { describe, expect, it, vi } from 'vitest';

const mocks = vi.hoisted(() => ({
  windows: [] as unknown[],
  ipcChannels: [] as string[],
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
    webContents = { send: vi.fn() };
    loadFile = vi.fn(async () => {});
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
    ipcMain: { handle: (channel: string) => mocks.ipcChannels.push(channel), removeHandler: vi.fn() },
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
    expect(mocks.ipcChannels.sort()).toEqual(['sparsescope:call', 'sparsescope:dialog']);
    expect([...mocks.appEvents.keys()]).toEqual(expect.arrayContaining(['web-contents-created', 'second-instance', 'window-all-closed', 'will-quit']));
    expect(mocks.quit).not.toHaveBeenCalled();
  });
});
