import { describe, expect, it } from 'vitest';

import { GPU_FILLING_SEQ_LEN, timeDenseHead } from '../../../../electron/engine/analysis/analyze.js';
import type { AttentionInputs, NativeBackend, NativeModule } from '../../../../electron/engine/native-api.js';

/** A layer's inputs of `seqLen` tokens at head dim 1 (only the shapes matter here). */
function layer(seqLen: number, numHeads = 8, numKvHeads = 2): AttentionInputs {
  const bytes = (heads: number) => new Uint8Array(heads * seqLen * 2);
  return { dtype: 'BF16', numHeads, numKvHeads, seqLen, headDim: 1, q: bytes(numHeads), k: bytes(numKvHeads), v: bytes(numKvHeads) };
}

/** A native whose dense call takes 10 ms per head, recording the heads of each call. */
function countingNative() {
  const heads: number[] = [];
  const native = {
    denseAttention: async (inputs: AttentionInputs) => {
      heads.push(inputs.numHeads);
      return { ms: 10 * inputs.numHeads };
    },
  } as unknown as NativeModule;
  return { native, heads };
}

describe('timeDenseHead', () => {
  const cases: [NativeBackend, number, number][] = [
    ['cpu', 4096, 1],
    ['cuda', 4096, 8],
    ['cuda', GPU_FILLING_SEQ_LEN - 64, 8],
    ['cuda', GPU_FILLING_SEQ_LEN, 1],
  ];
  it.each(cases)('on %s at %i tokens times %i head(s) per call and gives one head its share', async (backend, seqLen, timedHeads) => {
    const { native, heads } = countingNative();
    const ms = await timeDenseHead(native, layer(seqLen), backend);
    expect(ms).toBe(10);
    expect(new Set(heads)).toEqual(new Set([timedHeads]));
  });
});
