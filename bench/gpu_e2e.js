#!/usr/bin/env node
// Structured inputs and end to end (a step of bench/gpu.sh), as a user would run them:
//   1. `sparsescope demo --seq N --layers 1 --heads 32 --kv-heads 8 --head-dim 128` writes a
//      synthetic capture with planted structure (sinks, windows, slashes, verticals, blocks);
//   2. the index build of that layer, every head Vertical-Slash 1000/6096 (the patterns of
//      bench/gpu.js's row on random inputs), median of REPEATS after a warm-up, in this process;
//   3. `sparsescope search --target-recall R` finds a config for the capture;
//   4. `sparsescope bench --config` times dense vs index + sparse pre-fill of the layer with it.
// Writes every number as JSON to --out (with "ok": false and the reason when a step fails or the
// time budget runs out). Needs dist/ built (the command line); the addon as for bench/gpu.js.
//
//   node bench/gpu_e2e.js --out FILE [--work DIR]
// Env: E2E_SEQ (131072), E2E_TARGET (0.95), E2E_SCOPE (head: every head holds the target; layer:
// the layer's mean, search --recall-scope layer), E2E_BUDGET_S (seconds for all steps, 270), REPEATS (5),
// E2E_BACKEND (cuda; cpu only to try the script without a GPU), SPARSESCOPE_ADDON.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { HEAD_DIM, HEADS, KV_HEADS, medianMs, samePatterns } from './gpu_inputs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: options } = parseArgs({ options: { out: { type: 'string' }, work: { type: 'string' } } });
if (!options.out) {
  console.error('usage: node bench/gpu_e2e.js --out FILE [--work DIR]');
  process.exit(2);
}
const seqLen = Number(process.env.E2E_SEQ ?? 131072);
const target = process.env.E2E_TARGET ?? '0.95';
const scope = process.env.E2E_SCOPE ?? 'head';
if (scope !== 'head' && scope !== 'layer') throw new Error(`E2E_SCOPE: head or layer, not ${scope}`);
const scopeArgs = scope === 'layer' ? ['--recall-scope', 'layer'] : [];
const repeats = Number(process.env.REPEATS ?? 5);
const backend = process.env.E2E_BACKEND ?? 'cuda';
const deadline = performance.now() + Number(process.env.E2E_BUDGET_S ?? 270) * 1000;
const work = options.work ?? mkdtempSync(path.join(tmpdir(), 'sparsescope-e2e-'));
mkdirSync(work, { recursive: true });
const capturePath = path.join(work, `demo-${seqLen}.safetensors`);
const configPath = path.join(work, `config-${seqLen}.json`);
const log = (message) => console.error(`gpu_e2e: ${message}`);

const result = { ok: false, seqLen, heads: HEADS, kvHeads: KV_HEADS, headDim: HEAD_DIM, target: Number(target), scope, repeats, backend, commands: [], seconds: {} };
const save = () => writeFileSync(options.out, JSON.stringify(result, null, 2));
const fail = (why) => {
  result.error = why;
  log(why);
  save();
  process.exit(1);
};

/** The step's last progress line and, with SPARSESCOPE_OP_TIMES set, its time per addon op (the last table printed when the budget stops it). */
function keepDiagnostics(step, stderr) {
  const progress = stderr.split(/[\r\n]+/).filter((line) => /\d+%/.test(line)).at(-1);
  const opTimes = stderr.slice(stderr.lastIndexOf('op times (')).trim();
  result.diagnostics = { ...result.diagnostics, [step]: { progress, ...(stderr.includes('op times (') ? { opTimes: opTimes.split('\n') } : {}) } };
  if (stderr.includes('op times (')) log(`${step}: ${opTimes}`);
}

/** Runs `sparsescope ARGS` within the time left; returns stdout. */
function sparsescope(step, args, shown) {
  const left = deadline - performance.now();
  if (left < 1000) fail(`${step} not run: the time budget (E2E_BUDGET_S) ran out before it`);
  result.commands.push(`sparsescope ${shown}`);
  log(`sparsescope ${shown}`);
  const started = performance.now();
  const run = spawnSync(process.execPath, [path.join(root, 'bin/sparsescope.js'), ...args], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, timeout: Math.floor(left) });
  result.seconds[step] = (performance.now() - started) / 1000;
  keepDiagnostics(step, run.stderr ?? '');
  if (run.error?.code === 'ETIMEDOUT' || (run.status === null && run.signal)) fail(`${step} did not finish within the time budget (E2E_BUDGET_S)`);
  if (run.error) fail(`${step} failed to start: ${run.error.message}`);
  const lastLine = (run.stderr ?? '').trim().split(/[\r\n]+/).at(-1) ?? '';
  if (run.status !== 0) fail(`${step} exited ${run.status}: ${lastLine}`);
  return run.stdout;
}

