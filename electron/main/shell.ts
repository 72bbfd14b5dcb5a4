/**
 * The desktop shell's pieces, kept apart from the entry (main.ts) so they can be unit-tested with
 * `electron` mocked: window options, navigation and permission lockdown, the IPC bridge, remote
 * engine windows, and the utilityProcess worker spawner. The shell is thin: all work is in the
 * engine and its workers.
 */
import {
  dialog,
  ipcMain,
  utilityProcess,
  type BrowserWindow,
  type BrowserWindowConstructorOptions,
  type IpcMainInvokeEvent,
  type Session,
  type WebContents,
} from 'electron';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ApiError, parseRequest, type Handlers, type JobEvent } from '../../contract/api.js';
import { appCsp } from '../../contract/csp.js';
import type { Engine } from '../engine/handlers.js';
import { isFromWorker, type WorkerSpawner } from '../engine/jobs/protocol.js';

export const CALL_CHANNEL = 'sparsescope:call';
export const DIALOG_CHANNEL = 'sparsescope:dialog';
export const DROPPED_CHANNEL = 'sparsescope:dropped';
export const JOB_CHANNEL = 'sparsescope:job';
export const REMOTE_CHANNEL = 'sparsescope:remote';

/**
 * Locked-down window options; the app's own window gets the preload, a remote engine's none. No
 * `partition`: the default session is kept on disk, so the page's localStorage (its saved session
 * of the user's work) survives a restart.
 */
export function windowOptions(preloadPath?: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 800,
    minWidth: 960,
    minHeight: 600,
    title: 'Sparsescope',
    show: false,
    webPreferences: {
      ...(preloadPath ? { preload: preloadPath } : {}),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  };
}

/**
 * A window on a remote engine: the UI that `sparsescope serve` serves, in a plain sandboxed page
 * with no preload, so it talks to that engine only, over HTTP like a browser.
 */
export function remoteWindowOptions(url: URL): BrowserWindowConstructorOptions {
  return { ...windowOptions(), title: `Sparsescope — engine at ${url.host}` };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The URL that `sparsescope serve` printed, checked before a window opens it: http(s) on this
 * machine (a GPU server is reached through an SSH tunnel, so its engine appears on a local port),
 * the root page, and the token.
 */
export function remoteEngineUrl(input: unknown): URL {
  const tunnel = 'forward the server\'s port first (ssh -L 7700:127.0.0.1:7700 gpu-server) and paste the URL with 127.0.0.1';
  let url: URL;
  try {
    url = new URL(String(input ?? '').trim());
  } catch {
    throw new ApiError('remote engine: paste the whole URL that `sparsescope serve` printed, e.g. http://127.0.0.1:7700/?token=…');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ApiError(`remote engine: ${url.protocol} URLs are not engines; ${tunnel}`);
  if (!LOOPBACK_HOSTS.has(url.hostname)) throw new ApiError(`remote engine: ${url.hostname} is not this machine; ${tunnel}`);
  if (url.pathname !== '/') throw new ApiError('remote engine: the URL must be the server\'s root page (/?token=…)');
  if (!url.searchParams.get('token')) throw new ApiError('remote engine: the URL has no token; use the one `sparsescope serve` printed, token included');
  url.hash = '';
  return url;
}

/** True when a frame shows our own page (the built index.html), whatever its hash or query. */
export function isAppUrl(url: string, appIndexPath: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'file:' && parsed.pathname === pathToFileURL(appIndexPath).pathname;
  } catch {
    return false;
  }
}

/** No navigation away, no new windows, no webviews, in every web contents the app creates. */
export function lockDownContents(contents: WebContents): void {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/**
 * Deny every permission (camera, notifications, ...) and set the app's CSP on its own files. A
 * remote engine's page keeps the CSP its server sends (which names the server's event socket).
 */
export function lockDownSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.webRequest.onHeadersReceived((details, callback) => {
    if (!details.url.startsWith('file:')) return callback({ responseHeaders: details.responseHeaders });
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [appCsp()] } });
  });
}

export type BridgeReply = { ok: true; result: unknown } | { ok: false; error: { message: string; code: ApiError['code'] } };

function refusal(error: unknown): BridgeReply {
  if (error instanceof ApiError) return { ok: false, error: { message: error.message, code: error.code } };
  return { ok: false, error: { message: error instanceof Error ? error.message : String(error), code: 'internal' } };
}

function checkSender(event: IpcMainInvokeEvent, appIndexPath: string): void {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null || !isAppUrl(frame.url, appIndexPath)) {
    throw new ApiError(`refused: IPC from ${frame?.url ?? 'an unknown frame'} is not the Sparsescope page`, 'forbidden');
  }
}

const DialogOptions = z.object({
  title: z.string().max(200).default('Open'),
  filters: z.array(z.object({ name: z.string().max(100), extensions: z.array(z.string().regex(/^(\*|[\w.-]{1,20})$/)).max(20) })).max(20).default([]),
  /** A save dialog (export) instead of an open dialog. */
  save: z.boolean().default(false),
  defaultPath: z.string().max(4096).optional(),
});

