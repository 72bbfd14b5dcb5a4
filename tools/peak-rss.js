// Peak resident memory of a Node command, wherever Node runs (no /usr/bin/time, no /proc): the
// command runs under a preload that, at exit, writes process.resourceUsage().maxRSS (the kernel's
// high-water mark of that process, all its threads) to a file. Used by the CLI memory test and
// bench/memory.js. A command killed by a signal has no peak to report (peakRssBytes null).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PRELOAD =
  'data:text/javascript,import{writeFileSync}from"node:fs";' +
  'process.on("exit",()=>writeFileSync(process.env.SPARSESCOPE_PEAK_RSS_FILE,String(process.resourceUsage().maxRSS*1024)))';

/**
 * Run `node ...args`; resolves with its exit code, output, peak RSS in bytes and wall seconds.
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string }} [options]
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string, peakRssBytes: number | null, seconds: number }>}
 */
export async function runWithPeakRss(args, { env = process.env, cwd } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'sparsescope-peak-rss-'));
  const peakFile = join(dir, 'peak');
  const started = performance.now();
  try {
    const child = spawn(process.execPath, ['--import', PRELOAD, ...args], { cwd, env: { ...env, SPARSESCOPE_PEAK_RSS_FILE: peakFile }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data) => (stdout += data));
    child.stderr.on('data', (data) => (stderr += data));
    const code = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    const seconds = (performance.now() - started) / 1000;
    const peak = await readFile(peakFile, 'utf8').catch(() => null);
    return { code, stdout, stderr, peakRssBytes: peak === null ? null : Number(peak), seconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
