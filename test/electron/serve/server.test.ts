import { readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeWire, type JobEvent } from '../../../contract/api.js';
import { appCsp } from '../../../contract/csp.js';
import { startServer, type RunningServer } from '../../../electron/serve/server.js';
import { closeCode, frame, openRawSocket, rawRequest } from './raw-socket.js';
import { collectEvents, openEvents, startAnalyze, startTestServer, TOKEN, type Reply, type TestServer } from './test-server.js';

let test: TestServer;
let base: string;
let root: string;
let server: RunningServer;
let port: number;
let send: TestServer['send'];
let api: TestServer['api'];

beforeAll(async () => {
  test = await startTestServer();
  ({ base, root, server, port, send, api } = test);
});

afterAll(async () => {
  await test.close();
});

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
    expect(reply.headers['content-security-policy']).toBe(appCsp([`ws://127.0.0.1:${port}`]));
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
    await expect(startServer({ roots: [join(base, 'missing')], engine: test.engine })).rejects.toThrow(/root folder .*missing does not exist/);
    await expect(startServer({ roots: [], engine: test.engine })).rejects.toThrow(/at least one --root/);
  });
});

describe('serve: wildcard bind (remote engine behind a tunnel or firewall)', () => {
  it('accepts any Host name with the token, and puts only a plain host:port into the CSP', async () => {
    const logs: string[] = [];
    const remote = await startServer({ host: '0.0.0.0', roots: [root], token: TOKEN, staticDir: test.staticDir, engine: test.engine, log: (line) => logs.push(line) });
    const remotePort = Number(new URL(remote.url).port);
    const get = (host: string, path = `/?token=${TOKEN}`) =>
      new Promise<Reply>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: remotePort, path, headers: { Host: host } }, (res) => {
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
      expect((await get(`gpu-box:${remotePort}`, '/')).status).toBe(401);
      await expect(openRawSocket(remotePort, '/events')).rejects.toThrow(/upgrade refused: HTTP\/1.1 401/);
    } finally {
      await remote.close();
    }
  });

  it('warns that a non-loopback bind is reachable from the network with only the token guarding it', async () => {
    for (const host of ['0.0.0.0', '127.0.0.1']) {
      const logs: string[] = [];
      const bound = await startServer({ host, roots: [root], token: TOKEN, staticDir: test.staticDir, engine: test.engine, log: (line) => logs.push(line) });
      await bound.close();
      if (host === '127.0.0.1') expect(logs).toEqual([]);
      else {
        expect(logs).toHaveLength(1);
        expect(logs[0]).toMatch(/^sparsescope serve: warning: listening on 0\.0\.0\.0 \(every network interface\)/);
        expect(logs[0]).toMatch(/any Host name is accepted/);
        expect(logs[0]).toMatch(/only the token guards/);
        expect(logs[0]).not.toContain(TOKEN);
      }
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

  it('writes concurrent exports to one file, none failing (found by the API fuzzer: all but one got a 500)', async () => {
    const config = { numLayers: 1, numHeads: 1, heads: [[{ pattern: 'dense', a: 0, b: 0 }]] };
    const replies = await Promise.all(Array.from({ length: 8 }, () => api('config.export', { config, format: 'sparsescope', path: 'same.json' })));
    expect(replies.map((reply) => reply.status)).toEqual(Array(8).fill(200));
    expect(await readdir(root)).not.toContainEqual(expect.stringMatching(/partial/));
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
    const ws = await openEvents(port);
    const events = collectEvents(ws);
    const jobId = await startAnalyze(test);
    await expect.poll(() => events.at(-1)?.state).toBe('done');
    expect(events[0]).toMatchObject({ jobId, state: 'queued' });
    expect(events.at(-1)).toMatchObject({ result: { done: true }, progress: 1 });
    ws.close();
  });

  it('answers job.list with a job that finished while no socket listened, result included', async () => {
    const jobId = await startAnalyze(test);
    const listed = async () => (decodeWire((await api('job.list', {})).body) as { result: JobEvent[] }).result;
    await expect.poll(async () => (await listed())[0]?.state).toBe('done');
    expect((await listed())[0]).toMatchObject({ jobId, kind: 'analyze', state: 'done', progress: 1, result: { done: true } });
  });
});

describe('serve: bad WebSocket frames', () => {
  const text = (bytes: number[]) => new Uint8Array(bytes);
  const cases = [
    { what: 'an unmasked frame', bytes: frame({ opcode: 0x1, payload: text([0x68, 0x69]), masked: false }), code: 1002 },
    { what: 'a text frame with invalid UTF-8', bytes: frame({ opcode: 0x1, payload: text([0xc3, 0x28, 0xff]) }), code: 1007 },
    { what: 'a message over 64 KiB', bytes: frame({ opcode: 0x2, declaredLength: 64 * 1024 + 1 }), code: 1009 },
  ];

  it.each(cases)('closes only the socket that sent $what (code $code), logs it, and keeps serving', async ({ bytes, code }) => {
    const bystander = await openEvents(port);
    const events = collectEvents(bystander);
    const logged = test.logs.length;
    const raw = await openRawSocket(port, `/events?token=${TOKEN}`);
    raw.socket.write(bytes);
    expect(await closeCode(raw)).toBe(code);
    expect(test.logs.slice(logged)).toEqual([expect.stringMatching(/^sparsescope serve: WebSocket from 127\.0\.0\.1 closed: /)]);
    expect((await api('device.info', {})).status).toBe(200);
    const jobId = await startAnalyze(test);
    await expect.poll(() => events.find((e) => e.jobId === jobId && e.state === 'done')).toBeTruthy();
    bystander.close();
  });
});

describe('serve: failed requests', () => {
  it('answers an unparsable request-target with 400, on HTTP and on upgrade, and keeps serving', async () => {
    const upgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
    for (const headers of ['', upgrade]) {
      expect(await rawRequest(port, `GET http://[ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n${headers}\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect((await api('device.info', {})).status).toBe(200);
  });

  it('survives clients that reset their refused upgrade', async () => {
    const handshake = `GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const resets = Array.from({ length: 20 }, () => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(handshake, () => socket.resetAndDestroy());
      return new Promise((resolve) => socket.once('close', resolve));
    });
    await Promise.all(resets);
    expect((await api('device.info', {})).status).toBe(200);
  });

  it('logs each failed request as one line: method, path, status, message, never the token', async () => {
    const logged = test.logs.length;
    await api('fs.delete', {});
    await send('/?token=wrong-token-123');
    await api(TOKEN, {});
    await send(`/api/device.info?token=${TOKEN}`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' });
    expect((await api('device.info', {})).status).toBe(200);
    // Refused upgrades of the test before may still be logging: only HTTP lines count here.
    expect(test.logs.slice(logged).filter((line) => !line.includes('WebSocket'))).toEqual([
      'sparsescope serve: POST /api/fs.delete -> 400 unknown method "fs.delete"',
      'sparsescope serve: GET / -> 401 Sparsescope: missing or wrong token. Open the URL that `sparsescope serve` printed, token included.',
      'sparsescope serve: POST /api/<token> -> 400 unknown method "<token>"',
      'sparsescope serve: POST /api/device.info -> 415 API calls need Content-Type: application/json',
    ]);
  });
});
