#!/usr/bin/env node
// Issue 16's measurement: `sparsescope search` of one synthetic capture (32 layers at 128K by
// default) on 1, 2, 4 and 8 GPUs through the sharded runner (`--workers gpu:N`), the scaling
// efficiency, and the one-GPU overhead of that path against today's (the search in the CLI's own
// process, no --workers). Every sharded config is checked equal to the unsharded one. Writes the
// `multi-gpu` section of bench/RESULTS.md (`multi-gpu-cpu` for the CPU stand-in variant).
//
//   node bench/multi-gpu.js                      on a multi-GPU host, addon and dist/ built
//   MGPU_BACKEND=cpu MGPU_SEQ=2048 MGPU_LAYERS=4 node bench/multi-gpu.js   CPU stand-ins (cpu:N workers)
//
// Env: MGPU_SEQ (131072), MGPU_LAYERS (32), MGPU_HEADS (32), MGPU_KV_HEADS (8), MGPU_HEAD_DIM
// (128), MGPU_TARGET (0.95), MGPU_COUNTS (1,2,4,8; GPU counts above the visible ones are reported
// as not run), MGPU_REPEATS (1: rounds of every command, interleaved so load drifts alike on all;
// the median is reported), MGPU_BACKEND (cuda, or cpu for stand-ins), MGPU_WORK (a temp folder;
// the capture is kept there and reused), BENCH_COMMIT.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeResultsSection } from './results-section.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = (name, fallback) => process.env[name] ?? fallback;
const shape = { seq: Number(env('MGPU_SEQ', 131072)), layers: Number(env('MGPU_LAYERS', 32)), heads: Number(env('MGPU_HEADS', 32)), kvHeads: Number(env('MGPU_KV_HEADS', 8)), headDim: Number(env('MGPU_HEAD_DIM', 128)) };
const target = env('MGPU_TARGET', '0.95');
const backend = env('MGPU_BACKEND', 'cuda');
const counts = env('MGPU_COUNTS', '1,2,4,8').split(',').map(Number);
const repeats = Number(env('MGPU_REPEATS', 1));
const work = env('MGPU_WORK', path.join(tmpdir(), 'sparsescope-multi-gpu'));
const OVERHEAD_TARGET = 0.05;
const log = (message) => console.error(`multi-gpu: ${message}`);

/** Runs `sparsescope ARGS`, returns its seconds; exits with its stderr when it fails. */
function sparsescope(args) {
  log(`sparsescope ${args.join(' ')}`);
  const started = performance.now();
  const run = spawnSync(process.execPath, [path.join(root, 'bin/sparsescope.js'), ...args], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) {
    log(`failed (exit ${run.status}): ${(run.stderr ?? '').trim().split('\n').at(-1)}`);
    process.exit(1);
  }
  return seconds;
}

/** The GPUs nvidia-smi lists (index and name), or none. */
function visibleGpus() {
  try {
    const lines = execFileSync('nvidia-smi', ['--query-gpu=index,name', '--format=csv,noheader'], { encoding: 'utf8' }).trim().split('\n');
    const all = lines.map((line) => line.split(',').map((field) => field.trim())).map(([index, name]) => ({ index, name }));
    const visible = process.env.CUDA_VISIBLE_DEVICES?.split(',');
    return visible ? all.filter((gpu) => visible.includes(gpu.index)) : all;
  } catch {
    return [];
  }
}

