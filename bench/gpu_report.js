#!/usr/bin/env node
// The last step of bench/gpu.sh: reads what its steps wrote to one folder (sdpa.jsonl from
// bench/gpu_sdpa.py, gpu.json from bench/gpu.js, minference.json from bench/gpu_minference.py,
// e2e.json from bench/gpu_e2e.js, steps.tsv from gpu.sh itself), prints one table with ratios
// and the issue's targets (met / not met, or 'not run' and why), and writes it as the "gpu"
// section of bench/RESULTS.md with the date, card, driver and command.
//
//   node bench/gpu_report.js --dir DIR [--results FILE] [--pending STEP]
//
// --pending STEP: that step has not run yet (gpu.sh writes the section once before its longest
// step, so a run stopped during it still leaves the rest).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { RESULTS_PATH, writeResultsSection } from './results-section.js';
import { searchedRule } from './gpu_inputs.js';

const SMALL = 32768;
const LARGE = 131072;
const TARGETS = { denseVsCudnn: 1.0, denseTflopsLarge: 600, bandMs: 22, bandVsMinference: 2, structuredIndexMs: 3, endToEnd: 11 };

const { values: options } = parseArgs({ options: { dir: { type: 'string' }, results: { type: 'string' }, pending: { type: 'string' } } });
if (!options.dir) {
  console.error('usage: node bench/gpu_report.js --dir DIR [--results FILE] [--pending STEP]');
  process.exit(2);
}
const dir = options.dir;

function readJson(name) {
  const file = path.join(dir, name);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return { ok: false, error: `${name} is unreadable: ${error.message}` };
  }
}

function readLines(name) {
  const file = path.join(dir, name);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((line) => line.trim()) : [];
}

const sdpaLines = readLines('sdpa.jsonl').flatMap((line) => {
  try {
    return [JSON.parse(line)];
  } catch {
    return [];
  }
});
const sdpaMeta = sdpaLines.find((line) => line.meta)?.meta ?? null;
const gpu = readJson('gpu.json');
const minference = readJson('minference.json');
const e2e = readJson('e2e.json');
/** gpu.sh's record of each step: name -> { status, seconds }. */
const steps = new Map(
  readLines('steps.tsv').map((line) => {
    const [name, status, seconds] = line.split('\t');
    return [name, { status, seconds: seconds === undefined ? null : Number(seconds) }];
  }),
);

// ---- formatting
const fixed = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const msText = (value) => `${fixed(value, value < 10 ? 3 : 2)} ms`;
const tokens = (n) => (n % 1024 === 0 ? `${n / 1024}K` : String(n));
const metText = (met) => (met ? '**met**' : '**not met**');

function stepWhy(name, fallback) {
  if (options.pending === name) return 'not finished: the run stopped before this step ended';
  const step = steps.get(name);
  if (!step) return fallback;
  if (step.status === 'ok') return fallback;
  return step.status.startsWith('not run') ? step.status : `${name} step ${step.status}`;
}

const gpuRow = (n, key) => gpu?.rows?.find((r) => r.seqLen === n && r.key === key) ?? null;
function gpuWhy(n) {
  if (!gpu) return `not run: ${stepWhy('ours', 'bench/gpu.js wrote no results')}`;
  const error = gpu.errors?.find((e) => e.seqLen === n);
  if (error) return `failed at N=${n}: ${error.error}`;
  if (!gpu.seqLens?.includes(n)) return `not run: N=${n} is not in SEQ_LENS`;
  return 'not run';
}
function sdpaWhy(n, backend) {
  const line = sdpaLines.find((l) => l.seqLen === n && l.backend === backend && l.error);
  if (line) return `${backend} failed: ${line.error}`;
  return `not run: ${stepWhy('sdpa', `no ${backend} result at N=${n}`)}`;
}

// ---- the card, the driver, the command
function nvidiaSmi() {
  try {
    const [name, driver] = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8' })
      .trim()
      .split('\n')[0]
      .split(',')
      .map((s) => s.trim());
    const cuda = /CUDA Version:\s*([\d.]+)/.exec(execFileSync('nvidia-smi', { encoding: 'utf8' }))?.[1];
    return { name, driver, cuda };
  } catch {
    return null;
  }
}

