import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openCapture, writeCapture } from '../../../../electron/engine/capture/capture.js';
import { SafetensorsFile, writeSafetensors } from '../../../../electron/engine/capture/safetensors.js';
import { MAX_TOKEN_TEXT_BYTES } from '../../../../electron/engine/capture/tokens.js';
import type { TensorSource } from '../../../../electron/engine/capture/types.js';
import { TINY, tinyMetadata, tinyTensors, tokenArrays, tokenTensors, type TokenArrays } from './make-capture.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparsescope-tokens-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** TINY's 10 tokens: multi-byte characters, one split across two tokens, an empty token and a BOM. */
const PIECES = ['Hello', ' wörld', Uint8Array.of(0xe6, 0x97), Uint8Array.of(0xa5), '', '\n', '🙂', '\uFEFF', '<|eot|>', ' end'];
const TEXT = ['Hello', ' wörld', '\uFFFD', '\uFFFD', '', '\n', '🙂', '\uFEFF', '<|eot|>', ' end'];
const IDS = Array.from({ length: 10 }, (_, i) => 100 + i);

async function writeWithTokens(name: string, arrays: TokenArrays = tokenArrays(PIECES)): Promise<string> {
  const path = join(dir, name);
  await writeCapture(path, { ...tinyMetadata(), tokenizer: 'tiny-tokenizer' }, [...tinyTensors(), ...tokenTensors(arrays)]);
  return path;
}

