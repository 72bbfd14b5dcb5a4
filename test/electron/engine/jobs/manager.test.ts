import { describe, expect, it, vi } from 'vitest';
import { ApiError, type JobEvent, type JobSpec } from '../../../../contract/api.js';
import { JobManager, estimateEta, type JobExecutor } from '../../../../electron/engine/jobs/manager.js';

const analyze: JobSpec = { kind: 'analyze', captureId: 'c1', backend: 'auto', sampling: { mode: 'sampled', rows: 64, seed: 0 } };

/** An executor whose jobs the test finishes by hand. */
function manualExecutor() {
  const runs: { spec: JobSpec; progress: (f: number, m: string) => void; resolve: (v: unknown) => void; reject: (e: unknown) => void; cancelled: boolean }[] = [];
  const execute: JobExecutor = (spec, progress) => {
    let resolve!: (v: unknown) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => ((resolve = res), (reject = rej)));
    const run = { spec, progress, resolve, reject, cancelled: false };
    runs.push(run);
    return { promise, cancel: () => ((run.cancelled = true), reject(new ApiError('analyze cancelled', 'cancelled'))) };
  };
  return { runs, execute };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('JobManager', () => {
  it('runs jobs one at a time in order with progress, ETA and the result', async () => {
    let now = 1000;
    const { runs, execute } = manualExecutor();
    const manager = new JobManager(execute, { progressIntervalMs: 0, now: () => now });
    const events: JobEvent[] = [];
    manager.onEvent((event) => events.push(event));

    const first = manager.start(analyze);
    const second = manager.start({ ...analyze, captureId: 'c2' });
    expect(first).not.toBe(second);
    await tick();
    expect(runs).toHaveLength(1);
    expect(events.map((e) => [e.jobId, e.state])).toEqual([
      [first, 'queued'],
      [second, 'queued'],
      [first, 'running'],
    ]);

    now += 2000;
    runs[0]!.progress(0.25, 'layer 1 of 4');
    const progress = events.at(-1)!;
    expect(progress).toMatchObject({ state: 'running', progress: 0.25, message: 'layer 1 of 4' });
    expect(progress.etaSeconds).toBeCloseTo(6, 6); // 2 s for a quarter: 6 s to go

    runs[0]!.resolve({ report: 'r' });
    await tick();
    expect(events.find((e) => e.jobId === first && e.state === 'done')).toMatchObject({ progress: 1, result: { report: 'r' }, etaSeconds: null });
    expect(runs).toHaveLength(2);
    expect(runs[1]!.spec).toMatchObject({ captureId: 'c2' });
  });

  it('throttles progress events but never drops state changes', async () => {
    let now = 0;
    const { runs, execute } = manualExecutor();
    const manager = new JobManager(execute, { progressIntervalMs: 100, now: () => now });
    const events: JobEvent[] = [];
    manager.onEvent((event) => events.push(event));
    manager.start(analyze);
    await tick();
    for (let i = 1; i <= 50; i++) {
      now += 10;
      runs[0]!.progress(i / 50, '');
    }
    runs[0]!.resolve(null);
    await tick();
    const running = events.filter((e) => e.state === 'running');
    expect(running.length).toBeLessThanOrEqual(7);
    expect(events.at(-1)).toMatchObject({ state: 'done', progress: 1 });
  });

  it('cancels a queued job without running it and a running job through its executor', async () => {
    const { runs, execute } = manualExecutor();
    const manager = new JobManager(execute, { progressIntervalMs: 0 });
    const events: JobEvent[] = [];
    manager.onEvent((event) => events.push(event));
    const running = manager.start(analyze);
    const queued = manager.start(analyze);
    await tick();
    expect(manager.cancel(queued)).toBe(true);
    expect(events.at(-1)).toMatchObject({ jobId: queued, state: 'cancelled' });
    expect(manager.cancel(running)).toBe(true);
    await tick();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.cancelled).toBe(true);
    expect(events.at(-1)).toMatchObject({ jobId: running, state: 'cancelled' });
    expect(manager.cancel(running)).toBe(false); // already finished
    expect(() => manager.cancel('job-999')).toThrow(/no job "job-999"/);
  });

  it('fails a job whose executor fails, with the message, and goes on with the next', async () => {
    const { runs, execute } = manualExecutor();
    const manager = new JobManager(execute, { progressIntervalMs: 0 });
    const events: JobEvent[] = [];
    manager.onEvent((event) => events.push(event));
    const broken = manager.start(analyze);
    manager.start(analyze);
    await tick();
    runs[0]!.reject(new ApiError('the jobs worker was killed by SIGSEGV', 'internal'));
    await tick();
    expect(events.find((e) => e.jobId === broken && e.state === 'failed')).toMatchObject({ error: 'the jobs worker was killed by SIGSEGV' });
    expect(runs).toHaveLength(2);
  });

  it('survives an executor that throws synchronously and a listener that throws', async () => {
    const manager = new JobManager(() => {
      throw new Error('no worker');
    });
    const events: JobEvent[] = [];
    manager.onEvent(() => {
      throw new Error('listener bug');
    });
    manager.onEvent((event) => events.push(event));
    manager.start(analyze);
    await tick();
    await tick();
    expect(events.at(-1)).toMatchObject({ state: 'failed', error: 'no worker' });
  });

  it('forgets the oldest finished jobs beyond the last 100', async () => {
    const manager = new JobManager(() => ({ promise: Promise.resolve('ok'), cancel: () => {} }));
    let done = 0;
    manager.onEvent((event) => void (event.state === 'done' && done++));
    const ids = Array.from({ length: 101 }, () => manager.start(analyze));
    await vi.waitFor(() => expect(done).toBe(101));
    expect(manager.cancel(ids[100]!)).toBe(false);
    expect(() => manager.cancel(ids[0]!)).toThrow(/no job/);
    expect(manager.cancel(ids[1]!)).toBe(false);
  });
});

describe('estimateEta', () => {
  it('extrapolates elapsed time and is null without enough progress', () => {
    expect(estimateEta(10_000, 0.5)).toBeCloseTo(10);
    expect(estimateEta(3_000, 0.75)).toBeCloseTo(1);
    expect(estimateEta(10_000, 0)).toBeNull();
    expect(estimateEta(100, 0.5)).toBeNull();
    expect(estimateEta(10_000, 1)).toBeNull();
  });
});
