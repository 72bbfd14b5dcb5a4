#!/usr/bin/env node
// Issue 15: MInference, XAttention, FlexPrefill and DuoAttention side by side on the same captures,
// through the sparsescope command as a user runs it, into the "methods" section of bench/RESULTS.md.
// Per capture: one `search --target-recall T --methods minference,xattention,flexprefill,duo --json`
// (each method's per-head choice held on every evaluated row, timed as if the layer ran that
// method: mean/min exact recall, density, index ms, kernel ms, speedup), then `bench --config` on
// each method's choices and on the per-head winners (end-to-end pre-fill of all the capture's
// layers, median after warm-up).
//
//   node bench/methods.js [--capture FILE]... [--demo N]... [--demo-shape L,H,K,D] [--backend cpu|cuda]
//        [--target 0.95] [--rows 512] [--repeat 3] [--work DIR] [--section NAME (default methods-BACKEND)]
//
// --demo N writes a synthetic capture of N tokens (`sparsescope demo`, shape --demo-shape: layers,
// query heads, KV heads, head dim; default 1,8,2,64). Needs dist/ and the native addon built
// (SPARSESCOPE_CLI names another launcher).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

import { writeResultsSection } from './results-section.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const METHODS = ['minference', 'xattention', 'flexprefill', 'duo'];
const { values: options } = parseArgs({
  options: {
    capture: { type: 'string', multiple: true, default: [] },
    demo: { type: 'string', multiple: true, default: [] },
    'demo-shape': { type: 'string', default: '1,8,2,64' },
    backend: { type: 'string', default: 'cpu' },
    target: { type: 'string', default: '0.95' },
    rows: { type: 'string', default: '512' },
    repeat: { type: 'string', default: '3' },
    work: { type: 'string' },
    section: { type: 'string' },
  },
});
if (!['cpu', 'cuda'].includes(options.backend) || options.capture.length + options.demo.length === 0) {
  console.error('usage: node bench/methods.js [--capture FILE]... [--demo N]... [--backend cpu|cuda] [--target 0.95]');
  process.exit(1);
}
const work = options.work ?? mkdtempSync(join(tmpdir(), 'sparsescope-methods-'));
mkdirSync(work, { recursive: true });
const cli = process.env.SPARSESCOPE_CLI ?? join(root, 'bin/sparsescope.js');
const log = (message) => console.log(`methods: ${message}`);

function sparsescope(args) {
  const started = performance.now();
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (result.status !== 0) throw new Error(`sparsescope ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return { stdout: result.stdout, seconds: (performance.now() - started) / 1000 };
}

function demoCapture(seqLen) {
  const [layers, heads, kvHeads, headDim] = options['demo-shape'].split(',');
  const out = join(work, `demo-${seqLen}.safetensors`);
  sparsescope(['demo', '--out', out, '--seq', seqLen, '--layers', layers, '--heads', heads, '--kv-heads', kvHeads, '--head-dim', headDim, '--seed', '0']);
  return out;
}

/** A Sparsescope config of the given per-head stats (one method's choices), for bench --config. */
function writeChoices(path, settings, numLayers, numHeads, stats) {
  const heads = Array.from({ length: numLayers }, () => Array.from({ length: numHeads }, () => ({ pattern: 'vertical_and_slash', params: [1000, 6096] })));
  for (const head of stats) heads[head.layer][head.head] = { pattern: head.pattern, params: head.params };
  const runtime = settings.methodSettings ? { runtime: settings.methodSettings } : {};
  writeFileSync(path, JSON.stringify({ version: 'sparsescope.config/1', model: '', createdAt: '', capture: null, search: null, measured: null, numLayers, numHeads, ...runtime, heads }));
  return path;
}

function runCapture(file) {
  const name = basename(file, '.safetensors');
  const info = JSON.parse(sparsescope(['info', file, '--json']).stdout);
  const backend = ['--backend', options.backend];
  log(`${name}: search --methods ${METHODS.join(',')}`);
  const winnersPath = join(work, `${name}-winners.json`);
  const search = sparsescope(['search', file, '--out', winnersPath, '--format', 'sparsescope', '--target-recall', options.target, '--methods', METHODS.join(','), '--rows', options.rows, '--json', ...backend]);
  const searched = JSON.parse(search.stdout);
  const settings = JSON.parse(readFileSync(winnersPath, 'utf8')).search;
  const bench = (config) => JSON.parse(sparsescope(['bench', file, '--config', config, '--repeat', options.repeat, '--json', ...backend]).stdout);
  const rows = searched.methods.map((totals, m) => {
    log(`${name}: bench ${totals.method}'s choices`);
    const config = writeChoices(join(work, `${name}-${totals.method}.json`), settings, info.numLayers, info.numHeads, searched.comparison.map((head) => head.choices[m].stats));
    return { ...totals, bench: bench(config).totals };
  });
  log(`${name}: bench the per-head winners`);
  const held = searched.comparison.filter((head) => head.choices.find((choice) => choice.method === head.winner).holds).length;
  const winners = { method: 'winner per head', held, heads: rows[0].heads, wins: rows[0].heads, ...searched.totals, meanDensity: mean(searched.heads.map((head) => head.density)), bench: bench(winnersPath).totals };
  return { name, info, device: searched.device, searchSeconds: search.seconds, rows: [...rows, winners] };
}

