/**
 * The `sparsescope` commands of spec section 4. Each command declares its flags (parsed by
 * args.ts, which also prints its --help) and a handler. Compute modules are imported lazily so
 * `info` and `config convert` never load the native module.
 */
import { basename, resolve } from 'node:path';
import { ConfigFormat, LAYER_FLOOR_MARGIN, SearchMethod, SearchSettings, searchRule, type Backend, type BenchResult, type CaptureSummary, type DType, type HeadConfig, type Report, type RowSampling, type SearchResult } from '../../contract/api.js';
import { openCapture } from '../engine/capture/capture.js';
import type { BenchOptions } from '../engine/analysis/bench.js';
import type { Capture, TokenRange } from '../engine/capture/types.js';
import { EXPORT_RECALL_SAMPLING, captureRecallEvaluator, checkConfigTarget, exportConfig, fitConfigToCapture, readConfigFile, writeConfigFile, type RecallEvaluator } from '../engine/config/index.js';
import type { CommandSpec, FlagValue } from './args.js';
import { UsageError } from './args.js';
import { formatMethodTotals, formatReport, formatSummary, plantedCounts } from './format.js';
import { cancelFlag, progressReporter, type CliIo } from './io.js';
import { configMerge } from './config-merge.js';
import { WORKERS_FLAG, runOnWorkers, workersSetting } from './workers.js';

export interface CommandContext {
  positionals: string[];
  flags: Map<string, FlagValue>;
  io: CliIo;
}

export interface Command {
  spec: CommandSpec;
  run(context: CommandContext): Promise<number>;
}

const MAX_SEQ = 1 << 21;
const BACKEND_FLAG = { type: 'enum', values: ['auto', 'cpu', 'cuda'], help: 'compute backend (default auto: CUDA when a device is present and computes the capture, else the CPU)' } as const;
const JSON_FLAG = { type: 'boolean', help: 'print JSON on stdout instead of a table' } as const;
const ROWS_FLAG = { type: 'int', min: 1, max: 1 << 20, valueName: 'N', help: 'query rows sampled per head (default 512)' } as const;
const EXACT_FLAG = { type: 'boolean', help: 'use every evaluated row instead of a sample' } as const;
const LAYERS_FLAG = { type: 'string', valueName: 'A-B', help: 'only these layers, e.g. 0-3 or 5 or 0-3,7' } as const;
const DEFAULT_SAMPLED_ROWS = 512;
/** Tokens `info` shows of the prompt. */
const PREVIEW_TOKENS = 8;
const DEFAULT_SWEEP = [4096, 8192, 16384];
const FORMATS = ConfigFormat.options;

function flag<T extends FlagValue>(context: CommandContext, name: string): T | undefined {
  return context.flags.get(name) as T | undefined;
}

function writeJson(context: CommandContext, value: unknown): void {
  context.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function warn(context: CommandContext, warnings: readonly string[]): void {
  for (const warning of warnings) context.io.stderr.write(`sparsescope: warning: ${warning}\n`);
}

/** A report's notices (such as `auto` running on the CPU), once each on stderr. */
function notify(context: CommandContext, report: Report | undefined): void {
  for (const notice of report?.notices ?? []) context.io.stderr.write(`sparsescope: ${notice}\n`);
}

async function withCapture<T>(path: string, use: (capture: Capture) => Promise<T>): Promise<T> {
  const capture = await openCapture(path);
  try {
    return await use(capture);
  } finally {
    await capture.close();
  }
}

/** The prompt's first tokens, or null for a capture without tokens. */
async function firstTokens(capture: Capture): Promise<TokenRange | null> {
  if (!capture.summary.tokens) return null;
  return capture.readTokens(0, Math.min(PREVIEW_TOKENS, capture.summary.seqLen));
}

/** "0-3,7" -> [0, 1, 2, 3, 7], each present in the capture. */
export function parseLayers(text: string, summary: Pick<CaptureSummary, 'layers' | 'fileName'>): number[] {
  const layers = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!match) throw new UsageError(`--layers: ${JSON.stringify(part)} is not a layer or a range A-B`);
    const first = Number(match[1]);
    const last = Number(match[2] ?? match[1]);
    if (last < first) throw new UsageError(`--layers: range ${first}-${last} is backwards`);
    for (let layer = first; layer <= last; layer++) {
      if (!summary.layers.includes(layer)) throw new UsageError(`--layers: layer ${layer} is not in ${summary.fileName} (it has ${summary.layers.join(', ')})`);
      layers.add(layer);
    }
  }
  return [...layers].sort((x, y) => x - y);
}

