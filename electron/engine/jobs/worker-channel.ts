/**
 * One compute worker seen from the host: request/response over the worker protocol, progress,
 * cooperative cancel with a hard-kill fallback, and restart after a crash.
 *
 * The process is started on the first call and again on the first call after it died, so a
 * crash fails only the requests that were in flight; the host keeps running.
 */
import { ApiError } from '../../../contract/api.js';
import type { FromWorker, WorkerCall, WorkerHandle, WorkerOp, WorkerOps, WorkerSpawner } from './protocol.js';

export interface CallOptions {
  capturePath?: string;
  /** The host's id of the capture at capturePath (see WorkerCall). */
  captureId?: string;
  onProgress?: (fraction: number, message: string) => void;
}

export interface PendingCall<T> {
  readonly id: number;
  readonly promise: Promise<T>;
  /**
   * Ask the worker to stop this call; the promise rejects with ApiError 'cancelled'. When the
   * channel has a kill grace period and the worker has not stopped by then, the worker is killed
   * and restarted; its other calls are sent again to the new worker (once), so they lose nothing.
   */
  cancel(): void;
}

interface InFlight {
  op: WorkerOp;
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: CallOptions['onProgress'];
  cancelRequested: boolean;
  killTimer?: ReturnType<typeof setTimeout>;
  /** What was sent, so a call caught in another call's forced restart can be sent again. */
  message: WorkerCall;
  resent: boolean;
}

export interface WorkerChannelOptions {
  /** Milliseconds a cancelled call may keep running before the worker is killed; null: never kill. */
  killGraceMs: number | null;
  /** Added to the worker's environment (see WorkerSpawner). */
  env?: Record<string, string>;
}

/** A call failed because its worker process died (crash, kill): the work itself may well succeed on another try. */
export class WorkerLostError extends ApiError {
  constructor(message: string) {
    super(message, 'internal');
    this.name = 'WorkerLostError';
  }
}

export class WorkerChannel {
  private worker: WorkerHandle | null = null;
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 1;
  private disposed = false;

  constructor(
    readonly name: string,
    private readonly spawn: WorkerSpawner,
    private readonly options: WorkerChannelOptions,
  ) {}

  call<Op extends WorkerOp, T = unknown>(op: Op, params: WorkerOps[Op], options: CallOptions = {}): PendingCall<T> {
    const id = this.nextId++;
    const message: WorkerCall = { type: 'call', id, op, capturePath: options.capturePath, captureId: options.captureId, params };
    let entry!: InFlight;
    const promise = new Promise<T>((resolve, reject) => {
      entry = { op, resolve: resolve as (value: unknown) => void, reject, onProgress: options.onProgress, cancelRequested: false, message, resent: false };
    });
    if (this.disposed) {
      entry.reject(new ApiError(`the ${this.name} worker has been shut down`, 'internal'));
    } else {
      this.inFlight.set(id, entry);
      this.send(id, entry);
    }
    return { id, promise, cancel: () => this.cancel(id) };
  }

  /** Tell the worker a capture was closed so it can drop its file handle. */
  release(capturePath: string, captureId?: string): void {
    this.worker?.send({ type: 'release', capturePath, captureId });
  }

  dispose(): void {
    this.disposed = true;
    this.failAll(new ApiError(`the ${this.name} worker has been shut down`, 'cancelled'));
    const worker = this.worker;
    this.worker = null;
    worker?.kill();
  }

  private cancel(id: number): void {
    const entry = this.inFlight.get(id);
    if (!entry || entry.cancelRequested) return;
    entry.cancelRequested = true;
    this.worker?.send({ type: 'cancel', id });
    if (this.options.killGraceMs === null) return;
    const worker = this.worker;
    entry.killTimer = setTimeout(() => {
      if (!this.inFlight.has(id) || this.worker !== worker) return;
      // The call ignored the cooperative cancel: kill the process and give its other calls a new one.
      this.settle(id, cancelledError(entry.op));
      this.restartAfter(`the ${this.name} worker was restarted because a cancelled ${entry.op} did not stop within ${this.options.killGraceMs} ms`);
    }, this.options.killGraceMs);
  }

  private send(id: number, entry: InFlight): void {
    try {
      this.ensureWorker().send(entry.message);
    } catch (error) {
      this.settle(id, new ApiError(`could not reach the ${this.name} worker: ${messageOf(error)}`, 'internal'));
    }
  }

  private ensureWorker(): WorkerHandle {
    if (this.worker) return this.worker;
    const worker: WorkerHandle = this.spawn(
      this.name,
      {
        onMessage: (message) => {
          if (this.worker === worker) this.onMessage(message);
        },
        onExit: (description) => {
          if (this.worker !== worker) return; // an old process we already replaced or killed on purpose
          this.worker = null;
          this.failAll(new WorkerLostError(`the ${this.name} worker ${description}`));
        },
      },
      this.options.env,
    );
    this.worker = worker;
    return worker;
  }

  /**
   * Replace a worker we killed on purpose. Calls it was running that nobody cancelled are sent
   * once more to the new worker; a call already sent twice fails with the reason.
   */
  private restartAfter(reason: string): void {
    const worker = this.worker;
    this.worker = null;
    worker?.kill();
    for (const [id, entry] of [...this.inFlight]) {
      if (entry.cancelRequested) this.settle(id, cancelledError(entry.op));
      else if (entry.resent) this.settle(id, new WorkerLostError(reason));
      else {
        entry.resent = true;
        this.send(id, entry);
      }
    }
  }

  private onMessage(message: FromWorker): void {
    const entry = this.inFlight.get(message.id);
    if (!entry) return;
    if (message.type === 'progress') {
      if (!entry.cancelRequested) entry.onProgress?.(message.fraction, message.message);
    } else if (message.type === 'result') {
      this.settle(message.id, entry.cancelRequested ? cancelledError(entry.op) : null, message.result);
    } else {
      const cancelled = entry.cancelRequested || message.code === 'cancelled';
      this.settle(message.id, cancelled ? cancelledError(entry.op) : new ApiError(message.message, message.code));
    }
  }

  private settle(id: number, error: Error | null, result?: unknown): void {
    const entry = this.inFlight.get(id);
    if (!entry) return;
    this.inFlight.delete(id);
    clearTimeout(entry.killTimer);
    if (error) entry.reject(error);
    else entry.resolve(result);
  }

  private failAll(error: ApiError): void {
    for (const [id, entry] of [...this.inFlight]) this.settle(id, entry.cancelRequested ? cancelledError(entry.op) : error);
  }
}

function cancelledError(op: WorkerOp): ApiError {
  return new ApiError(`${op} cancelled`, 'cancelled');
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
