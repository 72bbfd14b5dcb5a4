/**
 * Runs analyze/search/bench jobs on a pool of compute workers (compute-workers.ts), one
 * WorkerChannel each. A job is cut into shards (shards.ts); an idle worker takes the pending shard
 * with the largest expected cost, so the long ones start first and the short ones fill the gaps.
 * Expected cost is the shard's seconds when the same work ran before, else its estimated work
 * scaled by the seconds per unit measured so far. Results come back shard by shard as each
 * finishes and are merged once all are in. A shard whose worker dies is queued again (for another
 * idle worker where there is one; the dead one restarts on its next call), at most
 * MAX_ATTEMPTS times. With one worker a job is one shard: the same code, one call, as before.
 */
import { ApiError, type CaptureSummary, type JobSpec, type WorkerProgress } from '../../../contract/api.js';
import type { ComputeWorkerSlot } from './compute-workers.js';
import type { RunningJob } from './manager.js';
import type { WorkerSpawner } from './protocol.js';
import { mergeShardResults, planShards, type Shard } from './shards.js';
import { WorkerChannel, WorkerLostError, type PendingCall } from './worker-channel.js';

/** Tries of a shard whose worker died under it, before the job fails. */
export const MAX_ATTEMPTS = 3;

export interface JobTarget {
  capturePath: string;
  captureId: string;
  summary: CaptureSummary;
}

export type ShardedProgress = (fraction: number, message: string, workers: WorkerProgress[]) => void;

export interface ShardedRunnerOptions {
  spawn: WorkerSpawner;
  /** The workers to run, asked once on the first job (the engine asks a worker which GPUs it sees). */
  slots: () => Promise<ComputeWorkerSlot[]>;
  /** As WorkerChannelOptions.killGraceMs. */
  killGraceMs: number | null;
  now?: () => number;
}

/** Seconds each shard took, by shard key: what orders the next job's shards. */
class CostBook {
  private readonly seconds = new Map<string, { seconds: number; work: number }>();

  record(shard: Shard, seconds: number): void {
    if (shard.key) this.seconds.set(shard.key, { seconds, work: shard.work });
  }

  /** Expected seconds of each shard (relative units while nothing of theirs was measured). */
  expected(shards: readonly Shard[]): number[] {
    let seconds = 0;
    let work = 0;
    for (const shard of shards) {
      const known = this.seconds.get(shard.key);
      if (known) {
        seconds += known.seconds;
        work += known.work;
      }
    }
    const perWork = work > 0 ? seconds / work : 1;
    return shards.map((shard) => this.seconds.get(shard.key)?.seconds ?? shard.work * perWork);
  }
}

interface WorkerState {
  slot: ComputeWorkerSlot;
  channel: WorkerChannel;
  shard: number | null;
  progress: number;
  shardsDone: number;
}

export class ShardedRunner {
  private slotsPromise: Promise<ComputeWorkerSlot[]> | null = null;
  private readonly channels = new Map<string, WorkerChannel>();
  private readonly costs = new CostBook();
  private readonly now: () => number;

  constructor(private readonly options: ShardedRunnerOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** The compute workers (asked once; a failed ask is asked again next time). */
  workers(): Promise<ComputeWorkerSlot[]> {
    this.slotsPromise ??= this.options.slots().catch((error: unknown) => {
      this.slotsPromise = null;
      throw error;
    });
    return this.slotsPromise;
  }

  run(spec: JobSpec, target: JobTarget | null, onProgress: ShardedProgress): RunningJob {
    const job = new ShardedJob(spec, target, onProgress, this.costs, this.now);
    const promise = this.workers().then((slots) => job.run(slots.map((slot) => this.channel(slot))));
    return { promise, cancel: () => job.cancel() };
  }

  /** Tell every worker a capture was closed. */
  release(capturePath: string, captureId: string): void {
    for (const channel of this.channels.values()) channel.release(capturePath, captureId);
  }

  dispose(): void {
    for (const channel of this.channels.values()) channel.dispose();
    this.channels.clear();
  }

  private channel(slot: ComputeWorkerSlot): { slot: ComputeWorkerSlot; channel: WorkerChannel } {
    let channel = this.channels.get(slot.name);
    if (!channel) {
      channel = new WorkerChannel(slot.name, this.options.spawn, { killGraceMs: this.options.killGraceMs, env: slot.env });
      this.channels.set(slot.name, channel);
    }
    return { slot, channel };
  }
}

/** One job's shards on the workers: the dispatch loop, progress, re-queue, cancel. */
class ShardedJob {
  private shards: Shard[] = [];
  private expected: number[] = [];
  private results: unknown[] = [];
  private shardProgress: number[] = [];
  private attempts: number[] = [];
  /** Workers each shard's worker died on, so a retry goes elsewhere when it can. */
  private lostOn: Set<string>[] = [];
  private pending: number[] = [];
  private workers: WorkerState[] = [];
  private readonly calls = new Map<number, PendingCall<unknown>>();
  private failure: Error | null = null;
  private cancelled = false;
  /** Set once the job runs (the workers are known). */
  private settle: { resolve(value: unknown): void; reject(error: Error): void } | null = null;

