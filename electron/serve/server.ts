/**
 * `sparsescope serve`: the renderer and the engine API over HTTP + WebSocket, for a browser on
 * this machine or through an SSH tunnel to a GPU server.
 *
 * Protocol (the renderer's browser client is written to it):
 *   GET  /?token=T           index.html; sets cookie sparsescope_token=T (HttpOnly, SameSite=Strict)
 *   GET  /<static file>      dist/renderer files; needs the cookie or ?token=T
 *   POST /api/<method>       body encodeWire(params), Content-Type application/json, header
 *                            X-Sparsescope-Token: T (or the cookie) -> encodeWire({result}) or
 *                            encodeWire({error: {message, code}}) with a 4xx/5xx status
 *   WS   /events?token=T     server pushes encodeWire({type: 'job', event})
 * Security: a random per-run token; the Host header must name the bound address (stops DNS
 * rebinding), a present Origin must be this server; bodies are size-limited; static paths cannot
 * leave the static folder; HTML carries a strict CSP. A bind other than loopback logs a warning.
 * Robustness: a bad request or WebSocket frame fails that request or closes that socket, never
 * the server; each failure is logged as one line (no token in it).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiError, encodeWire, decodeWire, parseRequest, type Handlers, type JobEvent } from '../../contract/api.js';
import { appCsp } from '../../contract/csp.js';
import { createEngine, type Engine } from '../engine/handlers.js';
import { nodeWorkerSpawner } from '../engine/jobs/node-spawner.js';

export interface ServerOptions {
  host?: string;
  port?: number;
  /** Folders the API may read captures and configs from (and export configs to). */
  roots: string[];
  /** Fixed token (tests); default: 32 random bytes, new every run. */
  token?: string;
  /** The built renderer; default dist/renderer beside this file's dist/electron. */
  staticDir?: string;
  /** Engine-private cache (recent files, demo capture); default ~/.cache/sparsescope. */
  cacheDir?: string;
  /** An engine to serve instead of creating one (tests). It is not disposed by close(). */
  engine?: Engine;
  /** Largest accepted request body in bytes (default 16 MiB). */
  maxBodyBytes?: number;
  /** Where warnings and one line per failed request or closed bad socket go (default stderr). */
  log?: (line: string) => void;
}

export interface RunningServer {
  /** The URL to open, token included. */
  url: string;
  token: string;
  close(): Promise<void>;
}

export const TOKEN_COOKIE = 'sparsescope_token';
export const TOKEN_HEADER = 'x-sparsescope-token';

const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../renderer/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const STATUS_BY_CODE: Record<ApiError['code'], number> = {
  'bad-request': 400,
  forbidden: 403,
  'not-found': 404,
  cancelled: 409,
  internal: 500,
};

function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sparsescope');
}

