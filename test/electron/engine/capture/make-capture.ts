/** Small captures with known bytes, for capture, config and CLI tests. */
import type { DType } from '../../../../contract/api.js';
import { CAPTURE_FORMAT } from '../../../../electron/engine/capture/capture.js';
import type { CaptureMetadata, TensorSource } from '../../../../electron/engine/capture/types.js';
import { encodeFloats } from '../../../../electron/engine/synthetic/float-codec.js';

export interface TinyCaptureShape {
  layers: number[];
  numLayers: number;
  heads: number;
  kvHeads: number;
  seqLen: number;
  headDim: number;
  dtype: DType;
}

export const TINY: TinyCaptureShape = { layers: [0, 1], numLayers: 2, heads: 4, kvHeads: 2, seqLen: 10, headDim: 8, dtype: 'F32' };

export function tinyMetadata(shape: TinyCaptureShape = TINY): CaptureMetadata {
  return {
    format: CAPTURE_FORMAT,
    model: 'tiny-test',
    num_layers: String(shape.numLayers),
    num_heads: String(shape.heads),
    num_kv_heads: String(shape.kvHeads),
    head_dim: String(shape.headDim),
    seq_len: String(shape.seqLen),
    rope_applied: 'true',
    source: 'unit test',
  };
}

/** Bytes of the high byte of every element: a small exponent, so every value is finite and modest in F32, BF16 and F16. */
const SMALL_HIGH_BYTE = 0x3c;

/**
 * Byte b of tensor t is (t * 31 + b + salt) mod 251, except each element's high byte, which keeps
 * its value small and finite: every slice is distinguishable, and a different salt gives different
 * data under the same header.
 */
export function tensorBytes(tensorIndex: number, length: number, itemBytes = 4, salt = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let b = 0; b < length; b++) bytes[b] = b % itemBytes === itemBytes - 1 ? SMALL_HIGH_BYTE : (tensorIndex * 31 + b + salt) % 251;
  return bytes;
}

/** The tensors of a capture of `shape`; `salt` changes their data, never their header. */
export function tinyTensors(shape: TinyCaptureShape = TINY, salt = 0): TensorSource[] {
  const itemBytes = shape.dtype === 'F32' ? 4 : 2;
  const sources: TensorSource[] = [];
  for (const layer of shape.layers) {
    for (const kind of ['q', 'k', 'v'] as const) {
      const dims = [kind === 'q' ? shape.heads : shape.kvHeads, shape.seqLen, shape.headDim];
      const index = sources.length;
      const length = dims.reduce((x, y) => x * y, itemBytes);
      sources.push({ name: `layers.${layer}.${kind}`, dtype: shape.dtype, shape: dims, produce: async () => tensorBytes(index, length, itemBytes, salt) });
    }
  }
  return sources;
}

/** The contents of the three token tensors. */
export interface TokenArrays {
  ids: Int32Array;
  offsets: Int32Array;
  bytes: Uint8Array;
}

/** Token arrays for these pieces of text (strings as UTF-8, byte arrays as given); ids count up from 100. */
export function tokenArrays(pieces: readonly (string | Uint8Array)[]): TokenArrays {
  const encoded = pieces.map((piece) => (typeof piece === 'string' ? new TextEncoder().encode(piece) : piece));
  const offsets = new Int32Array(encoded.length + 1);
  encoded.forEach((piece, i) => (offsets[i + 1] = offsets[i]! + piece.length));
  const bytes = new Uint8Array(offsets[encoded.length]!);
  encoded.forEach((piece, i) => bytes.set(piece, offsets[i]));
  return { ids: Int32Array.from(encoded, (_, i) => 100 + i), offsets, bytes };
}

/** `tokens.ids`, `tokens.text_offsets` and `tokens.text_bytes` holding exactly these arrays (lies included). */
export function tokenTensors({ ids, offsets, bytes }: TokenArrays): TensorSource[] {
  const raw = (array: Int32Array | Uint8Array) => async () => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  return [
    { name: 'tokens.ids', dtype: 'I32', shape: [ids.length], produce: raw(ids) },
    { name: 'tokens.text_offsets', dtype: 'I32', shape: [offsets.length], produce: raw(offsets) },
    { name: 'tokens.text_bytes', dtype: 'U8', shape: [bytes.length], produce: raw(bytes) },
  ];
}

/** One value put somewhere in a capture: tensor `layers.{layer}.{kind}`, head, row, dim. */
export interface Poke {
  layer: number;
  kind: 'q' | 'k' | 'v';
  head: number;
  row: number;
  dim: number;
  value: number;
}

/** Tensors of modest values (0.5 apart from a small ramp) in the shape's dtype, with `pokes` put in. */
export function pokedTensors(shape: TinyCaptureShape, pokes: readonly Poke[]): TensorSource[] {
  return tinyTensors(shape).map((source) => ({
    ...source,
    produce: async () => {
      const [heads = 0, seqLen = 0, headDim = 0] = source.shape;
      const values = Float32Array.from({ length: heads * seqLen * headDim }, (_, i) => 0.5 + (i % 7) / 64);
      for (const poke of pokes) {
        if (source.name === `layers.${poke.layer}.${poke.kind}`) values[(poke.head * seqLen + poke.row) * headDim + poke.dim] = poke.value;
      }
      return encodeFloats(values, shape.dtype);
    },
  }));
}