/** --recall-scope and --min-head-recall as search settings; both need a --target-recall, and a floor needs the layer scope. */
function recallScope(context: CommandContext, targetRecall: number | undefined, methods: SearchMethod[] | undefined): Pick<SearchSettings, 'recallScope' | 'minHeadRecall'> {
  const scope = flag<'head' | 'layer'>(context, 'recall-scope');
  const floor = flag<number>(context, 'min-head-recall');
  if (scope !== undefined && targetRecall === undefined) throw new UsageError('--recall-scope says what --target-recall R holds; give one');
  if (scope === 'layer' && methods?.some((method) => method !== 'minference')) throw new UsageError('--recall-scope layer searches MInference\'s patterns only; leave out --methods');
  if (floor !== undefined && scope !== 'layer') throw new UsageError('--min-head-recall is the floor of --recall-scope layer');
  if (floor !== undefined && floor > targetRecall!) throw new UsageError(`--min-head-recall ${floor} is above --target-recall ${targetRecall}`);
  return { ...(scope === undefined ? {} : { recallScope: scope }), ...(floor === undefined ? {} : { minHeadRecall: floor }) };
}

/** --methods "minference,duo" -> the methods, each known; absent: undefined. */
function searchMethods(context: CommandContext, targetRecall: number | undefined): SearchMethod[] | undefined {
  const text = flag<string>(context, 'methods');
  if (text === undefined) return undefined;
  const methods = text.split(',').map((name) => name.trim());
  for (const method of methods) {
    if (!SearchMethod.safeParse(method).success) throw new UsageError(`--methods: unknown method ${JSON.stringify(method)} (known: ${SearchMethod.options.join(', ')})`);
  }
  if (targetRecall === undefined && methods.some((method) => method !== 'minference')) throw new UsageError('--methods compares methods under --target-recall R; give one');
  return methods as SearchMethod[];
}

function sampling(context: CommandContext): RowSampling {
  if (flag<boolean>(context, 'exact')) {
    if (context.flags.has('rows')) throw new UsageError('--exact and --rows exclude each other');
    return { mode: 'exact' };
  }
  return { mode: 'sampled', rows: flag<number>(context, 'rows') ?? DEFAULT_SAMPLED_ROWS, seed: 0 };
}

async function loadConfigFor(context: CommandContext, summary: CaptureSummary): Promise<HeadConfig | undefined> {
  const path = flag<string>(context, 'config');
  if (path === undefined) return undefined;
  const { config, warnings } = await readConfigFile(path, summary);
  warn(context, warnings);
  return fitConfigToCapture(config, summary);
}

/** Run long work with progress on stderr and Ctrl-C wired to the native cancel flag. */
async function withProgress<T>(context: CommandContext, label: string, work: (onProgress: (fraction: number, message?: string) => void, control: { cancel: Int32Array }) => Promise<T>): Promise<T> {
  const progress = progressReporter(context.io.stderr, label);
  try {
    return await work(progress.report, { cancel: cancelFlag(context.io.signal) });
  } finally {
    progress.done();
  }
}

async function nativeModule() {
  const { loadNative } = await import('../engine/native.js');
  return loadNative();
}

