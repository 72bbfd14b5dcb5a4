import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHeader, MAX_HEADER_BYTES, SafetensorsFile, writeSafetensors } from '../../../../electron/engine/capture/safetensors.js';
import type { TensorSource } from '../../../../electron/engine/capture/types.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparsescope-st-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A file from a header object and a data section, exactly as given (lies included). */
async function rawFile(name: string, header: unknown, data: Uint8Array, lengthOverride?: bigint): Promise<string> {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.length);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

const twoTensors = {
  __metadata__: { note: 'x' },
  a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
  b: { dtype: 'BF16', shape: [4], data_offsets: [24, 32] },
};
const data32 = Uint8Array.from({ length: 32 }, (_, i) => i);

describe('safetensors reader', () => {
  it('reads the header and slices at positions', async () => {
    const file = await SafetensorsFile.open(await rawFile('ok.safetensors', twoTensors, data32));
    try {
      expect(file.header.metadata).toEqual({ note: 'x' });
      expect(file.tensor('a')).toMatchObject({ dtype: 'F32', shape: [2, 3], begin: 0, end: 24 });
      expect([...(await file.read('b'))]).toEqual([24, 25, 26, 27, 28, 29, 30, 31]);
      expect([...(await file.read('a', 4, 3))]).toEqual([4, 5, 6]);
      expect(file.header.hash).toMatch(/^[0-9a-f]{64}$/);
      await expect(file.read('a', 20, 8)).rejects.toThrow('tensor a: slice [20, 28) outside its 24 bytes');
      await expect(file.read('zz')).rejects.toThrow('tensor zz: not in file');
    } finally {
      await file.close();
    }
  });

  const corrupt: [string, () => Promise<string>, string][] = [
    ['a file shorter than the length prefix', async () => { const p = join(dir, 'short'); await writeFile(p, new Uint8Array(5)); return p; }, 'short: 5 bytes is too short'],
    ['a huge header length', () => rawFile('huge', twoTensors, data32, 1n << 60n), 'exceeds the 104857600-byte limit'],
    ['a header length past the end', () => rawFile('past', twoTensors, data32, 100_000n), 'header length 100000 past end of file'],
    ['a header that is not JSON', () => rawFile('badjson', '{"a": [', new Uint8Array()), 'badjson: header is not valid JSON'],
    ['a header that is a list', () => rawFile('list', '[1]', new Uint8Array()), 'header is not a JSON object'],
    ['an unsupported dtype', () => rawFile('i64', { t: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), 'tensor t: unsupported dtype I64'],
    ['a bad shape', () => rawFile('shape', { t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), 'tensor t: shape [-1] is not a list'],
    ['bad offsets', () => rawFile('offs', { t: { dtype: 'F32', shape: [1], data_offsets: [0] } }, new Uint8Array(4)), 'tensor t: data_offsets [0] is not a pair'],
    ['offsets past the end (truncated file)', () => rawFile('trunc.safetensors', twoTensors, data32.subarray(0, 30)), 'trunc.safetensors: tensor b: data end 32 past end of file (30 data bytes)'],
    ['a size that disagrees with the shape', () => rawFile('size', { t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), 'tensor t: 8 data bytes but shape [3] of F32 needs 12'],
    ['overlapping tensors', () => rawFile('overlap', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)), 'tensors a and b overlap'],
    ['a gap between tensors', () => rawFile('gap', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, new Uint8Array(12)), '4 unindexed bytes before tensor b'],
    ['trailing bytes', () => rawFile('trail', twoTensors, new Uint8Array(40)), '8 unindexed bytes after the last tensor'],
    ['end before begin', () => rawFile('rev', { t: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, new Uint8Array(4)), 'data end 0 before begin 4'],
    ['non-string metadata', () => rawFile('meta', { __metadata__: { n: 3 } }, new Uint8Array()), '__metadata__.n is not a string'],
  ];
  it.each(corrupt)('refuses %s with a clear error', async (_what, make, message) => {
    const path = await make();
    await expect(SafetensorsFile.open(path)).rejects.toThrow(message);
  });

  it('names a missing file', async () => {
    await expect(SafetensorsFile.open(join(dir, 'nope.safetensors'))).rejects.toThrow('nope.safetensors: cannot open: no such file (ENOENT)');
  });

  it('has a header cap that allows large real headers', () => {
    expect(MAX_HEADER_BYTES).toBe(100 * 1024 * 1024);
  });
});

describe('safetensors writer', () => {
  function source(name: string, shape: number[], chunks: Uint8Array[]): TensorSource {
    return {
      name,
      dtype: 'F16',
      shape,
      async *produce() {
        yield* chunks;
      },
    };
  }

  it('writes an aligned header and data a reader gives back byte for byte', async () => {
    const path = join(dir, 'written.safetensors');
    const x = Uint8Array.from({ length: 12 }, (_, i) => 200 - i);
    const y = Uint8Array.from({ length: 4 }, (_, i) => i);
    await writeSafetensors(path, { k: 'v' }, [source('x', [2, 3], [x.subarray(0, 5), x.subarray(5)]), source('y', [2], [y])]);
    const bytes = await readFile(path);
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    expect(bytes.length).toBe(8 + headerLength + 16);
    const file = await SafetensorsFile.open(path);
    try {
      expect(file.header.metadata).toEqual({ k: 'v' });
      expect([...(await file.read('x'))]).toEqual([...x]);
      expect([...(await file.read('y'))]).toEqual([...y]);
    } finally {
      await file.close();
    }
  });

  it('refuses a producer that gives the wrong byte count and leaves no file', async () => {
    const path = join(dir, 'wrong.safetensors');
    await expect(writeSafetensors(path, {}, [source('x', [4], [new Uint8Array(6)])])).rejects.toThrow('tensor x: produced only 6 bytes, shape and dtype need 8');
    await expect(writeSafetensors(path, {}, [source('x', [1], [new Uint8Array(6)])])).rejects.toThrow('tensor x: produced more than 2 bytes, shape and dtype need 2');
    expect((await readdir(dir)).filter((name) => name.startsWith('wrong'))).toEqual([]);
  });

  it('refuses repeated names before writing anything', () => {
    expect(() => buildHeader({}, [{ name: 'a', dtype: 'F32', shape: [1] }, { name: 'a', dtype: 'F32', shape: [1] }])).toThrow('tensor name a is reserved or repeated');
  });
});
