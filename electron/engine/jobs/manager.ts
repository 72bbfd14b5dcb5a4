/**
 * Long jobs (analyze, search, bench): a FIFO queue run one at a time, ids, progress with ETA,
 * cancel, and JobEvents per the contract. How a job is executed is injected (`JobExecutor`), so
 * the manager is testable without processes; the engine executes jobs on the jobs worker.
 */
import { ApiError, type JobEvent, type JobSpec, type JobState, type WorkerProgress } from '../../../contract/api.js';
import { messageOf } from './worker-channel.js';

export interface RunningJob {
  promise: Promise<unknown>;
  cancel(): void;
}

/** Runs a job; `workers` in its progress: each compute worker's part where it runs on several. */
export type JobExecutor = (spec: JobSpec, onProgress: (fraction: number, message: string, workers?: WorkerProgress[]) => void) => RunningJob;

export interface JobManagerOptions {
  /** Minimum milliseconds between two progress events of a job (state changes are always sent). */
  progressIntervalMs?: number;
  now?: () => number;
}

interface Job {
  id: string;
  spec: JobSpec;
  state: JobState;
  progress: number;
  message: string;
  startedAt: number;
  lastProgressEventAt: number;
  workers: WorkerProgress[];
  running?: RunningJob;
  /** Kept once finished, so `list` can tell a client that missed the final event. */
  result?: unknown;
  error?: string;
}

/** Finished jobs remembered (for job.cancel and job.list answers); older ones are forgotten. */
const KEEP_FINISHED_JOBS = 100;

/** Seconds left, extrapolated from elapsed time and progress; null until there is enough to go on. */
export function estimateEta(elapsedMs: number, progress: number): number | null {
  if (progress < 0.01 || progress >= 1 || elapsedMs < 250) return null;
  return (elapsedMs / 1000) * ((1 - progress) / progress);
}

export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private readonly listeners = new Set<(event: JobEvent) => void>();
  private current: Job | null = null;
  private nextNumber = 1;
  private readonly progressIntervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly execute: JobExecutor,
    options: JobManagerOptions = {},
  ) {
    this.progressIntervalMs = options.progressIntervalMs ?? 100;
    this.now = options.now ?? Date.now;
  }

  onEvent(listener: (event: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(spec: JobSpec): string {
    const job: Job = { id: `job-${this.nextNumber++}`, spec, state: 'queued', progress: 0, message: 'queued', startedAt: 0, lastProgressEventAt: 0, workers: [] };
    this.jobs.set(job.id, job);
    this.queue.push(job);
    this.emit(job);
    queueMicrotask(() => this.pump());
    return job.id;
  }

  /** True when the job was queued or running and is now being cancelled. */
  cancel(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    if (!job) throw new ApiError(`no job ${JSON.stringify(jobId)}`, 'not-found');
    if (job.state === 'queued') {
      this.queue.splice(this.queue.indexOf(job), 1);
      this.finish(job, 'cancelled', 'cancelled before it started');
      return true;
    }
    if (job.state !== 'running' || !job.running) return false;
    job.message = 'cancelling';
    job.running.cancel();
    return true;
  }

  /** The current state of every job still remembered, newest first, results of finished ones included. */
  list(): JobEvent[] {
    return [...this.jobs.values()].reverse().map((job) => this.eventOf(job));
  }

  /** Cancel everything (host shutting down). */
  dispose(): void {
    for (const job of [...this.queue]) this.cancel(job.id);
    this.current?.running?.cancel();
    this.listeners.clear();
  }

  private pump(): void {
    if (this.current) return;
    const job = this.queue.shift();
    if (!job) return;
    this.current = job;
    job.state = 'running';
    job.message = 'starting';
    job.startedAt = this.now();
    this.emit(job);
    let running: RunningJob;
    try {
      running = this.execute(job.spec, (fraction, message, workers) => this.onProgress(job, fraction, message, workers));
    } catch (error) {
      running = { promise: Promise.reject(error), cancel: () => {} };
    }
    job.running = running;
    running.promise.then(
      (result) => this.finish(job, 'done', 'done', result),
      (error: unknown) => {
        if (error instanceof ApiError && error.code === 'cancelled') this.finish(job, 'cancelled', 'cancelled');
        else this.finish(job, 'failed', 'failed', undefined, messageOf(error));
      },
    );
  }

  private onProgress(job: Job, fraction: number, message: string, workers: WorkerProgress[] = []): void {
    if (job.state !== 'running') return;
    job.progress = Math.min(1, Math.max(job.progress, Number.isFinite(fraction) ? fraction : 0));
    if (message) job.message = message;
    job.workers = workers;
    const now = this.now();
    if (now - job.lastProgressEventAt < this.progressIntervalMs) return;
    job.lastProgressEventAt = now;
    this.emit(job);
  }

  private finish(job: Job, state: JobState, message: string, result?: unknown, error?: string): void {
    job.state = state;
    job.message = message;
    job.running = undefined;
    job.workers = [];
    job.result = result;
    job.error = error;
    if (state === 'done') job.progress = 1;
    this.emit(job);
    this.forgetOldJobs();
    if (this.current === job) {
      this.current = null;
      this.pump();
    }
  }

  private forgetOldJobs(): void {
    const finished = [...this.jobs.values()].filter((job) => job.state !== 'queued' && job.state !== 'running');
    for (const job of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED_JOBS))) this.jobs.delete(job.id);
  }

  private eventOf(job: Job): JobEvent {
    const event: JobEvent = {
      jobId: job.id,
      kind: job.spec.kind,
      state: job.state,
      progress: job.progress,
      message: job.message,
      etaSeconds: job.state === 'running' ? estimateEta(this.now() - job.startedAt, job.progress) : null,
    };
    if (job.workers.length > 0) event.workers = job.workers;
    if (job.result !== undefined) event.result = job.result;
    if (job.error !== undefined) event.error = job.error;
    return event;
  }

  private emit(job: Job): void {
    const event = this.eventOf(job);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing listener (a closed window, a dead socket) must not stop the job or the others.
      }
    }
  }
}
