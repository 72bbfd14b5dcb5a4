import { describe, expect, it, vi } from 'vitest';
import type { HeadCache } from '../../../../electron/engine/analysis/head-cache.js';
import type { Capture } from '../../../../electron/engine/capture/types.js';
import type { NativeModule } from '../../../../electron/engine/native-api.js';
import type { FromWorker } from '../../../../electron/engine/jobs/protocol.js';
import { createWorkerRuntime, type OpImplementations } from '../../../../electron/engine/jobs/worker-runtime.js';

function fakeCapture(path: string): Capture & { closed: number } {
  const capture = {
    closed: 0,
    summary: { path } as Capture['summary'],
    readHead: async () => new Uint8Array(),
    readHeads: async () => new Uint8Array(),
    readLayer: async () => new Uint8Array(),
    readTokens: async () => ({ ids: new Int32Array(), text: [] }),
    close: async () => void capture.closed++,
  };
  return capture;
}

const unused = async () => {
  throw new Error('not used in this test');
};

function ops(overrides: Partial<OpImplementations>): OpImplementations {
  return {
    deviceInfo: unused,
    writeDemo: unused,
    pooledMap: unused,
    mask: unused,
    evaluate: unused,
    budgetCurve: unused,
    kernelBlocks: unused,
    outputError: unused,
    analyze: unused,
    search: unused,
    bench: unused,
    ...overrides,
  };
}

function harness(overrides: Partial<OpImplementations>, loadNative: () => NativeModule = () => ({}) as NativeModule) {
  const replies: FromWorker[] = [];
  const opened: (Capture & { closed: number })[] = [];
  const runtime = createWorkerRuntime(
    {
      loadNative: vi.fn(loadNative),
      openCapture: async (path) => {
        if (path.endsWith('broken.safetensors')) throw new Error('broken.safetensors: truncated header');
        const capture = fakeCapture(path);
        opened.push(capture);
        return capture;
      },
      ops: ops(overrides),
      progressIntervalMs: 1000,
      maxOpenCaptures: 2,
    },
    (message) => replies.push(message),
  );
  const settled = async (id: number) => {
    await vi.waitFor(() => expect(replies.some((r) => r.id === id && r.type !== 'progress')).toBe(true));
    return replies.find((r) => r.id === id && r.type !== 'progress')!;
  };
  return { runtime, replies, opened, settled };
}

