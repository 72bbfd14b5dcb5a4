/**
 * The engine behind both hosts: one async handler per contract method (params already validated
 * by the host with parseRequest), job events, and shutdown. Plain Node; never imports `electron`.
 *
 * Work placement (spec section 6): the host process only reads headers and token text, lists
 * folders and converts configs. Everything that touches the native module runs in worker
 * processes: an `interactive` worker for the head view (pooled map, mask, evaluate, budget curve,
 * device info, demo generation) and compute workers for analyze/search/bench (one per visible GPU,
 * jobs sharded over them: jobs/sharded-runner.ts), so a long search never blocks tuning and a
 * crash or hard cancel never reaches the host.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError, type CaptureSummary, type DeviceInfo, type Handlers, type HeadEvaluation, type JobEvent, type JobSpec, type ParsedParams } from '../../contract/api.js';
import { isCaptureInputError, openCapture } from './capture/capture.js';
import type { Capture } from './capture/types.js';
import { ConfigError, EXPORT_RECALL_SAMPLING, captureRecallEvaluator, exportConfig, fitConfigToCapture, importConfig, readConfigFile, writeConfigFile, type RecallEvaluator } from './config/index.js';
import { planComputeWorkers } from './jobs/compute-workers.js';
import { JobManager } from './jobs/manager.js';
import { ShardedRunner } from './jobs/sharded-runner.js';
import type { DemoOptions, WorkerOpResults, WorkerSpawner } from './jobs/protocol.js';
import { WorkerChannel, messageOf, type PendingCall } from './jobs/worker-channel.js';
import { unpackedTwin } from './native.js';
import { CaptureRegistry, RecentFiles, Roots, listFolder, type GrantedAccess } from './session.js';

export interface EngineOptions {
  host: DeviceInfo['host'];
  /** Folders whose files clients may list, open, import from and export to (the desktop starts with those of its recent files). */
  roots: string[];
  /** Config exports go only to paths the host granted for saving (the desktop's save dialog), not anywhere in the roots. */
  exportsOnlyWhereGranted?: boolean;
  /** Engine-private folder: recent files, the generated demo capture. */
  cacheDir: string;
  spawnWorker: WorkerSpawner;
  /** Milliseconds a cancelled job may keep running before its worker is killed (default 2000). */
  killGraceMs?: number;
  /** Compute workers, as SPARSESCOPE_WORKERS (jobs/compute-workers.ts; default: that variable, else auto). */
  workers?: string;
  /** The demo capture's shape (default: the spec's 4 layers, 8 heads, 2 kv heads, D 64, N 4096, BF16). */
  demo?: DemoOptions;
  /** The real capture the app ships (default: samplePath()). */
  sample?: string;
}

export interface Engine {
  handlers: Handlers;
  onJobEvent(listener: (event: JobEvent) => void): () => void;
  /**
   * What the user chose through the host: a file opened in its dialog or dropped on its window
   * (`open`: its folder becomes a root), or the path picked in its save dialog (`save`: one write).
   */
  grantPath(path: string, access: GrantedAccess): void;
  dispose(): Promise<void>;
}

/** What a worker call needs to find an open capture: its path, and the id of the version the host opened. */
type CaptureRef = { capturePath: string; captureId: string };

function captureRef(summary: CaptureSummary): CaptureRef {
  return { capturePath: summary.path, captureId: summary.captureId };
}

export const DEMO_CAPTURE: DemoOptions = { seqLen: 4096, layers: 4, heads: 8, kvHeads: 2, headDim: 64, seed: 0, dtype: 'BF16' };

const SAMPLE_RELATIVE_PATH = join('samples', 'ref-byte-llama-2k.safetensors');

/**
 * The real capture shipped with the app, found by walking up from this file as the addon is (source,
 * dist/ and a packaged app's app.asar.unpacked, where native code can read it, sit at different depths).
 */
