/**
 * An in-memory engine for renderer tests: a small synthetic capture with sink + local-window
 * heads, closed-form recall that grows with the budget, and jobs the test drives by hand
 * (`finishJob`, `failJob`) or lets finish on their own (`autoFinishJobs`). `disconnect` and
 * `reconnect` stand for the browser's event socket dropping: events sent meanwhile are lost.
 */
import {
  ApiError,
  DUO_STREAMING_HEAD,
  type Api,
  type CaptureSummary,
  type ConnectionState,
  type HeadComparison,
  type HeadConfig,
  type HeadPattern,
  type JobEvent,
  type MethodChoice,
  type MethodName,
  type Params,
  type Report,
  type Result,
  type SearchMethod,
  type SearchSettings,
  type SpeedupKind,
} from '../../contract/api.js';

export const FAKE_CAPTURE: CaptureSummary = {
  captureId: 'cap-1',
  path: '/data/demo.safetensors',
  fileName: 'demo.safetensors',
  sizeBytes: 3 << 20,
  hash: 'f'.repeat(64),
  model: 'fake-model',
  source: 'synthetic',
  numLayers: 3,
  layers: [0, 1, 2],
  numHeads: 4,
  numKvHeads: 2,
  headDim: 64,
  seqLen: 2048,
  dtype: 'BF16',
};

/** The real capture the app ships (capture.openSample): the same shape, with tokens. */
export const FAKE_SAMPLE: CaptureSummary = {
  ...FAKE_CAPTURE,
  captureId: 'cap-sample',
  path: '/app/samples/sample.safetensors',
  fileName: 'sample.safetensors',
  model: 'fake-real-model',
  source: 'the first bytes of a real file',
  tokens: true,
  tokenizer: 'fake-tokenizer',
};

/** Recall the fake reports for a head pattern: more budget, more recall; dense is exact. */
export function fakeRecall(layer: number, head: number, pattern: HeadPattern): number {
  if (pattern.pattern === 'dense') return 1;
  const budget = pattern.pattern === 'block_sparse' ? pattern.a * 64 : pattern.a + pattern.b;
  const difficulty = 200 * (1 + layer + head);
  return 1 - 0.6 * Math.exp(-budget / difficulty);
}

/** Stats as the engine gives them: `measured` by analyze and search, `predicted` by head.evaluate. */
function fakeStats(layer: number, head: number, pattern: HeadPattern, speedupKind: SpeedupKind = 'measured'): Report['heads'][number] {
  const recall = fakeRecall(layer, head, pattern);
  const density = pattern.pattern === 'dense' ? 1 : Math.min(1, (pattern.a + pattern.b) / FAKE_CAPTURE.seqLen / 4);
  const [denseMs, indexMs, sparseMs] = [4, 0.2, 4 * density];
  return { layer, head, pattern: pattern.pattern, params: [pattern.a, pattern.b], recall, outputRelError: (1 - recall) / 2, density, rowsUsed: 256, denseMs, indexMs, sparseMs, speedup: denseMs / (indexMs + sparseMs), speedupKind };
}

/** What each method of a fake search across methods tries first (its choice when it holds the target). */
const FAKE_METHOD_PATTERN: Record<Exclude<SearchMethod, 'minference'>, HeadPattern> = {
  xattention: { pattern: 'xattention', a: 900, b: 8 },
  flexprefill: { pattern: 'flexprefill', a: 900, b: 100 },
  duo: DUO_STREAMING_HEAD,
};

/**
 * A search across methods as the engine reports it: per head each method's choice (the config's
 * pattern for MInference), dense where it misses the target, and the winner, the least index +
 * sparse time among those that hold (ties to the earlier method).
 */
