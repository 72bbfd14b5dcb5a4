#!/usr/bin/env node
// Issue 13's GPU targets at a million tokens, in one call on one card (bf16, 32 q / 8 kv heads, head
// dim 128, one layer): SDPA cuDNN on random inputs of that shape (bench/gpu_sdpa.py), then
// bench/gpu_e2e.js at N = 2^20 (demo capture, index build, search to the target recall, bench of
// dense vs index + sparse), with the device's memory polled by nvidia-smi the whole time. Writes the
// "gpu-1m" section of bench/RESULTS.md; then bench/ui_1m.js on the same capture (its "ui-1m" section).
//   node bench/gpu_1m.js [--work DIR]
// Env: SEQ (1048576), REPEATS (1), E2E_BUDGET_S (420), PYTHON (python3); SDPA=0 and UI=0 leave out
// the SDPA baseline and the UI step (when device time is short; the table then says so); KEEP_WORK=1
// keeps the capture and config in DIR/e2e.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { HEAD_DIM, HEADS, KV_HEADS, searchedRule } from './gpu_inputs.js';
import { writeResultsSection } from './results-section.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: options } = parseArgs({ options: { work: { type: 'string' } } });
const work = options.work ?? path.join(tmpdir(), 'sparsescope-gpu-1m');
mkdirSync(work, { recursive: true });
const seqLen = process.env.SEQ ?? '1048576';
const repeats = process.env.REPEATS ?? '1';
const env = { ...process.env, SEQ_LENS: seqLen, E2E_SEQ: seqLen, REPEATS: repeats, E2E_BUDGET_S: process.env.E2E_BUDGET_S ?? '420' };

const runSdpa = process.env.SDPA !== '0';
const sdpa = runSdpa
  ? spawnSync(process.env.PYTHON ?? 'python3', ['bench/gpu_sdpa.py'], { cwd: root, env: { ...env, SDPA_BACKENDS: 'sdpa_cudnn' }, encoding: 'utf8' })
  : { stdout: '', stderr: '', status: 'not run (SDPA=0)' };
process.stderr.write(sdpa.stderr ?? '');
const cudnn = (sdpa.stdout ?? '').split('\n').filter(Boolean).map((line) => JSON.parse(line)).find((r) => r.backend === 'sdpa_cudnn');
console.error(`gpu_1m: SDPA cuDNN ${cudnn?.ms?.toFixed(1) ?? cudnn?.error ?? sdpa.status} ms`);

// Device memory in use, MiB, every 250 ms while the end-to-end run goes: one short nvidia-smi query
// at a time (a looping one buffers its output when piped, and its last lines died with it), with
// the run awaited, not spawnSync'ed, so the samples arrive while it runs.
const samples = [];
const sampler = setInterval(() => {
  execFile('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], (error, stdout) => {
    if (!error) samples.push(...String(stdout).split('\n').filter(Boolean).map(Number).filter(Number.isFinite));
  });
}, 250);
const e2ePath = path.join(work, 'e2e.json');
const e2eRun = await new Promise((resolve) => {
  const child = spawn(process.execPath, ['bench/gpu_e2e.js', '--out', e2ePath, '--work', path.join(work, 'e2e')], { cwd: root, env, stdio: 'inherit' });
  child.on('error', (error) => resolve({ status: `failed to start: ${error.message}` }));
  child.on('exit', (status, signal) => resolve({ status: status ?? signal }));
});
clearInterval(sampler);
const capture = path.join(work, 'e2e', `demo-${seqLen}.safetensors`);
if (existsSync(capture) && process.env.UI !== '0') spawnSync(process.execPath, ['bench/ui_1m.js', capture], { cwd: root, env, stdio: 'inherit' });
// KEEP_WORK=1 keeps the 12 GiB capture and its config (for a profile of the same layer after).
if (process.env.KEEP_WORK !== '1') rmSync(path.join(work, 'e2e'), { recursive: true, force: true });
const e2e = JSON.parse(readFileSync(e2ePath, 'utf8'));

const fixed = (value, digits) => (typeof value === 'number' ? value.toFixed(digits) : '-');
const bench = e2e.bench ?? {};
// The card's name from nvidia-smi when the run ended before bench named it.
const smiName = () => spawnSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8' }).stdout?.split('\n')[0]?.trim();
const device = bench.device ?? (smiName() || '-');
const denseVsCudnn = cudnn?.ms && bench.denseMs ? cudnn.ms / bench.denseMs : undefined;
const demoGiB = (2 * Number(seqLen) * HEAD_DIM * (HEADS + 2 * KV_HEADS)) / 2 ** 30;
const rows = [
  ['ours dense (bench, whole layer)', `${fixed(bench.denseMs, 1)} ms`, ''],
  ['SDPA cuDNN (random inputs, K/V expanded)', cudnn?.ms ? `${fixed(cudnn.ms, 1)} ms` : runSdpa ? `failed: ${cudnn?.error ?? sdpa.status}` : 'not run in this call (SDPA=0)', ''],
  ['cuDNN / ours dense', fixed(denseVsCudnn, 2), '>= 0.9'],
  ['index build (bench)', `${fixed(bench.indexMs, 1)} ms`, ''],
  ['sparse kernel (bench)', `${fixed(bench.sparseMs, 1)} ms`, ''],
  ['end to end: dense / (index + sparse)', `${fixed(bench.speedup, 2)}x`, '>= 20x'],
  ['searched config: mean / min exact recall', `${fixed(e2e.searched?.meanRecall, 4)} / ${fixed(e2e.searched?.minRecall, 4)}`, 'mean >= 0.95'],
  ['search time', `${fixed(e2e.seconds?.search, 1)} s`, '< 120 s'],
  ['demo: writing the capture', `${fixed(e2e.seconds?.demo, 1)} s (${fixed((demoGiB * 1024) / e2e.seconds?.demo, 0)} MiB/s)`, ''],
  ['peak device memory in use (nvidia-smi, whole run)', samples.length ? `${(Math.max(...samples) / 1024).toFixed(1)} GiB` : '-', ''],
];
const body = [
  `## A million tokens on the GPU (issue 13)`,
  '',
  `${new Date().toISOString().slice(0, 10)}, ${device}; commit ${process.env.BENCH_COMMIT ?? '-'}; \`node bench/gpu_1m.js\` (REPEATS=${repeats}).`,
  `One layer, N = ${seqLen}, bf16, ${HEADS} q / ${KV_HEADS} kv heads, head dim ${HEAD_DIM}, causal; demo capture (${demoGiB.toFixed(1)} GiB) searched to ${searchedRule(e2e)}.`,
  ...(e2e.ok ? [] : [`**The end-to-end run did not finish:** ${e2e.error ?? `exit ${e2eRun.status}`}.`]),
  '',
  '| measure | value | target |',
  '| --- | ---: | --- |',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
  '',
  `Searched families: ${JSON.stringify(e2e.searched?.families ?? {})}. Commands: ${(e2e.commands ?? []).map((c) => `\`${c}\``).join(', ')}.`,
].join('\n');
console.log(body);
writeResultsSection('gpu-1m', 'bench/gpu_1m.js', body);
process.exit(e2e.ok ? 0 : 1);