function sameSecret(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readCookie(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The warning for a bind other machines can reach; null for loopback. */
function exposureWarning(host: string, port: number): string | null {
  if (isLoopback(host)) return null;
  const where = isWildcard(host) ? `${host} (every network interface), port ${port}: any Host name is accepted and` : `${host}, port ${port}:`;
  return (
    `sparsescope serve: warning: listening on ${where} anyone who can reach it on the network can try; only the token guards ` +
    'the engine and the files under --root, and plain HTTP sends it unencrypted. On a shared network, bind 127.0.0.1 and use an SSH tunnel.'
  );
}

/** One log line: control characters would let a client forge lines; the token is never written. */
function logLine(line: string, token: string): string {
  return line.replace(/[\x00-\x1f\x7f]+/g, ' ').split(token).join('<token>');
}

/** Host headers that name this server. A wildcard bind accepts any: the token still guards it. */
function allowedHosts(host: string, port: number): Set<string> | null {
  if (isWildcard(host)) return null;
  const names = new Set([hostPort(host, port)]);
  if (isLoopback(host)) for (const alias of ['127.0.0.1', 'localhost', '::1']) names.add(hostPort(alias, port));
  return names;
}

/** The app's policy with this server's event socket (contract/csp.ts). */
function contentSecurityPolicy(hostHeader: string): string {
  // The Host header is checked against the bound address except on a wildcard bind: only a plain
  // host[:port] may go into the policy.
  const plainHost = /^[\w.-]+(:\d+)?$|^\[[\da-f:.]+\](:\d+)?$/i.test(hostHeader);
  return appCsp(plainHost ? [`ws://${hostHeader}`] : []);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The request's path and query; an unparsable request-target is the client's error. */
function requestUrl(request: IncomingMessage): URL {
  try {
    return new URL(request.url ?? '/', 'http://localhost');
  } catch {
    throw new HttpError(400, 'bad request URL');
  }
}

/** The status and wire error a failed request gets. */
function failureOf(error: unknown): { status: number; error: { message: string; code: ApiError['code'] } } {
  if (error instanceof HttpError) return { status: error.status, error: { message: error.message, code: error.status === 401 || error.status === 403 ? 'forbidden' : 'bad-request' } };
  if (error instanceof ApiError) return { status: STATUS_BY_CODE[error.code], error: { message: error.message, code: error.code } };
  return { status: 500, error: { message: error instanceof Error ? error.message : String(error), code: 'internal' } };
}

async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, `request body over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const bindHost = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(32).toString('base64url');
  const staticDir = resolve(options.staticDir ?? DEFAULT_STATIC_DIR);
  const maxBodyBytes = options.maxBodyBytes ?? 16 << 20;
  const write = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (line: string) => write(logLine(line, token));
  if (options.roots.length === 0) throw new ApiError('serve needs at least one --root folder');
  for (const root of options.roots) {
    const info = await stat(root).catch(() => null);
    if (!info?.isDirectory()) throw new ApiError(`root folder ${root} does not exist or is not a folder`, 'not-found');
  }
  const engine =
    options.engine ??
    createEngine({ host: 'serve', roots: options.roots, cacheDir: options.cacheDir ?? defaultCacheDir(), spawnWorker: nodeWorkerSpawner() });
  const handlers: Handlers = engine.handlers;
  let hosts: Set<string> | null = null;
  let realStaticDir: string | null = null;

  function checkHostAndOrigin(request: IncomingMessage): string {
    const hostHeader = request.headers.host ?? '';
    if (hosts && !hosts.has(hostHeader.toLowerCase())) throw new HttpError(403, `unexpected Host header ${JSON.stringify(hostHeader)}`);
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://${hostHeader}`) throw new HttpError(403, `cross-origin request from ${origin} refused`);
    return hostHeader;
  }

  function tokenOf(request: IncomingMessage, url: URL): string | undefined {
    const header = request.headers[TOKEN_HEADER];
    return (typeof header === 'string' ? header : undefined) ?? url.searchParams.get('token') ?? readCookie(request, TOKEN_COOKIE);
  }

  function requireToken(request: IncomingMessage, url: URL): void {
    if (!sameSecret(tokenOf(request, url), token)) {
      throw new HttpError(401, 'Sparsescope: missing or wrong token. Open the URL that `sparsescope serve` printed, token included.');
    }
  }

  function sendText(response: ServerResponse, status: number, text: string): void {
    response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    response.end(`${text}\n`);
  }

  function sendApi(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    response.end(encodeWire(body));
  }

  async function serveApi(request: IncomingMessage, response: ServerResponse, method: string): Promise<void> {
    if (request.method !== 'POST') throw new HttpError(405, 'API calls are POST requests');
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json') throw new HttpError(415, 'API calls need Content-Type: application/json');
    const body = await readBody(request, maxBodyBytes);
    let params: unknown;
    try {
      params = body.trim() === '' ? {} : decodeWire(body);
    } catch (error) {
      throw new ApiError(`${method}: body is not valid JSON (${(error as Error).message})`);
    }
    const parsed = parseRequest(method, params);
    const handler = handlers[parsed.method] as (params: unknown) => Promise<unknown>;
    sendApi(response, 200, { result: await handler(parsed.params) });
  }

  async function serveStatic(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, 'only GET here');
    let pathname: string;
    try {
      pathname = decodeURIComponent(url.pathname);
    } catch {
      throw new HttpError(400, 'bad URL encoding');
    }
    if (pathname.includes('\0')) throw new HttpError(400, 'bad path');
    const isIndex = pathname === '/' || pathname === '/index.html';
    realStaticDir ??= await realpath(staticDir).catch(() => {
      throw new HttpError(500, `the renderer is not built (${staticDir} is missing): run npm run build`);
    });
    const file = resolve(realStaticDir, `.${isIndex ? '/index.html' : pathname}`);
    const real = await realpath(file).catch(() => null);
    const rel = real === null ? '..' : relative(realStaticDir, real);
    if (rel.startsWith('..') || isAbsolute(rel)) throw new HttpError(404, 'not found');
    const info = await stat(real!);
    if (!info.isFile()) throw new HttpError(404, 'not found');
    // Read whole (the renderer's files are small) so a file that vanishes mid-send, e.g. during a
    // rebuild of dist/, is a failed request and not an unhandled stream error.
    const body = await readFile(real!).catch(() => {
      throw new HttpError(404, 'not found');
    });
    const type = CONTENT_TYPES[extname(real!).toLowerCase()] ?? 'application/octet-stream';
    const headers: Record<string, string | number> = {
      'Content-Type': type,
      'Content-Length': body.length,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    };
    if (type.startsWith('text/html')) {
      headers['Content-Security-Policy'] = contentSecurityPolicy(request.headers.host ?? '');
      headers['X-Frame-Options'] = 'DENY';
      const given = url.searchParams.get('token');
      if (given !== null) headers['Set-Cookie'] = `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    }
    response.writeHead(200, headers);
    response.end(request.method === 'HEAD' ? undefined : body);
  }

  const server = createServer((request, response) => {
    void (async () => {
      let path = '(bad URL)';
      let isApi = false;
      try {
        const url = requestUrl(request);
        path = url.pathname; // never the query: it may hold the token
        isApi = path.startsWith('/api/');
        checkHostAndOrigin(request);
        requireToken(request, url);
        if (isApi) await serveApi(request, response, path.slice('/api/'.length));
        else await serveStatic(request, response, url);
      } catch (error) {
        const failure = failureOf(error);
        log(`sparsescope serve: ${request.method} ${path} -> ${failure.status} ${failure.error.message}`);
        if (response.headersSent) return void response.destroy();
        if (isApi) sendApi(response, failure.status, { error: failure.error });
        else sendText(response, failure.status, failure.error.message);
      }
    })();
  });

  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (request, socket, head) => {
    let path = '(bad URL)';
    try {
      const url = requestUrl(request);
      path = url.pathname;
      checkHostAndOrigin(request);
      requireToken(request, url);
      if (path !== '/events') throw new HttpError(404, 'not found');
    } catch (error) {
      const failure = failureOf(error);
      log(`sparsescope serve: WebSocket ${path} refused -> ${failure.status} ${failure.error.message}`);
      socket.on('error', () => socket.destroy()); // the client may reset before reading the refusal
      socket.end(`HTTP/1.1 ${failure.status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  });
  sockets.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    // A protocol violation (unmasked frame, bad UTF-8, message over maxPayload) makes ws close
    // this socket with the matching code and emit 'error'; unheard, that error would end serve.
    ws.on('error', (error) => log(`sparsescope serve: WebSocket from ${request.socket.remoteAddress} closed: ${error.message}`));
  });
  const broadcast = (event: JobEvent) => {
    const message = encodeWire({ type: 'job', event });
    for (const client of sockets.clients as Set<WebSocket>) if (client.readyState === client.OPEN) client.send(message);
  };
  const unsubscribe = engine.onJobEvent(broadcast);

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 0, bindHost, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(bindHost, port);
  const warning = exposureWarning(bindHost, port);
  if (warning) log(warning);
  const urlHost = isWildcard(bindHost) ? '127.0.0.1' : bindHost;

  return {
    url: `http://${hostPort(urlHost, port)}/?token=${token}`,
    token,
    async close() {
      unsubscribe();
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      if (!options.engine) await engine.dispose();
    },
  };
}