function commit() {
  if (process.env.BENCH_COMMIT) return process.env.BENCH_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

for (const built of ['dist/electron/cli/main.js', 'dist/electron/engine/jobs/worker.js']) {
  if (!existsSync(path.join(root, built))) {
    log(`not run: ${built} is missing (npm run build)`);
    process.exit(1);
  }
}
mkdirSync(work, { recursive: true });
const capture = path.join(work, `demo-n${shape.seq}-l${shape.layers}-h${shape.heads}-kv${shape.kvHeads}-d${shape.headDim}.safetensors`);
if (!existsSync(capture)) {
  sparsescope(['demo', '--seq', String(shape.seq), '--layers', String(shape.layers), '--heads', String(shape.heads), '--kv-heads', String(shape.kvHeads), '--head-dim', String(shape.headDim), '--out', capture]);
}
const searchArgs = (out) => ['search', capture, '--target-recall', target, '--backend', backend, '--format', 'minference', '--out', out];
const configOf = (file) => JSON.parse(readFileSync(file, 'utf8'));

const gpus = backend === 'cuda' ? visibleGpus() : [];
const available = backend === 'cuda' ? gpus.length : Infinity;
const baselineConfig = path.join(work, 'today.json');
const runnable = counts.filter((n) => n <= available);
const load = loadavg()[0];
const times = { today: [], ...Object.fromEntries(runnable.map((n) => [n, []])) };
for (let round = 0; round < repeats; round++) {
  times.today.push(sparsescope(searchArgs(baselineConfig)));
  for (const n of runnable) times[n].push(sparsescope([...searchArgs(path.join(work, `workers-${n}.json`)), '--workers', `${backend === 'cuda' ? 'gpu' : 'cpu'}:${n}`]));
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const today = median(times.today);
const rows = counts.map((n) => {
  if (n > available) return { n, why: `not run: ${available} GPU${available === 1 ? '' : 's'} visible` };
  const same = JSON.stringify(configOf(path.join(work, `workers-${n}.json`))) === JSON.stringify(configOf(baselineConfig));
  return { n, seconds: median(times[n]), same };
});

const one = rows.find((row) => row.n === 1 && row.seconds !== undefined);
const fixed = (value, digits = 1) => value.toFixed(digits);
const worker = backend === 'cuda' ? 'GPU' : 'CPU stand-in';
const table = rows.map(({ n, seconds, same, why }) => {
  if (seconds === undefined) return `| ${n} | ${why} | - | - | - |`;
  const speedup = one ? one.seconds / seconds : NaN;
  return `| ${n} | ${fixed(seconds)} | ${one ? `${fixed(speedup, 2)}x` : '-'} | ${one ? `${fixed((100 * speedup) / n, 0)}%` : '-'} | ${same ? 'yes' : 'NO'} |`;
});
const overhead = one ? one.seconds / today - 1 : null;
const device = backend === 'cuda' ? (gpus.map((gpu) => `${gpu.index}: ${gpu.name}`).join(', ') || 'no GPU visible') : `${cpus()[0]?.model.trim() ?? 'CPU'} (${cpus().length} threads, shared by every stand-in)`;
const body = [
  backend === 'cuda' ? '## Several GPUs: sharded search (issue 16)' : '## Sharded search on CPU stand-in workers (issue 16; proves the script, not a GPU number)',
  '',
  `- Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. ${backend === 'cuda' ? 'GPUs' : 'CPU'}: ${device}; load average ${fixed(load)} at the start.`,
  `- Command: \`${['MGPU_SEQ', 'MGPU_LAYERS', 'MGPU_HEADS', 'MGPU_KV_HEADS', 'MGPU_HEAD_DIM', 'MGPU_TARGET', 'MGPU_COUNTS', 'MGPU_REPEATS', 'MGPU_BACKEND'].filter((key) => process.env[key]).map((key) => `${key}=${process.env[key]}`).concat('node bench/multi-gpu.js').join(' ')}\` at commit ${commit()}.`,
  `- Capture: \`sparsescope demo\`, ${shape.layers} layers x ${shape.heads} heads (${shape.kvHeads} KV heads), D ${shape.headDim}, ${shape.seq} tokens, bf16. Each row: \`sparsescope search --target-recall ${target} --backend ${backend} --workers ${backend === 'cuda' ? 'gpu' : 'cpu'}:N\`, wall seconds of the whole command (capture open, workers started, search, config written), median of ${repeats} interleaved round${repeats === 1 ? '' : 's'}.`,
  '',
  `| ${worker}s | search s | speedup vs 1 | scaling efficiency | config = unsharded |`,
  '| --- | --- | --- | --- | --- |',
  ...table,
  '',
  `- Today's path (search in the CLI's process, no --workers): ${fixed(today)} s.`,
  overhead === null
    ? '- One-worker overhead: not measured (no 1-worker row).'
    : `- One-worker overhead of the sharded path vs today's: ${fixed(100 * overhead)}% (target <= ${100 * OVERHEAD_TARGET}%: ${overhead <= OVERHEAD_TARGET ? 'met' : 'not met'}).`,
].join('\n');
console.log(body);
const written = writeResultsSection(backend === 'cuda' ? 'multi-gpu' : 'multi-gpu-cpu', 'bench/multi-gpu.js', body);
log(`wrote its section of ${written}`);
