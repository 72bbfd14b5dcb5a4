/**
 * Issue 12 item 6: the user's work survives a reload or restart (a new store on the same storage):
 * the capture reopened by path, the config, the undo history, the search result and the view; a
 * file that changed or is gone starts clean and says so; closing with unexported edits asks first.
 * Item 8: a newly opened capture clears the previous one's errors.
 */
import { describe, expect, it, vi } from 'vitest';
import { ApiError, type MethodName } from '../../../contract/api.js';
import { headKey } from '../../../renderer/src/state/config';
import { guardUnload, hasUnsavedEdits, readSession, SAVED_EDITS, SESSION_KEY } from '../../../renderer/src/state/session';
import { createAppStore, type AppStore } from '../../../renderer/src/state/store';
import { FAKE_CAPTURE, FakeApi } from '../fake-api.js';

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, String(value)),
    removeItem: (key) => void items.delete(key),
    key: (i) => [...items.keys()][i] ?? null,
  };
}

async function started(storage: Storage, api = new FakeApi()): Promise<{ api: FakeApi; store: AppStore }> {
  const store = createAppStore(api, { storage });
  await store.getState().init();
  await settle();
  return { api, store };
}

/** The fake engine, with `capture.open` answering as `change` says (another identity, say). */
function apiWhere(method: MethodName, change: (result: unknown) => unknown): FakeApi {
  const api = new FakeApi();
  const call = api.call.bind(api);
  api.call = (async (m: MethodName, params: never) => {
    const result = await call(m, params);
    return m === method ? change(result) : result;
  }) as FakeApi['call'];
  return api;
}

const A_SHAPE = { pattern: 'stream_llm', a: 64, b: 512 } as const;

describe('a session kept across reloads', () => {
  it('reopens the file by path and restores config, undo history, search result, focus and view', async () => {
    const storage = memoryStorage();
    const first = await started(storage);
    await first.store.getState().openCapture('/data/long.safetensors');
    await settle();
    first.store.getState().setPatterns([headKey(1, 2)], A_SHAPE, 'A-shape');
    first.store.getState().setPatterns([headKey(2, 3)], { pattern: 'dense', a: 0, b: 0 }, 'dense');
    first.store.getState().undo();
    first.store.getState().focusHead({ layer: 1, head: 2 }, { view: 'tune' });
    first.store.getState().setHeadList('recall', { pattern: 'stream_llm', layer: 'all' });
    first.store.getState().showKernelBlock(5);
    first.store.getState().setMethodOverride('xattention', { pattern: 'xattention', a: 850, b: 16 });

    const { api, store } = await started(storage);
    const opened = api.calls.filter((c) => c.method.startsWith('capture.open'));
    expect(opened).toEqual([{ method: 'capture.open', params: { path: '/data/long.safetensors' } }]);
    const state = store.getState();
    expect(state.capture?.fileName).toBe('long.safetensors');
    expect(state.config?.heads[1]?.[2]).toEqual(A_SHAPE);
    expect(state.tunedKeys).toEqual([headKey(1, 2)]);
    expect([state.undoStack.length, state.redoStack.length]).toEqual([1, 1]);
    expect(state.focus).toEqual({ layer: 1, head: 2 });
    expect([state.view, state.headSort, state.headFilter.pattern, state.kernelBlock]).toEqual(['tune', 'recall', 'stream_llm', 5]);
    expect(state.methodOverrides).toEqual({ xattention: { pattern: 'xattention', a: 850, b: 16 } });
    // The numbers are measured again on the restored config.
    const analyze = api.jobs.get(api.lastJobId('analyze'));
    expect(analyze?.kind === 'analyze' && analyze.config?.heads[1]?.[2]).toEqual(A_SHAPE);
    // The history works after the reload: redo, then undo back past the reload.
    store.getState().redo();
    expect(store.getState().config?.heads[2]?.[3]).toEqual({ pattern: 'dense', a: 0, b: 0 });
    store.getState().undo();
    store.getState().undo();
    expect(store.getState().config?.heads[1]?.[2]).toMatchObject({ pattern: 'vertical_and_slash', a: 1000, b: 6096 });
  });

  it('keeps the search result and reopens the demo as the demo', async () => {
    const storage = memoryStorage();
    const first = await started(storage);
    first.api.finishJob(first.api.lastJobId('analyze'));
    await first.store.getState().startJob({ kind: 'search', captureId: FAKE_CAPTURE.captureId, settings: { mode: 'candidates', targetRecall: 0.95, sampling: { mode: 'sampled', rows: 512, seed: 0 } } });
    first.api.finishJob(first.api.lastJobId('search'));
    expect(first.store.getState().searched).not.toBeNull();

    const { api, store } = await started(storage);
    expect(api.calls.map((c) => c.method)).toContain('capture.openDemo');
    expect(store.getState().searched?.config.heads[0]?.[1]).toMatchObject({ pattern: 'stream_llm', a: 100, b: 800 });
    expect(store.getState().config?.heads[0]?.[1]).toMatchObject({ pattern: 'stream_llm' });
  });

  it('bounds the undo history it keeps', async () => {
    const storage = memoryStorage();
    const { store } = await started(storage);
    for (let i = 0; i < SAVED_EDITS + 20; i++) store.getState().setPatterns([headKey(0, 0)], { pattern: 'stream_llm', a: i, b: 512 }, `edit ${i}`);
    expect(store.getState().undoStack.length).toBe(SAVED_EDITS + 20);
    expect(readSession(storage)?.undoStack).toHaveLength(SAVED_EDITS);
    expect(readSession(storage)?.undoStack.at(-1)?.label).toBe(`edit ${SAVED_EDITS + 19}`);
  });

  it('starts clean, saying so, when the file changed since', async () => {
    const storage = memoryStorage();
    const first = await started(storage);
    await first.store.getState().openCapture('/data/long.safetensors');
    first.store.getState().setPatterns([headKey(1, 2)], A_SHAPE, 'A-shape');

    const { store } = await started(storage, apiWhere('capture.open', (summary) => ({ ...(summary as object), hash: '0'.repeat(64) })));
    expect(store.getState().capture?.fileName).toBe('long.safetensors');
    expect(store.getState().config?.heads[1]?.[2]).toMatchObject({ pattern: 'vertical_and_slash' });
    expect(store.getState().undoStack).toEqual([]);
    expect(store.getState().notices.map((n) => n.message)).toContainEqual(expect.stringMatching(/long\.safetensors changed since your last session/));
    // The clean state is what is kept from now on.
    expect(readSession(storage)?.undoStack).toEqual([]);
  });

  it('opens the demo, saying why, when the file is gone', async () => {
    const storage = memoryStorage();
    const first = await started(storage);
    await first.store.getState().openCapture('/data/long.safetensors');
    const api = new FakeApi();
    api.failures.set('capture.open', new ApiError('/data/long.safetensors does not exist', 'not-found'));
    const { store } = await started(storage, api);
    expect(store.getState().capture?.captureId).toBe(FAKE_CAPTURE.captureId);
    expect(store.getState().notices.map((n) => n.message)).toContainEqual(expect.stringMatching(/Could not reopen long\.safetensors .*does not exist.*started clean with the demo/));
  });

  it('ignores a damaged or foreign saved session', async () => {
    const storage = memoryStorage();
    storage.setItem(SESSION_KEY, '{"version": 1, "capture": 3');
    const { store } = await started(storage);
    expect(store.getState().capture?.captureId).toBe(FAKE_CAPTURE.captureId);
    storage.setItem(SESSION_KEY, JSON.stringify({ version: 99 }));
    expect(readSession(storage)).toBeNull();
  });

  it('tells once when the storage is full, and goes on', async () => {
    const storage = memoryStorage();
    const { store } = await started(storage);
    storage.setItem = () => {
      throw new DOMException('quota exceeded', 'QuotaExceededError');
    };
    store.getState().setPatterns([headKey(0, 0)], A_SHAPE, 'one');
    store.getState().setPatterns([headKey(0, 1)], A_SHAPE, 'two');
    const errors = store.getState().notices.filter((n) => n.level === 'error');
    expect(errors.map((n) => n.message)).toEqual([expect.stringMatching(/keeping this session for the next reload: quota exceeded/)]);
  });
});