const demo: Command = {
  spec: {
    name: 'demo',
    summary: 'Write a synthetic capture with planted attention structure (sinks, windows, slashes, verticals, blocks).',
    positionals: [],
    flags: {
      out: { type: 'string', valueName: 'FILE', help: 'output file (default demo.safetensors)' },
      seq: { type: 'int', min: 64, max: MAX_SEQ, valueName: 'N', help: 'tokens (default 8192)' },
      layers: { type: 'int', min: 1, max: 4096, valueName: 'L', help: 'layers (default 4)' },
      heads: { type: 'int', min: 1, max: 4096, valueName: 'H', help: 'query heads (default 8)' },
      'kv-heads': { type: 'int', min: 1, max: 4096, valueName: 'K', help: 'key/value heads, dividing H (default 2)' },
      'head-dim': { type: 'int', min: 8, max: 512, valueName: 'D', help: 'head dimension (default 64)' },
      seed: { type: 'int', min: 0, max: 2 ** 32 - 1, valueName: 'S', help: 'random seed (default 0)' },
      dtype: { type: 'enum', values: ['bf16', 'f16', 'f32'], help: 'tensor dtype (default bf16)' },
      threads: { type: 'int', min: 1, max: 1024, valueName: 'T', help: 'worker threads making heads (default: available cores); same file for any count' },
    },
  },
  async run(context) {
    const shape = {
      seqLen: flag<number>(context, 'seq') ?? 8192,
      layers: flag<number>(context, 'layers') ?? 4,
      heads: flag<number>(context, 'heads') ?? 8,
      kvHeads: flag<number>(context, 'kv-heads') ?? 2,
      headDim: flag<number>(context, 'head-dim') ?? 64,
      seed: flag<number>(context, 'seed') ?? 0,
      dtype: (flag<string>(context, 'dtype') ?? 'bf16').toUpperCase() as DType,
    };
    const out = flag<string>(context, 'out') ?? 'demo.safetensors';
    const [{ validateSyntheticOptions }, { defaultThreads, writeSynthetic }] = await Promise.all([import('../engine/synthetic/generator.js'), import('../engine/synthetic/write.js')]);
    try {
      validateSyntheticOptions(shape);
    } catch (error) {
      throw new UsageError(`demo: ${(error as Error).message}`);
    }
    const threads = flag<number>(context, 'threads') ?? defaultThreads();
    const summary = await withProgress(context, 'writing', (onProgress, control) => writeSynthetic(out, shape, { threads, onProgress, cancel: control.cancel }));
    context.io.stdout.write(`wrote ${out}\n${formatSummary(summary)}`);
    return 0;
  },
};

const info: Command = {
  spec: {
    name: 'info',
    summary: 'Describe a capture: layers, heads, kv heads, head dim, seq len, dtype, model, source, size, tokens, planted patterns.',
    positionals: [{ name: 'CAPTURE', required: true }],
    flags: { json: JSON_FLAG },
  },
  async run(context) {
    const { summary, preview } = await withCapture(context.positionals[0] as string, async (capture) => ({ summary: capture.summary, preview: await firstTokens(capture) }));
    if (flag<boolean>(context, 'json')) {
      const { planted: _planted, ...rest } = summary;
      writeJson(context, { ...rest, planted: plantedCounts(summary), firstTokens: preview && { ids: [...preview.ids], text: preview.text } });
    } else context.io.stdout.write(formatSummary(summary, preview?.text));
    return 0;
  },
};

const analyze: Command = {
  spec: {
    name: 'analyze',
    summary: 'Measure recall, output error, density and dense/sparse timings per head for a config (default: MInference defaults).',
    notes: ['Recall and output error use the sampled rows (every evaluated row with --exact). Timings are full-row pre-fill, measured per head: each speedup says "measured".'],
    positionals: [{ name: 'CAPTURE', required: true }],
    flags: {
      config: { type: 'string', valueName: 'CFG', help: 'head config (MInference, SGLang or Sparsescope JSON)' },
      layers: LAYERS_FLAG,
      backend: BACKEND_FLAG,
      exact: EXACT_FLAG,
      rows: ROWS_FLAG,
      workers: WORKERS_FLAG,
      json: JSON_FLAG,
    },
  },
  async run(context) {
    const report = await withCapture(context.positionals[0] as string, async (capture) => {
      const config = await loadConfigFor(context, capture.summary);
      const layersText = flag<string>(context, 'layers');
      const options = {
        ...(config ? { config } : {}),
        ...(layersText === undefined ? {} : { layers: parseLayers(layersText, capture.summary) }),
        backend: flag<Backend>(context, 'backend') ?? 'auto',
        sampling: sampling(context),
      };
      const workers = workersSetting(context.flags);
      if (workers !== undefined) return runOnWorkers<Report>(context.io, 'analyzing', workers, { kind: 'analyze', captureId: capture.summary.captureId, ...options }, capture);
      const native = await nativeModule();
      const { analyzeCapture } = await import('../engine/analysis/analyze.js');
      return withProgress(context, 'analyzing', (onProgress, control) => analyzeCapture(native, capture, options, onProgress, control));
    });
    notify(context, report);
    warn(context, report.warnings ?? []);
    if (flag<boolean>(context, 'json')) writeJson(context, report);
    else context.io.stdout.write(formatReport(report));
    return 0;
  },
};

