import { describe, expect, it } from 'vitest';

import { SELF_TIMED_MS, timed } from '../../../../electron/engine/analysis/common.js';

/** A run whose reported times follow `times`, counting its calls. */
function scripted(times: number[]) {
  let calls = 0;
  const run = async () => ({ ms: times[Math.min(calls++, times.length - 1)]! });
  return { run, calls: () => calls };
}

describe('timed', () => {
  it('takes the median of the repeats after a warm-up it does not count', async () => {
    const op = scripted([500, 12, 10, 30]);
    const { ms } = await timed(3, op.run);
    expect(ms).toBe(12);
    expect(op.calls()).toBe(4);
  });

  it('takes a warm-up of SELF_TIMED_MS or more as the only run (a CPU dense head at 1M tokens runs minutes)', async () => {
    const op = scripted([SELF_TIMED_MS, 1, 1, 1]);
    const { ms, result } = await timed(3, op.run);
    expect(ms).toBe(SELF_TIMED_MS);
    expect(result.ms).toBe(SELF_TIMED_MS);
    expect(op.calls()).toBe(1);
  });

  it('stops at a cancelled job before the next run', async () => {
    const op = scripted([5, 5, 5, 5]);
    const control = { cancel: new Int32Array(new SharedArrayBuffer(4)) };
    const cancelling = async () => {
      const result = await op.run();
      Atomics.store(control.cancel, 0, 1);
      return result;
    };
    await expect(timed(3, cancelling, control)).rejects.toThrow(/cancel/i);
    expect(op.calls()).toBe(1);
  });
});