export function fakeComparison(config: HeadConfig, methods: SearchMethod[], targetRecall: number, layers = FAKE_CAPTURE.layers): HeadComparison[] {
  return layers.flatMap((layer) =>
    config.heads[layer]!.map((entry, head): HeadComparison => {
      const choices = methods.map((method): MethodChoice => {
        const tried = method === 'minference' ? entry : FAKE_METHOD_PATTERN[method];
        const stats = fakeStats(layer, head, tried);
        return stats.recall >= targetRecall ? { method, holds: true, stats } : { method, holds: false, stats: fakeStats(layer, head, { pattern: 'dense', a: 0, b: 0 }) };
      });
      const cost = (choice: MethodChoice) => (choice.holds ? choice.stats.indexMs + choice.stats.sparseMs : Infinity);
      const winner = choices.reduce((best, choice) => (cost(choice) < cost(best) ? choice : best));
      return { layer, head, winner: winner.method, choices };
    }),
  );
}

export function fakeReport(config: HeadConfig, layers = FAKE_CAPTURE.layers): Report {
  const heads = layers.flatMap((layer) => config.heads[layer]!.map((entry, head) => fakeStats(layer, head, entry)));
  const recalls = heads.map((h) => h.recall);
  const denseMs = heads.reduce((s, h) => s + h.denseMs, 0);
  const indexMs = heads.reduce((s, h) => s + h.indexMs, 0);
  const sparseMs = heads.reduce((s, h) => s + h.sparseMs, 0);
  return {
    backend: 'cpu',
    device: 'Fake CPU',
    dtype: 'BF16',
    seqLen: FAKE_CAPTURE.seqLen,
    heads,
    totals: { denseMs, indexMs, sparseMs, speedup: denseMs / (indexMs + sparseMs), speedupKind: 'measured', meanRecall: recalls.reduce((s, r) => s + r, 0) / recalls.length, minRecall: Math.min(...recalls) },
  };
}

/** A search result across methods: the config holds each head's winning choice. */
function searchAcrossMethods(minference: HeadConfig, settings: SearchSettings, methods: SearchMethod[]) {
  const comparison = fakeComparison(minference, methods, settings.targetRecall);
  const heads = minference.heads.map((row) => row.slice());
  for (const { layer, head, winner, choices } of comparison) {
    const { stats } = choices.find((c) => c.method === winner)!;
    heads[layer]![head] = { pattern: stats.pattern, a: stats.params[0], b: stats.params[1] };
  }
  const config = { ...minference, heads };
  return { config, report: fakeReport(config), settings, comparison };
}

type Call = { method: MethodName; params: unknown };
type Handler = (params: never) => unknown;

export class FakeApi implements Api {
  readonly host = 'browser' as const;
  readonly calls: Call[] = [];
  readonly jobs = new Map<string, Extract<Params<'job.start'>, object>>();
  autoFinishJobs = false;
  /** Whether `capture.openSample` has a sample to open; without one the app starts on the demo. */
  shipsSample = false;
  /** Method name -> error to throw, for failure paths. */
  readonly failures = new Map<MethodName, ApiError>();
  private listeners = new Set<(event: JobEvent) => void>();
  private connectionListeners = new Set<(state: ConnectionState) => void>();
  /** The latest event of each job, newest job first when listed, as the engine remembers them. */
  private latestEvents = new Map<string, JobEvent>();
  private connected = true;
  private nextJob = 1;