const search: Command = {
  spec: {
    name: 'search',
    summary: 'Find a pattern and budget per head and write the config. Without --target-recall it tries the MInference candidate set.',
    notes: ['The search runs on the sampled rows; each choice is then checked on every evaluated row and raised until its exact recall reaches --target-recall. The config\'s score and the report carry that exact recall.'],
    positionals: [{ name: 'CAPTURE', required: true }],
    flags: {
      out: { type: 'string', valueName: 'CFG', help: 'config file to write (required)' },
      'target-recall': { type: 'float', min: 0, max: 1, valueName: 'R', help: 'cheapest config per head reaching this recall (dense if none does)' },
      'recall-scope': { type: 'enum', values: ['head', 'layer'], help: 'what --target-recall holds: every head (default), or the mean over a layer\'s heads, each at least --min-head-recall' },
      'min-head-recall': { type: 'float', min: 0, max: 1, valueName: 'R', help: `with --recall-scope layer: no head below this recall (default: the target less ${LAYER_FLOOR_MARGIN})` },
      methods: { type: 'string', valueName: 'M,M', help: `methods compared per head with --target-recall, from ${SearchMethod.options.join(',')} (default minference); the config holds each head's winner` },
      format: { type: 'enum', values: FORMATS, help: 'output format (default minference; duo writes a .tsv)' },
      layers: LAYERS_FLAG,
      backend: BACKEND_FLAG,
      exact: EXACT_FLAG,
      rows: ROWS_FLAG,
      workers: WORKERS_FLAG,
      json: { type: 'boolean', help: 'print the measured report as JSON on stdout' },
    },
  },
  async run(context) {
    const out = flag<string>(context, 'out');
    if (out === undefined) throw new UsageError('search: --out CFG is required');
    const format = flag<ConfigFormat>(context, 'format') ?? 'minference';
    await checkConfigTarget(out, format); // before the search: its result must have somewhere to go
    const { result, summary } = await withCapture(context.positionals[0] as string, async (capture) => {
      const targetRecall = flag<number>(context, 'target-recall');
      const layersText = flag<string>(context, 'layers');
      const methods = searchMethods(context, targetRecall);
      const settings = SearchSettings.parse({
        mode: targetRecall === undefined ? 'candidates' : 'target-recall',
        ...(targetRecall === undefined ? {} : { targetRecall }),
        ...(methods ? { methods } : {}),
        ...recallScope(context, targetRecall, methods),
        sampling: sampling(context),
        ...(layersText === undefined ? {} : { layers: parseLayers(layersText, capture.summary) }),
      });
      const backend = flag<Backend>(context, 'backend') ?? 'auto';
      const workers = workersSetting(context.flags);
      if (workers !== undefined) {
        const spec = { kind: 'search' as const, captureId: capture.summary.captureId, settings, backend };
        return { result: await runOnWorkers<SearchResult>(context.io, 'searching', workers, spec, capture), summary: capture.summary };
      }
      const native = await nativeModule();
      const { searchCapture } = await import('../engine/analysis/search.js');
      const searched = await withProgress(context, 'searching', (onProgress, control) => searchCapture(native, capture, settings, backend, onProgress, control));
      return { result: searched, summary: capture.summary };
    });
    notify(context, result.report);
    const { text, warnings } = await exportConfig(result.config, format, { capture: summary, report: result.report, settings: result.settings });
    warn(context, warnings);
    await writeConfigFile(out, text, format);
    const totals = result.comparison ? (await import('../engine/analysis/method-search.js')).methodTotals(result.comparison) : null;
    if (flag<boolean>(context, 'json')) writeJson(context, totals ? { ...result.report, comparison: result.comparison, methods: totals } : result.report);
    else context.io.stdout.write(`wrote ${out} (${format}): ${searchRule(result.settings)}\n${formatReport(result.report)}${totals ? formatMethodTotals(totals) : ''}`);
    return 0;
  },
};

