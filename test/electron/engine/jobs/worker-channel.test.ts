import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../../../contract/api.js';
import { nodeWorkerSpawner } from '../../../../electron/engine/jobs/node-spawner.js';
import { WorkerChannel } from '../../../../electron/engine/jobs/worker-channel.js';

const fakeWorker = fileURLToPath(new URL('./fixtures/fake-worker.mjs', import.meta.url));

/** The fake worker reads `behavior` from the params; ops are only labels here. */
function behave(params: Record<string, unknown>): never {
  return params as never;
}

describe('WorkerChannel over a real child process', () => {
  const channels: WorkerChannel[] = [];
  function channel(killGraceMs: number | null = 300): WorkerChannel {
    const created = new WorkerChannel('jobs', nodeWorkerSpawner(fakeWorker), { killGraceMs });
    channels.push(created);
    return created;
  }
  afterEach(() => {
    for (const c of channels.splice(0)) c.dispose();
  });

  it('returns results with typed arrays intact and reports progress in order', async () => {
    const jobs = channel();
    const echoed = await jobs.call('analyze', behave({ behavior: 'echo-typed' })).promise;
    expect((echoed as { values: Float32Array }).values).toEqual(new Float32Array([1.5, -2, 3.25]));

    const fractions: number[] = [];
    const result = await jobs.call('analyze', behave({ behavior: 'steps', steps: 4, stepMs: 5 }), {
      onProgress: (fraction) => fractions.push(fraction),
    }).promise;
    expect(result).toEqual({ steps: 4 });
    expect(fractions).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it('passes the worker error code through', async () => {
    const error = await channel().call('analyze', behave({ behavior: 'fail' })).promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'not-found', message: 'capture has no layer 9' });
  });

  it('cancels cooperatively without restarting the worker', async () => {
    const jobs = channel();
    const first = await jobs.call('analyze', behave({ behavior: 'echo-typed' })).promise as { pid: number };
    const pending = jobs.call('search', behave({ behavior: 'steps', steps: 1000, stepMs: 5 }));
    setTimeout(() => pending.cancel(), 30);
    await expect(pending.promise).rejects.toMatchObject({ code: 'cancelled' });
    const second = await jobs.call('analyze', behave({ behavior: 'echo-typed' })).promise as { pid: number };
    expect(second.pid).toBe(first.pid);
  });

  it('kills a worker that ignores cancel and sends its other calls again to the new one', async () => {
    const jobs = channel(200);
    const first = await jobs.call('analyze', behave({ behavior: 'echo-typed' })).promise as { pid: number };
    const stuck = jobs.call('search', behave({ behavior: 'ignore-cancel' }));
    const bystander = jobs.call('bench', behave({ behavior: 'steps', steps: 60, stepMs: 10 }));
    const started = Date.now();
    stuck.cancel();
    await expect(stuck.promise).rejects.toMatchObject({ code: 'cancelled' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await expect(bystander.promise).resolves.toEqual({ steps: 60 });
    const next = await jobs.call('analyze', behave({ behavior: 'echo-typed' })).promise as { pid: number };
    expect(next.pid).not.toBe(first.pid);
  });

  it('fails a call with the reason when a second forced restart catches it', async () => {
    const jobs = channel(100);
    const bystander = jobs.call('bench', behave({ behavior: 'steps', steps: 200, stepMs: 5 }));
    for (let restart = 0; restart < 2; restart++) {
      const stuck = jobs.call('search', behave({ behavior: 'ignore-cancel' }));
      stuck.cancel();
      await expect(stuck.promise).rejects.toMatchObject({ code: 'cancelled' });
    }
    await expect(bystander.promise).rejects.toThrow(/restarted because a cancelled search did not stop within 100 ms/);
  });

  it('fails in-flight calls when the worker crashes, and serves the next call from a new worker', async () => {
    const jobs = channel();
    const crash = jobs.call('bench', behave({ behavior: 'crash' }));
    await expect(crash.promise).rejects.toThrow('the jobs worker exited with code 3');
    await expect(crash.promise).rejects.toMatchObject({ code: 'internal' });
    await expect(jobs.call('analyze', behave({ behavior: 'steps', steps: 1, stepMs: 1 })).promise).resolves.toEqual({ steps: 1 });
  });

  it('reports a worker that cannot start', async () => {
    const broken = new WorkerChannel('jobs', nodeWorkerSpawner('/nonexistent/worker.js'), { killGraceMs: 100 });
    channels.push(broken);
    await expect(broken.call('analyze', behave({ behavior: 'echo-typed' })).promise).rejects.toThrow(/the jobs worker exited with code 1/);
  });

  it('rejects calls after dispose', async () => {
    const jobs = channel();
    jobs.dispose();
    await expect(jobs.call('analyze', behave({ behavior: 'echo-typed' })).promise).rejects.toThrow('shut down');
  });
});
