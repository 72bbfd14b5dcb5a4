import { describe, expect, it } from 'vitest';

import { opLabel, OpTimes, timedFunctions, withOpTimes } from '../../../electron/engine/op-times.js';

describe('op times', () => {
  it('sums each op until its promise settles and passes results through', async () => {
    const times = new OpTimes();
    const addon = {
      version: 3,
      slow: (ms: number) => new Promise<string>((resolve) => setTimeout(() => resolve('done'), ms)),
      sync: (a: number) => a + 1,
      fails: () => Promise.reject(new Error('bad input')),
    };
    const timed = timedFunctions(addon, times);
    expect(timed.version).toBe(3);
    expect(await timed.slow(30)).toBe('done');
    expect(await timed.slow(5)).toBe('done');
    expect(timed.sync(1)).toBe(2);
    await expect(timed.fails()).rejects.toThrow('bad input');
    const byOp = Object.fromEntries(times.entries().map((e) => [e.op, e]));
    expect(byOp['slow']!.calls).toBe(2);
    expect(byOp['slow']!.totalMs).toBeGreaterThanOrEqual(30);
    expect(byOp['slow']!.maxMs).toBeLessThanOrEqual(byOp['slow']!.totalMs);
    expect(byOp['sync']!.calls).toBe(1);
    expect(byOp['fails']!.calls).toBe(1);
    expect(times.entries()[0]!.op).toBe('slow');
    const summary = times.summary();
    expect(summary).toMatch(/slow\s+2 calls/);
    expect(summary).toMatch(/outside ops -?\d+\.\d\d s/);
  });

  it('tells calls on a sample of rows from those on every row', () => {
    const inputs = { seqLen: 1000 };
    expect(opLabel('recall', [inputs, {}, { rows: new Int32Array(500) }])).toBe('recall [sample]');
    expect(opLabel('recall', [inputs, {}, { rows: new Int32Array(990) }])).toBe('recall');
    expect(opLabel('buildIndex', [inputs, new Int32Array(3), { backend: 'cuda' }])).toBe('buildIndex');
    expect(opLabel('denseAttention', [inputs, { rows: new Int32Array(16) }])).toBe('denseAttention [sample]');
    expect(opLabel('deviceInfo', [])).toBe('deviceInfo');
  });

  it('leaves the addon untouched unless SPARSESCOPE_OP_TIMES is set', () => {
    const addon = { f: () => 1 };
    expect(withOpTimes(addon, {})).toBe(addon);
    expect(withOpTimes(addon, { SPARSESCOPE_OP_TIMES: '1' })).not.toBe(addon);
  });
});
