/**
 * `demo`'s writer: a synthetic capture written head by head, by several worker threads when asked.
 * Each head draws only from its own streams (generator.ts, syntheticHeads), so a thread makes whole
 * heads, CHUNK_ROWS rows at a time, and writes each chunk at its place in the file: memory is one
 * chunk per thread and the file is byte for byte the serial generator's.
 */
import { existsSync, write } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { CaptureSummary } from '../../../contract/api.js';
import { writtenCaptureSummary } from '../capture/capture.js';
import { writeSafetensorsWith, type TensorPlacement } from '../capture/safetensors.js';
import type { TensorKind } from '../capture/types.js';
import { generateSynthetic, syntheticHeads, type HeadChunks, type SyntheticOptions } from './generator.js';

export interface WriteSyntheticOptions {
  /** Worker threads making heads; 1 makes them in this thread. */
  threads: number;
  onProgress?: (fraction: number) => void;
  /** Non-zero stops the writing with the error 'cancelled' and removes the partial file. */
  cancel?: Int32Array;
}

/** One head to make and where its bytes start in the file. */
export interface HeadJob {
  layer: number;
  kind: TensorKind;
  index: number;
  position: number;
}

/** What a worker thread starts with (head-worker.ts). */
export interface HeadWorkerData {
  options: SyntheticOptions;
  /** The partial file's descriptor: threads share the process's descriptors, and positioned writes do not race. */
  fd: number;
  cancel: Int32Array;
}

/** A worker's answer to a job: nothing when the head is written. */
export interface HeadReply {
  error?: { message: string; code?: string | undefined };
}

const HEAD_WORKER = new URL('./head-worker.js', import.meta.url);
/** Run from TypeScript sources (the unit tests) there is no compiled worker entry: heads are made in this thread. */
const canStartWorkers = existsSync(fileURLToPath(HEAD_WORKER));
const writeAt = promisify(write);

/** The default thread count: every core this process may use. */
export function defaultThreads(): number {
  return availableParallelism();
}

export async function writeSynthetic(path: string, options: SyntheticOptions, { threads, onProgress = () => undefined, cancel = new Int32Array(new SharedArrayBuffer(4)) }: WriteSyntheticOptions): Promise<CaptureSummary> {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`synthetic capture: threads must be a whole number >= 1, got ${threads}`);
  const { metadata, tensors } = generateSynthetic(options);
  await writeSafetensorsWith(path, { ...metadata }, tensors, async ({ handle, placements }) => {
    const jobs = headJobs(options, placements);
    let done = 0;
    const onHeadDone = (): void => onProgress(++done / jobs.length);
    if (threads === 1 || !canStartWorkers) await writeHeadsHere(syntheticHeads(options), handle.fd, jobs, cancel, onHeadDone);
    else await writeHeadsInWorkers(jobs, threads, { options, fd: handle.fd, cancel }, onHeadDone);
  });
  return writtenCaptureSummary(path);
}

/** Every head of the file, in file order (q, k, v of layer 0, then layer 1...), with its byte position. */
function headJobs(options: SyntheticOptions, placements: readonly TensorPlacement[]): HeadJob[] {
  const jobs: HeadJob[] = [];
  let tensor = 0;
  for (let layer = 0; layer < options.layers; layer++) {
    for (const [kind, count] of [['q', options.heads], ['k', options.kvHeads], ['v', options.kvHeads]] as const) {
      const { offset, size } = placements[tensor++]!;
      for (let index = 0; index < count; index++) jobs.push({ layer, kind, index, position: offset + (index * size) / count });
    }
  }
  return jobs;
}

/** Make one head and write it at its place, a chunk at a time. */
export async function writeHead(headChunks: HeadChunks, fd: number, job: HeadJob, cancel: Int32Array): Promise<void> {
  let position = job.position;
  for (const chunk of headChunks(job.layer, job.kind, job.index)) {
    if (Atomics.load(cancel, 0) !== 0) throw new Error('cancelled');
    for (let written = 0; written < chunk.length; ) {
      written += (await writeAt(fd, chunk, written, chunk.length - written, position + written)).bytesWritten;
    }
    position += chunk.length;
  }
}

async function writeHeadsHere(headChunks: HeadChunks, fd: number, jobs: readonly HeadJob[], cancel: Int32Array, onHeadDone: () => void): Promise<void> {
  for (const job of jobs) {
    await writeHead(headChunks, fd, job, cancel);
    onHeadDone();
  }
}

/** Hand the heads out to `threads` workers, the next one to whichever finishes first. */
async function writeHeadsInWorkers(jobs: readonly HeadJob[], threads: number, workerData: HeadWorkerData, onHeadDone: () => void): Promise<void> {
  const workers = Array.from({ length: Math.min(threads, jobs.length) }, () => new Worker(HEAD_WORKER, { workerData }));
  let next = 0;
  const drive = (worker: Worker): Promise<void> =>
    new Promise((resolve, reject) => {
      const giveNext = (): void => (next < jobs.length ? worker.postMessage(jobs[next++]) : resolve());
      worker.on('message', ({ error }: HeadReply) => {
        if (error) return reject(Object.assign(new Error(error.message), { code: error.code }));
        onHeadDone();
        giveNext();
      });
      worker.on('error', reject);
      worker.on('exit', (code) => reject(new Error(`a demo worker thread stopped (exit code ${code})`)));
      giveNext();
    });
  try {
    await Promise.all(workers.map(drive));
  } finally {
    // Before the file is closed: no thread may still write to its descriptor.
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