const families = (heads) => heads.reduce((counts, head) => ({ ...counts, [head.pattern]: (counts[head.pattern] ?? 0) + 1 }), {});

if (!existsSync(path.join(root, 'dist/electron/cli/main.js'))) fail('not run: dist/ is not built (`npm run build`); this step goes through the sparsescope command');

// 1. The structured capture.
const demoArgs = ['--seq', String(seqLen), '--layers', '1', '--heads', String(HEADS), '--kv-heads', String(KV_HEADS), '--head-dim', String(HEAD_DIM)];
sparsescope('demo', ['demo', ...demoArgs, '--out', capturePath], `demo ${demoArgs.join(' ')} --out demo.safetensors`);

// 2. Index build on it, in this process.
try {
  const addonPath = process.env.SPARSESCOPE_ADDON ?? path.join(root, 'native/build/Release/sparsescope.node');
  const native = createRequire(import.meta.url)(path.resolve(addonPath));
  const { openCapture } = await import(pathToFileURL(path.join(root, 'dist/electron/engine/capture/capture.js')).href);
  const { batchInputs, headBatches } = await import(pathToFileURL(path.join(root, 'dist/electron/engine/analysis/common.js')).href);
  const capture = await openCapture(capturePath);
  // The layer in the engine's batches of whole KV groups, here of at most 3 GiB of q/k/v (a
  // 1M-token layer's q is 8 GiB, more than one buffer holds); the time is the sum over batches.
  let ms = 0;
  const densities = [];
  try {
    for (const batch of headBatches(capture.summary, 3 * 2 ** 30)) {
      const inputs = await batchInputs(capture, 0, batch);
      let index;
      ms += await medianMs(async () => (index = await native.buildIndex(inputs, samePatterns(1, 1000, 6096).subarray(0, 3 * inputs.numHeads), { backend })), repeats);
      densities.push(...index.density);
    }
  } finally {
    await capture.close();
  }
  const density = densities.reduce((a, b) => a + b, 0) / densities.length;
  result.structuredIndex = { ms, density, patterns: 'vertical_and_slash 1000/6096 on every head' };
  log(`index build on the structured layer (VS 1000/6096, ${HEADS} heads): ${ms.toFixed(3)} ms, mean density ${density.toFixed(4)}`);
} catch (error) {
  result.structuredIndex = { error: String(error?.message ?? error).split('\n')[0] };
  log(`index build on the structured layer failed: ${error?.stack ?? error}`);
}
save();

// 3. and 4. Search, then bench with the searched config.
const searchOut = sparsescope(
  'search',
  ['search', capturePath, '--out', configPath, '--target-recall', target, ...scopeArgs, '--format', 'sparsescope', '--backend', backend, '--json'],
  `search demo.safetensors --target-recall ${target} ${[...scopeArgs, ''].join(' ')}--format sparsescope --out config.json --backend ${backend}`,
);
const searched = JSON.parse(searchOut);
result.searched = { families: families(searched.heads), meanRecall: searched.totals.meanRecall, minRecall: searched.totals.minRecall };
save();
const benchOut = sparsescope(
  'bench',
  ['bench', capturePath, '--config', configPath, '--repeat', String(repeats), '--backend', backend, '--json'],
  `bench demo.safetensors --config config.json --repeat ${repeats} --backend ${backend}`,
);
const report = JSON.parse(benchOut);
const totals = report.totals;
if (!totals) fail('bench printed no totals');
result.bench = { device: report.device, ...totals };
result.ok = true;
save();
log(`end to end at ${seqLen}: dense ${totals.denseMs.toFixed(2)} ms, index ${totals.indexMs.toFixed(2)} ms, sparse ${totals.sparseMs.toFixed(2)} ms, ${totals.speedup.toFixed(2)}x, mean recall ${totals.meanRecall.toFixed(4)}`);
