/**
 * Messages between a host (Electron main or `serve`) and a compute worker process.
 *
 * They travel by structured clone (Node `fork` with `serialization: 'advanced'`, or Electron's
 * utilityProcess), so typed arrays such as PooledMap.mean arrive intact. The host never loads
 * the native module; every native call happens in a worker, so a crash or a hard cancel costs
 * the worker, never the host.
 */
import type { ApiError, JobSpec, ParsedParams } from '../../../contract/api.js';
import type { HeadBatch } from '../analysis/common.js';
import type { DeviceReport } from '../native-api.js';
import type { SyntheticOptions } from '../synthetic/generator.js';

export type ErrorCode = ApiError['code'];

/** Parameters of the synthetic demo capture (the generator's options less the model name). */
export type DemoOptions = Omit<SyntheticOptions, 'model'>;

type HeadParams<M extends 'head.pooledMap' | 'head.mask' | 'head.evaluate' | 'head.budgetCurve' | 'head.kernelBlocks' | 'head.outputError'> = Omit<ParsedParams<M>, 'captureId'>;
type JobParams<K extends JobSpec['kind']> = Omit<Extract<JobSpec, { kind: K }>, 'kind' | 'captureId'>;

/** What part of a job one worker call computes: all of it unless the sharded runner says otherwise. */
export interface ShardScope {
  /** Query heads [first, end) of each layer, whole KV groups (see jobs/shards.ts). */
  heads?: HeadBatch;
}

/** Every operation a worker runs: its parameters, and whether it needs an open capture. */
export interface WorkerOps {
  deviceInfo: Record<string, never>;
  writeDemo: DemoOptions & { path: string };
  pooledMap: HeadParams<'head.pooledMap'>;
  mask: HeadParams<'head.mask'>;
  evaluate: Omit<HeadParams<'head.evaluate'>, 'staleKey'>;
  budgetCurve: HeadParams<'head.budgetCurve'>;
  kernelBlocks: HeadParams<'head.kernelBlocks'>;
  outputError: HeadParams<'head.outputError'>;
  analyze: JobParams<'analyze'> & ShardScope;
  search: JobParams<'search'> & ShardScope;
  /** `layers`: a shard of a capture's layers (a capture bench times every layer otherwise). */
  bench: JobParams<'bench'> & ShardScope & { layers?: number[] };
}
export type WorkerOp = keyof WorkerOps;

/** Results, for the ops whose result the host uses directly; the rest pass through as contract results. */
export interface WorkerOpResults {
  deviceInfo: DeviceReport;
  writeDemo: { path: string };
}

export interface WorkerCall<Op extends WorkerOp = WorkerOp> {
  type: 'call';
  id: number;
  op: Op;
  /** The capture the op works on; absent for ops that need none (deviceInfo, writeDemo, a synthetic bench). */
  capturePath?: string;
  /** The host's id of that capture: which version of the file the op must read. */
  captureId?: string;
  params: WorkerOps[Op];
}

export type ToWorker =
  | WorkerCall
  | { type: 'cancel'; id: number }
  /** The host closed this capture: drop the worker's handle to the file. */
  | { type: 'release'; capturePath: string; captureId?: string };

export type FromWorker =
  | { type: 'progress'; id: number; fraction: number; message: string }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; message: string; code: ErrorCode };

/** A running worker process, as the spawner returned it. */
export interface WorkerHandle {
  send(message: ToWorker): void;
  /** Terminate at once (hard cancel, dispose). The spawner still reports the exit. */
  kill(): void;
}

export interface WorkerEvents {
  onMessage(message: FromWorker): void;
  /** The process ended or failed to start; `description` says how ("exited with code 3"). */
  onExit(description: string): void;
}

/**
 * Starts a worker process running `worker.ts`. Node's child_process.fork under `serve`, the CLI
 * and tests; Electron's utilityProcess.fork in the desktop shell (which injects it). `env` is
 * added to the host's environment (a compute worker's CUDA_VISIBLE_DEVICES pins it to its GPU).
 */
export type WorkerSpawner = (name: string, events: WorkerEvents, env?: Record<string, string>) => WorkerHandle;

export function isFromWorker(value: unknown): value is FromWorker {
  if (!value || typeof value !== 'object') return false;
  const message = value as { type?: unknown; id?: unknown };
  return (message.type === 'progress' || message.type === 'result' || message.type === 'error') && typeof message.id === 'number';
}

export function isToWorker(value: unknown): value is ToWorker {
  if (!value || typeof value !== 'object') return false;
  const message = value as { type?: unknown; id?: unknown; capturePath?: unknown };
  if (message.type === 'call' || message.type === 'cancel') return typeof message.id === 'number';
  return message.type === 'release' && typeof message.capturePath === 'string';
}
