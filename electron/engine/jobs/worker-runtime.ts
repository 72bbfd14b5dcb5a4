/**
 * The inside of a compute worker, independent of how the process was started: it loads the native
 * module on first use, keeps captures open by path, runs ops with a cancel flag and throttled
 * progress, and answers every call with exactly one result or error (never throws past here).
 */
import { ApiError } from '../../../contract/api.js';
import { HeadCache } from '../analysis/head-cache.js';
import { isCaptureInputError } from '../capture/capture.js';
import type { Capture } from '../capture/types.js';
import type { NativeModule } from '../native-api.js';
import type { ErrorCode, FromWorker, ToWorker, WorkerCall, WorkerOp, WorkerOps } from './protocol.js';
import { isToWorker } from './protocol.js';
import { messageOf } from './worker-channel.js';

export interface OpContext {
  /** Loads the native module on first use (an op that needs none never pays for it). */
  native(): NativeModule;
  /** The call's capture; throws when the call came without one. */
  capture(): Capture;
  captureIfAny(): Capture | null;
  /** What tuning the call's capture keeps between calls; cleared when the capture closes. */
  headCache(): HeadCache;
  /** The native module's cooperative cancel flag: element 0 becomes 1 on cancel. */
  control: { cancel: Int32Array };
  onProgress(fraction: number, message?: string): void;
}

export type OpImplementations = { [Op in WorkerOp]: (params: WorkerOps[Op], context: OpContext) => Promise<unknown> };

export interface WorkerRuntimeDeps {
  loadNative(): NativeModule;
  openCapture(path: string): Promise<Capture>;
  ops: OpImplementations;
  /** Milliseconds between two progress messages of a call. */
  progressIntervalMs?: number;
  /** Captures kept open at once; the least recently used is closed beyond this. */
  maxOpenCaptures?: number;
  /** Bytes each open capture's HeadCache may hold. */
  headCacheBytes?: number;
}

export interface WorkerRuntime {
  handle(message: unknown): void;
  /** Close every capture (the process is exiting). */
  close(): Promise<void>;
}

export function createWorkerRuntime(deps: WorkerRuntimeDeps, post: (message: FromWorker) => void): WorkerRuntime {
  const progressIntervalMs = deps.progressIntervalMs ?? 50;
  const maxOpenCaptures = deps.maxOpenCaptures ?? 4;
  const cancelFlags = new Map<number, Int32Array>();
  /** Open captures by the host's capture id (by path for a call without one), each with its HeadCache. */
  const captures = new Map<string, { capture: Promise<Capture>; cache: HeadCache }>();
  let native: NativeModule | null = null;

  function loadNativeOnce(): NativeModule {
    if (!native) {
      try {
        native = deps.loadNative();
      } catch (error) {
        throw new ApiError(`the native module could not be loaded: ${messageOf(error)}`, 'internal');
      }
    }
    return native;
  }

  /** Open `path`, and when the host gave its id, check the file is still the version the host opened. */
  async function openVersion(path: string, captureId: string | undefined): Promise<Capture> {
    const capture = await deps.openCapture(path);
    if (captureId === undefined || capture.summary.captureId === captureId) return capture;
    await capture.close();
    throw new ApiError(`${capture.summary.fileName} changed on disk since it was opened: open it again`, 'bad-request');
  }

  function openCaptureCached(path: string, captureId: string | undefined): { capture: Promise<Capture>; cache: HeadCache } {
    const key = captureId ?? path;
    let open = captures.get(key);
    if (open) {
      captures.delete(key); // re-insert: Map order is our least-recently-used order
    } else {
      const opening = { capture: openVersion(path, captureId), cache: new HeadCache(deps.headCacheBytes) };
      opening.capture.catch(() => {
        if (captures.get(key) === opening) captures.delete(key);
      });
      open = opening;
    }
    captures.set(key, open);
    while (captures.size > maxOpenCaptures) release(captures.keys().next().value as string);
    return open;
  }

  function release(key: string): void {
    const open = captures.get(key);
    captures.delete(key);
    open?.cache.clear();
    void open?.capture.then((c) => c.close()).catch(() => {});
  }

  async function run(call: WorkerCall): Promise<unknown> {
    const implementation = deps.ops[call.op] as ((params: unknown, context: OpContext) => Promise<unknown>) | undefined;
    if (!implementation) throw new ApiError(`unknown worker op ${JSON.stringify(call.op)}`, 'internal');
    const open = call.capturePath === undefined ? null : openCaptureCached(call.capturePath, call.captureId);
    const capture = open ? await open.capture : null;
    const cancel = cancelFlags.get(call.id)!;
    let lastProgressAt = 0;
    const context: OpContext = {
      native: loadNativeOnce,
      capture: () => {
        if (!capture) throw new ApiError(`${call.op} needs a capture`, 'internal');
        return capture;
      },
      captureIfAny: () => capture,
      headCache: () => {
        if (!open) throw new ApiError(`${call.op} needs a capture`, 'internal');
        return open.cache;
      },
      control: { cancel },
      onProgress: (fraction, message = '') => {
        const now = Date.now();
        if (now - lastProgressAt < progressIntervalMs && fraction < 1) return;
        lastProgressAt = now;
        post({ type: 'progress', id: call.id, fraction, message });
      },
    };
    if (Atomics.load(cancel, 0) === 1) throw new ApiError('cancelled', 'cancelled');
    return implementation(call.params, context);
  }

  function answer(call: WorkerCall): void {
    cancelFlags.set(call.id, new Int32Array(new SharedArrayBuffer(4)));
    run(call).then(
      (result) => post({ type: 'result', id: call.id, result }),
      (error: unknown) => {
        const cancelled = Atomics.load(cancelFlags.get(call.id)!, 0) === 1 && messageOf(error).includes('cancelled');
        const code: ErrorCode = cancelled ? 'cancelled' : error instanceof ApiError ? error.code : isCaptureInputError(error) ? 'bad-request' : 'internal';
        post({ type: 'error', id: call.id, message: messageOf(error), code });
      },
    ).finally(() => cancelFlags.delete(call.id));
  }

  return {
    handle(message) {
      if (!isToWorker(message)) return;
      if (message.type === 'call') answer(message);
      else if (message.type === 'cancel') {
        const flag = cancelFlags.get(message.id);
        if (flag) Atomics.store(flag, 0, 1);
      } else release(message.captureId ?? message.capturePath);
    },
    async close() {
      const all = [...captures.values()];
      captures.clear();
      all.forEach(({ cache }) => cache.clear());
      await Promise.allSettled(all.map(({ capture }) => capture.then((c) => c.close())));
    },
  };
}