describe('worker runtime', () => {
  it('runs an op on its capture, keeps captures open by path, closes the least recently used and released ones', async () => {
    const { runtime, opened, settled } = harness({
      pooledMap: async (params, { capture }) => ({ path: capture().summary.path, params }),
    });
    runtime.handle({ type: 'call', id: 1, op: 'pooledMap', capturePath: '/a.safetensors', params: { layer: 1 } });
    expect(await settled(1)).toEqual({ type: 'result', id: 1, result: { path: '/a.safetensors', params: { layer: 1 } } });
    runtime.handle({ type: 'call', id: 2, op: 'pooledMap', capturePath: '/a.safetensors', params: {} });
    await settled(2);
    expect(opened).toHaveLength(1);

    runtime.handle({ type: 'call', id: 3, op: 'pooledMap', capturePath: '/b.safetensors', params: {} });
    await settled(3);
    runtime.handle({ type: 'call', id: 4, op: 'pooledMap', capturePath: '/c.safetensors', params: {} });
    await settled(4);
    await vi.waitFor(() => expect(opened[0]!.closed).toBe(1)); // /a was least recently used

    runtime.handle({ type: 'release', capturePath: '/b.safetensors' });
    await vi.waitFor(() => expect(opened[1]!.closed).toBe(1));
    await runtime.close();
    expect(opened[2]!.closed).toBe(1);
  });

  it("keeps one head cache per open capture, cleared when the capture is released or evicted", async () => {
    const caches: HeadCache[] = [];
    const { runtime, settled } = harness({
      evaluate: async (_params, { headCache }) => {
        const cache = headCache();
        await cache.memo('inputs', async () => new Uint8Array(4), (value) => value.byteLength);
        caches.push(cache);
        return cache.size;
      },
    });
    const evaluate = async (id: number, capturePath: string) => {
      runtime.handle({ type: 'call', id, op: 'evaluate', capturePath, params: {} as never });
      return settled(id);
    };
    await evaluate(1, '/a.safetensors');
    await evaluate(2, '/a.safetensors');
    expect(caches[1]).toBe(caches[0]);
    await evaluate(3, '/b.safetensors');
    expect(caches[2]).not.toBe(caches[0]);

    runtime.handle({ type: 'release', capturePath: '/a.safetensors' });
    expect(caches[0]!.size).toBe(0);
    await evaluate(4, '/a.safetensors');
    expect(caches[3]).not.toBe(caches[0]);

    await evaluate(5, '/c.safetensors'); // a third capture evicts /b (at most 2 open here)
    expect(caches[2]!.size).toBe(0);
    expect(caches[3]!.size).toBe(1);
    await runtime.close();
    expect(caches[3]!.size).toBe(0);
  });

  it('keeps captures by the host\'s id and refuses a file that changed since the host opened it', async () => {
    let version = 'v1';
    const replies: FromWorker[] = [];
    const runtime = createWorkerRuntime(
      {
        loadNative: () => ({}) as NativeModule,
        openCapture: async (path) => ({ ...fakeCapture(path), summary: { path, fileName: 'a.safetensors', captureId: version } as Capture['summary'] }),
        ops: ops({ pooledMap: async (_params, { capture }) => capture().summary.captureId }),
      },
      (message) => replies.push(message),
    );
    const call = async (id: number, captureId: string) => {
      runtime.handle({ type: 'call', id, op: 'pooledMap', capturePath: '/a.safetensors', captureId, params: {} });
      await vi.waitFor(() => expect(replies.some((r) => r.id === id)).toBe(true));
      return replies.find((r) => r.id === id);
    };
    expect(await call(1, 'v1')).toMatchObject({ type: 'result', result: 'v1' });
    version = 'v2'; // rewritten on disk; the host opened it again
    expect(await call(2, 'v2')).toMatchObject({ type: 'result', result: 'v2' });
    expect(await call(3, 'v1')).toMatchObject({ type: 'result', result: 'v1' }); // still open in this worker
    runtime.handle({ type: 'release', capturePath: '/a.safetensors', captureId: 'v1' });
    expect(await call(4, 'v1')).toEqual({ type: 'error', id: 4, code: 'bad-request', message: 'a.safetensors changed on disk since it was opened: open it again' });
    await runtime.close();
  });

  it('sets the cancel flag the op polls, and answers with code cancelled', async () => {
    const { runtime, settled } = harness({
      search: async (_params, { control }) => {
        while (Atomics.load(control.cancel, 0) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
        throw new Error('cancelled');
      },
    });
    runtime.handle({ type: 'call', id: 7, op: 'search', capturePath: '/a.safetensors', params: {} });
    await new Promise((resolve) => setTimeout(resolve, 10));
    runtime.handle({ type: 'cancel', id: 7 });
    expect(await settled(7)).toEqual({ type: 'error', id: 7, message: 'cancelled', code: 'cancelled' });
  });

  it('loads the native module once, on first use, and reports a load failure clearly', async () => {
    const loadNative = () => {
      throw new Error('native/build/Release/sparsescope.node not found: run npm install');
    };
    const { runtime, settled } = harness({ deviceInfo: async (_params, { native }) => native().deviceInfo() }, loadNative);
    runtime.handle({ type: 'call', id: 1, op: 'deviceInfo', params: {} });
    expect(await settled(1)).toEqual({
      type: 'error',
      id: 1,
      code: 'internal',
      message: 'the native module could not be loaded: native/build/Release/sparsescope.node not found: run npm install',
    });
  });

  it('answers capture and op errors with the message, and ignores malformed messages', async () => {
    const { runtime, replies, settled } = harness({ analyze: async () => ({}), mask: async (_params, { capture }) => capture() });
    runtime.handle({ type: 'call', id: 1, op: 'analyze', capturePath: '/x/broken.safetensors', params: {} });
    expect(await settled(1)).toMatchObject({ type: 'error', message: 'broken.safetensors: truncated header', code: 'internal' });
    runtime.handle({ type: 'call', id: 2, op: 'explode', params: {} });
    expect(await settled(2)).toMatchObject({ type: 'error', message: 'unknown worker op "explode"' });
    runtime.handle({ type: 'call', id: 3, op: 'mask', params: {} }); // no capturePath
    runtime.handle(null);
    runtime.handle({ type: 'call', id: 'x' });
    runtime.handle('cancel');
    expect(await settled(3)).toMatchObject({ type: 'error', message: 'mask needs a capture' });
    expect(replies.map((r) => r.id)).toEqual([1, 2, 3]);
  });

  it('throttles progress but always sends the final fraction', async () => {
    const { runtime, replies, settled } = harness({
      bench: async (_params, { onProgress, captureIfAny }) => {
        for (let i = 1; i <= 10; i++) onProgress(i / 10, `point ${i}`);
        return { synthetic: captureIfAny() === null };
      },
    });
    runtime.handle({ type: 'call', id: 5, op: 'bench', params: {} });
    expect(await settled(5)).toMatchObject({ result: { synthetic: true } });
    expect(replies.filter((r) => r.type === 'progress')).toEqual([
      { type: 'progress', id: 5, fraction: 0.1, message: 'point 1' },
      { type: 'progress', id: 5, fraction: 1, message: 'point 10' },
    ]);
  });
});
