import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCapture, writeCapture } from '../../../../electron/engine/capture/capture.js';
import { writeSafetensors } from '../../../../electron/engine/capture/safetensors.js';
import type { CaptureMetadata, TensorSource } from '../../../../electron/engine/capture/types.js';
import { TINY, pokedTensors, tensorBytes, tinyMetadata, tinyTensors } from './make-capture.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparsescope-capture-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const planted = JSON.stringify([
  Array.from({ length: 4 }, () => ({ pattern: 'stream_llm', a: 64, b: 512 })),
  Array.from({ length: 4 }, () => ({ pattern: 'vertical_and_slash', a: 100, b: 800 })),
]);

describe('captures', () => {
  it('writes, opens and summarises a capture', async () => {
    const path = join(dir, 'tiny.safetensors');
    const written = await writeCapture(path, { ...tinyMetadata(), planted }, tinyTensors());
    const capture = await openCapture(path);
    try {
      expect(capture.summary).toMatchObject({
        fileName: 'tiny.safetensors',
        path,
        model: 'tiny-test',
        source: 'unit test',
        numLayers: 2,
        layers: [0, 1],
        numHeads: 4,
        numKvHeads: 2,
        headDim: 8,
        seqLen: 10,
        dtype: 'F32',
      });
      expect(capture.summary.planted?.[0]?.[3]).toEqual({ pattern: 'stream_llm', a: 64, b: 512 });
      expect(capture.summary.hash).toBe(written.hash);
      expect(capture.summary.captureId).toBe(written.captureId); // the same file, unchanged: the same id
      const headBytes = 10 * 8 * 4;
      // layers.1.q is the 4th tensor written (index 3); head 2 starts 2 heads in.
      expect(await capture.readHead(1, 'q', 2)).toEqual(tensorBytes(3, 4 * headBytes).subarray(2 * headBytes, 3 * headBytes));
      expect(await capture.readHead(0, 'v', 1)).toEqual(tensorBytes(2, 2 * headBytes).subarray(headBytes));
      expect(await capture.readLayer(0, 'k')).toEqual(tensorBytes(1, 2 * headBytes));
      // Into a caller's buffer (batch after batch into one): its start holds the heads, nothing is allocated.
      const into = new Uint8Array(3 * headBytes);
      const read = await capture.readHeads(1, 'q', 1, 3, into);
      expect(read.buffer).toBe(into.buffer);
      expect(read).toEqual(tensorBytes(3, 4 * headBytes).subarray(headBytes, 3 * headBytes));
      await expect(capture.readHeads(1, 'q', 0, 4, into)).rejects.toThrow(/does not fit the 960-byte buffer given/);
      await expect(capture.readHead(0, 'k', 2)).rejects.toThrow('tiny.safetensors: k head 2 out of range (layer 0 has 2)');
      await expect(capture.readLayer(5, 'q')).rejects.toThrow('layer 5 is not in this capture (layers: 0, 1)');
    } finally {
      await capture.close();
    }
  });

  it('gives files with one header and size, or a file rewritten, different ids; the displayed hash stays the header\'s', async () => {
    const [one, two] = [join(dir, 'one.safetensors'), join(dir, 'two.safetensors')];
    const first = await writeCapture(one, tinyMetadata(), tinyTensors());
    const second = await writeCapture(two, tinyMetadata(), tinyTensors(TINY, 1));
    expect(second.hash).toBe(first.hash);
    expect(second.captureId).not.toBe(first.captureId);
    const rewritten = await writeCapture(one, tinyMetadata(), tinyTensors(TINY, 2));
    expect(rewritten.captureId).not.toBe(first.captureId);
  });

  it('accepts any subset of layers', async () => {
    const path = join(dir, 'subset.safetensors');
    await writeCapture(path, { ...tinyMetadata(), num_layers: '32' }, tinyTensors({ ...TINY, layers: [7], numLayers: 32 }));
    const capture = await openCapture(path);
    expect(capture.summary.layers).toEqual([7]);
    await capture.close();
  });

  type Case = [string, Partial<CaptureMetadata> | Record<string, string>, (tensors: TensorSource[]) => TensorSource[], string];
  const same = (tensors: TensorSource[]): TensorSource[] => tensors;
  const cases: Case[] = [
    ['another format', { format: 'other/1' }, same, 'not a Sparsescope capture (__metadata__.format is "other/1"'],
    ['rope not applied', { rope_applied: 'false' }, same, 'rope_applied must be "true"'],
    ['a non-numeric field', { head_dim: 'eight' }, same, '__metadata__.head_dim = "eight" is not a positive integer'],
    ['heads not a multiple of kv heads', { num_heads: '3' }, same, 'num_heads 3 is not a multiple of num_kv_heads 2'],
    ['metadata disagreeing with shapes', { seq_len: '12' }, same, 'tensor layers.0.q: shape [4, 10, 8] disagrees with metadata [4, 12, 8]'],
    ['a missing tensor', {}, (t) => t.filter((s) => s.name !== 'layers.1.v'), 'tensor layers.1.v missing'],
    ['an unexpected tensor', {}, (t) => [...t, { ...t[0]!, name: 'lm_head' }], 'unexpected tensor lm_head'],
    ['a layer out of range', { num_layers: '1' }, same, 'tensor layers.1.q: layer 1 out of range (num_layers = 1)'],
    ['mixed dtypes', {}, (t) => t.map((s) => (s.name === 'layers.0.v' ? { ...s, dtype: 'F16', shape: [2, 10, 16] } : s)), 'layers.0.v: shape [2, 10, 16] disagrees'],
    ['mixed dtypes of the right size', {}, (t) => t.map((s) => (s.name === 'layers.0.v' ? { ...s, dtype: 'F16', shape: [2, 10, 8], produce: async () => new Uint8Array(320) } : s)), 'layers.0.v: dtype F16 differs from F32'],
    ['no tensors', {}, () => [], 'no layers.{L}.q/k/v tensors'],
    ['planted that is not JSON', { planted: '[[' }, same, '__metadata__.planted is not valid JSON'],
    ['planted with an unknown pattern', { planted: '[[{"pattern":"x","a":1,"b":2}]]' }, same, '__metadata__.planted[0][0][pattern]'],
    ['planted with the wrong layer count', { planted: '[]' }, same, 'planted has 0 layers, num_layers is 2'],
    ['planted with ragged heads', { planted: JSON.stringify([[], []]) }, same, 'planted layer 0 has 0 heads, num_heads is 4'],
  ];
  it.each(cases)('refuses %s', async (what, metadataChange, change, message) => {
    const path = join(dir, `${what.replaceAll(' ', '-')}.safetensors`);
    await writeSafetensors(path, { ...tinyMetadata(), ...metadataChange } as Record<string, string>, change(tinyTensors()));
    await expect(openCapture(path)).rejects.toThrow(message);
  });

  it('refuses a file without metadata', async () => {
    const path = join(dir, 'bare.safetensors');
    await writeSafetensors(path, {}, tinyTensors());
    await expect(openCapture(path)).rejects.toThrow('bare.safetensors: not a Sparsescope capture (__metadata__.format is null');
  });
});