const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length;
const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function captureTable({ name, info, searchSeconds, rows }) {
  const lines = rows.map(
    (r) =>
      `| ${r.method} | ${r.held}/${r.heads} | ${r.wins} | ${fixed(r.meanRecall, 4)} | ${fixed(r.minRecall, 4)} | ${fixed(r.meanDensity, 3)} | ${fixed(r.indexMs, 2)} | ${fixed(r.sparseMs, 2)} | ${fixed(r.speedup, 2)}x | ${fixed(r.bench.indexMs, 2)} | ${fixed(r.bench.sparseMs, 2)} | ${fixed(r.bench.denseMs, 2)} | **${fixed(r.bench.speedup, 2)}x** |`,
  );
  return [
    `### ${name}: ${info.seqLen} tokens, layers ${info.layers.join(', ')}, ${info.numHeads} q / ${info.numKvHeads} kv heads, D ${info.headDim} (${info.model || 'synthetic'}); search ${fixed(searchSeconds, 1)} s`,
    '',
    '| method | held | wins | mean recall | min recall | density | index ms | kernel ms | speedup | bench index ms | bench kernel ms | bench dense ms | bench speedup |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...lines,
  ].join('\n');
}

const loadAtStart = loadavg()[0];
const captures = [...options.capture, ...options.demo.map(demoCapture)];
const runs = captures.map(runCapture);
const command = `node bench/methods.js ${[...options.capture.map((file) => `--capture ${basename(file)}`), ...options.demo.map((n) => `--demo ${n}`)].join(' ')} --demo-shape ${options['demo-shape']} --backend ${options.backend} --target ${options.target} --rows ${options.rows} --repeat ${options.repeat}`;
const body = `## Methods side by side (issue 15): ${options.backend === 'cuda' ? 'GPU' : 'CPU'}

- Date: ${new Date().toISOString().slice(0, 10)}; device: ${runs[0]?.device ?? 'unknown'}; ${cpus().length} CPU threads on the host, load average ${fixed(loadAtStart, 1)} when the run began
- Command: \`${command}\`
- Per capture, one \`search --target-recall ${options.target} --methods ${METHODS.join(',')} --rows ${options.rows}\`: each method's cheapest choice per head
  (minference: its patterns; xattention: threshold at stride 8; flexprefill: gamma at tau 0.1; duo: per KV head, sink 64 + recent 256 or dense),
  held on every evaluated row (exact recall). "held": heads where the method reaches the target (else that head runs dense in its row:
  recall 1, density 1, which lifts its mean recall); "wins": heads where it is
  the cheapest (density + index cost) that holds. Recall, density, index / kernel ms and speedup: the search's measures, timings shared out of
  one layer call per method. "bench": \`bench --config\` on that method's choices for every head (winners: the search's config), full pre-fill
  of all the capture's layers, median of ${options.repeat} after a warm-up.

${runs.map(captureTable).join('\n\n')}`;

const section = options.section ?? `methods-${options.backend}`;
log(`wrote the ${section} section of ${writeResultsSection(section, 'bench/methods.js', body)}`);
log(`captures and configs are in ${work}`);