export function samplePath(): string {
  const start = unpackedTwin(dirname(fileURLToPath(import.meta.url)));
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, SAMPLE_RELATIVE_PATH);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return join(start, '..', '..', SAMPLE_RELATIVE_PATH);
  }
}

/** package.json's version, found by walking up from this file (source and dist sit at different depths). */
export const engineVersion: () => string = (() => {
  let version: string | null = null;
  return () => {
    if (version !== null) return version;
    for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
      try {
        const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (manifest.name === 'sparsescope') return (version = manifest.version ?? '0.0.0');
      } catch {
        // no package.json here: keep walking up
      }
      if (dirname(dir) === dir) return (version = '0.0.0');
    }
  };
})();

/** Config and capture problems are the user's input, not engine faults. */
async function asBadRequest<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ConfigError || isCaptureInputError(error)) throw new ApiError(error.message, 'bad-request');
    throw error;
  }
}

export function createEngine(options: EngineOptions): Engine {
  const roots = new Roots(options.roots, options.exportsOnlyWhereGranted);
  const recent = new RecentFiles(options.cacheDir);
  const captures = new CaptureRegistry();
  const interactive = new WorkerChannel('interactive', options.spawnWorker, { killGraceMs: null });
  const compute = new ShardedRunner({
    spawn: options.spawnWorker,
    killGraceMs: options.killGraceMs ?? 2000,
    slots: async () => {
      const report = (await interactive.call('deviceInfo', {}).promise) as WorkerOpResults['deviceInfo'];
      try {
        return planComputeWorkers(options.workers ?? process.env['SPARSESCOPE_WORKERS'], report, process.env['CUDA_VISIBLE_DEVICES']);
      } catch (error) {
        throw new ApiError(messageOf(error), 'bad-request');
      }
    },
  });
  const demoOptions = options.demo ?? DEMO_CAPTURE;
  const sample = options.sample ?? samplePath();
  /** The newest head.evaluate per staleKey, so the next one with that key can cancel it. */
  const evaluations = new Map<string, PendingCall<unknown>>();
  let demo: Promise<CaptureSummary> | null = null;

  const jobs = new JobManager((spec, onProgress) => {
    const summary = spec.captureId === undefined ? null : captures.summary(spec.captureId);
    return compute.run(spec, summary && { ...captureRef(summary), summary }, onProgress);
  });

  async function register(capture: Capture): Promise<CaptureSummary> {
    const { capture: registered, added } = captures.add(capture);
    if (!added) await capture.close();
    return registered.summary;
  }

  async function openAt(realPath: string): Promise<CaptureSummary> {
    try {
      return await register(await openCapture(realPath));
    } catch (error) {
      if (isCaptureInputError(error)) throw new ApiError(error.message, 'bad-request');
      throw new ApiError(`cannot open ${realPath}: ${messageOf(error)}`, 'bad-request');
    }
  }

  async function openDemo(): Promise<CaptureSummary> {
    const { seqLen, layers, heads, kvHeads, headDim, seed, dtype } = demoOptions;
    const name = `demo-v${engineVersion()}-n${seqLen}-l${layers}-h${heads}-kv${kvHeads}-d${headDim}-s${seed}-${dtype.toLowerCase()}.safetensors`;
    const path = join(options.cacheDir, 'demo', name);
    const exists = await stat(path).then(
      (info) => info.isFile(),
      () => false,
    );
    if (exists) {
      try {
        return await register(await openCapture(path));
      } catch {
        // A damaged cached demo: generate it again below.
      }
    }
    await mkdir(join(options.cacheDir, 'demo'), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      await interactive.call('writeDemo', { ...demoOptions, path: temporary }).promise;
      await rename(temporary, path);
    } finally {
      await rm(temporary, { force: true });
    }
    return openAt(path);
  }

  function headTarget(params: { captureId: string; layer: number; head: number }): CaptureRef {
    const summary = captures.summary(params.captureId);
    if (!summary.layers.includes(params.layer)) {
      throw new ApiError(`layer ${params.layer} is not in capture ${summary.fileName} (layers ${summary.layers.join(', ')})`, 'not-found');
    }
    if (params.head >= summary.numHeads) {
      throw new ApiError(`head ${params.head} is out of range: capture ${summary.fileName} has ${summary.numHeads} heads`, 'not-found');
    }
    return captureRef(summary);
  }

  function withoutCaptureId<P extends { captureId: string }>(params: P): Omit<P, 'captureId'> {
    const { captureId: _captureId, ...rest } = params;
    return rest;
  }

  async function evaluate(params: ParsedParams<'head.evaluate'>) {
    const capture = headTarget(params);
    const { staleKey, ...rest } = withoutCaptureId(params);
    const pending = interactive.call('evaluate', rest, capture);
    if (staleKey !== undefined) {
      evaluations.get(staleKey)?.cancel();
      evaluations.set(staleKey, pending);
    }
    try {
      return (await pending.promise) as Awaited<ReturnType<Handlers['head.evaluate']>>;
    } finally {
      if (staleKey !== undefined && evaluations.get(staleKey) === pending) evaluations.delete(staleKey);
    }
  }

  /** Recall of what an export converts a head to, measured by the interactive worker on the open capture. */
  function convertedHeadRecall(capture: CaptureSummary): RecallEvaluator {
    return captureRecallEvaluator(capture, async (layer, head, { lastQ, methodSettings, ...pattern }) => {
      const params = { layer, head, pattern, lastQ, methodSettings, sampling: EXPORT_RECALL_SAMPLING, stripRows: 8, backend: 'auto' as const };
      const evaluation = (await interactive.call('evaluate', params, captureRef(capture)).promise) as HeadEvaluation;
      return evaluation.stats.recall;
    });
  }

  /** Check a job's capture and layers, and fit its config to the capture (missing heads default as in MInference). */
  function prepareJob(spec: JobSpec): JobSpec {
    if (spec.captureId === undefined) {
      if (spec.kind !== 'bench') throw new ApiError(`a ${spec.kind} job needs a captureId`);
      if (spec.sweep.length === 0) throw new ApiError('a bench job needs a captureId or a non-empty sweep');
      return spec;
    }
    const summary = captures.summary(spec.captureId);
    const layers = spec.kind === 'search' ? spec.settings.layers : spec.kind === 'analyze' ? spec.layers : undefined;
    const missing = layers?.filter((layer) => !summary.layers.includes(layer)) ?? [];
    if (missing.length > 0) throw new ApiError(`layers ${missing.join(', ')} are not in capture ${summary.fileName}`, 'not-found');
    if (spec.kind === 'search' || spec.config === undefined) return spec;
    return { ...spec, config: fitConfigToCapture(spec.config, summary) };
  }

  const handlers: Handlers = {
    async 'device.info'() {
      const report = (await interactive.call('deviceInfo', {}).promise) as WorkerOpResults['deviceInfo'];
      // A bad SPARSESCOPE_WORKERS is reported by the job it stops; the device is still worth showing.
      const workers = await compute.workers().then((slots) => slots.map(({ name, label, cudaIndex }) => ({ name, label, cudaIndex })), () => null);
      const cudaUsable = report.cuda.available && report.cuda.devices.length > 0;
      return {
        engineVersion: engineVersion(),
        cpu: { threads: report.cpuThreads, model: cpus()[0]?.model.trim() ?? 'unknown CPU' },
        cuda: { available: cudaUsable, ...(report.cuda.reason ? { reason: report.cuda.reason } : {}), devices: report.cuda.devices },
        defaultBackend: cudaUsable ? 'cuda' : 'cpu',
        host: options.host,
        ...(workers ? { workers } : {}),
      };
    },

    'capture.openDemo'() {
      demo ??= openDemo().catch((error: unknown) => {
        demo = null; // let the next call try again
        throw error instanceof ApiError ? error : new ApiError(`could not create the demo capture: ${messageOf(error)}`, 'internal');
      });
      return demo;
    },

    async 'capture.openSample'() {
      if (!existsSync(sample)) throw new ApiError(`this engine ships no sample capture (${sample} is missing)`, 'not-found');
      return openAt(sample);
    },

    async 'capture.open'({ path }) {
      // The app's own sample reopens by its path (a restored session), without granting its folder.
      if (path === sample) return openAt(sample);
      const real = await roots.resolveExisting(path);
      const summary = await openAt(real);
      await recent.add(real).catch(() => {}); // a read-only cache folder must not stop the open
      return summary;
    },

    async 'capture.close'({ captureId }) {
      const closed = await captures.close(captureId);
      if (!closed) return { closed: false };
      if (demo && (await demo.catch(() => null))?.captureId === captureId) demo = null;
      interactive.release(closed.summary.path, captureId);
      compute.release(closed.summary.path, captureId);
      return { closed: true };
    },

    async 'capture.tokens'({ captureId, start, end }) {
      // A bounded pread of three slices: cheap enough for the host process, like reading a header.
      const { ids, text } = await asBadRequest(() => captures.get(captureId).readTokens(start, end));
      return { start, ids: Array.from(ids), text };
    },

    'files.list'({ dir }) {
      return listFolder(roots, dir);
    },

    async 'capture.recent'() {
      return (await recent.list()).filter((entry) => roots.containsLexically(entry.path));
    },

    async 'head.pooledMap'(params) {
      return (await interactive.call('pooledMap', withoutCaptureId(params), headTarget(params)).promise) as Awaited<ReturnType<Handlers['head.pooledMap']>>;
    },

    async 'head.mask'(params) {
      return (await interactive.call('mask', withoutCaptureId(params), headTarget(params)).promise) as Awaited<ReturnType<Handlers['head.mask']>>;
    },

    'head.evaluate': evaluate,

    async 'head.budgetCurve'(params) {
      return (await interactive.call('budgetCurve', withoutCaptureId(params), headTarget(params)).promise) as Awaited<ReturnType<Handlers['head.budgetCurve']>>;
    },

    async 'head.kernelBlocks'(params) {
      return (await interactive.call('kernelBlocks', withoutCaptureId(params), headTarget(params)).promise) as Awaited<ReturnType<Handlers['head.kernelBlocks']>>;
    },

    async 'head.outputError'(params) {
      return (await interactive.call('outputError', withoutCaptureId(params), headTarget(params)).promise) as Awaited<ReturnType<Handlers['head.outputError']>>;
    },

    async 'job.start'(spec) {
      return { jobId: jobs.start(await asBadRequest(() => prepareJob(spec))) };
    },

    async 'job.cancel'({ jobId }) {
      return { cancelled: jobs.cancel(jobId) };
    },

    async 'job.list'() {
      return jobs.list();
    },

    async 'config.import'(params) {
      // The capture gives the files of one setting for all heads their shape, and DuoAttention's KV heads their query heads.
      const shape = params.captureId === undefined ? undefined : captures.summary(params.captureId);
      if ('text' in params) return asBadRequest(() => importConfig(params.text, params.fileName, shape));
      const real = await roots.resolveExisting(params.path);
      return asBadRequest(() => readConfigFile(real, shape));
    },

    async 'config.export'({ config, format, captureId, report, settings, path }) {
      const capture = captureId === undefined ? undefined : captures.summary(captureId);
      const evaluate = capture && convertedHeadRecall(capture);
      const { text, warnings } = await asBadRequest(() => exportConfig(config, format, { capture, report, settings }, evaluate));
      if (path === undefined) return { text, warnings };
      const target = await roots.resolveWritable(path);
      await asBadRequest(() => writeConfigFile(target, text, format));
      return { text, warnings, path: target };
    },
  };

  return {
    handlers,
    onJobEvent: (listener) => jobs.onEvent(listener),
    grantPath: (path, access) => roots.grant(path, access),
    async dispose() {
      jobs.dispose();
      interactive.dispose();
      compute.dispose();
      await captures.closeAll();
    },
  };
}