/**
 * `sparsescope:call` (validated API calls), `sparsescope:dialog` (native file dialogs: the folder
 * of a file opened becomes one the engine reads, a path saved to may be written once),
 * `sparsescope:dropped` (a file dropped on the window, opened like one picked in the dialog; the
 * preload sends only the path Electron gives for a dropped File, which a page cannot forge) and
 * `sparsescope:remote` (a window on a remote engine, through `openRemote`; replies its origin).
 */
export function registerIpc(
  engine: Engine,
  appIndexPath: string,
  windowOf: (contents: WebContents) => BrowserWindow | null,
  openRemote: (url: URL) => void,
): () => void {
  ipcMain.handle(CALL_CHANNEL, async (event, method: unknown, params: unknown): Promise<BridgeReply> => {
    try {
      checkSender(event, appIndexPath);
      const parsed = parseRequest(method, params);
      const handler = engine.handlers[parsed.method] as (params: unknown) => ReturnType<Handlers[typeof parsed.method]>;
      return { ok: true, result: await handler(parsed.params) };
    } catch (error) {
      return refusal(error);
    }
  });
  ipcMain.handle(DIALOG_CHANNEL, async (event, options: unknown): Promise<string | null> => {
    checkSender(event, appIndexPath);
    const parsed = DialogOptions.safeParse(options ?? {});
    if (!parsed.success) throw new ApiError(`file dialog: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
    const { title, filters, save, defaultPath } = parsed.data;
    const window = windowOf(event.sender);
    let chosen: string | undefined;
    if (save) {
      const reply = window ? await dialog.showSaveDialog(window, { title, filters, defaultPath }) : await dialog.showSaveDialog({ title, filters, defaultPath });
      chosen = reply.canceled ? undefined : reply.filePath;
    } else {
      const settings = { title, filters, defaultPath, properties: ['openFile' as const] };
      const reply = window ? await dialog.showOpenDialog(window, settings) : await dialog.showOpenDialog(settings);
      chosen = reply.canceled ? undefined : reply.filePaths[0];
    }
    if (!chosen) return null;
    engine.grantPath(chosen, save ? 'save' : 'open');
    return chosen;
  });
  ipcMain.handle(DROPPED_CHANNEL, async (event, path: unknown): Promise<void> => {
    checkSender(event, appIndexPath);
    if (typeof path !== 'string' || !isAbsolute(path)) throw new ApiError('dropped file: not an absolute path');
    engine.grantPath(path, 'open');
  });
  ipcMain.handle(REMOTE_CHANNEL, async (event, input: unknown): Promise<BridgeReply> => {
    try {
      checkSender(event, appIndexPath);
      const url = remoteEngineUrl(input);
      openRemote(url);
      return { ok: true, result: url.origin };
    } catch (error) {
      return refusal(error);
    }
  });
  return () => {
    for (const channel of [CALL_CHANNEL, DIALOG_CHANNEL, DROPPED_CHANNEL, REMOTE_CHANNEL]) ipcMain.removeHandler(channel);
  };
}

/**
 * The page's beforeunload asks to stay while the config holds edits that no file has yet; Electron
 * would then cancel the close or reload without a word, so the shell asks: leave, or stay.
 */
export function confirmUnsavedClose(window: BrowserWindow): void {
  window.webContents.on('will-prevent-unload', (event) => {
    const choice = dialog.showMessageBoxSync(window, {
      type: 'question',
      buttons: ['Leave', 'Stay'],
      defaultId: 1,
      cancelId: 1,
      title: 'Unsaved config edits',
      message: 'The config has edits that no exported file has yet.',
      detail: 'Sparsescope brings them back the next time it starts, but only an export (Files view) puts them in a config file. Leave anyway?',
    });
    if (choice === 0) event.preventDefault(); // overrule the page: close (or reload) after all
  });
}

/** Forward job events to a window for as long as it lives. */
export function forwardJobEvents(engine: Engine, window: BrowserWindow): () => void {
  return engine.onJobEvent((event: JobEvent) => {
    if (!window.isDestroyed()) window.webContents.send(JOB_CHANNEL, event);
  });
}

/** WorkerSpawner over Electron's utilityProcess (a Node process Electron manages). */
export function utilityWorkerSpawner(entry: string): WorkerSpawner {
  return (name, events, env = {}) => {
    const child = utilityProcess.fork(entry, [], { serviceName: `Sparsescope ${name} worker`, stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('message', (message: unknown) => {
      if (isFromWorker(message)) events.onMessage(message);
    });
    child.on('exit', (code: number) => events.onExit(`exited with code ${code}`));
    return {
      send: (message) => child.postMessage(message),
      kill: () => void child.kill(),
    };
  };
}
