/**
 * `--workers` of analyze, search and bench: the job runs on compute worker processes through the
 * engine's sharded runner (one per visible GPU, or CPU stand-ins), its layers sharded over them,
 * instead of in this process. Without the flag or SPARSESCOPE_WORKERS the command computes in
 * this process, as it always did.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError, type JobSpec } from '../../contract/api.js';
import type { Capture } from '../engine/capture/types.js';
import type { FlagSpec } from './args.js';
import { UsageError } from './args.js';
import { progressReporter, type CliIo } from './io.js';

export const WORKERS_FLAG: FlagSpec = {
  type: 'string',
  valueName: 'SPEC',
  help: 'run on compute worker processes, layers sharded over them: auto (one per visible GPU), gpu:N or cpu:N (default: this process, or SPARSESCOPE_WORKERS)',
};

/** The workers a command asked for, or undefined to compute in this process. */
export function workersSetting(flags: Map<string, unknown>): string | undefined {
  return (flags.get('workers') as string | undefined) ?? (process.env['SPARSESCOPE_WORKERS'] || undefined);
}

/** The compiled worker entry: next to the compiled runner, or dist/'s when running from source. */
function workerEntry(defaultEntry: string): string {
  if (existsSync(defaultEntry)) return defaultEntry;
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    const built = join(dir, 'dist', 'electron', 'engine', 'jobs', 'worker.js');
    if (existsSync(built)) return built;
  }
  throw new ApiError('--workers needs the compiled worker (dist/electron/engine/jobs/worker.js): run `npm run build`', 'bad-request');
}

/** Run `spec` on `capture` (null: a synthetic bench) on the workers `setting` names, progress and each shard's end on stderr. */
export async function runOnWorkers<T>(io: CliIo, label: string, setting: string, spec: JobSpec, capture: Capture | null): Promise<T> {
  const [{ loadNative }, { planComputeWorkers, WorkerSettingError }, { ShardedRunner }, { defaultWorkerEntry, nodeWorkerSpawner }] = await Promise.all([
    import('../engine/native.js'),
    import('../engine/jobs/compute-workers.js'),
    import('../engine/jobs/sharded-runner.js'),
    import('../engine/jobs/node-spawner.js'),
  ]);
  const slots = (() => {
    try {
      return planComputeWorkers(setting, loadNative().deviceInfo(), process.env['CUDA_VISIBLE_DEVICES']);
    } catch (error) {
      if (error instanceof WorkerSettingError) throw new UsageError(`--workers: ${error.message}`);
      throw error;
    }
  })();
  const runner = new ShardedRunner({ spawn: nodeWorkerSpawner(workerEntry(defaultWorkerEntry)), slots: async () => slots, killGraceMs: 2000 });
  const progress = progressReporter(io.stderr, label);
  const target = capture && { capturePath: capture.summary.path, captureId: capture.summary.captureId, summary: capture.summary };
  const running = runner.run(spec, target, (fraction, message) => progress.report(fraction, message));
  const cancel = () => running.cancel();
  io.signal?.addEventListener('abort', cancel, { once: true });
  if (io.signal?.aborted) cancel();
  try {
    return (await running.promise) as T;
  } finally {
    io.signal?.removeEventListener('abort', cancel);
    progress.done();
    runner.dispose();
  }
}