  constructor(
    private readonly spec: JobSpec,
    private readonly target: JobTarget | null,
    private readonly onProgress: ShardedProgress,
    private readonly costs: CostBook,
    private readonly now: () => number,
  ) {}

  run(pool: { slot: ComputeWorkerSlot; channel: WorkerChannel }[]): Promise<unknown> {
    const summary = this.target?.summary ?? null;
    this.shards = planShards(this.spec, summary, pool.length);
    this.expected = this.costs.expected(this.shards);
    this.results = new Array(this.shards.length);
    this.shardProgress = this.shards.map(() => 0);
    this.attempts = this.shards.map(() => 0);
    this.lostOn = this.shards.map(() => new Set());
    this.pending = this.shards.map((_, s) => s);
    this.workers = pool.map(({ slot, channel }) => ({ slot, channel, shard: null, progress: 0, shardsDone: 0 }));
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
      this.dispatch();
    });
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.failure ??= cancelledError(this.spec);
    this.stop();
  }

  /** Give every idle worker the largest pending shard; settle the job once nothing runs and nothing is left. */
  private dispatch(): void {
    if (!this.settle) return;
    if (this.failure) {
      if (this.calls.size === 0) this.settle.reject(this.failure);
      return;
    }
    for (const worker of this.workers) {
      if (worker.shard === null && this.pending.length > 0) this.start(worker, this.takeShardFor(worker));
    }
    if (this.calls.size > 0 || this.pending.length > 0) return;
    try {
      this.settle.resolve(mergeShardResults(this.spec, this.target?.summary ?? null, this.shards, this.results));
    } catch (error) {
      this.settle.reject(error as Error);
    }
  }

  /** The pending shard with the largest expected cost, preferring one whose worker did not die on this worker. */
  private takeShardFor(worker: WorkerState): number {
    const order = [...this.pending].sort((a, b) => this.expected[b]! - this.expected[a]! || a - b);
    const shard = order.find((s) => !this.lostOn[s]!.has(worker.slot.name)) ?? order[0]!;
    this.pending.splice(this.pending.indexOf(shard), 1);
    return shard;
  }

  private start(worker: WorkerState, s: number): void {
    const shard = this.shards[s]!;
    worker.shard = s;
    worker.progress = 0;
    this.attempts[s]!++;
    const startedAt = this.now();
    const call = worker.channel.call(shard.op, shard.params, {
      ...(this.target ? { capturePath: this.target.capturePath, captureId: this.target.captureId } : {}),
      onProgress: (fraction, message) => {
        worker.progress = fraction;
        this.shardProgress[s] = fraction;
        this.report(this.workers.length > 1 ? `${worker.slot.label}: ${message}` : message);
      },
    });
    this.calls.set(s, call);
    call.promise.then(
      (result) => {
        this.results[s] = result;
        this.shardProgress[s] = 1;
        worker.shardsDone++;
        const seconds = (this.now() - startedAt) / 1000;
        this.costs.record(shard, seconds);
        this.finished(worker, s);
        if (this.shards.length > 1) this.report(`${shard.label} done on ${worker.slot.label} in ${seconds.toFixed(1)} s`);
      },
      (error: Error) => {
        if (error instanceof WorkerLostError && !this.failure && this.attempts[s]! < MAX_ATTEMPTS) {
          // The worker died, not the work: queue the shard again.
          this.lostOn[s]!.add(worker.slot.name);
          this.shardProgress[s] = 0;
          this.pending.push(s);
          this.report(`${shard.label} queued again: ${error.message}`);
        } else if (!this.failure) {
          this.failure = error instanceof WorkerLostError && this.shards.length > 1 ? new WorkerLostError(`${shard.label}: ${error.message} (tried ${this.attempts[s]} times)`) : error;
          this.stop();
        }
        this.finished(worker, s);
      },
    );
  }

  private finished(worker: WorkerState, s: number): void {
    this.calls.delete(s);
    worker.shard = null;
    worker.progress = 0;
    this.dispatch();
  }

  /** No more shards; ask the running ones to stop (the job settles when they have). */
  private stop(): void {
    this.pending = [];
    for (const call of this.calls.values()) call.cancel();
    this.dispatch();
  }

  private report(message: string): void {
    const total = this.expected.reduce((sum, cost) => sum + cost, 0);
    const done = this.expected.reduce((sum, cost, s) => sum + cost * this.shardProgress[s]!, 0);
    const workers: WorkerProgress[] = this.workers.map((worker) => ({
      worker: worker.slot.label,
      shard: worker.shard === null ? null : this.shards[worker.shard]!.label,
      progress: worker.progress,
      shardsDone: worker.shardsDone,
    }));
    // One worker's progress is the job's: only several are listed.
    this.onProgress(total > 0 ? done / total : 0, message, workers.length > 1 ? workers : []);
  }
}

function cancelledError(spec: JobSpec): ApiError {
  return new ApiError(`${spec.kind} cancelled`, 'cancelled');
}
