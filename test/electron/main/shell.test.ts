import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../../contract/api.js';
import { appCsp } from '../../../contract/csp.js';
import type { Engine } from '../../../electron/engine/handlers.js';
import type { FromWorker } from '../../../electron/engine/jobs/protocol.js';

const electron = vi.hoisted(() => ({
  ipcHandlers: new Map<string, (event: unknown, ...args: unknown[]) => Promise<unknown>>(),
  showOpenDialog: vi.fn(),
  showSaveDialog: vi.fn(),
  showMessageBoxSync: vi.fn(),
  fork: vi.fn(),
}));

vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, handler: (event: unknown, ...args: unknown[]) => Promise<unknown>) => electron.ipcHandlers.set(channel, handler),
    removeHandler: (channel: string) => electron.ipcHandlers.delete(channel),
  },
  dialog: { showOpenDialog: electron.showOpenDialog, showSaveDialog: electron.showSaveDialog, showMessageBoxSync: electron.showMessageBoxSync },
  utilityProcess: { fork: electron.fork },
}));

const shell = await import('../../../electron/main/shell.js');

const APP_INDEX = '/opt/sparsescope/dist/renderer/index.html';
const APP_URL = pathToFileURL(APP_INDEX).href;

function ipcEvent(url: string, parent: unknown = null) {
  return { senderFrame: { url, parent }, sender: {} };
}

function fakeEngine() {
  const calls: [string, unknown][] = [];
  const granted: [string, string][] = [];
  const handlers = new Proxy(
    {},
    {
      get: (_target, method: string) => async (params: unknown) => {
        calls.push([method, params]);
        if (method === 'capture.close') throw new ApiError('no open capture "x"', 'not-found');
        if (method === 'job.cancel') throw new Error('boom');
        return { method };
      },
    },
  );
  const engine = { handlers, onJobEvent: vi.fn(), grantPath: (path: string, access: string) => granted.push([path, access]), dispose: vi.fn() } as unknown as Engine;
  return { engine, calls, granted };
}

beforeEach(() => {
  electron.ipcHandlers.clear();
  vi.clearAllMocks();
});

