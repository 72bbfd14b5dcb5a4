/**
 * The renderer's only way to the engine: a typed `Api` over either the Electron preload bridge
 * or the HTTP + WebSocket transport of `sparsescope serve`. Both validate results against the
 * contract and turn every failure into an `ApiError` with a message a user can act on.
 */
import {
  ApiError,
  JobEvent,
  decodeWire,
  encodeWire,
  methods,
  type Api,
  type ConnectionState,
  type MethodName,
  type Result,
} from '../../../contract/api';
import type { BridgeReply, SparsescopeBridge } from './preload';

type ErrorCode = ApiError['code'];
const ERROR_CODES: readonly ErrorCode[] = ['bad-request', 'not-found', 'forbidden', 'cancelled', 'internal'];

function toErrorCode(code: unknown): ErrorCode {
  return ERROR_CODES.includes(code as ErrorCode) ? (code as ErrorCode) : 'internal';
}

/** Check a result against the contract so a broken engine shows a clear message, not a blank view. */
function validateResult<M extends MethodName>(method: M, value: unknown): Result<M> {
  const parsed = methods[method].result.safeParse(value);
  if (parsed.success) return parsed.data as Result<M>;
  const issue = parsed.error.issues[0];
  throw new ApiError(`${method}: the engine sent a malformed result (${issue?.path.join('.') || 'result'}: ${issue?.message ?? 'invalid'})`, 'internal');
}

function unwrapReply<M extends MethodName>(method: M, reply: unknown): Result<M> {
  if (reply && typeof reply === 'object') {
    const body = reply as { ok?: boolean; result?: unknown; error?: { message?: unknown; code?: unknown } };
    if (body.error) throw new ApiError(String(body.error.message ?? `${method} failed`), toErrorCode(body.error.code));
    if ('result' in body) return validateResult(method, body.result);
  }
  throw new ApiError(`${method}: the engine sent a reply without a result`, 'internal');
}

function safeJobEvent(value: unknown): JobEvent | null {
  const parsed = JobEvent.safeParse(value);
  return parsed.success ? parsed.data : null;
}

export function createElectronApi(bridge: SparsescopeBridge): Api {
  return {
    host: 'electron',
    async call(method, params) {
      let reply: BridgeReply;
      try {
        reply = await bridge.invoke(method, params);
      } catch (error) {
        throw new ApiError(`${method}: the app's engine did not answer (${(error as Error).message})`, 'internal');
      }
      return unwrapReply(method, reply);
    },
    onJobEvent(listener) {
      return bridge.onJobEvent((event) => {
        const valid = safeJobEvent(event);
        if (valid) listener(valid);
      });
    },
  };
}

export interface BrowserApiOptions {
  /** Page origin, e.g. http://127.0.0.1:8765 */
  origin: string;
  token: string;
  fetch?: typeof fetch;
  WebSocket?: typeof WebSocket;
  /** First reconnect delay; doubles up to `maxReconnectMs`. */
  reconnectMs?: number;
  maxReconnectMs?: number;
  /** Failed tries in a row after which the state is `disconnected` (tries go on); default 4. */
  disconnectedAfter?: number;
}

/** The transport of `sparsescope serve`: POST /api/<method>, events on a token-checked WebSocket. */
export function createBrowserApi(options: BrowserApiOptions): Api & Required<Pick<Api, 'onConnectionChange'>> & { close(): void } {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const SocketImpl = options.WebSocket ?? globalThis.WebSocket;
  const listeners = new Set<(event: JobEvent) => void>();
  const connectionListeners = new Set<(state: ConnectionState) => void>();
  const firstDelay = options.reconnectMs ?? 250;
  const maxDelay = options.maxReconnectMs ?? 5000;
  const disconnectedAfter = options.disconnectedAfter ?? 4;
  let delay = firstDelay;
  let socket: WebSocket | null = null;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  let state: ConnectionState = 'connecting';
  let failedTries = 0;

  const eventsUrl = `${options.origin.replace(/^http/, 'ws')}/events?token=${encodeURIComponent(options.token)}`;

  function setState(next: ConnectionState): void {
    if (next === state) return;
    state = next;
    for (const listener of connectionListeners) listener(state);
  }

  function connect(): void {
    if (closed || socket) return;
    const ws = new SocketImpl(eventsUrl);
    let opened = false;
    socket = ws;
    ws.onopen = () => {
      opened = true;
      delay = firstDelay;
      failedTries = 0;
      // Events sent while no socket was open are gone: subscribers catch up through job.list.
      setState('connected');
    };
    ws.onmessage = (message: MessageEvent) => {
      let decoded: unknown;
      try {
        decoded = decodeWire(String(message.data));
      } catch {
        return; // a garbled frame is dropped; the job's final state arrives again on completion
      }
      const frame = decoded as { type?: unknown; event?: unknown };
      if (frame?.type !== 'job') return;
      const event = safeJobEvent(frame.event);
      if (event) for (const listener of listeners) listener(event);
    };
    ws.onclose = () => {
      socket = null;
      if (closed) return;
      if (opened) setState('reconnecting');
      else if (++failedTries >= disconnectedAfter) setState('disconnected');
      reconnectTimer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, maxDelay);
    };
    ws.onerror = () => ws.close();
  }

  return {
    host: 'browser',
    async call(method, params) {
      let response: Response;
      try {
        response = await fetchImpl(`${options.origin}/api/${method}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Sparsescope-Token': options.token },
          body: encodeWire(params),
        });
      } catch (error) {
        throw new ApiError(`cannot reach the engine at ${options.origin} (${(error as Error).message}); is \`sparsescope serve\` still running?`, 'internal');
      }
      const text = await response.text();
      let body: unknown;
      try {
        body = decodeWire(text);
      } catch {
        if (response.status === 401 || response.status === 403) {
          throw new ApiError('the engine refused this page\'s token: open the URL that `sparsescope serve` printed', 'forbidden');
        }
        throw new ApiError(`${method}: HTTP ${response.status} from the engine, not JSON: ${text.slice(0, 120)}`, 'internal');
      }
      return unwrapReply(method, body);
    },
    onJobEvent(listener) {
      listeners.add(listener);
      connect();
      return () => listeners.delete(listener);
    },
    onConnectionChange(listener) {
      connectionListeners.add(listener);
      listener(state);
      return () => connectionListeners.delete(listener);
    },
    close() {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      socket?.close();
    },
  };
}

const TOKEN_KEY = 'sparsescope.token';

/** The serve token from `?token=`, remembered for reloads of the same tab. */
export function resolveToken(search: string, storage: Pick<Storage, 'getItem' | 'setItem'>): string | null {
  const fromUrl = new URLSearchParams(search).get('token');
  if (fromUrl) {
    storage.setItem(TOKEN_KEY, fromUrl);
    return fromUrl;
  }
  return storage.getItem(TOKEN_KEY);
}

/** Pick the host: the Electron preload when present, else the `serve` transport of this page. */
export function createApi(): Api {
  if (window.sparsescope) return createElectronApi(window.sparsescope);
  const token = resolveToken(window.location.search, window.sessionStorage);
  if (!token) {
    throw new ApiError('no access token: open the URL that `sparsescope serve` printed (it ends in ?token=…)', 'forbidden');
  }
  return createBrowserApi({ origin: window.location.origin, token });
}

