/**
 * `demo`'s writer against the serial generator: the same options give the same file, byte for
 * byte, whatever the thread count. Worker threads run the built entry (dist/, `npm run build`);
 * without it the threaded cases are skipped and say why.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCapture } from '../../../../electron/engine/capture/capture.js';
import { generateSynthetic, type SyntheticOptions } from '../../../../electron/engine/synthetic/generator.js';
import { writeSynthetic } from '../../../../electron/engine/synthetic/write.js';

const builtWriter = fileURLToPath(new URL('../../../../dist/electron/engine/synthetic/write.js', import.meta.url));
const built = existsSync(builtWriter);
if (!built) console.warn(`threaded demo tests skipped: ${builtWriter} missing (npm run build)`);

const SHAPES: { name: string; options: SyntheticOptions; threads: number }[] = [
  { name: '8 heads / 2 kv on 3 threads, 2 layers', options: { seqLen: 4096, layers: 2, heads: 8, kvHeads: 2, headDim: 64, seed: 0, dtype: 'BF16' }, threads: 3 },
  { name: '6 heads / 3 kv on 4 threads, f16, odd length', options: { seqLen: 1000, layers: 1, heads: 6, kvHeads: 3, headDim: 32, seed: 5, dtype: 'F16' }, threads: 4 },
  { name: 'heads longer than a chunk on 2 threads, f32', options: { seqLen: 66_000, layers: 1, heads: 2, kvHeads: 1, headDim: 32, seed: 3, dtype: 'F32' }, threads: 2 },
];

describe('writeSynthetic', () => {
  let dir: string;
  const digest = async (path: string): Promise<string> => createHash('sha256').update(await readFile(path)).digest('hex');
  const serialDigest = async (options: SyntheticOptions): Promise<string> => {
    const { metadata, tensors } = generateSynthetic(options);
    await writeCapture(join(dir, 'serial.safetensors'), metadata, tensors);
    return digest(join(dir, 'serial.safetensors'));
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sparsescope-demo-write-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('on one thread writes the serial generator\'s file, reporting progress per head', async () => {
    const { options } = SHAPES[0]!;
    const progress: number[] = [];
    const summary = await writeSynthetic(join(dir, 'one.safetensors'), options, { threads: 1, onProgress: (fraction) => progress.push(fraction) });
    expect(summary).toMatchObject({ numLayers: 2, numHeads: 8, numKvHeads: 2, seqLen: 4096 });
    expect(progress).toHaveLength(2 * (8 + 2 + 2));
    expect(progress.at(-1)).toBe(1);
    expect(await digest(join(dir, 'one.safetensors'))).toBe(await serialDigest(options));
  }, 30_000);

  it.skipIf(!built).each(SHAPES)('on worker threads writes the serial generator\'s file: $name', async ({ options, threads }) => {
    const threaded = (await import(pathToFileURL(builtWriter).href)) as typeof import('../../../../electron/engine/synthetic/write.js');
    await threaded.writeSynthetic(join(dir, 'threaded.safetensors'), options, { threads });
    expect(await digest(join(dir, 'threaded.safetensors'))).toBe(await serialDigest(options));
  }, 30_000);

  it.skipIf(!built)('stops when cancelled and leaves no file behind', async () => {
    const threaded = (await import(pathToFileURL(builtWriter).href)) as typeof import('../../../../electron/engine/synthetic/write.js');
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const options = SHAPES[0]!.options;
    const writing = threaded.writeSynthetic(join(dir, 'cancelled.safetensors'), options, { threads: 2, cancel, onProgress: () => Atomics.store(cancel, 0, 1) });
    await expect(writing).rejects.toThrow('cancelled');
    expect((await readdir(dir)).filter((name) => name.startsWith('cancelled'))).toEqual([]);
  });

  it('refuses a thread count below one', async () => {
    await expect(writeSynthetic(join(dir, 'none.safetensors'), SHAPES[0]!.options, { threads: 0 })).rejects.toThrow(/threads must be a whole number >= 1/);
  });
});
