import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeWire, encodeWire, type JobEvent } from '../../../contract/api.js';
import { writeCapture } from '../../../electron/engine/capture/capture.js';
import { createEngine, type Engine } from '../../../electron/engine/handlers.js';
import type { NativeModule } from '../../../electron/engine/native-api.js';
import { startServer, type RunningServer } from '../../../electron/serve/server.js';
import { tinyMetadata, tinyTensors, tokenArrays, tokenTensors } from '../engine/capture/make-capture.js';
import { inProcessWorkers } from '../engine/jobs/in-process.js';

const TOKEN = 'test-token-0123456789';
let base: string;
let root: string;
let engine: Engine;
let server: RunningServer;
let port: number;

const unused = async () => {
  throw new Error('op not used in this test');
};

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'sparsescope-serve-'));
  root = join(base, 'root');
  const staticDir = join(base, 'static');
  await mkdir(join(staticDir, 'assets'), { recursive: true });
  await mkdir(root);
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Sparsescope</title>');
  await writeFile(join(staticDir, 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(base, 'secret.txt'), 'secret');
  await symlink(join(base, 'secret.txt'), join(staticDir, 'assets', 'leak.txt'));
  await writeCapture(join(root, 'tiny.safetensors'), tinyMetadata(), tinyTensors());
  await writeCapture(join(root, 'tokens.safetensors'), tinyMetadata(), [...tinyTensors(), ...tokenTensors(tokenArrays(Array.from({ length: 10 }, (_, i) => `t${i}`)))]);
  const workers = inProcessWorkers({
    loadNative: () => ({ deviceInfo: () => ({ cpuThreads: 2, cuda: { compiled: false, available: false, devices: [] } }) }) as unknown as NativeModule,
    openCapture: async (path) => ({ summary: { path } }) as never,
    ops: {
      deviceInfo: async (_p, { native }) => native().deviceInfo(),
      writeDemo: unused,
      pooledMap: async (params) => ({ region: params.region, mean: new Float32Array([0.25, 0.5]), max: new Float32Array([1, 2]) }),
      mask: unused,
      evaluate: unused,
      budgetCurve: unused,
      analyze: async (_p, { onProgress }) => {
        onProgress(0.5, 'half');
        return { done: true };
      },
      search: unused,
      bench: unused,
    },
  });
  engine = createEngine({ host: 'serve', roots: [root], cacheDir: join(base, 'cache'), spawnWorker: workers.spawn });
  server = await startServer({ roots: [root], token: TOKEN, staticDir, engine, maxBodyBytes: 4096 });
  port = Number(new URL(server.url).port);
});