describe('window and web contents', () => {
  it('keeps every Electron security default on', () => {
    const options = shell.windowOptions('/app/preload.cjs');
    expect(options.webPreferences).toMatchObject({
      preload: '/app/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('denies navigation, redirects, webviews and new windows', () => {
    const contents = Object.assign(new EventEmitter(), { setWindowOpenHandler: vi.fn() });
    shell.lockDownContents(contents as never);
    for (const name of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      const event = { preventDefault: vi.fn() };
      contents.emit(name, event, 'https://evil.example/');
      expect(event.preventDefault, name).toHaveBeenCalled();
    }
    const openHandler = contents.setWindowOpenHandler.mock.calls[0]![0] as (details: unknown) => unknown;
    expect(openHandler({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
  });

  it('denies permissions, sets the CSP on the app\'s files and leaves a remote engine\'s own', () => {
    const session = { setPermissionRequestHandler: vi.fn(), setPermissionCheckHandler: vi.fn(), webRequest: { onHeadersReceived: vi.fn() } };
    shell.lockDownSession(session as never);
    const callback = vi.fn();
    session.setPermissionRequestHandler.mock.calls[0]![0]({}, 'media', callback);
    expect(callback).toHaveBeenCalledWith(false);
    expect(session.setPermissionCheckHandler.mock.calls[0]![0]()).toBe(false);
    const headersCallback = vi.fn();
    const onHeaders = session.webRequest.onHeadersReceived.mock.calls[0]![0];
    onHeaders({ url: APP_URL, responseHeaders: { 'X-Other': ['1'] } }, headersCallback);
    const headers = headersCallback.mock.calls[0]![0].responseHeaders;
    expect(headers['X-Other']).toEqual(['1']);
    expect(headers['Content-Security-Policy']).toEqual([appCsp()]);
    const served = { 'Content-Security-Policy': ["default-src 'self'; connect-src 'self' ws://127.0.0.1:7700"] };
    onHeaders({ url: 'http://127.0.0.1:7700/?token=t', responseHeaders: served }, headersCallback);
    expect(headersCallback.mock.calls[1]![0].responseHeaders).toEqual(served);
  });

  it('keeps the default session, so the page\'s saved work survives a restart', () => {
    expect(shell.windowOptions('/app/preload.cjs').webPreferences).not.toHaveProperty('partition');
  });

  it('asks before closing over unsaved edits: Leave overrules the page, Stay keeps it open', () => {
    const contents = new EventEmitter();
    const window = { webContents: contents } as unknown as Parameters<typeof shell.confirmUnsavedClose>[0];
    shell.confirmUnsavedClose(window);
    for (const [button, closes] of [[0, true], [1, false]] as const) {
      electron.showMessageBoxSync.mockReturnValueOnce(button);
      const event = { preventDefault: vi.fn() };
      contents.emit('will-prevent-unload', event);
      expect(electron.showMessageBoxSync).toHaveBeenLastCalledWith(window, expect.objectContaining({ buttons: ['Leave', 'Stay'], cancelId: 1, message: expect.stringMatching(/edits that no exported file has/) }));
      expect(event.preventDefault).toHaveBeenCalledTimes(closes ? 1 : 0);
    }
  });

  it('recognises only our own page as the app', () => {
    expect(shell.isAppUrl(APP_URL, APP_INDEX)).toBe(true);
    expect(shell.isAppUrl(`${APP_URL}#/head/0/1`, APP_INDEX)).toBe(true);
    expect(shell.isAppUrl('file:///tmp/evil.html', APP_INDEX)).toBe(false);
    expect(shell.isAppUrl('https://evil.example/opt/sparsescope/dist/renderer/index.html', APP_INDEX)).toBe(false);
    expect(shell.isAppUrl('not a url', APP_INDEX)).toBe(false);
  });
});

describe('remote engine windows', () => {
  it('accepts the URL serve printed, on this machine, and drops its fragment', () => {
    expect(shell.remoteEngineUrl(' http://127.0.0.1:7700/?token=abc#/head/0/1 ').href).toBe('http://127.0.0.1:7700/?token=abc');
    expect(shell.remoteEngineUrl('http://localhost:8000/?token=x').host).toBe('localhost:8000');
    expect(shell.remoteEngineUrl('https://[::1]:7700/?token=x').hostname).toBe('[::1]');
  });

  it('refuses other machines, other schemes, other pages and a missing token, saying what to do', () => {
    expect(() => shell.remoteEngineUrl('http://gpu-server:7700/?token=x')).toThrow(/gpu-server is not this machine; forward the server's port first \(ssh -L/);
    expect(() => shell.remoteEngineUrl('http://10.0.0.7:7700/?token=x')).toThrow(/not this machine/);
    expect(() => shell.remoteEngineUrl('file:///etc/passwd?token=x')).toThrow(/file: URLs are not engines/);
    expect(() => shell.remoteEngineUrl('javascript:alert(1)')).toThrow(/javascript: URLs are not engines/);
    expect(() => shell.remoteEngineUrl('http://127.0.0.1:7700/api/files.list?token=x')).toThrow(/root page/);
    expect(() => shell.remoteEngineUrl('http://127.0.0.1:7700/')).toThrow(/no token/);
    expect(() => shell.remoteEngineUrl('127.0.0.1:7700')).toThrow(/127\.0\.0\.1: URLs are not engines|paste the whole URL/);
    expect(() => shell.remoteEngineUrl(undefined)).toThrow(/paste the whole URL/);
  });

  it('opens remote windows sandboxed and without the preload', () => {
    const options = shell.remoteWindowOptions(new URL('http://127.0.0.1:7700/?token=x'));
    expect(options.title).toBe('Sparsescope — engine at 127.0.0.1:7700');
    expect(options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    expect(options.webPreferences).not.toHaveProperty('preload');
  });

  it('opens a window for our page only, on a checked URL, and replies its origin', async () => {
    const { engine } = fakeEngine();
    const openRemote = vi.fn();
    shell.registerIpc(engine, APP_INDEX, () => null, openRemote);
    const remote = electron.ipcHandlers.get('sparsescope:remote')!;
    expect(await remote(ipcEvent(APP_URL), 'http://127.0.0.1:7700/?token=abc')).toEqual({ ok: true, result: 'http://127.0.0.1:7700' });
    expect(String(openRemote.mock.calls[0]![0])).toBe('http://127.0.0.1:7700/?token=abc');
    expect(await remote(ipcEvent(APP_URL), 'http://evil.example/?token=abc')).toMatchObject({ ok: false, error: { code: 'bad-request', message: /not this machine/ } });
    expect(await remote(ipcEvent('https://evil.example/'), 'http://127.0.0.1:7700/?token=abc')).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(openRemote).toHaveBeenCalledTimes(1);
  });
});

describe('IPC bridge', () => {
  it('validates calls from our page and returns the result', async () => {
    const { engine, calls } = fakeEngine();
    shell.registerIpc(engine, APP_INDEX, () => null, vi.fn());
    const call = electron.ipcHandlers.get('sparsescope:call')!;
    expect(await call(ipcEvent(APP_URL), 'files.list', { dir: '/data' })).toEqual({ ok: true, result: { method: 'files.list' } });
    expect(calls).toEqual([['files.list', { dir: '/data' }]]);
    // Defaults of the schema are applied before the engine sees the params.
    await call(ipcEvent(APP_URL), 'head.pooledMap', { captureId: 'c', layer: 0, head: 0, resolution: 64 });
    expect(calls[1]![1]).toMatchObject({ sampling: { mode: 'sampled', rows: 1024, seed: 0 }, backend: 'auto' });
    expect(await call(ipcEvent(APP_URL), 'capture.tokens', { captureId: 'c', start: 0, end: 16 })).toEqual({ ok: true, result: { method: 'capture.tokens' } });
    expect(calls[2]).toEqual(['capture.tokens', { captureId: 'c', start: 0, end: 16 }]);
  });

  it('refuses other senders, subframes, bad params and unknown methods without calling the engine', async () => {
    const { engine, calls } = fakeEngine();
    shell.registerIpc(engine, APP_INDEX, () => null, vi.fn());
    const call = electron.ipcHandlers.get('sparsescope:call')!;
    expect(await call(ipcEvent('https://evil.example/'), 'files.list', {})).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await call(ipcEvent(APP_URL, { url: APP_URL }), 'files.list', {})).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await call({ senderFrame: null }, 'files.list', {})).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await call(ipcEvent(APP_URL), 'head.mask', { captureId: 'c', layer: -1 })).toMatchObject({
      ok: false,
      error: { code: 'bad-request', message: expect.stringMatching(/^head\.mask: layer: /) },
    });
    expect(await call(ipcEvent(APP_URL), 'capture.tokens', { captureId: 'c', start: 0, end: 5000 })).toMatchObject({ ok: false, error: { code: 'bad-request', message: 'capture.tokens: end: at most 4096 tokens per call' } });
    expect(await call(ipcEvent(APP_URL), 'shell.exec', {})).toMatchObject({ ok: false, error: { message: 'unknown method "shell.exec"' } });
    expect(calls).toEqual([]);
  });

  it('passes engine error codes through and reports other errors as internal', async () => {
    const { engine } = fakeEngine();
    shell.registerIpc(engine, APP_INDEX, () => null, vi.fn());
    const call = electron.ipcHandlers.get('sparsescope:call')!;
    expect(await call(ipcEvent(APP_URL), 'capture.close', { captureId: 'x' })).toEqual({ ok: false, error: { message: 'no open capture "x"', code: 'not-found' } });
    expect(await call(ipcEvent(APP_URL), 'job.cancel', { jobId: 'j' })).toEqual({ ok: false, error: { message: 'boom', code: 'internal' } });
  });

  it('opens native dialogs for our page only: the engine may open the file picked, or save once to the path picked', async () => {
    const { engine, granted } = fakeEngine();
    const unregister = shell.registerIpc(engine, APP_INDEX, () => null, vi.fn());
    const openDialog = electron.ipcHandlers.get('sparsescope:dialog')!;
    electron.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: ['/mnt/data/big.safetensors'] });
    const options = { title: 'Open capture', filters: [{ name: 'Captures', extensions: ['safetensors'] }] };
    expect(await openDialog(ipcEvent(APP_URL), options)).toBe('/mnt/data/big.safetensors');
    expect(electron.showOpenDialog.mock.calls[0]![0]).toMatchObject({ title: 'Open capture', properties: ['openFile'] });
    expect(granted).toEqual([['/mnt/data/big.safetensors', 'open']]);

    electron.showSaveDialog.mockResolvedValueOnce({ canceled: true, filePath: '' });
    expect(await openDialog(ipcEvent(APP_URL), { ...options, save: true })).toBeNull();
    electron.showSaveDialog.mockResolvedValueOnce({ canceled: false, filePath: '/mnt/data/cfg.json' });
    expect(await openDialog(ipcEvent(APP_URL), { ...options, save: true })).toBe('/mnt/data/cfg.json');
    await expect(openDialog(ipcEvent('https://evil.example/'), options)).rejects.toThrow(/not the Sparsescope page/);
    await expect(openDialog(ipcEvent(APP_URL), { title: 7 })).rejects.toThrow(/file dialog: title/);
    expect(granted).toEqual([['/mnt/data/big.safetensors', 'open'], ['/mnt/data/cfg.json', 'save']]);

    unregister();
    expect(electron.ipcHandlers.size).toBe(0);
  });

  it('lets the engine open a file dropped on our page, and nothing from other senders or odd paths', async () => {
    const { engine, granted } = fakeEngine();
    shell.registerIpc(engine, APP_INDEX, () => null, vi.fn());
    const dropped = electron.ipcHandlers.get('sparsescope:dropped')!;
    await dropped(ipcEvent(APP_URL), '/mnt/data/big.safetensors');
    await expect(dropped(ipcEvent('https://evil.example/'), '/etc/passwd')).rejects.toThrow(/not the Sparsescope page/);
    await expect(dropped(ipcEvent(APP_URL), 'relative/x')).rejects.toThrow(/not an absolute path/);
    await expect(dropped(ipcEvent(APP_URL), { path: '/x' })).rejects.toThrow(/not an absolute path/);
    expect(granted).toEqual([['/mnt/data/big.safetensors', 'open']]);
  });

  it('forwards job events to a live window only', () => {
    let listener: ((event: unknown) => void) | undefined;
    const engine = { onJobEvent: (l: (event: unknown) => void) => ((listener = l), () => {}) } as unknown as Engine;
    const window = { isDestroyed: vi.fn(() => false), webContents: { send: vi.fn() } };
    shell.forwardJobEvents(engine, window as never);
    listener!({ jobId: 'job-1' });
    window.isDestroyed.mockReturnValue(true);
    listener!({ jobId: 'job-2' });
    expect(window.webContents.send.mock.calls).toEqual([['sparsescope:job', { jobId: 'job-1' }]]);
  });
});

describe('utility process spawner', () => {
  it('forks the worker entry, forwards protocol messages and reports the exit', () => {
    const child = Object.assign(new EventEmitter(), { postMessage: vi.fn(), kill: vi.fn(() => true) });
    electron.fork.mockReturnValue(child);
    const messages: FromWorker[] = [];
    const exits: string[] = [];
    const handle = shell.utilityWorkerSpawner('/app/worker.js')('jobs', { onMessage: (m) => messages.push(m), onExit: (d) => exits.push(d) });
    expect(electron.fork.mock.calls[0]!.slice(0, 2)).toEqual(['/app/worker.js', []]);
    handle.send({ type: 'cancel', id: 3 });
    expect(child.postMessage).toHaveBeenCalledWith({ type: 'cancel', id: 3 });
    child.emit('message', { type: 'result', id: 3, result: 1 });
    child.emit('message', { hello: 'not protocol' });
    expect(messages).toEqual([{ type: 'result', id: 3, result: 1 }]);
    handle.kill();
    expect(child.kill).toHaveBeenCalled();
    child.emit('exit', 9);
    expect(exits).toEqual(['exited with code 9']);
  });
});
