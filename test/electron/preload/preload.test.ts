import { readFile } from 'node:fs/promises';
import ts from 'typescript';
import { describe, expect, it, vi } from 'vitest';

const electron = {
  exposed: new Map<string, unknown>(),
  invoke: vi.fn(async (...args: unknown[]) => ({ ok: true, result: args })),
  listeners: new Map<string, Set<(...args: unknown[]) => void>>(),
  getPathForFile: vi.fn(() => '/home/user/capture.safetensors'),
};

const electronMock = {
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => electron.exposed.set(key, api) },
  ipcRenderer: {
    invoke: electron.invoke,
    on: (channel: string, listener: (...args: unknown[]) => void) => {
      if (!electron.listeners.has(channel)) electron.listeners.set(channel, new Set());
      electron.listeners.get(channel)!.add(listener);
    },
    removeListener: (channel: string, listener: (...args: unknown[]) => void) => electron.listeners.get(channel)?.delete(listener),
  },
  webUtils: { getPathForFile: electron.getPathForFile },
};

// Compile the preload the way tsc does (.cts -> CommonJS) and run it as a sandboxed preload runs:
// with a `require` that can load `electron` and nothing else.
const source = await readFile(new URL('../../../electron/preload/preload.cts', import.meta.url), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false } });
const required: string[] = [];
const sandboxRequire = (name: string) => {
  required.push(name);
  if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`);
  return electronMock;
};
new Function('require', 'exports', 'module', outputText)(sandboxRequire, {}, { exports: {} });

interface Bridge {
  host: string;
  invoke(method: string, params: unknown): Promise<unknown>;
  onJobEvent(listener: (event: unknown) => void): () => void;
  pathForFile(file: unknown): Promise<string>;
  openFileDialog(options: unknown): Promise<string | null>;
  openRemote(url: string): Promise<unknown>;
}

describe('preload', () => {
  it('exposes exactly the bridge API on window.sparsescope', () => {
    expect([...electron.exposed.keys()]).toEqual(['sparsescope']);
    const bridge = electron.exposed.get('sparsescope') as Bridge;
    expect(Object.keys(bridge).sort()).toEqual(['host', 'invoke', 'onJobEvent', 'openFileDialog', 'openRemote', 'pathForFile']);
    expect(bridge.host).toBe('electron');
  });

  it('sends calls, dialogs and remote-engine windows over their own channels', async () => {
    const bridge = electron.exposed.get('sparsescope') as Bridge;
    await bridge.invoke('files.list', { dir: '/x' });
    expect(electron.invoke).toHaveBeenLastCalledWith('sparsescope:call', 'files.list', { dir: '/x' });
    await bridge.openFileDialog({ title: 'Open', filters: [] });
    expect(electron.invoke).toHaveBeenLastCalledWith('sparsescope:dialog', { title: 'Open', filters: [] });
    await bridge.openRemote('http://127.0.0.1:7700/?token=t');
    expect(electron.invoke).toHaveBeenLastCalledWith('sparsescope:remote', 'http://127.0.0.1:7700/?token=t');
    expect(await bridge.pathForFile({ name: 'capture.safetensors' })).toBe('/home/user/capture.safetensors');
    // The engine may read a dropped file's folder: main hears of it from here, never from the page.
    expect(electron.invoke).toHaveBeenLastCalledWith('sparsescope:dropped', '/home/user/capture.safetensors');
  });

  it('delivers job events without the IPC event object, until unsubscribed', () => {
    const bridge = electron.exposed.get('sparsescope') as Bridge;
    const received: unknown[] = [];
    const unsubscribe = bridge.onJobEvent((event) => received.push(event));
    const emit = (event: unknown) => electron.listeners.get('sparsescope:job')!.forEach((listener) => listener({ sender: 'ipc' }, event));
    emit({ jobId: 'job-1' });
    unsubscribe();
    emit({ jobId: 'job-2' });
    expect(received).toEqual([{ jobId: 'job-1' }]);
  });

  it('requires nothing but electron at run time (a sandboxed preload can load nothing else)', () => {
    expect(required).toEqual(['electron']);
  });
});
