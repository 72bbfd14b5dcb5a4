#!/usr/bin/env node
// The trained model end to end, as a user would run it: capture ref-byte-llama with
// tools/capture_hf.py at each length (every layer), then `search --target-recall`, `analyze
// --exact` and `bench` through the sparsescope command, and write the "real-model" section of
// bench/RESULTS.md: per capture the search time, exact recall, and analyze's and bench's
// speedups side by side; per head the chosen pattern, budget, exact recall, output error, density.
//
//   node bench/real-model.js --model DIR --text FILE [--lengths 8192,16384,32768]
//        [--backend cuda] [--target 0.95] [--repeat 5] [--work DIR] [--python python3]
//
// Needs torch, transformers and safetensors for the capture (tools/requirements-capture.txt),
// dist/ and the native addon built. Captures stay in --work (default a temp folder).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

import { writeResultsSection } from './results-section.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: options } = parseArgs({
  options: {
    model: { type: 'string' },
    text: { type: 'string' },
    lengths: { type: 'string', default: '8192,16384,32768' },
    backend: { type: 'string', default: 'cuda' },
    target: { type: 'string', default: '0.95' },
    repeat: { type: 'string', default: '5' },
    work: { type: 'string' },
    python: { type: 'string', default: 'python3' },
    source: { type: 'string' },
  },
});
if (!options.model || !options.text) {
  console.error('usage: node bench/real-model.js --model DIR --text FILE [--lengths 8192,16384,32768] [--backend cuda]');
  process.exit(1);
}
const work = options.work ?? mkdtempSync(join(tmpdir(), 'sparsescope-real-'));
mkdirSync(work, { recursive: true });
const lengths = options.lengths.split(',').map(Number);
const log = (message) => console.log(`real-model: ${message}`);

function sparsescope(args) {
  const started = performance.now();
  const result = spawnSync(process.execPath, [join(root, 'bin/sparsescope.js'), ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (result.status !== 0) throw new Error(`sparsescope ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  if (result.stderr.trim()) log(`sparsescope ${args[0]} (stderr): ${result.stderr.trim().split('\n').at(-1)}`);
  return { stdout: result.stdout, seconds: (performance.now() - started) / 1000 };
}

function capture(seqLen) {
  const out = join(work, `ref-byte-llama-${seqLen}.safetensors`);
  const source = `${options.source ?? basename(options.text)}: first ${seqLen} tokens`;
  const args = ['tools/capture_hf.py', '--model', options.model, '--prompt-file', options.text, '--max-tokens', String(seqLen), '--layers', 'all', '--dtype', 'bf16', '--out', out, '--source', source];
  execFileSync(options.python, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  return out;
}

function runLength(seqLen) {
  log(`${seqLen} tokens: capture`);
  const file = capture(seqLen);
  const config = join(work, `config-${seqLen}.json`);
  const backend = ['--backend', options.backend];
  log(`${seqLen} tokens: search --target-recall ${options.target}`);
  const search = sparsescope(['search', file, '--out', config, '--target-recall', options.target, '--format', 'sparsescope', ...backend]);
  log(`${seqLen} tokens: analyze --exact`);
  const analyze = JSON.parse(sparsescope(['analyze', file, '--config', config, '--exact', '--json', ...backend]).stdout);
  log(`${seqLen} tokens: bench`);
  const bench = JSON.parse(sparsescope(['bench', file, '--config', config, '--repeat', options.repeat, '--json', ...backend]).stdout);
  return { seqLen, searchSeconds: search.seconds, analyze, bench: bench.report ?? bench };
}

const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const speedupText = (totals) => `${fixed(totals.speedup, 2)}x${totals.speedupKind ? ` ${totals.speedupKind}` : ''}`;

function budgetText(head) {
  const [a, b] = head.params;
  if (head.pattern === 'vertical_and_slash') return `v ${a}, s ${b}`;
  if (head.pattern === 'stream_llm') return `init ${a}, local ${b}`;
  if (head.pattern === 'block_sparse') return `top ${a}`;
  return '';
}

function captureRow({ seqLen, searchSeconds, analyze, bench }) {
  const a = analyze.totals;
  const b = bench.totals;
  const density = analyze.heads.reduce((sum, head) => sum + head.density, 0) / analyze.heads.length;
  return `| ${seqLen} | ${fixed(searchSeconds, 1)} | ${fixed(a.meanRecall, 4)} | ${fixed(a.minRecall, 4)} | ${fixed(density, 4)} | ${fixed(b.denseMs, 2)} | ${fixed(b.indexMs, 2)} | ${fixed(b.sparseMs, 2)} | **${speedupText(b)}** | ${speedupText(a)} | ${fixed(a.speedup / b.speedup, 2)} |`;
}

function headTable({ seqLen, analyze }) {
  const rows = analyze.heads.map(
    (head) => `| ${head.layer} | ${head.head} | ${head.pattern} | ${budgetText(head)} | ${fixed(head.recall, 4)} | ${fixed(head.outputRelError, 4)} | ${fixed(head.density, 4)} |`,
  );
  return [`#### ${seqLen} tokens: per head (analyze --exact, ${analyze.heads[0]?.rowsUsed ?? 0} rows per head)`, '', '| layer | head | pattern | budget | exact recall | output error | density |', '| ---: | ---: | --- | --- | ---: | ---: | ---: |', ...rows].join('\n');
}

function gpuName() {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8' }).trim().split('\n')[0];
  } catch {
    return 'no nvidia-smi';
  }
}

const runs = lengths.map(runLength);
const device = runs[0]?.bench.device ?? 'unknown';
const body = `## Trained model end to end (ref-byte-llama)

- Date: ${new Date().toISOString().slice(0, 10)}; device: ${device}; GPU: ${gpuName()}
- Model: ref-byte-llama (6 layers, 8 q / 2 kv heads, head dim 64, bf16), every layer captured with \`tools/capture_hf.py\`
- Prompt: ${options.source ?? basename(options.text)}
- Command: \`node bench/real-model.js --model ${basename(options.model)} --text ${basename(options.text)} --lengths ${options.lengths} --backend ${options.backend} --target ${options.target} --repeat ${options.repeat}\`
- Per capture: \`search --target-recall ${options.target} --format sparsescope\`, then \`analyze --config CFG --exact\` and \`bench --config CFG --repeat ${options.repeat}\` on that config.
  Recall and output error are exact (every evaluated row); bench times full pre-fill of all 6 layers (median after warm-up).

| tokens | search s | mean exact recall | min exact recall | mean density | bench dense ms | bench index ms | bench sparse ms | bench speedup | analyze speedup | analyze / bench |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${runs.map(captureRow).join('\n')}

${runs.map(headTable).join('\n\n')}`;

log(`wrote the real-model section of ${writeResultsSection('real-model', 'bench/real-model.js', body)}`);
log(`captures and configs are in ${work}`);
for (const run of runs) log(`${run.seqLen}: bench ${speedupText(run.bench.totals)}, analyze ${speedupText(run.analyze.totals)}, min exact recall ${fixed(run.analyze.totals.minRecall, 4)}`);
