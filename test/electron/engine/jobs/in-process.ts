/**
 * A WorkerSpawner that runs the worker runtime inside the test process, with injected ops, so
 * engine and server tests need neither child processes nor the native addon. Messages are
 * structured-cloned like the real transports clone them.
 */
import type { ToWorker, WorkerSpawner } from '../../../../electron/engine/jobs/protocol.js';
import { createWorkerRuntime, type WorkerRuntimeDeps } from '../../../../electron/engine/jobs/worker-runtime.js';

export interface InProcessWorkers {
  spawn: WorkerSpawner;
  /** Names of the workers started so far, in order. */
  started: string[];
  /** Every message sent to a worker. */
  sent: ToWorker[];
  /** Make the newest worker of this name die as if it crashed. */
  crash(name: string, description?: string): void;
}

export function inProcessWorkers(deps: WorkerRuntimeDeps): InProcessWorkers {
  const started: string[] = [];
  const sent: ToWorker[] = [];
  const crashers = new Map<string, (description: string) => void>();
  const spawn: WorkerSpawner = (name, events) => {
    started.push(name);
    let alive = true;
    const runtime = createWorkerRuntime(deps, (message) => {
      if (alive) setImmediate(() => alive && events.onMessage(structuredClone(message)));
    });
    crashers.set(name, (description) => {
      alive = false;
      void runtime.close();
      events.onExit(description);
    });
    return {
      send(message) {
        sent.push(message);
        if (alive) setImmediate(() => runtime.handle(structuredClone(message)));
      },
      kill() {
        if (!alive) return;
        alive = false;
        void runtime.close();
        setImmediate(() => events.onExit('was killed by SIGKILL'));
      },
    };
  };
  return { spawn, started, sent, crash: (name, description = 'exited with code 3') => crashers.get(name)?.(description) };
}
