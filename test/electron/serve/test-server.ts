/**
 * An in-process `sparsescope serve` for the serve tests and fuzzers: a temporary root with two
 * small captures, a static folder with a symlink that leads out of it, an engine whose jobs run
 * in-process and finish at once, what the server logs, and helpers for raw requests.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { decodeWire, encodeWire, type JobEvent } from '../../../contract/api.js';
import { openCapture, writeCapture } from '../../../electron/engine/capture/capture.js';
import { createEngine, type Engine } from '../../../electron/engine/handlers.js';
import type { NativeModule } from '../../../electron/engine/native-api.js';
import { startServer, type RunningServer } from '../../../electron/serve/server.js';
import { tinyMetadata, tinyTensors, tokenArrays, tokenTensors } from '../engine/capture/make-capture.js';
import { inProcessWorkers } from '../engine/jobs/in-process.js';

export const TOKEN = 'test-token-0123456789';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface TestServer {
  server: RunningServer;
  port: number;
  base: string;
  root: string;
  staticDir: string;
  engine: Engine;
  /** Every line the server logged so far. */
  logs: string[];
  send(path: string, options?: { method?: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Reply>;
  /** POST /api/<method> with the token and the wire encoding of `params`. */
  api(method: string, params: unknown, headers?: Record<string, string>): Promise<Reply>;
  close(): Promise<void>;
}

const unused = async () => {
  throw new Error('op not used in this test');
};

function fastEngine(root: string, cacheDir: string): Engine {
  const workers = inProcessWorkers({
    loadNative: () => ({ deviceInfo: () => ({ cpuThreads: 2, cuda: { compiled: false, available: false, devices: [] } }) }) as unknown as NativeModule,
    openCapture,
    ops: {
      deviceInfo: async (_p, { native }) => native().deviceInfo(),
      writeDemo: unused,
      pooledMap: async (params) => ({ region: params.region, mean: new Float32Array([0.25, 0.5]), max: new Float32Array([1, 2]) }),
      mask: unused,
      evaluate: unused,
      budgetCurve: unused,
      kernelBlocks: unused,
      outputError: unused,
      analyze: async (_p, { onProgress }) => {
        onProgress(0.5, 'half');
        return { done: true };
      },
      search: unused,
      bench: unused,
    },
  });
  return createEngine({ host: 'serve', roots: [root], cacheDir, spawnWorker: workers.spawn });
}

export async function startTestServer(options: { maxBodyBytes?: number; host?: string } = {}): Promise<TestServer> {
  const base = await mkdtemp(join(tmpdir(), 'sparsescope-serve-'));
  const root = join(base, 'root');
  const staticDir = join(base, 'static');
  await mkdir(join(staticDir, 'assets'), { recursive: true });
  await mkdir(root);
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Sparsescope</title>');
  await writeFile(join(staticDir, 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(base, 'secret.txt'), 'secret');
  await symlink(join(base, 'secret.txt'), join(staticDir, 'assets', 'leak.txt'));
  await writeCapture(join(root, 'tiny.safetensors'), tinyMetadata(), tinyTensors());
  await writeCapture(join(root, 'tokens.safetensors'), tinyMetadata(), [...tinyTensors(), ...tokenTensors(tokenArrays(Array.from({ length: 10 }, (_, i) => `t${i}`)))]);
  const engine = fastEngine(root, join(base, 'cache'));
  const logs: string[] = [];
  const server = await startServer({ host: options.host, roots: [root], token: TOKEN, staticDir, engine, maxBodyBytes: options.maxBodyBytes ?? 4096, log: (line) => logs.push(line) });
  const port = Number(new URL(server.url).port);

  function send(path: string, request: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method: request.method ?? 'GET', headers: request.headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(request.body);
    });
  }

  return {
    server,
    port,
    base,
    root,
    staticDir,
    engine,
    logs,
    send,
    api: (method, params, headers = {}) =>
      send(`/api/${method}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Sparsescope-Token': TOKEN, ...headers }, body: encodeWire(params) }),
    async close() {
      await server.close();
      await engine.dispose();
      await rm(base, { recursive: true, force: true });
    },
  };
}

/** A WebSocket on /events with the token, open. */
export async function openEvents(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/events?token=${TOKEN}`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return ws;
}

/** The job events `ws` receives from now on. */
export function collectEvents(ws: WebSocket): JobEvent[] {
  const events: JobEvent[] = [];
  ws.on('message', (data) => events.push((decodeWire(String(data)) as { type: 'job'; event: JobEvent }).event));
  return events;
}

/** Open tiny.safetensors and start an analyze job on it; resolves with the job's id. */
export async function startAnalyze(test: TestServer): Promise<string> {
  const opened = decodeWire((await test.api('capture.open', { path: 'tiny.safetensors' })).body) as { result: { captureId: string } };
  const started = decodeWire((await test.api('job.start', { kind: 'analyze', captureId: opened.result.captureId })).body) as { result: { jobId: string } };
  return started.result.jobId;
}