afterAll(async () => {
  await server.close();
  await engine.dispose();
  await rm(base, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function api(method: string, params: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return send(`/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Sparsescope-Token': TOKEN, ...headers },
    body: encodeWire(params),
  });
}

describe('serve: page and static files', () => {
  it('prints a loopback URL with the token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${port}/?token=${TOKEN}`);
    expect(server.token).toBe(TOKEN);
  });

  it('refuses the page without the right token', async () => {
    for (const path of ['/', '/?token=wrong', '/assets/app.js']) {
      const reply = await send(path);
      expect(reply.status).toBe(401);
      expect(reply.body).toMatch(/missing or wrong token/);
    }
  });

  it('serves index.html with the token, sets the cookie and a strict CSP', async () => {
    const reply = await send(`/?token=${TOKEN}`);
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('<title>Sparsescope</title>');
    expect(reply.headers['set-cookie']).toEqual([`sparsescope_token=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`]);
    const csp = String(reply.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${port}`);
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
  });

  it('serves static files with the cookie', async () => {
    const reply = await send('/assets/app.js', { headers: { Cookie: `sparsescope_token=${TOKEN}` } });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/javascript/);
    expect(reply.body).toBe('console.log(1)');
  });

  it('never serves files outside the static folder', async () => {
    const cookie = { Cookie: `sparsescope_token=${TOKEN}` };
    for (const path of ['/..%2fsecret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/leak.txt', '/%2e%2e/secret.txt', '/nothing.js']) {
      const reply = await send(path, { headers: cookie });
      expect(reply.status, path).toBe(404);
      expect(reply.body).not.toContain('secret');
    }
  });

  it('refuses foreign Host headers (DNS rebinding) and foreign origins', async () => {
    expect((await send(`/?token=${TOKEN}`, { headers: { Host: `evil.example:${port}` } })).status).toBe(403);
    expect((await send(`/?token=${TOKEN}`, { headers: { Host: `localhost:${port}` } })).status).toBe(200);
    expect((await api('device.info', {}, { Origin: 'http://evil.example' })).status).toBe(403);
    expect((await api('device.info', {}, { Origin: `http://127.0.0.1:${port}` })).status).toBe(200);
  });
});

describe('serve: start-up checks', () => {
  it('refuses a root folder that does not exist, before listening', async () => {
    await expect(startServer({ roots: [join(base, 'missing')], engine })).rejects.toThrow(/root folder .*missing does not exist/);
    await expect(startServer({ roots: [], engine })).rejects.toThrow(/at least one --root/);
  });
});

describe('serve: wildcard bind (remote engine behind a tunnel or firewall)', () => {
  it('accepts any Host name with the token, and puts only a plain host:port into the CSP', async () => {
    const remote = await startServer({ host: '0.0.0.0', roots: [root], token: TOKEN, staticDir: join(base, 'static'), engine });
    const remotePort = Number(new URL(remote.url).port);
    const get = (host: string) =>
      new Promise<Reply>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: remotePort, path: `/?token=${TOKEN}`, headers: { Host: host } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: '' }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(remote.url).toBe(`http://127.0.0.1:${remotePort}/?token=${TOKEN}`);
      const named = await get(`gpu-box:${remotePort}`);
      expect(named.status).toBe(200);
      expect(String(named.headers['content-security-policy'])).toContain(`connect-src 'self' ws://gpu-box:${remotePort};`);
      const odd = await get("x; script-src 'unsafe-eval'");
      expect(String(odd.headers['content-security-policy'])).toContain("connect-src 'self';");
      expect(String(odd.headers['content-security-policy'])).not.toContain('unsafe-eval');
    } finally {
      await remote.close();
    }
  });
});

