/**
 * Electron entry (package.json "main" -> dist/electron/main/main.js): one locked-down window on
 * the built renderer, the engine in this process, its compute in utility processes.
 */
import { app, BrowserWindow, session } from 'electron';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../engine/handlers.js';
import { RecentFiles } from '../engine/session.js';
import {
  confirmUnsavedClose,
  forwardJobEvents,
  lockDownContents,
  lockDownSession,
  registerIpc,
  remoteWindowOptions,
  utilityWorkerSpawner,
  windowOptions,
} from './shell.js';

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));
const APP_INDEX = here('../../renderer/index.html');
const PRELOAD = here('../preload/preload.cjs');
const WORKER = here('../engine/jobs/worker.js');

function start(): void {
  app.on('web-contents-created', (_event, contents) => lockDownContents(contents));

  void app.whenReady().then(async () => {
    lockDownSession(session.defaultSession);
    // The engine reads only the folders the user opened (those of the recent files, and each one
    // opened or dropped from now on) and writes configs only where the save dialog says.
    const cacheDir = join(app.getPath('userData'), 'cache');
    const engine = createEngine({
      host: 'electron',
      roots: await new RecentFiles(cacheDir).folders(),
      exportsOnlyWhereGranted: true,
      cacheDir,
      spawnWorker: utilityWorkerSpawner(WORKER),
    });
    const window = new BrowserWindow(windowOptions(PRELOAD));
    const openRemote = (url: URL) => {
      const remote = new BrowserWindow(remoteWindowOptions(url));
      remote.once('ready-to-show', () => remote.show());
      void remote.loadURL(url.href);
    };
    registerIpc(engine, APP_INDEX, (contents) => BrowserWindow.fromWebContents(contents), openRemote);
    confirmUnsavedClose(window);
    const stopForwarding = forwardJobEvents(engine, window);
    window.once('ready-to-show', () => window.show());
    window.on('closed', stopForwarding);
    void window.loadFile(APP_INDEX);

    app.on('second-instance', () => {
      if (window.isDestroyed()) return;
      if (window.isMinimized()) window.restore();
      window.focus();
    });
    app.on('window-all-closed', () => app.quit());
    app.on('will-quit', () => void engine.dispose());
  });
}

// One window per user: a second launch focuses the first instead of starting another engine.
if (app.requestSingleInstanceLock()) start();
else app.quit();