const bench: Command = {
  spec: {
    name: 'bench',
    summary: 'Time dense vs sparse pre-fill on a capture, or on synthetic captures over context lengths (--synthetic).',
    positionals: [{ name: 'CAPTURE', required: false }],
    flags: {
      synthetic: { type: 'boolean', help: 'sweep synthetic captures instead of reading one' },
      seq: { type: 'int', min: 64, max: MAX_SEQ, repeat: true, valueName: 'N', help: `context lengths of the synthetic sweep (default ${DEFAULT_SWEEP.join(' ')})` },
      config: { type: 'string', valueName: 'CFG', help: 'head config (default: searched per synthetic capture, MInference defaults for a capture)' },
      backend: BACKEND_FLAG,
      repeat: { type: 'int', min: 1, max: 100, valueName: 'K', help: 'timed repeats, median reported (default 3)' },
      workers: WORKERS_FLAG,
      json: JSON_FLAG,
    },
  },
  async run(context) {
    const synthetic = flag<boolean>(context, 'synthetic') === true;
    const path = context.positionals[0];
    if (synthetic === (path !== undefined)) throw new UsageError('bench: give either a CAPTURE or --synthetic');
    const seqs = flag<number[]>(context, 'seq');
    if (!synthetic && seqs) throw new UsageError('bench: --seq applies to --synthetic only');
    const common = { backend: flag<Backend>(context, 'backend') ?? 'auto', repeat: flag<number>(context, 'repeat') ?? 3 };
    const runBench = async (capture: Capture | null, options: BenchOptions) => {
      const workers = workersSetting(context.flags);
      if (workers !== undefined) return runOnWorkers<BenchResult>(context.io, 'benchmarking', workers, { kind: 'bench', ...(capture ? { captureId: capture.summary.captureId } : {}), ...options }, capture);
      const native = await nativeModule();
      const { benchCapture } = await import('../engine/analysis/bench.js');
      return withProgress(context, 'benchmarking', (onProgress, control) => benchCapture(native, capture, options, onProgress, control));
    };
    const result = synthetic
      ? await (async () => {
          const configPath = flag<string>(context, 'config');
          const config = configPath === undefined ? undefined : (await readConfigFile(configPath)).config;
          return runBench(null, { ...common, sweep: seqs ?? DEFAULT_SWEEP, ...(config ? { config } : {}) });
        })()
      : await withCapture(path as string, async (capture) => {
          const config = await loadConfigFor(context, capture.summary);
          return runBench(capture, { ...common, sweep: [], ...(config ? { config } : {}) });
        });
    notify(context, result.report);
    warn(context, result.report?.warnings ?? []);
    if (flag<boolean>(context, 'json')) writeJson(context, result.report ? { ...result.report, sweep: result.sweep } : { sweep: result.sweep });
    else {
      if (result.report) context.io.stdout.write(formatReport(result.report));
      for (const point of result.sweep) {
        context.io.stdout.write(
          `seq ${point.seqLen}: dense ${point.denseMs.toFixed(2)} ms, index ${point.indexMs.toFixed(2)} ms, sparse ${point.sparseMs.toFixed(2)} ms, speedup ${point.speedup.toFixed(2)}x, mean recall ${point.meanRecall.toFixed(4)}\n`,
        );
      }
    }
    return 0;
  },
};

