/**
 * The optional token tensors of a capture: the prompt's token ids and each token's text.
 *
 *   tokens.ids           I32 [N]    token id at each captured position
 *   tokens.text_offsets  I32 [N+1]  0, ..., T, non-decreasing
 *   tokens.text_bytes    U8  [T]    every token's text, UTF-8, concatenated
 *
 * Token i's text is text_bytes[offsets[i], offsets[i+1]). Byte-level tokenizers may split a
 * character between tokens, so each piece is decoded on its own with U+FFFD replacement.
 * The three are all present or all absent. Offsets are checked once at open (4 MB at 1M tokens);
 * text bytes are read only for the ranges asked for.
 */
import { CaptureError } from './errors.js';
import type { SafetensorsFile, TensorInfo } from './safetensors.js';
import type { TensorDType, TokenRange } from './types.js';

export const TOKEN_TENSORS = { ids: 'tokens.ids', offsets: 'tokens.text_offsets', bytes: 'tokens.text_bytes' } as const;

/** Text bytes one read may return: a file whose offsets give a token gigabytes of text cannot exhaust memory. */
export const MAX_TOKEN_TEXT_BYTES = 16 * 1024 * 1024;

const I32_BYTES = 4;

interface TokenTensorLayout {
  name: string;
  dtype: TensorDType;
  /** The length the tensor must have given seq_len, or null when any length is fine. */
  length(seqLen: number): number | null;
  lengthName: string;
}

const LAYOUT: readonly TokenTensorLayout[] = [
  { name: TOKEN_TENSORS.ids, dtype: 'I32', length: (seqLen) => seqLen, lengthName: 'seq_len' },
  { name: TOKEN_TENSORS.offsets, dtype: 'I32', length: (seqLen) => seqLen + 1, lengthName: 'seq_len + 1' },
  { name: TOKEN_TENSORS.bytes, dtype: 'U8', length: () => null, lengthName: 'T text bytes' },
];

export function isTokenTensor(name: string): boolean {
  return LAYOUT.some((tensor) => tensor.name === name);
}

/** Whether the file holds tokens: all three tensors with the right dtypes and shapes, or none. */
export function checkTokenTensors(tensors: Map<string, TensorInfo>, seqLen: number, where: string): boolean {
  const missing = LAYOUT.filter(({ name }) => !tensors.has(name)).map(({ name }) => name);
  if (missing.length === LAYOUT.length) return false;
  if (missing.length > 0) throw new CaptureError(`${where}: token tensors are all or none, but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing`);
  for (const { name, dtype, length, lengthName } of LAYOUT) {
    const tensor = tensors.get(name)!;
    if (tensor.dtype !== dtype) throw new CaptureError(`${where}: tensor ${name}: dtype ${tensor.dtype}, expected ${dtype}`);
    const expected = length(seqLen);
    if (tensor.shape.length !== 1 || (expected !== null && tensor.shape[0] !== expected)) {
      throw new CaptureError(`${where}: tensor ${name}: shape [${tensor.shape.join(', ')}], expected [${expected ?? 'T'}] (${lengthName})`);
    }
  }
  return true;
}

/** Little-endian int32 values, whatever the host's byte order and the buffer's alignment. */
function int32s(bytes: Uint8Array): Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Int32Array(bytes.byteLength / I32_BYTES);
  for (let i = 0; i < values.length; i++) values[i] = view.getInt32(i * I32_BYTES, true);
  return values;
}

/** The offsets must run from 0 to T without decreasing, so every token's text lies inside text_bytes. */
export async function checkTextOffsets(file: SafetensorsFile, where: string): Promise<void> {
  const offsets = int32s(await file.read(TOKEN_TENSORS.offsets));
  const textBytes = file.tensor(TOKEN_TENSORS.bytes)!.shape[0]!;
  const at = `${where}: tensor ${TOKEN_TENSORS.offsets}`;
  if (offsets[0] !== 0) throw new CaptureError(`${at}: first offset is ${offsets[0]}, expected 0`);
  for (let i = 1; i < offsets.length; i++) {
    if (offsets[i]! < offsets[i - 1]!) throw new CaptureError(`${at}: offsets decrease at token ${i - 1} (${offsets[i - 1]} then ${offsets[i]})`);
  }
  const last = offsets[offsets.length - 1];
  if (last !== textBytes) throw new CaptureError(`${at}: last offset is ${last}, but ${TOKEN_TENSORS.bytes} holds ${textBytes} bytes`);
}

/** Tokens [start, end): slices of the ids, the offsets and the text bytes they cover, nothing more. */
export async function readTokenRange(file: SafetensorsFile, seqLen: number, start: number, end: number, where: string): Promise<TokenRange> {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > seqLen) {
    throw new CaptureError(`${where}: token range [${start}, ${end}) is not inside [0, ${seqLen}]`);
  }
  const count = end - start;
  const ids = int32s(await file.read(TOKEN_TENSORS.ids, start * I32_BYTES, count * I32_BYTES));
  const offsets = int32s(await file.read(TOKEN_TENSORS.offsets, start * I32_BYTES, (count + 1) * I32_BYTES));
  const first = offsets[0]!;
  const textLength = offsets[count]! - first;
  if (textLength > MAX_TOKEN_TEXT_BYTES) {
    throw new CaptureError(`${where}: tokens [${start}, ${end}) hold ${textLength} text bytes, more than one read allows (${MAX_TOKEN_TEXT_BYTES}); ask for fewer tokens`);
  }
  const bytes = await file.read(TOKEN_TENSORS.bytes, first, textLength);
  // A BOM is text here, not a marker to drop.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const text = Array.from({ length: count }, (_, i) => decoder.decode(bytes.subarray(offsets[i]! - first, offsets[i + 1]! - first)));
  return { ids, text };
}
