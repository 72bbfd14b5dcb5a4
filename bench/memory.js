#!/usr/bin/env node
// Peak memory at long context on the CPU (issue 13): for each N of SEQ_LENS, `sparsescope demo`
// writes a one-layer capture (8 heads, 2 KV heads, head dim 64, bf16) and `analyze --backend cpu`
// runs on it; both run as child processes whose peak RSS is read at their exit
// (tools/peak-rss.js). analyze's batch budget (SPARSESCOPE_CPU_BATCH_MIB) is the engine's 512 MiB
// scaled by N / 1M, so every N is cut into the batches 1M is (two query heads and their KV head)
// and memory grows in proportion to N: a straight line through the peaks then extrapolates to 1M
// tokens at the real budget. With 1048576 in SEQ_LENS that length runs at the real budget and the
// target is judged on its measured peak (on 2 cores that run takes hours: the dense timing is
// N^2). Prints a table and writes the "memory" section of bench/RESULTS.md with the date, machine,
// command and the verdict against the issue's 1.25 GiB target.
// Needs dist/ (npm run build) and the native addon.
// Env: SEQ_LENS (131072,262144), THREADS (demo's --threads; default all cores), WORK_DIR (a temp folder).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWithPeakRss } from '../tools/peak-rss.js';
import { writeResultsSection } from './results-section.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const cli = join(repo, 'bin', 'sparsescope.js');
const seqLens = (process.env.SEQ_LENS ?? '131072,262144').split(',').map(Number);
const SHAPE = ['--layers', '1', '--heads', '8', '--kv-heads', '2', '--head-dim', '64'];
const TARGET_BYTES = 1.25 * 2 ** 30;
const MILLION = 1 << 20;
/** The engine's CPU batch budget (electron/engine/analysis/common.ts CPU_BATCH_BYTES), in MiB. */
const BATCH_MIB_AT_1M = 512;

const mib = (bytes) => (bytes / 2 ** 20).toFixed(0);
const clock = (seconds) => `${Math.floor(seconds / 60)}:${String(Math.round(seconds % 60)).padStart(2, '0')}`;

/** Run the CLI; a failure stops the bench with its output. */
async function measured(args, env = process.env) {
  const run = await runWithPeakRss([cli, ...args], { env });
  if (run.code !== 0) throw new Error(`sparsescope ${args.join(' ')} failed (exit ${run.code}):\n${run.stderr}`);
  return run;
}

function commit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Least-squares line through (N, peak), evaluated at `n`. */
function extrapolate(rows, n) {
  const meanX = rows.reduce((sum, row) => sum + row.seqLen, 0) / rows.length;
  const meanY = rows.reduce((sum, row) => sum + row.analyzePeak, 0) / rows.length;
  const spread = rows.reduce((sum, row) => sum + (row.seqLen - meanX) ** 2, 0);
  const slope = spread > 0 ? rows.reduce((sum, row) => sum + (row.seqLen - meanX) * (row.analyzePeak - meanY), 0) / spread : 0;
  return { atN: meanY + slope * (n - meanX), perMillion: slope * MILLION };
}

/** The target line: measured at 1M when that length ran, else the straight line's value there. */
function verdict(atMillion, line) {
  const against = `against the target of ${mib(TARGET_BYTES)} MiB`;
  if (atMillion) return `Measured at 1M tokens (batch budget ${BATCH_MIB_AT_1M} MiB): analyze peaked at ${mib(atMillion.analyzePeak)} MiB ${against}: ${atMillion.analyzePeak < TARGET_BYTES ? 'met' : 'not met'}.`;
  if (!line) return 'One length only: no extrapolation.';
  return `Straight line through the analyze peaks: ${mib(line.perMillion)} MiB per 1M tokens, ${mib(line.atN)} MiB at 1M tokens (batch budget ${BATCH_MIB_AT_1M} MiB) ${against}: ${line.atN < TARGET_BYTES ? 'met (extrapolated)' : 'not met (extrapolated)'}.`;
}

async function main() {
  const work = process.env.WORK_DIR ?? mkdtempSync(join(tmpdir(), 'sparsescope-memory-'));
  const threads = process.env.THREADS ? ['--threads', process.env.THREADS] : [];
  const loadBefore = loadavg()[0];
  const rows = [];
  try {
    for (const seqLen of seqLens) {
      const capture = join(work, `memory-${seqLen}.safetensors`);
      const demo = await measured(['demo', '--out', capture, '--seq', String(seqLen), ...SHAPE, ...threads]);
      const fileBytes = statSync(capture).size;
      const batchMib = (BATCH_MIB_AT_1M * seqLen) / MILLION;
      const analyze = await measured(['analyze', capture, '--backend', 'cpu', '--json'], { ...process.env, SPARSESCOPE_CPU_BATCH_MIB: String(batchMib) });
      const report = JSON.parse(analyze.stdout);
      rows.push({ seqLen, fileBytes, demo, batchMib, analyzePeak: analyze.peakRssBytes, analyzeSeconds: analyze.seconds, meanRecall: report.totals.meanRecall });
      console.log(`N=${seqLen}: demo ${mib(demo.peakRssBytes)} MiB peak, ${(fileBytes / 2 ** 20 / demo.seconds).toFixed(1)} MiB/s; analyze ${mib(analyze.peakRssBytes)} MiB peak, ${clock(analyze.seconds)}`);
      rmSync(capture, { force: true });
    }
  } finally {
    if (!process.env.WORK_DIR) rmSync(work, { recursive: true, force: true });
  }
  const atMillion = rows.find((row) => row.seqLen === MILLION);
  const line = rows.length > 1 ? extrapolate(rows, MILLION) : null;
  const body = [
    '## Memory at long context on the CPU, measured (issue 13)',
    '',
    `- Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit()}`,
    `- Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after (times are wall clock)`,
    `- Command: \`${process.env.SEQ_LENS ? `SEQ_LENS=${process.env.SEQ_LENS} ` : ''}node bench/memory.js\`: per N, \`sparsescope demo --seq N ${SHAPE.join(' ')}${threads.length ? ` --threads ${process.env.THREADS}` : ''}\` (bf16), then \`SPARSESCOPE_CPU_BATCH_MIB=512·N/1M sparsescope analyze --backend cpu\` (MInference's default config; the budget scaled so that every N is cut into the batches 1M is); peak RSS of each process from its own \`process.resourceUsage().maxRSS\` at exit (tools/peak-rss.js)`,
    '',
    '| N | file | demo peak RSS | demo time | demo rate | analyze batch budget | analyze peak RSS | analyze time | mean recall |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (row) =>
        `| ${row.seqLen.toLocaleString('en-US')} | ${mib(row.fileBytes)} MiB | ${mib(row.demo.peakRssBytes)} MiB | ${clock(row.demo.seconds)} | ${(row.fileBytes / 2 ** 20 / row.demo.seconds).toFixed(1)} MiB/s | ${row.batchMib} MiB | ${mib(row.analyzePeak)} MiB | ${clock(row.analyzeSeconds)} | ${row.meanRecall.toFixed(4)} |`,
    ),
    '',
    verdict(atMillion, line),
  ].join('\n');
  console.log(`\n${body}`);
  console.log(`\nwrote ${writeResultsSection('memory', 'bench/memory.js', body)}`);
}

await main();
