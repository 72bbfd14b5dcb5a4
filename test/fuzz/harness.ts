/**
 * What the serve fuzzers share (their budget is in budget.ts): the real `sparsescope serve` with
 * three tiny captures in its root (one with tokens, one whose values overflow fp32), API calls
 * over fetch, and the health check every batch must pass: the process is alive, answers a valid
 * call, and a socket opened before the batch still gets job events.
 */
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { decodeWire, encodeWire, type JobEvent } from '../../contract/api.js';
import { writeCapture } from '../../electron/engine/capture/capture.js';
import { startTestServer, type TestServer } from '../e2e/serve-fixture.js';
import { pokedTensors, TINY, tinyMetadata, tinyTensors, tokenArrays, tokenTensors } from '../electron/engine/capture/make-capture.js';

export interface Reply {
  status: number;
  contentType: string;
  body: string;
}

export interface FuzzServer {
  serve: TestServer;
  port: number;
  /** A tiny capture opened in the engine. */
  captureId: string;
  /** POST /api/<method> with a raw body and headers (token header added unless given). */
  post(method: string, body: string | Uint8Array, headers?: Record<string, string>): Promise<Reply>;
  api(method: string, params: unknown): Promise<Reply>;
  /** Throws unless serve still runs, answers and delivers events to the socket opened at start. */
  expectServing(): Promise<void>;
  close(): Promise<void>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (hang?)`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function openEvents(port: number, token: string): Promise<{ ws: WebSocket; events: JobEvent[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/events?token=${token}`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const events: JobEvent[] = [];
  ws.on('message', (data) => events.push((decodeWire(String(data)) as { event: JobEvent }).event));
  return { ws, events };
}

export async function startFuzzServer(): Promise<FuzzServer> {
  const serve = await startTestServer();
  await writeCapture(join(serve.root, 'tiny.safetensors'), tinyMetadata(), tinyTensors());
  await writeCapture(join(serve.root, 'tokens.safetensors'), tinyMetadata(), [...tinyTensors(), ...tokenTensors(tokenArrays([...'abcdefghij']))]);
  // Bad capture data is bad input too: a value whose attention scores overflow fp32.
  await writeCapture(join(serve.root, 'huge.safetensors'), tinyMetadata(), pokedTensors(TINY, [{ layer: 0, kind: 'k', head: 0, row: 3, dim: 1, value: 1e38 }]));
  const port = Number(new URL(serve.url).port);

  async function post(method: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<Reply> {
    const call = fetch(`http://127.0.0.1:${port}/api/${method}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Sparsescope-Token': serve.token, ...headers },
      body: typeof body === 'string' ? body : new Uint8Array(body), // a copy on its own ArrayBuffer, as fetch's types ask
    }).then(async (response) => ({ status: response.status, contentType: response.headers.get('content-type') ?? '', body: await response.text() }));
    return withTimeout(call, 15_000, `POST /api/${method}`);
  }
  const api = (method: string, params: unknown) => post(method, encodeWire(params));

  const opened = await api('capture.open', { path: 'tiny.safetensors' });
  const captureId = (decodeWire(opened.body) as { result: { captureId: string } }).result.captureId;
  const bystander = await openEvents(port, serve.token);

  async function checkServing(): Promise<void> {
    const info = await api('device.info', {});
    if (info.status !== 200) throw new Error(`device.info answered ${info.status}: ${info.body}`);
    const started = await api('job.start', { kind: 'analyze', captureId });
    const { jobId } = (decodeWire(started.body) as { result: { jobId: string } }).result;
    const delivered = new Promise<void>((resolve) => {
      const check = () => (bystander.events.some((e) => e.jobId === jobId && e.state !== 'queued' && e.state !== 'running') ? resolve() : setTimeout(check, 20));
      check();
    });
    await withTimeout(delivered, 20_000, `events of job ${jobId} on the socket opened at start`);
  }

  /** A failure says whether serve died, with the end of what it printed. */
  async function expectServing(): Promise<void> {
    try {
      await checkServing();
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 200)); // let a dying process finish exiting
      const died = serve.exited();
      if (died) throw new Error(`serve died (${died}):\n${serve.output().slice(-3000)}`);
      throw error;
    }
  }

  return {
    serve,
    port,
    captureId,
    post,
    api,
    expectServing,
    async close() {
      bystander.ws.close();
      await serve.close();
    },
  };
}

/** How many log lines of each kind serve wrote, for the fuzz summary. */
export function logCounts(output: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of output.split('\n')) {
    const socket = /^sparsescope serve: WebSocket from \S+ closed: ([^:(]+)/.exec(line);
    const request = /^sparsescope serve: (WebSocket \S+ refused|[A-Z]+ \S+) -> (\d+)/.exec(line);
    const kind = socket ? `socket closed: ${socket[1]}` : request ? `${request[1]!.startsWith('WebSocket') ? 'upgrade' : 'request'} ${request[2]}` : null;
    if (kind) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}