describe('unsaved edits', () => {
  it('counts edits past the last import or export, and asks before the page unloads over them', async () => {
    const { store } = await started(memoryStorage());
    expect(hasUnsavedEdits(store.getState())).toBe(false);
    const listeners = new Map<string, (event: Event) => void>();
    guardUnload({ addEventListener: (type: string, listener: (event: Event) => void) => listeners.set(type, listener), removeEventListener: vi.fn() } as never, store);
    const unload = () => {
      const event = { preventDefault: vi.fn(), returnValue: undefined as unknown };
      listeners.get('beforeunload')!(event as unknown as Event);
      return event.preventDefault.mock.calls.length > 0;
    };
    expect(unload()).toBe(false);

    store.getState().setPatterns([headKey(0, 0)], A_SHAPE, 'A-shape');
    expect(hasUnsavedEdits(store.getState())).toBe(true);
    expect(unload()).toBe(true);
    store.getState().markConfigSaved(store.getState().config!);
    expect(unload()).toBe(false);
    // Undoing back to the loaded config leaves nothing unsaved only if that is what was saved.
    store.getState().undo();
    expect(hasUnsavedEdits(store.getState())).toBe(true);
  });
});

describe('errors of a previous capture', () => {
  it('are cleared when another capture opens; information stays', async () => {
    const { store } = await started(memoryStorage());
    store.getState().notify('error', 'Failed evaluating layer 0 head 1: out of memory');
    store.getState().notify('info', 'Imported a minference config.');
    await store.getState().openCapture('/data/other.safetensors');
    const notices = store.getState().notices;
    expect(notices.some((n) => n.level === 'error')).toBe(false);
    expect(notices.map((n) => n.message)).toContainEqual('Imported a minference config.');
  });
});
