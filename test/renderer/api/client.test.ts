import { describe, expect, it, vi } from 'vitest';
import { ApiError, decodeWire, encodeWire, type JobEvent } from '../../../contract/api.js';
import { createBrowserApi, createElectronApi, resolveToken } from '../../../renderer/src/api/client';
import type { SparsescopeBridge } from '../../../renderer/src/api/preload';

const ORIGIN = 'http://127.0.0.1:9999';
const EVENT: JobEvent = { jobId: 'j1', kind: 'search', state: 'running', progress: 0.5, message: 'layer 3', etaSeconds: 12 };

function fetchReturning(status: number, body: string) {
  return vi.fn(async (_url: string | URL | Request, _init?: RequestInit) => new Response(body, { status }));
}

/** A WebSocket stand-in the test drives: open, deliver messages, close. */
class FakeSocket {
  static instances: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((message: MessageEvent) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  open() {
    this.onopen?.();
  }
  deliver(data: string) {
    this.onmessage?.({ data } as MessageEvent);
  }
  close() {
    this.onclose?.();
  }
}

describe('browser client (sparsescope serve)', () => {
  it('POSTs the wire-encoded params with the token header and decodes Float32Array results', async () => {
    const mean = new Float32Array([0.25, 0.5, 0, 1]);
    const result = { region: { rowStart: 0, rowEnd: 2, colStart: 0, colEnd: 2 }, rows: 2, cols: 2, mean, max: mean, rowsUsed: 2, backend: 'cpu', ms: 1 };
    const fetch = fetchReturning(200, encodeWire({ result }));
    const api = createBrowserApi({ origin: ORIGIN, token: 'secret', fetch, WebSocket: FakeSocket as unknown as typeof WebSocket });
    const map = await api.call('head.pooledMap', { captureId: 'c', layer: 1, head: 2, resolution: 8 });
    expect(map.mean).toBeInstanceOf(Float32Array);
    expect([...map.mean]).toEqual([0.25, 0.5, 0, 1]);
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe(`${ORIGIN}/api/head.pooledMap`);
    expect(init?.method).toBe('POST');
    expect(init?.headers).toMatchObject({ 'Content-Type': 'application/json', 'X-Sparsescope-Token': 'secret' });
    expect(decodeWire(String(init?.body))).toEqual({ captureId: 'c', layer: 1, head: 2, resolution: 8 });
  });

  it('turns an engine error reply into an ApiError with its message and code', async () => {
    const api = createBrowserApi({ origin: ORIGIN, token: 't', fetch: fetchReturning(404, encodeWire({ error: { message: 'x.safetensors: no such file', code: 'not-found' } })) });
    const error = await api.call('capture.open', { path: 'x.safetensors' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ message: 'x.safetensors: no such file', code: 'not-found' });
  });

  it('explains a refused token and an unreachable engine in words a user can act on', async () => {
    const refused = createBrowserApi({ origin: ORIGIN, token: 't', fetch: fetchReturning(401, 'Sparsescope: missing or wrong token') });
    await expect(refused.call('device.info', {})).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/token/) });
    const down = createBrowserApi({ origin: ORIGIN, token: 't', fetch: vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))) });
    await expect(down.call('device.info', {})).rejects.toMatchObject({ code: 'internal', message: expect.stringMatching(/cannot reach the engine at http:\/\/127\.0\.0\.1:9999 \(Failed to fetch\)/) });
  });

  it('rejects a result that breaks the contract, naming the field', async () => {
    const api = createBrowserApi({ origin: ORIGIN, token: 't', fetch: fetchReturning(200, encodeWire({ result: { closed: 'yes' } })) });
    await expect(api.call('capture.close', { captureId: 'c' })).rejects.toThrow(/capture\.close: the engine sent a malformed result \(closed: /);
  });

  it('delivers valid job events from the socket, drops junk, and reconnects with growing delays', async () => {
    vi.useFakeTimers();
    try {
      FakeSocket.instances = [];
      const api = createBrowserApi({ origin: ORIGIN, token: 'a b', fetch: fetchReturning(200, '{}'), WebSocket: FakeSocket as unknown as typeof WebSocket, reconnectMs: 100, maxReconnectMs: 300 });
      const seen: JobEvent[] = [];
      api.onJobEvent((e) => seen.push(e));
      const first = FakeSocket.instances[0]!;
      expect(first.url).toBe('ws://127.0.0.1:9999/events?token=a%20b');
      first.deliver(encodeWire({ type: 'job', event: EVENT }));
      first.deliver('not json');
      first.deliver(encodeWire({ type: 'job', event: { jobId: 'j1' } }));
      first.deliver(encodeWire({ type: 'other', event: EVENT }));
      expect(seen).toEqual([EVENT]);

      first.close();
      vi.advanceTimersByTime(99);
      expect(FakeSocket.instances).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(FakeSocket.instances).toHaveLength(2);
      FakeSocket.instances[1]!.close();
      vi.advanceTimersByTime(199);
      expect(FakeSocket.instances).toHaveLength(2);
      vi.advanceTimersByTime(1);
      expect(FakeSocket.instances).toHaveLength(3);
      FakeSocket.instances[2]!.close();
      vi.advanceTimersByTime(300);
      expect(FakeSocket.instances).toHaveLength(4);

      api.close();
      vi.advanceTimersByTime(10_000);
      expect(FakeSocket.instances).toHaveLength(4);
    } finally {
      vi.useRealTimers();
    }
  });

  it('tells subscribers the event socket state: connected on each open, reconnecting after a drop, disconnected after 4 failed tries', () => {
    vi.useFakeTimers();
    try {
      FakeSocket.instances = [];
      const api = createBrowserApi({ origin: ORIGIN, token: 't', fetch: fetchReturning(200, '{}'), WebSocket: FakeSocket as unknown as typeof WebSocket, reconnectMs: 100, maxReconnectMs: 100 });
      const states: string[] = [];
      const unsubscribe = api.onConnectionChange((state) => states.push(state));
      api.onJobEvent(() => {});
      const retry = () => {
        FakeSocket.instances.at(-1)!.close();
        vi.advanceTimersByTime(100);
      };
      FakeSocket.instances[0]!.open();
      expect(states).toEqual(['connecting', 'connected']);
      retry();
      expect(states.at(-1)).toBe('reconnecting');
      for (let i = 0; i < 3; i++) retry();
      expect(states.at(-1)).toBe('reconnecting');
      retry();
      expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'disconnected']);
      FakeSocket.instances.at(-1)!.open();
      expect(states.at(-1)).toBe('connected');
      unsubscribe();
      retry();
      expect(states.at(-1)).toBe('connected');
      api.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('shows a first connection that never opens as disconnected after 4 tries', () => {
    vi.useFakeTimers();
    try {
      FakeSocket.instances = [];
      const api = createBrowserApi({ origin: ORIGIN, token: 't', fetch: fetchReturning(200, '{}'), WebSocket: FakeSocket as unknown as typeof WebSocket, reconnectMs: 100, maxReconnectMs: 100 });
      const states: string[] = [];
      api.onConnectionChange((state) => states.push(state));
      api.onJobEvent(() => {});
      for (let i = 0; i < 4; i++) {
        FakeSocket.instances.at(-1)!.close();
        vi.advanceTimersByTime(100);
      }
      expect(states).toEqual(['connecting', 'disconnected']);
      api.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('Electron client (preload bridge)', () => {
  function bridge(reply: Awaited<ReturnType<SparsescopeBridge['invoke']>> | Error): SparsescopeBridge {
    return {
      host: 'electron',
      invoke: vi.fn(async () => (reply instanceof Error ? Promise.reject(reply) : reply)),
      onJobEvent: (listener) => {
        listener({ junk: true } as unknown as JobEvent);
        listener(EVENT);
        return () => undefined;
      },
      pathForFile: async () => '/x',
      openFileDialog: async () => null,
      openRemote: async () => ({ ok: true, result: 'http://127.0.0.1:7700' }),
    };
  }

  it('returns validated results and raises ApiError for error replies and bridge failures', async () => {
    const ok = createElectronApi(bridge({ ok: true, result: { closed: true } }));
    await expect(ok.call('capture.close', { captureId: 'c' })).resolves.toEqual({ closed: true });
    const failed = createElectronApi(bridge({ ok: false, error: { message: 'path outside the allowed folders', code: 'forbidden' } }));
    await expect(failed.call('capture.open', { path: '/etc/passwd' })).rejects.toMatchObject({ message: 'path outside the allowed folders', code: 'forbidden' });
    const broken = createElectronApi(bridge(new Error('IPC channel closed')));
    await expect(broken.call('device.info', {})).rejects.toThrow("device.info: the app's engine did not answer (IPC channel closed)");
  });

  it('passes on only well-formed job events', () => {
    const seen: JobEvent[] = [];
    createElectronApi(bridge({ ok: true, result: {} })).onJobEvent((e) => seen.push(e));
    expect(seen).toEqual([EVENT]);
  });
});

describe('resolveToken', () => {
  it('takes the token from the URL, remembers it, and falls back to the remembered one', () => {
    const saved = new Map<string, string>();
    const storage = { getItem: (k: string) => saved.get(k) ?? null, setItem: (k: string, v: string) => void saved.set(k, v) };
    expect(resolveToken('', storage)).toBeNull();
    expect(resolveToken('?token=abc&x=1', storage)).toBe('abc');
    expect(resolveToken('', storage)).toBe('abc');
  });
});
