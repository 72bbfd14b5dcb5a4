/**
 * WorkerSpawner over Node's child_process.fork, for `serve`, the CLI and tests. (The desktop
 * shell injects one over Electron's utilityProcess instead.)
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isFromWorker, type WorkerSpawner } from './protocol.js';

/** The compiled worker entry next to this file (dist/electron/engine/jobs/worker.js). */
export const defaultWorkerEntry = fileURLToPath(new URL('./worker.js', import.meta.url));

export function describeExit(code: number | null, signal: string | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

export function nodeWorkerSpawner(entry: string = defaultWorkerEntry, execArgv: string[] = []): WorkerSpawner {
  return (name, events, env = {}) => {
    const child = fork(entry, [], {
      execArgv,
      // 'advanced' = structured clone, so Float32Array results cross intact.
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...env, SPARSESCOPE_WORKER_NAME: name },
    });
    let exited = false;
    const reportExit = (description: string) => {
      if (exited) return;
      exited = true;
      events.onExit(description);
    };
    child.on('message', (message) => {
      if (isFromWorker(message)) events.onMessage(message);
    });
    child.on('exit', (code, signal) => reportExit(describeExit(code, signal)));
    child.on('error', (error) => reportExit(`could not run (${error.message})`));
    return {
      send(message) {
        if (child.connected) child.send(message);
      },
      kill() {
        child.kill('SIGKILL');
      },
    };
  };
}
