import { describe, expect, it } from 'vitest';

import { loadNative, nativeAddonPath } from '../../electron/engine/native.js';
import { inputsOf, randomProblem, rng } from './reference.js';

const native = loadNative();
const seed = Date.now() >>> 0;

const small = randomProblem({ dtype: 'F32', numHeads: 2, numKvHeads: 1, seqLen: 70, headDim: 16 }, rng(seed));
// Large enough that a dense call takes seconds on the CPU.
const large = randomProblem({ dtype: 'BF16', numHeads: 8, numKvHeads: 8, seqLen: 8192, headDim: 128 }, rng(seed + 1));

describe('native module runtime', () => {
  it('loads from the built addon and reports the device', () => {
    const expectedPath = process.env['SPARSESCOPE_NATIVE'] ? /sparsescope\.node$/ : /native[/\\]build[/\\]Release[/\\]sparsescope\.node$/;
    expect(nativeAddonPath()).toMatch(expectedPath);
    expect(loadNative()).toBe(native);
    const info = native.deviceInfo();
    expect(info.cpuThreads).toBeGreaterThanOrEqual(1);
    expect(typeof info.cuda.compiled).toBe('boolean');
    if (!info.cuda.compiled) expect(info.cuda.reason).toBe('built without CUDA');
    if (!info.cuda.available) {
      expect(info.cuda.reason).toBeTruthy();
      expect(info.cuda.devices).toEqual([]);
    }
  });

  it("rejects backend 'cuda' cleanly where no CUDA device can run it", async (context) => {
    const info = native.deviceInfo();
    if (info.cuda.available) context.skip();
    await expect(native.denseAttention(inputsOf(small), { backend: 'cuda' })).rejects.toThrow(/^CUDA backend not available: .+/);
    await expect(native.buildIndex(inputsOf(small, false), Int32Array.from([0, 0, 0, 0, 0, 0]), { backend: 'cuda' })).rejects.toThrow(
      /^CUDA backend not available/,
    );
  });

  it('refuses to keep inputs on a CUDA device that cannot run, and an inputs.resident it did not make', async (context) => {
    const info = native.deviceInfo();
    if (info.cuda.available) context.skip();
    expect(() => native.residentInputs!(inputsOf(small))).toThrow(/^residentInputs: .+/);
    const foreign = { ...inputsOf(small), resident: {} as NonNullable<ReturnType<NonNullable<typeof native.residentInputs>>> };
    await expect(Promise.resolve().then(() => native.denseAttention(foreign, { backend: 'cpu' }))).rejects.toThrow(/^inputs\.resident(: built without CUDA| must be what residentInputs\(\) returned)$/);
  });

  it('cancels a long call through the shared cancel word; the process keeps working', async () => {
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const started = performance.now();
    const call = native.denseAttention(inputsOf(large), { backend: 'cpu' }, { cancel, onProgress: () => Atomics.store(cancel, 0, 1) });
    await expect(call).rejects.toThrow(/^cancelled$/);
    expect(performance.now() - started).toBeLessThan(30_000);

    const preset = new Int32Array(new SharedArrayBuffer(4));
    preset[0] = 1;
    await expect(native.denseAttention(inputsOf(large), { backend: 'cpu' }, { cancel: preset })).rejects.toThrow(/^cancelled$/);

    const after = await native.denseAttention(inputsOf(small), { backend: 'cpu' });
    expect(after.out.every(Number.isFinite)).toBe(true);
  });

  it('reports progress in [0, 1], ending at 1', async () => {
    const seen: number[] = [];
    const problem = randomProblem({ dtype: 'F16', numHeads: 4, numKvHeads: 1, seqLen: 2048, headDim: 64 }, rng(seed + 2));
    await native.denseAttention(inputsOf(problem), { backend: 'cpu' }, { onProgress: (fraction) => seen.push(fraction) });
    expect(seen.length).toBeGreaterThan(0);
    for (const fraction of seen) expect(fraction >= 0 && fraction <= 1).toBe(true);
    expect(seen[seen.length - 1]).toBe(1);
  });

  it('survives a throwing progress callback', async () => {
    const result = await native.denseAttention(inputsOf(small), { backend: 'cpu' }, {
      onProgress: () => {
        throw new Error('listener bug');
      },
    });
    expect(result.out.length).toBe(2 * 70 * 16);
  });

  it('rejects non-finite inputs naming the tensor, head and row', async () => {
    const values = new Float32Array(small.k.bytes.buffer.slice(0));
    values[5 * 16 + 3] = Number.NaN;
    const inputs = { ...inputsOf(small), k: new Uint8Array(values.buffer) };
    await expect(native.denseAttention(inputs, { backend: 'cpu' })).rejects.toThrow(/^inputs.k holds a non-finite value \(nan\) at kv head 0, row 5$/);
  });

  it('gives rows that see no key output 0 and LSE -Infinity (stream_llm with empty windows)', async () => {
    const index = await native.buildIndex(inputsOf(small, false), Int32Array.from([2, 0, 0, 2, 0, 0]), { backend: 'cpu' });
    expect(Array.from(index.density)).toEqual([0, 0]);
    const result = await native.sparseAttention(inputsOf(small), index, { backend: 'cpu' });
    expect(result.out.every((x) => x === 0)).toBe(true);
    expect(result.lse.every((x) => x === -Infinity)).toBe(true);
  });

  const base = inputsOf(small);
  const badCalls: [string, () => Promise<unknown>, RegExp, ErrorConstructor][] = [
    ['wrong buffer length', () => native.denseAttention({ ...base, q: base.q.subarray(4) }, { backend: 'cpu' }), /inputs.q has 8956 bytes, expected 8960/, RangeError],
    ['H % Hkv != 0', () => native.denseAttention({ ...base, numHeads: 3, numKvHeads: 2 }, { backend: 'cpu' }), /numHeads \(3\) must be a multiple of inputs.numKvHeads \(2\)/, RangeError],
    ['D = 0', () => native.denseAttention({ ...base, headDim: 0 }, { backend: 'cpu' }), /inputs.headDim must be in \[1, 1024\], got 0/, RangeError],
    ['fractional N', () => native.denseAttention({ ...base, seqLen: 70.5 }, { backend: 'cpu' }), /inputs.seqLen must be an integer/, RangeError],
    ['unknown dtype', () => native.denseAttention({ ...base, dtype: 'F64' as 'F32' }, { backend: 'cpu' }), /inputs.dtype must be 'F16', 'BF16' or 'F32'/, TypeError],
    ['unknown backend', () => native.denseAttention(base, { backend: 'tpu' as 'cpu' }), /opts.backend must be 'cpu' or 'cuda', got tpu/, TypeError],
    ['missing values', () => native.denseAttention(inputsOf(small, false), { backend: 'cpu' }), /inputs.v must be a Uint8Array/, TypeError],
    ['rows outside N', () => native.denseAttention(base, { backend: 'cpu', rows: Int32Array.from([1, 70]) }), /opts.rows\[1\] = 70 is outside \[0, 70\)/, RangeError],
    ['rows not ascending', () => native.denseAttention(base, { backend: 'cpu', rows: Int32Array.from([5, 5]) }), /opts.rows must be strictly ascending/, RangeError],
    ['inputs not an object', () => native.denseAttention(null as never, { backend: 'cpu' }), /inputs must be an object/, TypeError],
    ['cancel not an Int32Array', () => native.denseAttention(base, { backend: 'cpu' }, { cancel: new Uint8Array(4) as never }), /control.cancel must be an Int32Array/, TypeError],
  ];
  for (const [name, call, message, type] of badCalls) {
    it(`rejects bad arguments: ${name}`, async () => {
      const error = await call().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
    });
  }
});