/** Recall of what an export converts a head to, measured on the capture (the native module loads on first use). */
function convertedHeadRecall(capture: Capture): RecallEvaluator {
  return captureRecallEvaluator(capture.summary, async (layer, head, { lastQ, methodSettings, ...pattern }) => {
    const [native, { evaluateHead }] = await Promise.all([nativeModule(), import('../engine/analysis/head.js')]);
    const evaluation = await evaluateHead(native, capture, { layer, head, pattern, lastQ, methodSettings, sampling: EXPORT_RECALL_SAMPLING, stripRows: 8, backend: 'auto' });
    return evaluation.stats.recall;
  });
}

const configConvert: Command = {
  spec: {
    name: 'config convert',
    summary: 'Convert a head config between MInference JSON, the SGLang/vLLM config.json snippet, Sparsescope JSON and the XAttention, DuoAttention, FlexPrefill and MInference attn_type files (input format detected).',
    positionals: [{ name: 'IN', required: true }],
    flags: {
      to: { type: 'enum', values: FORMATS, help: 'output format (required)' },
      out: { type: 'string', valueName: 'OUT', help: 'file to write (required; .tsv for duo)' },
      capture: { type: 'string', valueName: 'FILE', help: 'the capture the config is for: measures the recall of converted heads, gives DuoAttention files their query heads and FlexPrefill / attn_type files their shape' },
    },
    notes: [
      'A SGLang/vLLM input may be a whole model config.json. Converted heads are reported on stderr, with their recall when --capture is given.',
      'FlexPrefill and MInference attn_type files hold one setting for all heads: reading one needs --capture.',
    ],
  },
  async run(context) {
    const to = flag<ConfigFormat>(context, 'to');
    const out = flag<string>(context, 'out');
    if (to === undefined) throw new UsageError(`config convert: --to ${FORMATS.join('|')} is required`);
    if (out === undefined) throw new UsageError('config convert: --out OUT is required');
    const input = context.positionals[0] as string;
    const convert = async (capture?: Capture) => {
      const imported = await readConfigFile(input, capture?.summary);
      warn(context, imported.warnings);
      return { imported, ...(await exportConfig(imported.config, to, capture ? { capture: capture.summary } : {}, capture && convertedHeadRecall(capture))) };
    };
    const capturePath = flag<string>(context, 'capture');
    const { imported, text, warnings } = capturePath === undefined ? await convert() : await withCapture(capturePath, convert);
    warn(context, warnings);
    await writeConfigFile(out, text, to);
    context.io.stdout.write(`${basename(input)} (${imported.format}, ${imported.config.numLayers} layers x ${imported.config.numHeads} heads) -> ${out} (${to})\n`);
    return 0;
  },
};

const serve: Command = {
  spec: {
    name: 'serve',
    summary: 'Serve the UI and engine on this machine (open the printed URL, or tunnel it over SSH). Ctrl-C stops.',
    positionals: [],
    flags: {
      host: { type: 'string', valueName: 'ADDR', help: 'address to bind (default 127.0.0.1)' },
      port: { type: 'int', min: 0, max: 65535, valueName: 'P', help: 'port (default 7700; 0 picks a free one)' },
      root: { type: 'string', repeat: true, valueName: 'DIR', help: 'folder the UI may open files from (default: the current folder)' },
    },
  },
  async run(context) {
    const { startServer } = await import('../serve/server.js');
    const roots = (flag<string[]>(context, 'root') ?? ['.']).map((root) => resolve(root));
    const server = await startServer({
      host: flag<string>(context, 'host') ?? '127.0.0.1',
      port: flag<number>(context, 'port') ?? 7700,
      roots,
      log: (line) => context.io.stderr.write(`${line}\n`),
    });
    context.io.stdout.write(`sparsescope serve: open ${server.url}\nroots: ${roots.join(', ')}\n`);
    await new Promise<void>((done) => {
      if (!context.io.signal || context.io.signal.aborted) return done();
      context.io.signal.addEventListener('abort', () => done(), { once: true });
    });
    await server.close();
    return 0;
  },
};

/** Commands by the words that name them ("config convert" is two words). */
export const COMMANDS: readonly Command[] = [demo, info, analyze, search, bench, configConvert, configMerge, serve];