  private handlers: { [M in MethodName]: (params: Params<M>) => Result<M> } = {
    'device.info': () => ({ engineVersion: '0.0.0-fake', cpu: { threads: 2, model: 'Fake CPU' }, cuda: { available: false, reason: 'no GPU', devices: [] }, defaultBackend: 'cpu', host: 'test' }),
    'capture.openDemo': () => FAKE_CAPTURE,
    'capture.openSample': () => {
      if (!this.shipsSample) throw new ApiError('this engine ships no sample capture', 'not-found');
      return FAKE_SAMPLE;
    },
    'capture.open': ({ path }) => {
      if (!path.endsWith('.safetensors')) throw new ApiError(`${path}: not a safetensors file`, 'bad-request');
      return { ...FAKE_CAPTURE, captureId: `cap-${path}`, path, fileName: path.split('/').pop()! };
    },
    'capture.close': () => ({ closed: true }),
    'capture.tokens': ({ start, end }) => {
      const ids = Array.from({ length: end - start }, (_, i) => start + i);
      return { start, ids, text: ids.map((id) => ` t${id}`) };
    },
    'files.list': ({ dir }) => ({ dir: dir ?? '/data', parent: null, roots: ['/data'], entries: [{ name: 'demo.safetensors', path: '/data/demo.safetensors', kind: 'file', sizeBytes: 3 << 20 }] }),
    'capture.recent': () => [{ path: '/data/demo.safetensors', openedAt: '2026-01-01T00:00:00.000Z' }],
    'head.pooledMap': ({ resolution, region }) => {
      const r = region ?? { rowStart: 0, rowEnd: FAKE_CAPTURE.seqLen, colStart: 0, colEnd: FAKE_CAPTURE.seqLen };
      const mean = new Float32Array(resolution * resolution);
      for (let i = 0; i < resolution; i++) for (let j = 0; j <= i; j++) mean[i * resolution + j] = j === 0 || j === i ? 0.4 : 0.2 / (i + 1);
      return { region: r, rows: resolution, cols: resolution, mean, max: mean.slice(), rowsUsed: 1024, backend: 'cpu', ms: 1 };
    },
    'head.mask': ({ resolution, region, pattern }) => ({
      region: region ?? { rowStart: 0, rowEnd: FAKE_CAPTURE.seqLen, colStart: 0, colEnd: FAKE_CAPTURE.seqLen },
      rows: resolution,
      cols: resolution,
      coverage: new Float32Array(resolution * resolution).fill(pattern.pattern === 'dense' ? 1 : 0.5),
      slashOffsets: pattern.pattern === 'vertical_and_slash' ? [0, 1, 2] : [],
      verticalColumns: pattern.pattern === 'vertical_and_slash' ? [0, 5] : [],
      density: 0.5,
    }),
    'head.evaluate': ({ layer, head, pattern }) => {
      const stats = fakeStats(layer, head, pattern, 'predicted');
      return { stats, rowRecall: { rowStart: 0, rowEnd: FAKE_CAPTURE.seqLen, recall: new Float32Array(16).fill(stats.recall) } };
    },
    'head.budgetCurve': ({ layer, head, pattern }) => ({
      pattern,
      points: [100, 400, 1600].map((a) => ({ a, b: a, recall: fakeRecall(layer, head, { pattern, a, b: a }), density: a / FAKE_CAPTURE.seqLen })),
    }),
    'head.kernelBlocks': ({ queryBlock }) => {
      const rowStart = queryBlock * 64;
      return { queryBlock, numBlocks: FAKE_CAPTURE.seqLen / 64, rowStart, rowEnd: rowStart + 64, blockCount: 2, blockOffset: [0, rowStart], columnCount: 3, columnIndex: [100, 101, 300].filter((c) => c < rowStart), window: null, computedEntries: 64 * 130, causalEntries: 64 * (rowStart + 32), density: 0.3 };
    },
    'head.outputError': ({ layer, head, pattern, rows = 256 }) => {
      const recall = fakeRecall(layer, head, pattern);
      const sampled = Array.from({ length: rows }, (_, r) => Math.floor(((r + 0.5) * FAKE_CAPTURE.seqLen) / rows));
      return {
        rows: sampled,
        rowError: Float32Array.from(sampled, (i) => ((1 - recall) * i) / FAKE_CAPTURE.seqLen),
        rowRecall: new Float32Array(rows).fill(recall),
        outputRelError: (1 - recall) / 2,
        missingMass: 1 - recall,
        topColumns: pattern.pattern === 'dense' ? [] : [{ column: 7, mass: (1 - recall) * 0.5 }, { column: 42, mass: (1 - recall) * 0.2 }],
        topDiagonals: pattern.pattern === 'dense' ? [] : [{ offset: 3, mass: (1 - recall) * 0.3 }],
        rowsRequested: rows,
        backend: 'cpu',
        ms: 1,
      };
    },
    'job.start': (spec) => {
      const jobId = `job-${this.nextJob++}`;
      this.jobs.set(jobId, spec);
      queueMicrotask(() => {
        this.emit({ jobId, kind: spec.kind, state: 'running', progress: 0.1, message: 'started', etaSeconds: 3 });
        if (this.autoFinishJobs) this.finishJob(jobId);
      });
      return { jobId };
    },
    'job.cancel': ({ jobId }) => {
      const spec = this.jobs.get(jobId);
      if (!spec) return { cancelled: false };
      queueMicrotask(() => this.emit({ jobId, kind: spec.kind, state: 'cancelled', progress: 0.1, message: 'cancelled', etaSeconds: null }));
      return { cancelled: true };
    },
    'job.list': () => [...this.latestEvents.values()].reverse(),
    'config.import': (params) => {
      if (!('text' in params)) throw new ApiError('the fake imports text only', 'bad-request');
      const heads = JSON.parse(params.text) as HeadConfig['heads'];
      return { config: { numLayers: heads.length, numHeads: heads[0]?.length ?? 0, heads }, format: 'minference', warnings: [] };
    },
    'config.export': ({ config, format }) => ({ text: JSON.stringify({ format, heads: config.heads }), warnings: [] }),
  };