describe('values (issue 10)', () => {
  const at = { layer: 1, kind: 'k' as const, head: 1, row: 7, dim: 3 };
  it.each([
    ['NaN', 'F32', NaN, 'holds NaN (dim 3): a capture must hold finite numbers'],
    ['infinity', 'BF16', Infinity, 'holds infinity (dim 3): a capture must hold finite numbers'],
    ['-infinity', 'F16', -Infinity, 'holds -infinity (dim 3): a capture must hold finite numbers'],
    ['a value whose scores overflow fp32', 'F32', 3e38, 'holds 3.00e+38 (dim 3): beyond ±2^40, where attention scores overflow fp32'],
  ] as const)('finds %s in %s whichever rows are read, naming layer, head and row', async (what, dtype, value, message) => {
    const path = join(dir, `bad-${what.replaceAll(' ', '-')}.safetensors`);
    await writeCapture(path, tinyMetadata({ ...TINY, dtype }), pokedTensors({ ...TINY, dtype }, [{ ...at, value }]));
    const capture = await openCapture(path);
    try {
      const where = `${path.split('/').pop()}: layer 1 k head 1 row 7 ${message}`;
      await expect(capture.readHead(1, 'k', 1)).rejects.toThrow(where);
      await expect(capture.readHead(1, 'k', 1)).rejects.toThrow(where); // every read, not only the first
      await expect(capture.readLayer(1, 'k')).rejects.toThrow(where);
      await expect(capture.readHead(1, 'k', 0)).resolves.toBeInstanceOf(Uint8Array);
      await expect(capture.readHead(1, 'v', 1)).resolves.toBeInstanceOf(Uint8Array);
    } finally {
      await capture.close();
    }
  });

  it('accepts large values that stay inside the limit', async () => {
    const path = join(dir, 'large.safetensors');
    await writeCapture(path, tinyMetadata(), pokedTensors(TINY, [{ ...at, value: -(2 ** 39) }, { ...at, row: 0, value: 1e-40 }]));
    const capture = await openCapture(path);
    await expect(capture.readLayer(1, 'k')).resolves.toHaveLength(2 * 10 * 8 * 4);
    await capture.close();
  });
});