describe('serve: API', () => {
  it('answers a call with the token header or the cookie, in the wire format', async () => {
    const reply = await api('device.info', {});
    expect(reply.status).toBe(200);
    expect(decodeWire(reply.body)).toMatchObject({ result: { host: 'serve', defaultBackend: 'cpu' } });
    const withCookie = await send('/api/device.info', { method: 'POST', headers: { 'Content-Type': 'application/json', Cookie: `sparsescope_token=${TOKEN}` }, body: '{}' });
    expect(withCookie.status).toBe(200);
  });

  it('carries Float32Array results through the wire codec', async () => {
    const opened = decodeWire((await api('capture.open', { path: 'tiny.safetensors' })).body) as { result: { captureId: string } };
    const reply = await api('head.pooledMap', { captureId: opened.result.captureId, layer: 0, head: 1, resolution: 8 });
    const { result } = decodeWire(reply.body) as { result: { mean: Float32Array; max: Float32Array } };
    expect(result.mean).toBeInstanceOf(Float32Array);
    expect([...result.mean]).toEqual([0.25, 0.5]);
  });

  it('answers token text of a bounded range', async () => {
    const opened = decodeWire((await api('capture.open', { path: 'tokens.safetensors' })).body) as { result: { captureId: string; tokens: boolean } };
    expect(opened.result.tokens).toBe(true);
    const reply = await api('capture.tokens', { captureId: opened.result.captureId, start: 8, end: 10 });
    expect(decodeWire(reply.body)).toEqual({ result: { start: 8, ids: [108, 109], text: ['t8', 't9'] } });
    const tooMany = await api('capture.tokens', { captureId: opened.result.captureId, start: 0, end: 5000 });
    expect(tooMany.status).toBe(400);
    expect(decodeWire(tooMany.body)).toMatchObject({ error: { code: 'bad-request', message: 'capture.tokens: end: at most 4096 tokens per call' } });
  });

  it('refuses calls without the token, wrong content type, bad params, unknown methods and big bodies', async () => {
    const noToken = await send('/api/device.info', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(noToken.status).toBe(401);
    expect(decodeWire(noToken.body)).toMatchObject({ error: { code: 'forbidden' } });
    expect((await api('device.info', {}, { 'Content-Type': 'text/plain' })).status).toBe(415);
    expect((await send('/api/device.info', { headers: { 'X-Sparsescope-Token': TOKEN } })).status).toBe(405);

    const badParams = await api('head.pooledMap', { captureId: 'x', layer: -1, head: 0, resolution: 8 });
    expect(badParams.status).toBe(400);
    expect(decodeWire(badParams.body)).toMatchObject({ error: { code: 'bad-request', message: expect.stringMatching(/^head\.pooledMap: layer: /) } });
    const unknown = await api('fs.delete', {});
    expect(decodeWire(unknown.body)).toMatchObject({ error: { message: 'unknown method "fs.delete"' } });
    expect((await api('config.import', { text: 'x'.repeat(8000), fileName: 'big.json' })).status).toBe(413);
    const notJson = await send('/api/device.info', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Sparsescope-Token': TOKEN }, body: '{' });
    expect(notJson.status).toBe(400);
  });

  it('maps engine errors to statuses: outside the roots is 403, a missing capture 404', async () => {
    const outside = await api('files.list', { dir: base });
    expect(outside.status).toBe(403);
    expect(decodeWire(outside.body)).toMatchObject({ error: { code: 'forbidden' } });
    const missing = await api('capture.close', { captureId: 'nope' });
    expect(decodeWire(missing.body)).toEqual({ result: { closed: false } });
    const noCapture = await api('head.mask', { captureId: 'nope', layer: 0, head: 0, resolution: 8, pattern: { pattern: 'dense', a: 0, b: 0 } });
    expect(noCapture.status).toBe(404);
  });
});

describe('serve: job events over WebSocket', () => {
  it('refuses a socket without the token', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/events`);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(-1));
    });
    expect(status).toBe(401);
  });

  it('pushes job events to a socket with the token', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/events?token=${TOKEN}`);
    await new Promise((resolve, reject) => ws.on('open', resolve).on('error', reject));
    const events: JobEvent[] = [];
    ws.on('message', (data) => events.push((decodeWire(String(data)) as { type: 'job'; event: JobEvent }).event));
    const opened = decodeWire((await api('capture.open', { path: 'tiny.safetensors' })).body) as { result: { captureId: string } };
    const started = decodeWire((await api('job.start', { kind: 'analyze', captureId: opened.result.captureId })).body) as { result: { jobId: string } };
    await expect.poll(() => events.at(-1)?.state).toBe('done');
    expect(events[0]).toMatchObject({ jobId: started.result.jobId, state: 'queued' });
    expect(events.at(-1)).toMatchObject({ result: { done: true }, progress: 1 });
    ws.close();
  });

  it('answers job.list with a job that finished while no socket listened, result included', async () => {
    const opened = decodeWire((await api('capture.open', { path: 'tiny.safetensors' })).body) as { result: { captureId: string } };
    const started = decodeWire((await api('job.start', { kind: 'analyze', captureId: opened.result.captureId })).body) as { result: { jobId: string } };
    const listed = async () => (decodeWire((await api('job.list', {})).body) as { result: JobEvent[] }).result;
    await expect.poll(async () => (await listed())[0]?.state).toBe('done');
    expect((await listed())[0]).toMatchObject({ jobId: started.result.jobId, kind: 'analyze', state: 'done', progress: 1, result: { done: true } });
  });
});
