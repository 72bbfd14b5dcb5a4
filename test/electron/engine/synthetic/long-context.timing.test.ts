/**
 * Planted budgets hold at long context: the Vertical-Slash heads planted for real configs' budget
 * classes (v, s) reach recall 0.95 on average at their own (v, s) at 256K tokens, as the fixtures'
 * 1M-token models run their (1000, 6096) heads at 1M. When the planted vertical lines grew with the
 * length (4x a class's lines at 256K), the (1000, 6096) heads reached 0.87 to 0.90 there. Needs the native addon (skipped
 * without it); in the timing project: about 30 s on 2 cores.
 */
import { describe, expect, it } from 'vitest';

import { evaluatedRows, headInputs } from '../../../../electron/engine/analysis/common.js';
import { HeadProbe } from '../../../../electron/engine/analysis/probe.js';
import { syntheticCapture } from '../../../../electron/engine/synthetic/memory-capture.js';
import { nativeOrReference } from '../analysis/native-or-reference.js';

const { native, kind } = await nativeOrReference();

describe.skipIf(kind !== 'native')('synthetic captures at 256K tokens', () => {
  it('each planted Vertical-Slash head reaches recall 0.95 at its own budget class', { timeout: 180_000 }, async () => {
    const capture = syntheticCapture({ seqLen: 262_144, layers: 1, heads: 8, kvHeads: 2, headDim: 64, seed: 0, dtype: 'BF16' });
    const rows = evaluatedRows(capture.summary.seqLen, { mode: 'sampled', rows: 512, seed: 0 });
    const planted = capture.summary.planted![0]!;
    const recalls: number[] = [];
    for (const [head, pattern] of planted.entries()) {
      if (pattern.pattern !== 'vertical_and_slash') continue;
      const probe = new HeadProbe(native, await headInputs(capture, 0, head, true), 'cpu', rows, undefined, { indexForRows: true });
      recalls.push((await probe.measure(pattern)).recall);
    }
    console.log(`recall at the planted budgets: ${recalls.map((r) => r.toFixed(4)).join(', ')}`);
    expect(recalls.length).toBeGreaterThanOrEqual(3);
    // Seed 0 gives 0.957 to 0.969 for its (1000, 6096) heads and 0.928 for its (100, 800) head.
    expect(Math.min(...recalls)).toBeGreaterThanOrEqual(0.92);
    expect(recalls.reduce((a, b) => a + b, 0) / recalls.length).toBeGreaterThanOrEqual(0.95);
  });
});
