/**
 * Starts the real `sparsescope serve` (bin/sparsescope.js, built dist/, real worker processes and
 * native module) on a free port with a temporary root and cache, for the end-to-end tests and the
 * fuzzers (which also read what it logged and whether it died).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'bin', 'sparsescope.js');
const BUILT_SERVER = join(REPO, 'dist', 'electron', 'serve', 'server.js');
const BUILT_RENDERER = join(REPO, 'dist', 'renderer', 'index.html');

export interface TestServer {
  /** The URL to open, token included. */
  url: string;
  token: string;
  /** The folder the server may open files from (temporary unless given). */
  root: string;
  /** Everything serve wrote to stdout and stderr so far. */
  output(): string;
  /** How serve ended ("code 1", "SIGKILL"), or null while it runs. */
  exited(): string | null;
  close(): Promise<void>;
}

/** Collects the child's output from now on. */
function recordOutput(child: ChildProcess): () => string {
  let output = '';
  const collect = (chunk: Buffer) => (output += chunk.toString());
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return () => output;
}

function waitForUrl(child: ChildProcess, output: () => string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`sparsescope serve printed no URL within ${timeoutMs} ms:\n${output()}`)), timeoutMs);
    function fail(error: Error) {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.kill('SIGKILL');
      reject(error);
    }
    function check() {
      const match = /(http:\/\/\S+\?token=\S+)/.exec(output());
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve(match[1]!);
    }
    child.stdout!.on('data', check);
    child.once('exit', (code, signal) => fail(new Error(`sparsescope serve exited early (${signal ?? `code ${code}`}):\n${output()}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGINT'); // the CLI's Ctrl-C path: closes the server and its workers
  });
}

export async function startTestServer(options: { root?: string; timeoutMs?: number } = {}): Promise<TestServer> {
  for (const built of [BUILT_SERVER, BUILT_RENDERER]) {
    if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build before the e2e tests`);
  }
  const scratch = await mkdtemp(join(tmpdir(), 'sparsescope-e2e-'));
  const root = options.root ?? join(scratch, 'root');
  await mkdir(root, { recursive: true });
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--root', root], {
    cwd: REPO,
    env: { ...process.env, XDG_CACHE_HOME: join(scratch, 'cache') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = recordOutput(child);
  try {
    const url = await waitForUrl(child, output, options.timeoutMs ?? 30_000);
    return {
      url,
      token: new URL(url).searchParams.get('token')!,
      root,
      output,
      exited: () => child.signalCode ?? (child.exitCode === null ? null : `code ${child.exitCode}`),
      async close() {
        await stop(child);
        await rm(scratch, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
}