describe('capture tokens', () => {
  it('reads back ids and text of any range, decoding each piece on its own', async () => {
    const capture = await openCapture(await writeWithTokens('tokens.safetensors'));
    try {
      expect(capture.summary).toMatchObject({ tokens: true, tokenizer: 'tiny-tokenizer', seqLen: TINY.seqLen });
      const all = await capture.readTokens(0, 10);
      expect([...all.ids]).toEqual(IDS);
      expect(all.text).toEqual(TEXT);
      const middle = await capture.readTokens(1, 4);
      expect([...middle.ids]).toEqual([101, 102, 103]);
      expect(middle.text).toEqual([' wörld', '\uFFFD', '\uFFFD']);
      expect(await capture.readTokens(9, 10)).toEqual({ ids: Int32Array.of(109), text: [' end'] });
      expect(await capture.readTokens(10, 10)).toEqual({ ids: new Int32Array(0), text: [] });
    } finally {
      await capture.close();
    }
  });

  it('reads only the slices of the range, and no text at open', async () => {
    const path = await writeWithTokens('slices.safetensors');
    const read = vi.spyOn(SafetensorsFile.prototype, 'read');
    const capture = await openCapture(path);
    try {
      expect(read.mock.calls).toEqual([['tokens.text_offsets']]);
      read.mockClear();
      await capture.readTokens(5, 7);
      // '\n' and '🙂' start at byte 15: 1 + 4 bytes of text.
      expect(read.mock.calls).toEqual([
        ['tokens.ids', 20, 8],
        ['tokens.text_offsets', 20, 12],
        ['tokens.text_bytes', 15, 5],
      ]);
    } finally {
      await capture.close();
    }
  });

  it('refuses ranges outside the prompt, and tokens of a capture without them', async () => {
    const capture = await openCapture(await writeWithTokens('ranges.safetensors'));
    try {
      for (const [start, end] of [[-1, 2], [3, 2], [0, 11], [0.5, 2]] as const) {
        await expect(capture.readTokens(start, end)).rejects.toThrow(`ranges.safetensors: token range [${start}, ${end}) is not inside [0, 10]`);
      }
    } finally {
      await capture.close();
    }
    const plainPath = join(dir, 'plain.safetensors');
    await writeCapture(plainPath, tinyMetadata(), tinyTensors());
    const plain = await openCapture(plainPath);
    try {
      expect(plain.summary.tokens).toBe(false);
      expect(plain.summary).not.toHaveProperty('tokenizer');
      await expect(plain.readTokens(0, 1)).rejects.toThrow('plain.safetensors: this capture holds no tokens');
    } finally {
      await plain.close();
    }
  });

  it('refuses a read whose text exceeds the per-read bound, and reads the tokens around it', async () => {
    const huge = new Uint8Array(MAX_TOKEN_TEXT_BYTES + 1).fill(0x61);
    const capture = await openCapture(await writeWithTokens('huge.safetensors', tokenArrays([...PIECES.slice(0, 9), huge])));
    try {
      await expect(capture.readTokens(8, 10)).rejects.toThrow(`tokens [8, 10) hold ${MAX_TOKEN_TEXT_BYTES + 8} text bytes, more than one read allows`);
      expect((await capture.readTokens(0, 9)).text).toEqual(TEXT.slice(0, 9));
    } finally {
      await capture.close();
    }
  });

  const good = (): TokenArrays => tokenArrays(PIECES);
  const withOffsets = (change: (offsets: Int32Array) => void): TokenArrays => {
    const arrays = good();
    change(arrays.offsets);
    return arrays;
  };
  const drop = (name: string) => (tensors: TensorSource[]) => tensors.filter((tensor) => tensor.name !== name);
  const retype = (name: string, dtype: TensorSource['dtype']) => (tensors: TensorSource[]) => tensors.map((tensor) => (tensor.name === name ? { ...tensor, dtype } : tensor));
  type Case = [string, TokenArrays, (tensors: TensorSource[]) => TensorSource[], string];
  const same = (tensors: TensorSource[]) => tensors;
  const cases: Case[] = [
    ['no ids', good(), drop('tokens.ids'), 'token tensors are all or none, but tokens.ids is missing'],
    ['only ids', good(), (t) => drop('tokens.text_bytes')(drop('tokens.text_offsets')(t)), 'token tensors are all or none, but tokens.text_offsets and tokens.text_bytes are missing'],
    ['ids shorter than seq_len', { ...good(), ids: new Int32Array(9) }, same, 'tensor tokens.ids: shape [9], expected [10] (seq_len)'],
    ['offsets without the closing one', { ...good(), offsets: good().offsets.subarray(0, 10) }, same, 'tensor tokens.text_offsets: shape [10], expected [11] (seq_len + 1)'],
    ['text bytes that are not 1-D', good(), (t) => t.map((s) => (s.name === 'tokens.text_bytes' ? { ...s, shape: [1, s.shape[0]!] } : s)), 'tensor tokens.text_bytes: shape [1, 34], expected [T] (T text bytes)'],
    ['ids of dtype F32', good(), retype('tokens.ids', 'F32'), 'tensor tokens.ids: dtype F32, expected I32'],
    ['offsets of dtype F32', good(), retype('tokens.text_offsets', 'F32'), 'tensor tokens.text_offsets: dtype F32, expected I32'],
    ['text bytes of dtype I32', { ...good(), bytes: new Uint8Array(36) }, (t) => t.map((s) => (s.name === 'tokens.text_bytes' ? { ...s, dtype: 'I32', shape: [9] } : s)), 'tensor tokens.text_bytes: dtype I32, expected U8'],
    ['a first offset other than 0', withOffsets((o) => (o[0] = 1)), same, 'tensor tokens.text_offsets: first offset is 1, expected 0'],
    ['decreasing offsets', withOffsets((o) => (o[4] = 2)), same, 'tensor tokens.text_offsets: offsets decrease at token 3 (14 then 2)'],
    ['a negative offset', withOffsets((o) => (o[1] = -5)), same, 'offsets decrease at token 0 (0 then -5)'],
    ['offsets past the text bytes', withOffsets((o) => (o[10] = 40)), same, 'tensor tokens.text_offsets: last offset is 40, but tokens.text_bytes holds 34 bytes'],
    ['offsets short of the text bytes', withOffsets((o) => (o[10] = 30)), same, 'last offset is 30, but tokens.text_bytes holds 34 bytes'],
    ['an unknown tokens tensor', good(), (t) => [...t, { ...t[0]!, name: 'tokens.extra' }], 'unexpected tensor tokens.extra'],
    ['q of an integer dtype', good(), retype('layers.0.q', 'I32'), 'tensor layers.0.q: dtype I32 is not one of F16, BF16, F32'],
  ];
  it.each(cases)('refuses %s', async (what, arrays, change, message) => {
    const path = join(dir, `${what.replaceAll(' ', '-')}.safetensors`);
    await writeSafetensors(path, tinyMetadata() as unknown as Record<string, string>, change([...tinyTensors(), ...tokenTensors(arrays)]));
    await expect(openCapture(path)).rejects.toThrow(`${what.replaceAll(' ', '-')}.safetensors: `);
    await expect(openCapture(path)).rejects.toThrow(message);
  });
});
