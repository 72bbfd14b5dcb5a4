/**
 * The preload: a single CommonJS file (sandboxed preloads cannot load modules) that exposes
 * `window.sparsescope` to the page through contextBridge. It imports only `electron` at run time;
 * contract imports are types and vanish at compile time.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { JobEvent } from '../../contract/api.js';

interface FileDialogOptions {
  title: string;
  filters: { name: string; extensions: string[] }[];
  save?: boolean;
  defaultPath?: string;
}

const bridge = {
  host: 'electron' as const,
  invoke: (method: string, params: unknown): Promise<unknown> => ipcRenderer.invoke('sparsescope:call', method, params),
  onJobEvent(listener: (event: JobEvent) => void): () => void {
    const forward = (_event: IpcRendererEvent, jobEvent: JobEvent) => listener(jobEvent);
    ipcRenderer.on('sparsescope:job', forward);
    return () => void ipcRenderer.removeListener('sparsescope:job', forward);
  },
  /** The path of a dropped File, which the engine may then read (the user opened it by dropping it). */
  async pathForFile(file: Parameters<typeof webUtils.getPathForFile>[0]): Promise<string> {
    const path = webUtils.getPathForFile(file);
    await ipcRenderer.invoke('sparsescope:dropped', path);
    return path;
  },
  openFileDialog: (options: FileDialogOptions): Promise<string | null> => ipcRenderer.invoke('sparsescope:dialog', options),
  openRemote: (url: string): Promise<unknown> => ipcRenderer.invoke('sparsescope:remote', url),
};

contextBridge.exposeInMainWorld('sparsescope', bridge);