function commitText() {
  if (process.env.BENCH_COMMIT) return process.env.BENCH_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function commandText() {
  const shown = ['SEQ_LENS', 'REPEATS', 'MINFERENCE_DIR', 'E2E', 'E2E_SEQ', 'E2E_TARGET', 'E2E_BUDGET_S', 'NODE', 'PYTHON'];
  const env = shown.filter((key) => process.env[key]).map((key) => `${key}=${process.env[key]}`);
  return [...env, process.env.BENCH_COMMAND || 'npm run bench:gpu'].join(' ');
}

// ---- the targets
function denseTarget(n, tflopsMin) {
  const label = `our dense >= ${fixed(TARGETS.denseVsCudnn, 1)}x SDPA cuDNN${tflopsMin ? ` and >= ${tflopsMin} TFLOP/s` : ''} at ${tokens(n)}`;
  const ours = gpuRow(n, 'dense');
  if (!ours) return [label, gpuWhy(n), '-', 'not run'];
  const cudnn = gpuRow(n, 'sdpa_cudnn');
  const flash = gpuRow(n, 'sdpa_flash');
  const oursText = `ours ${msText(ours.ms)} (${fixed(ours.tflops, 0)} TFLOP/s)`;
  const flashText = flash ? `, flash ${msText(flash.ms)} (${fixed(flash.tflops, 0)})` : '';
  const flashRatio = flash ? `, ${fixed(flash.ms / ours.ms)}x flash` : '';
  if (!cudnn) return [label, `${oursText}; cuDNN ${sdpaWhy(n, 'sdpa_cudnn')}${flashText}`, flash ? flashRatio.slice(2) : '-', 'not run'];
  const ratio = cudnn.ms / ours.ms;
  const met = ratio >= TARGETS.denseVsCudnn && (!tflopsMin || ours.tflops >= tflopsMin);
  return [label, `${oursText}, cuDNN ${msText(cudnn.ms)} (${fixed(cudnn.tflops, 0)})${flashText}`, `${fixed(ratio)}x cuDNN${flashRatio}`, metText(met)];
}

function bandTarget() {
  const label = `VS kernel, band index (verticals 0..999, diagonals 0..6095) at ${tokens(LARGE)} <= ${TARGETS.bandMs} ms`;
  const band = gpuRow(LARGE, 'vs-band');
  if (!band) return [label, gpuWhy(LARGE), '-', 'not run'];
  return [label, msText(band.ms), `${fixed(gpuRow(LARGE, 'dense')?.ms / band.ms)}x our dense`, metText(band.ms <= TARGETS.bandMs)];
}

function minferenceWhy() {
  if (minference && !minference.ok) return `failed: ${minference.error}`;
  if (gpu?.exportError) return `not run: ${gpu.exportError}`;
  return stepWhy('minference', 'not run: MINFERENCE_DIR is not set');
}

function minferenceTarget() {
  const label = `VS kernel, band index at ${tokens(LARGE)} >= ${TARGETS.bandVsMinference}x MInference's Triton kernel (same inputs, same index)`;
  if (!minference?.ok) return [label, minferenceWhy(), '-', 'not run'];
  const ours = gpuRow(minference.seqLen, 'vs-band');
  const n = minference.seqLen === LARGE ? '' : ` (at N=${minference.seqLen}, not ${LARGE})`;
  if (!ours) return [label, `MInference ${msText(minference.ms)}; ours ${gpuWhy(minference.seqLen)}${n}`, '-', 'not run'];
  const checks = [minference.indexEqualsOurs ? 'index equal to ours' : `INDEX DIFFERS: ${minference.indexMismatch}`, minference.outputsAgree ? 'outputs agree' : 'OUTPUTS DISAGREE'];
  const ratio = minference.ms / ours.ms;
  const valid = minference.indexEqualsOurs && minference.outputsAgree && minference.seqLen === LARGE;
  const met = valid ? metText(ratio >= TARGETS.bandVsMinference) : '**not met** (check failed)';
  return [label, `ours ${msText(ours.ms)}, MInference ${msText(minference.ms)}; ${checks.join(', ')}${n}`, `${fixed(ratio)}x`, met];
}

function e2eWhy() {
  if (e2e && !e2e.ok && e2e.error) return e2e.error.startsWith('not run') ? e2e.error : `failed: ${e2e.error}`;
  return stepWhy('e2e', 'not run');
}

function structuredIndexTarget() {
  const label = `index build, 32 heads at ${tokens(LARGE)}, structured inputs (VS 1000/6096 on every head) <= ${TARGETS.structuredIndexMs} ms`;
  const random = gpuRow(LARGE, 'index-random');
  const randomText = random ? `; random inputs: ${msText(random.ms)}` : '';
  const structured = e2e?.structuredIndex;
  if (!structured || structured.error || e2e.seqLen !== LARGE) {
    const why = structured?.error ? `failed: ${structured.error}` : e2e && e2e.seqLen !== LARGE ? `not run at ${LARGE} (E2E_SEQ=${e2e.seqLen})` : e2eWhy();
    return [label, `${why}${randomText}`, '-', 'not run'];
  }
  const searched = e2e.bench ? `; the searched config's index (bench): ${msText(e2e.bench.indexMs)}` : '';
  return [label, `${msText(structured.ms)} (mean density ${fixed(structured.density, 4)})${randomText}${searched}`, '-', metText(structured.ms <= TARGETS.structuredIndexMs)];
}

function endToEndTarget() {
  const label = `end to end at ${tokens(LARGE)}, searched config (${searchedRule(e2e)}) vs our dense >= ${TARGETS.endToEnd}x`;
  if (!e2e?.ok || !e2e.bench) return [label, e2eWhy(), '-', 'not run'];
  const b = e2e.bench;
  const n = e2e.seqLen === LARGE ? '' : ` (at N=${e2e.seqLen})`;
  return [
    label,
    `dense ${msText(b.denseMs)}, index ${msText(b.indexMs)}, sparse ${msText(b.sparseMs)}; mean recall ${fixed(b.meanRecall, 4)}, min ${fixed(b.minRecall, 4)}${n}`,
    `${fixed(b.speedup)}x`,
    e2e.seqLen === LARGE ? metText(b.speedup >= TARGETS.endToEnd) : 'not run',
  ];
}

// ---- the table of every row
function allRows() {
  const lines = [];
  const seqLens = [...new Set([...(gpu?.seqLens ?? []), ...(minference?.ok ? [minference.seqLen] : []), ...(e2e?.seqLen ? [e2e.seqLen] : [])])].sort((a, b) => a - b);
  for (const n of seqLens) {
    const dense = gpuRow(n, 'dense')?.ms;
    const cudnn = gpuRow(n, 'sdpa_cudnn')?.ms;
    const line = (inputs, name, ms, { tflops, density, denseMs = dense } = {}) =>
      lines.push(
        `| ${n} | ${inputs} | ${name} | ${fixed(ms, ms < 10 ? 3 : 2)} | ${tflops ? fixed(tflops, 0) : '-'} | ${denseMs ? fixed(denseMs / ms) : '-'} | ${cudnn ? fixed(cudnn / ms) : '-'} | ${density === undefined ? '-' : fixed(density, 4)} |`,
      );
    for (const r of gpu?.rows?.filter((row) => row.seqLen === n) ?? []) {
      line(r.key.startsWith('sdpa') ? 'random (torch.randn)' : 'random', r.name, r.ms, r);
      if (r.key === 'vs-band' && minference?.ok && minference.seqLen === n)
        line('random (the same tensors)', "MInference's Triton VS kernel, the same band index", minference.ms);
    }
    if (e2e?.seqLen === n && e2e.structuredIndex?.ms !== undefined)
      line('structured (demo)', 'index build, all heads (VS 1000/6096)', e2e.structuredIndex.ms, { density: e2e.structuredIndex.density });
    if (e2e?.seqLen === n && e2e.bench) {
      const b = e2e.bench;
      line('structured (demo)', 'end to end: our dense (sparsescope bench)', b.denseMs, { denseMs: b.denseMs });
      line('structured (demo)', 'end to end: index + sparse, searched config', b.indexMs + b.sparseMs, { denseMs: b.denseMs });
    }
  }
  return lines;
}

// ---- the section
const smi = nvidiaSmi();
const device = gpu?.device;
const card = smi?.name ?? device?.name ?? 'unknown card';
const cc = device?.computeCapability ? ` (cc ${device.computeCapability})` : '';
const versions = [
  sdpaMeta ? `PyTorch ${sdpaMeta.torch} (CUDA ${sdpaMeta.cuda}, cuDNN ${sdpaMeta.cudnn})` : null,
  sdpaMeta?.triton || minference?.triton ? `Triton ${sdpaMeta?.triton ?? minference.triton}` : null,
].filter(Boolean);
const commit = commitText();
const repeats = gpu?.repeats ?? process.env.REPEATS ?? 5;
const date = (gpu?.date ? new Date(gpu.date) : new Date()).toISOString().replace('T', ' ').slice(0, 16);

const targets = [denseTarget(SMALL, 0), denseTarget(LARGE, TARGETS.denseTflopsLarge), bandTarget(), minferenceTarget(), structuredIndexTarget(), endToEndTarget()];

const minferenceLines = [];
if (minference?.ok) {
  const e = minference.errors;
  const err = (x) => `${x.maxRowRel.toExponential(2)} / ${x.maxAbs.toExponential(2)}${x.finite ? '' : ', NOT FINITE'}`;
  minferenceLines.push(
    `- microsoft/MInference at ${minference.minferenceCommit ? `${minference.minferenceCommit.slice(0, 12)} (${minference.minferenceCommit.slice(41)})` : 'an unrecorded commit'} (checkout by \`bench/minference-checkout.sh\`, not part of this repository); ${minference.kernel}, on the same q/k/v as our row (K and V expanded to ${minference.numHeads} heads beforehand, untimed), median of ${minference.repeats} after a warm-up that compiles it: ${msText(minference.ms)} (runs: ${minference.times.map((t) => fixed(t)).join(', ')}).`,
    `- Its index (block_count, block_offset, column_count, column_index) is ${minference.indexSource}; ${minference.indexEqualsOurs ? 'equal to ours block by block' : `DIFFERENT from ours: ${minference.indexMismatch}`} (${minference.tilesPerHead} tiles and ${minference.columnsPerHead} loose columns per head).`,
    `- Outputs on ${minference.rowsSampled} sampled rows x ${minference.numHeads} heads, largest per-row relative L2 error / largest absolute error: ours vs float64 ${err(e.oursVsFloat64)}; MInference vs float64 ${err(e.minferenceVsFloat64)}; ours vs MInference ${err(e.oursVsMinference)}. The float64 reference attends over exactly the index's keys. Tolerance ${minference.rowTolerance} per row: ${minference.outputsAgree ? 'all agree' : 'NOT MET'}.`,
  );
} else minferenceLines.push(`- ${minferenceWhy()}.`);

const e2eLines = [];
if (e2e?.commands?.length) {
  const families = e2e.searched ? Object.entries(e2e.searched.families).map(([p, c]) => `${c} ${p}`).join(', ') : null;
  e2eLines.push(
    `- bench/gpu_e2e.js, ${e2e.heads} heads, ${e2e.kvHeads} kv heads, D ${e2e.headDim}, N ${e2e.seqLen}, a structured capture; steps took ${Object.entries(e2e.seconds).map(([step, s]) => `${step} ${fixed(s, 1)} s`).join(', ')}:`,
    '',
    '```',
    ...e2e.commands,
    '```',
    '',
    families ? `- Searched config: ${families}; ${e2e.bench ? `bench on ${e2e.bench.device}` : 'bench did not run'}.` : '- The search did not finish.',
  );
  if (!e2e.ok) e2e.error && e2eLines.push(`- ${e2eWhy()}.`);
} else e2eLines.push(`- ${e2eWhy()}.`);

const stepLines = [...steps.entries()].map(([name, s]) => `${name} ${s.status}${s.seconds !== null && Number.isFinite(s.seconds) ? ` (${s.seconds} s)` : ''}`);
const gpuErrors = (gpu?.errors ?? []).map((e) => `bench/gpu.js at N=${e.seqLen}: ${e.error}`);

const body = `## GPU (CUDA backend)

- Date: ${date} UTC. Card: ${card}${cc}; driver ${smi?.driver ?? 'unknown (no nvidia-smi)'}${smi?.cuda ? `, CUDA ${smi.cuda} (nvidia-smi)` : ''}${versions.length ? `; ${versions.join(', ')}` : ''}.
- Command: \`${commandText()}\`${commit ? ` at commit ${commit}` : ''}: one call on one card; bench/gpu.sh runs bench/gpu_sdpa.py, bench/gpu.js, bench/gpu_minference.py, bench/gpu_head_dims.js (its own section) and bench/gpu_e2e.js, then this report (bench/gpu_report.js).
- Layer: bf16, H=32, Hkv=8, D=128, causal. Device-event times (CUDA events for PyTorch and Triton), transfers excluded, median of ${repeats} after a warm-up. "random": bench/gpu_inputs.js's tensors (ours and MInference's rows use the same ones; SDPA draws its own with torch.randn); "structured": \`sparsescope demo\`, planted sinks, windows, slashes, verticals and blocks.${stepLines.length ? `\n- Steps: ${stepLines.join('; ')}.` : ''}${options.pending ? `\n- Written before the ${options.pending} step finished; the run did not get to rewrite it.` : ''}${gpuErrors.length ? `\n- Failures: ${gpuErrors.join('; ')}.` : ''}

### Targets (issue 14), each measured in this run

| target | measured | ratio | met |
| --- | --- | --- | --- |
${targets.map((t) => `| ${t.join(' | ')} |`).join('\n')}

### Every row

| N | inputs | kernel | ms | TFLOP/s | ours dense / this | cuDNN / this | density |
| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |
${allRows().join('\n') || '| - | - | no rows: bench/gpu.js wrote no results | - | - | - | - | - |'}

"ours dense / this" divides by our dense kernel at that N on random inputs, except on the end-to-end rows, where it is the dense pre-fill that \`sparsescope bench\` timed on the structured layer. The "estimated index" rows estimate from random inputs, whose attention is nearly uniform, so that index is nearly dense.

### MInference, same call

${minferenceLines.join('\n')}

### Structured inputs and end to end, same call

${e2eLines.join('\n')}`;

console.log(body);
const written = writeResultsSection('gpu', 'bench/gpu_report.js via npm run bench:gpu', body, options.results ?? RESULTS_PATH);
console.error(`wrote the gpu section of ${written}`);
