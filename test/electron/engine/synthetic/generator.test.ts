import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { HeadPattern } from '../../../../contract/api.js';
import type { TensorSource } from '../../../../electron/engine/capture/types.js';
import { FAMILY_MIX, VS_BUDGETS } from '../../../../electron/engine/synthetic/distributions.js';
import { decodeFloats } from '../../../../electron/engine/synthetic/float-codec.js';
import { generateSynthetic, plantedPatterns, type SyntheticOptions } from '../../../../electron/engine/synthetic/generator.js';

const SMALL: SyntheticOptions = { seqLen: 256, layers: 2, heads: 4, kvHeads: 2, headDim: 32, seed: 11, dtype: 'BF16' };

async function chunksOf(source: TensorSource): Promise<Uint8Array[]> {
  const produced = await source.produce();
  if (produced instanceof Uint8Array) return [produced];
  const chunks: Uint8Array[] = [];
  for await (const chunk of produced) chunks.push(chunk);
  return chunks;
}

async function digest(options: SyntheticOptions): Promise<string> {
  const hash = createHash('sha256');
  for (const tensor of generateSynthetic(options).tensors) for (const chunk of await chunksOf(tensor)) hash.update(chunk);
  return hash.digest('hex');
}

/** Softmax row i of one head, float64, from decoded [N, D] q and k. */
function attentionRow(q: Float32Array, k: Float32Array, dim: number, i: number): Float64Array {
  const row = new Float64Array(i + 1);
  let max = -Infinity;
  for (let j = 0; j <= i; j++) {
    let dot = 0;
    for (let x = 0; x < dim; x++) dot += q[i * dim + x]! * k[j * dim + x]!;
    row[j] = dot / Math.sqrt(dim);
    max = Math.max(max, row[j]!);
  }
  let sum = 0;
  for (let j = 0; j <= i; j++) sum += (row[j] = Math.exp(row[j]! - max));
  return row.map((p) => p / sum);
}

describe('generateSynthetic', () => {
  it('writes the capture metadata and q/k/v tensors of every layer, in file order', () => {
    const { metadata, tensors } = generateSynthetic(SMALL);
    expect(metadata).toMatchObject({ format: 'sparsescope.capture/1', num_layers: '2', num_heads: '4', num_kv_heads: '2', head_dim: '32', seq_len: '256', rope_applied: 'true' });
    expect(tensors.map((t) => `${t.name}:${t.shape.join('x')}:${t.dtype}`)).toEqual([
      'layers.0.q:4x256x32:BF16',
      'layers.0.k:2x256x32:BF16',
      'layers.0.v:2x256x32:BF16',
      'layers.1.q:4x256x32:BF16',
      'layers.1.k:2x256x32:BF16',
      'layers.1.v:2x256x32:BF16',
    ]);
    const planted = JSON.parse(metadata.planted!) as HeadPattern[][];
    expect(planted).toEqual(plantedPatterns(SMALL));
    expect(planted).toHaveLength(2);
    expect(planted[0]).toHaveLength(4);
  });

  it('produces one head per chunk (never a whole layer at once), in the requested dtype', async () => {
    for (const dtype of ['BF16', 'F16', 'F32'] as const) {
      const { tensors } = generateSynthetic({ ...SMALL, dtype });
      const chunks = await chunksOf(tensors[0]!);
      expect(chunks).toHaveLength(4);
      for (const chunk of chunks) expect(chunk.byteLength).toBe(256 * 32 * (dtype === 'F32' ? 4 : 2));
      expect(decodeFloats(chunks[0]!, dtype).every(Number.isFinite)).toBe(true);
    }
  });

  it('is deterministic per seed', async () => {
    expect(await digest(SMALL)).toBe(await digest(SMALL));
    expect(await digest(SMALL)).not.toBe(await digest({ ...SMALL, seed: 12 }));
  });

  it('rejects bad options with a message naming the problem', () => {
    expect(() => generateSynthetic({ ...SMALL, heads: 3 })).toThrow(/heads 3 is not a multiple of kvHeads 2/);
    expect(() => generateSynthetic({ ...SMALL, headDim: 33 })).toThrow(/headDim must be an integer|headDim must be even/);
    expect(() => generateSynthetic({ ...SMALL, seqLen: 10 })).toThrow(/seqLen must be an integer in \[64/);
    expect(() => generateSynthetic({ ...SMALL, dtype: 'F64' as never })).toThrow(/dtype must be F16, BF16 or F32/);
    expect(() => generateSynthetic({ ...SMALL, seqLen: 1 << 20, headDim: 32 })).toThrow(/head dim 32 is too small for 1048576 tokens/);
  });

  it('draws head families near FAMILY_MIX and VS budgets from the real config classes', () => {
    const planted = plantedPatterns({ ...SMALL, layers: 60, heads: 8 }).flat();
    const share = (family: string): number => planted.filter((p) => p.pattern === family).length / planted.length;
    for (const [family, expected] of Object.entries(FAMILY_MIX)) expect(Math.abs(share(family) - expected)).toBeLessThan(0.06);
    const classes = new Set(VS_BUDGETS.map((b) => `${b.vertical},${b.slash}`));
    for (const p of planted.filter((p) => p.pattern === 'vertical_and_slash')) expect(classes.has(`${p.a},${p.b}`)).toBe(true);
  });

  it('plants mechanistic structure: A-shape heads attend to sinks and a local window, VS heads far beyond it', async () => {
    const options: SyntheticOptions = { seqLen: 2048, layers: 6, heads: 8, kvHeads: 2, headDim: 64, seed: 4, dtype: 'F32' };
    const planted = plantedPatterns(options);
    const layer = planted.findIndex((heads) => heads.some((p) => p.pattern === 'stream_llm'));
    expect(layer).toBeGreaterThanOrEqual(0);
    const { tensors } = generateSynthetic(options);
    const q = await chunksOf(tensors[3 * layer]!);
    const k = await chunksOf(tensors[3 * layer + 1]!);
    const rows = [1500, 1800, 2047];
    const checked = new Set<string>();
    for (const [h, pattern] of planted[layer]!.entries()) {
      const qh = decodeFloats(q[h]!, 'F32');
      const kh = decodeFloats(k[Math.floor(h / 4)]!, 'F32');
      for (const i of rows) {
        const p = attentionRow(qh, kh, 64, i);
        const sinks = p.subarray(0, 4).reduce((a, b) => a + b, 0);
        const local = p.subarray(i - 255, i + 1).reduce((a, b) => a + b, 0);
        checked.add(pattern.pattern);
        if (pattern.pattern === 'stream_llm') {
          expect(sinks).toBeGreaterThan(0.2);
          expect(sinks + local).toBeGreaterThan(0.95);
        }
        if (pattern.pattern === 'vertical_and_slash') {
          // Mass outside the sinks and the local window: vertical lines and far slashes.
          expect(1 - sinks - local).toBeGreaterThan(0.15);
        }
      }
    }
    expect(checked).toContain('stream_llm');
    expect(checked).toContain('vertical_and_slash');
  });
});