  async call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
    this.calls.push({ method, params });
    await Promise.resolve();
    const failure = this.failures.get(method);
    if (failure) throw failure;
    return (this.handlers[method] as Handler)(params as never) as Result<M>;
  }

  onJobEvent(listener: (event: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onConnectionChange(listener: (state: ConnectionState) => void): () => void {
    this.connectionListeners.add(listener);
    listener(this.connected ? 'connected' : 'reconnecting');
    return () => this.connectionListeners.delete(listener);
  }

  emit(event: JobEvent): void {
    this.latestEvents.set(event.jobId, event);
    if (!this.connected) return;
    for (const listener of this.listeners) listener(event);
  }

  disconnect(): void {
    this.connected = false;
    for (const listener of this.connectionListeners) listener('reconnecting');
  }

  reconnect(): void {
    this.connected = true;
    for (const listener of this.connectionListeners) listener('connected');
  }

  /** The result a real engine would send for the job's kind. */
  resultFor(spec: Params<'job.start'>): unknown {
    switch (spec.kind) {
      case 'analyze':
        return fakeReport(spec.config!);
      case 'search': {
        const heads = FAKE_CAPTURE.layers.map(() => Array.from({ length: FAKE_CAPTURE.numHeads }, (_, h) => ({ pattern: h % 2 ? ('stream_llm' as const) : ('vertical_and_slash' as const), a: h % 2 ? 100 : 500, b: h % 2 ? 800 : 700, score: 0.97 })));
        const config = { numLayers: FAKE_CAPTURE.numLayers, numHeads: FAKE_CAPTURE.numHeads, heads };
        const methods = spec.settings.methods ?? ['minference'];
        const settings = { sampling: { mode: 'sampled', rows: 512, seed: 0 }, ...spec.settings, targetRecall: spec.settings.targetRecall ?? 0.95 } as SearchSettings;
        if (methods.length > 1) return searchAcrossMethods(config, settings, methods);
        return { config, report: fakeReport(config), settings };
      }
      case 'bench':
        return { report: fakeReport(spec.config!), sweep: [1024, 2048].map((seqLen) => ({ seqLen, device: 'Fake CPU (CPU, 2 threads)', dtype: 'BF16' as const, denseMs: seqLen / 100, indexMs: 0.5, sparseMs: seqLen / 400, speedup: 3, meanRecall: 0.97 })) };
    }
  }

  finishJob(jobId: string, result?: unknown): void {
    const spec = this.jobs.get(jobId);
    if (!spec) throw new Error(`no job ${jobId}`);
    this.emit({ jobId, kind: spec.kind, state: 'done', progress: 1, message: 'done', etaSeconds: 0, result: result ?? this.resultFor(spec) });
  }

  failJob(jobId: string, error: string): void {
    const spec = this.jobs.get(jobId);
    if (!spec) throw new Error(`no job ${jobId}`);
    this.emit({ jobId, kind: spec.kind, state: 'failed', progress: 0.5, message: 'failed', etaSeconds: null, error });
  }

  lastJobId(kind: JobEvent['kind']): string {
    const ids = [...this.jobs].filter(([, spec]) => spec.kind === kind).map(([id]) => id);
    const id = ids.at(-1);
    if (!id) throw new Error(`no ${kind} job was started`);
    return id;
  }
}
