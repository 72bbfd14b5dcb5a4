import { describe, expect, it } from 'vitest';
import { evaluatedRows, headView, layerInputs } from '../../../../electron/engine/analysis/common.js';
import { withHeadProbes } from '../../../../electron/engine/analysis/probe.js';
import type { AttentionInputs, NativeModule, ResidentInputs } from '../../../../electron/engine/native-api.js';
import { syntheticCapture } from '../../../../electron/engine/synthetic/memory-capture.js';
import { nativeOrReference } from './native-or-reference.js';

const { native } = await nativeOrReference();
const PATTERN = { pattern: 'vertical_and_slash', a: 64, b: 256 } as const;

/** The native module on the CPU, standing in for CUDA with residentInputs: records what each call was given. */
function cudaStandIn() {
  const made: ResidentInputs[] = [];
  const released: ResidentInputs[] = [];
  const seen: (ResidentInputs | undefined)[] = [];
  const onCpu = <O extends { backend: string }>(opts: O): O => ({ ...opts, backend: 'cpu' });
  // Records the handle, then gives the CPU the host tensors alone (the addon refuses a handle it did not make).
  const hostOnly = ({ resident, ...inputs }: AttentionInputs): AttentionInputs => (seen.push(resident), inputs);
  const standIn: NativeModule = {
    ...native,
    denseAttention: (inputs, opts, control) => native.denseAttention(hostOnly(inputs), onCpu(opts), control),
    buildIndex: (inputs, patterns, opts, control) => native.buildIndex(hostOnly(inputs), patterns, onCpu(opts), control),
    recall: (inputs, index, opts, control) => native.recall(hostOnly(inputs), index, onCpu(opts), control),
    residentInputs: () => {
      const handle = { id: made.length } as unknown as ResidentInputs;
      made.push(handle);
      return handle;
    },
    releaseResident: (handle) => void released.push(handle),
  };
  return { standIn, made, released, seen };
}

async function oneHead(): Promise<AttentionInputs> {
  const capture = syntheticCapture({ seqLen: 512, layers: 1, heads: 2, kvHeads: 1, headDim: 64, seed: 3, dtype: 'BF16' });
  return headView(await layerInputs(capture, 0), 0);
}

describe('withHeadProbes', () => {
  const rows = { sampled: evaluatedRows(512, { mode: 'sampled', rows: 64, seed: 0 }), all: evaluatedRows(512, { mode: 'exact' }) };

  it('on CUDA keeps the head on the device for every call of both probes, and frees it after', async () => {
    const { standIn, made, released, seen } = cudaStandIn();
    const recalls = await withHeadProbes(standIn, await oneHead(), 'cuda', rows, undefined, async ({ exact, sampled }) => {
      expect(sampled).not.toBe(exact);
      return [(await sampled.measure(PATTERN)).recall, (await exact.measure(PATTERN)).recall];
    });
    expect(recalls.every((recall) => recall > 0 && recall <= 1)).toBe(true);
    expect(made).toHaveLength(1);
    expect(seen.length).toBeGreaterThanOrEqual(6);
    expect(seen.every((resident) => resident === made[0])).toBe(true);
    expect(released).toEqual(made);
  });

  it('frees the device copy when the work fails, and makes none on the CPU', async () => {
    const { standIn, made, released } = cudaStandIn();
    await expect(withHeadProbes(standIn, await oneHead(), 'cuda', rows, undefined, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(released).toEqual(made);
    const onCpu = cudaStandIn();
    await withHeadProbes(onCpu.standIn, await oneHead(), 'cpu', rows, undefined, async ({ exact }) => exact.measure(PATTERN));
    expect(onCpu.made).toEqual([]);
    expect(onCpu.seen.every((resident) => resident === undefined)).toBe(true);
  });

  it('uses one probe for both when the sample is every row', async () => {
    await withHeadProbes(native, await oneHead(), 'cpu', { sampled: rows.all, all: rows.all }, undefined, async ({ exact, sampled }) => expect(sampled).toBe(exact));
  });

  it('builds the sample\'s indexes for its rows and keeps every other index\'s lists in the addon', async () => {
    const asked: Record<string, unknown>[] = [];
    const recording: NativeModule = { ...native, buildIndex: (inputs, patterns, opts, control) => (asked.push({ ...opts }), native.buildIndex(inputs, patterns, opts, control)) };
    await withHeadProbes(recording, await oneHead(), 'cpu', rows, undefined, async ({ exact, sampled }) => [await sampled.measure(PATTERN), await exact.measure(PATTERN)]);
    expect(asked).toEqual([
      { backend: 'cpu', rows: rows.sampled },
      { backend: 'cpu', output: 'native' },
    ]);
  });
});
