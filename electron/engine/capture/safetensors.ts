/**
 * Safetensors files, read slice by slice and written as a stream.
 *
 * Layout: an 8-byte little-endian header length, the JSON header (padded with spaces), then the
 * data section. Every tensor's `data_offsets` are relative to the start of the data section.
 * The whole header is validated before any tensor byte is read, so a file that lies about sizes
 * or offsets is refused up front instead of producing an out-of-bounds read later.
 */
import { constants } from 'node:buffer';
import { createHash } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import type { TensorDType, TensorSource } from './types.js';
import { fileErrorReason, unreadableReason, unwritableReason } from '../fs-errors.js';

/** Bytes per element of the dtypes Sparsescope reads: floats to compute with, integers for tokens. */
export const DTYPE_BYTES: Readonly<Record<TensorDType, number>> = { F16: 2, BF16: 2, F32: 4, I32: 4, U8: 1 };

/** A larger header is either corrupt or not a capture; refusing it bounds memory use. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const LENGTH_PREFIX_BYTES = 8;
/** Reads are split so a single call stays below the 2 GiB limit of one pread. */
const READ_CHUNK_BYTES = 64 * 1024 * 1024;
const HEADER_ALIGNMENT = 8;
/** Largest single buffer this Node can allocate. */
const MAX_READ_BYTES = constants.MAX_LENGTH;

export interface TensorInfo {
  name: string;
  dtype: TensorDType;
  shape: number[];
  /** Byte offsets of the tensor within the data section, [begin, end). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Absolute file offset of the data section. */
  dataOffset: number;
  fileSize: number;
  /** sha256 of the header bytes and the file size: cheap and shown to users, but the same for files that differ only in data. */
  hash: string;
  /** Which file on disk was opened, and which version of it. */
  file: { device: number; inode: number; modifiedMs: number };
}

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

function isDType(value: unknown): value is TensorDType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, value);
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Product of a shape's dimensions, or null when it is not a list of non-negative integers or overflows. */
function elementCount(shape: unknown): number | null {
  if (!Array.isArray(shape)) return null;
  let count = 1;
  for (const dim of shape) {
    if (!isIndex(dim)) return null;
    count *= dim;
    if (!Number.isSafeInteger(count)) return null;
  }
  return count;
}

/**
 * Validate a parsed header against the file size. `where` prefixes every message (the file name).
 * Checks: dtypes, shapes, offsets inside the data section, size = elements x itemsize, no overlaps,
 * no gaps, and a data section that ends exactly at the end of the file.
 */
export function validateHeader(
  json: unknown,
  dataOffset: number,
  fileSize: number,
  where: string,
): Pick<SafetensorsHeader, 'tensors' | 'metadata'> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new SafetensorsError(`${where}: header is not a JSON object`);
  const dataBytes = fileSize - dataOffset;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new SafetensorsError(`${where}: __metadata__ is not an object`);
      for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof value !== 'string') throw new SafetensorsError(`${where}: __metadata__.${key} is not a string`);
        metadata[key] = value;
      }
      continue;
    }
    const at = `${where}: tensor ${name}`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new SafetensorsError(`${at}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string') throw new SafetensorsError(`${at}: dtype missing`);
    if (!isDType(dtype)) throw new SafetensorsError(`${at}: unsupported dtype ${dtype} (Sparsescope reads ${Object.keys(DTYPE_BYTES).join(', ')})`);
    const count = elementCount(shape);
    if (count === null) throw new SafetensorsError(`${at}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !isIndex(offsets[0]) || !isIndex(offsets[1])) {
      throw new SafetensorsError(`${at}: data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw new SafetensorsError(`${at}: data end ${end} before begin ${begin}`);
    if (end > dataBytes) throw new SafetensorsError(`${at}: data end ${end} past end of file (${dataBytes} data bytes)`);
    const expected = count * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw new SafetensorsError(`${at}: ${end - begin} data bytes but shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${expected}`);
    }
    tensors.set(name, { name, dtype, shape: shape as number[], begin, end });
  }
  checkDataLayout([...tensors.values()], dataBytes, where);
  return { tensors, metadata };
}

/** The tensors must tile the data section: no overlap, no gap, nothing after the last one. */
function checkDataLayout(tensors: TensorInfo[], dataBytes: number, where: string): void {
  const ordered = [...tensors].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let cursor = 0;
  let previous: TensorInfo | undefined;
  for (const tensor of ordered) {
    if (tensor.begin < cursor) throw new SafetensorsError(`${where}: tensors ${previous?.name} and ${tensor.name} overlap`);
    if (tensor.begin > cursor) throw new SafetensorsError(`${where}: ${tensor.begin - cursor} unindexed bytes before tensor ${tensor.name}`);
    cursor = tensor.end;
    previous = tensor;
  }
  if (cursor !== dataBytes) throw new SafetensorsError(`${where}: ${dataBytes - cursor} unindexed bytes after the last tensor`);
}

/** Read exactly `length` bytes at `position`, in chunks; a short file is an error, never a hang. */
async function readExactly(handle: FileHandle, position: number, length: number, where: string, into?: Uint8Array): Promise<Uint8Array> {
  const out = into ? into.subarray(0, length) : new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, Math.min(READ_CHUNK_BYTES, length - done), position + done);
    if (bytesRead === 0) throw new SafetensorsError(`${where}: file ended at byte ${position + done} while reading ${length} bytes at ${position} (was it truncated?)`);
    done += bytesRead;
  }
  return out;
}

/** An open safetensors file whose header has been validated. */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    readonly header: SafetensorsHeader,
    private readonly handle: FileHandle,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    const where = basename(path);
    const unreadable = await unreadableReason(path);
    if (unreadable) throw new SafetensorsError(`${where}: cannot open: ${unreadable}`);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new SafetensorsError(`${where}: cannot open: ${fileErrorReason(error)}`);
    }
    try {
      return new SafetensorsFile(path, await readHeader(handle, where), handle);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  tensor(name: string): TensorInfo | undefined {
    return this.header.tensors.get(name);
  }

  /** Bytes [byteOffset, byteOffset + byteLength) of a tensor's data. */
  /** Bytes [byteOffset, byteOffset + byteLength) of a tensor, in a new buffer or at the start of `into`. */
  async read(name: string, byteOffset = 0, byteLength?: number, into?: Uint8Array): Promise<Uint8Array> {
    const where = `${basename(this.path)}: tensor ${name}`;
    const tensor = this.header.tensors.get(name);
    if (!tensor) throw new SafetensorsError(`${where}: not in file`);
    const size = tensor.end - tensor.begin;
    const length = byteLength ?? size - byteOffset;
    if (!isIndex(byteOffset) || !isIndex(length) || byteOffset + length > size) {
      throw new SafetensorsError(`${where}: slice [${byteOffset}, ${byteOffset + length}) outside its ${size} bytes`);
    }
    if (length > MAX_READ_BYTES) throw new SafetensorsError(`${where}: a ${length}-byte read exceeds what one buffer can hold (${MAX_READ_BYTES}); read it by heads`);
    if (into && into.byteLength < length) throw new SafetensorsError(`${where}: a ${length}-byte read does not fit the ${into.byteLength}-byte buffer given`);
    return readExactly(this.handle, this.header.dataOffset + tensor.begin + byteOffset, length, where, into);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

async function readHeader(handle: FileHandle, where: string): Promise<SafetensorsHeader> {
  const stats = await handle.stat();
  const fileSize = stats.size;
  if (fileSize < LENGTH_PREFIX_BYTES) throw new SafetensorsError(`${where}: ${fileSize} bytes is too short for a safetensors file`);
  const prefix = await readExactly(handle, 0, LENGTH_PREFIX_BYTES, where);
  const headerLength = new DataView(prefix.buffer).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(`${where}: header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const dataOffset = LENGTH_PREFIX_BYTES + Number(headerLength);
  if (dataOffset > fileSize) throw new SafetensorsError(`${where}: header length ${headerLength} past end of file (${fileSize} bytes)`);
  const headerBytes = await readExactly(handle, LENGTH_PREFIX_BYTES, Number(headerLength), where);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (error) {
    throw new SafetensorsError(`${where}: header is not valid JSON (${(error as Error).message})`);
  }
  const { tensors, metadata } = validateHeader(json, dataOffset, fileSize, where);
  const hash = createHash('sha256').update(headerBytes).update(`\n${fileSize}`).digest('hex');
  return { tensors, metadata, dataOffset, fileSize, hash, file: { device: stats.dev, inode: stats.ino, modifiedMs: stats.mtimeMs } };
}

/** The header a writer puts in front of `tensors`, laid out in the given order. */
export function buildHeader(metadata: Record<string, string>, tensors: readonly Pick<TensorSource, 'name' | 'dtype' | 'shape'>[]): { bytes: Uint8Array; sizes: number[] } {
  const entries: Record<string, unknown> = { __metadata__: metadata };
  const sizes: number[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    if (tensor.name === '__metadata__' || Object.prototype.hasOwnProperty.call(entries, tensor.name)) {
      throw new SafetensorsError(`tensor name ${tensor.name} is reserved or repeated`);
    }
    if (!isDType(tensor.dtype)) throw new SafetensorsError(`tensor ${tensor.name}: unsupported dtype ${String(tensor.dtype)}`);
    const count = elementCount(tensor.shape);
    if (count === null) throw new SafetensorsError(`tensor ${tensor.name}: bad shape ${JSON.stringify(tensor.shape)}`);
    const size = count * DTYPE_BYTES[tensor.dtype];
    entries[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + size] };
    sizes.push(size);
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(entries));
  const padded = Math.ceil(json.length / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  const bytes = new Uint8Array(LENGTH_PREFIX_BYTES + padded).fill(0x20);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, LENGTH_PREFIX_BYTES);
  return { bytes, sizes };
}

/** A tensor's bytes as chunks, whichever way its producer returns them. */
export async function* chunksOf(source: TensorSource): AsyncIterable<Uint8Array> {
  const produced = source.produce();
  if (produced instanceof Promise) yield await produced;
  else yield* produced;
}

/** Where a tensor's bytes go in a file being written: absolute offset and byte count. */
export interface TensorPlacement {
  offset: number;
  size: number;
}

/** The open, partly written file handed to a writer's fill step (the header is already in it). */
export interface FileBeingWritten {
  handle: FileHandle;
  /** Each tensor's place, in the order the tensors were declared. */
  placements: TensorPlacement[];
}

/**
 * Write a safetensors file whose tensor bytes `fill` puts in place (positioned writes through the
 * handle or its fd). The header is computed from the declared shapes first. The file appears under
 * `path` only when complete (written beside it, then renamed); a failed write leaves nothing behind.
 */
export async function writeSafetensorsWith(
  path: string,
  metadata: Record<string, string>,
  tensors: readonly Pick<TensorSource, 'name' | 'dtype' | 'shape'>[],
  fill: (file: FileBeingWritten) => Promise<void>,
): Promise<void> {
  const { bytes, sizes } = buildHeader(metadata, tensors);
  const unwritable = await unwritableReason(path);
  if (unwritable) throw new SafetensorsError(`cannot write ${path}: ${unwritable}`);
  const partial = `${path}.partial`;
  let handle: FileHandle;
  try {
    handle = await open(partial, 'w');
  } catch (error) {
    throw new SafetensorsError(`cannot write ${path}: ${fileErrorReason(error)}`);
  }
  try {
    await handle.write(bytes, 0, bytes.length, 0);
    const placements: TensorPlacement[] = [];
    let offset = bytes.length;
    for (const size of sizes) {
      placements.push({ offset, size });
      offset += size;
    }
    await fill({ handle, placements });
    await handle.close();
    await rename(partial, path);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw (error as NodeJS.ErrnoException).code ? new SafetensorsError(`cannot write ${path}: ${fileErrorReason(error)}`) : error;
  }
}

/** Write a safetensors file from tensors produced on demand, one at a time, in file order. */
export async function writeSafetensors(path: string, metadata: Record<string, string>, tensors: readonly TensorSource[]): Promise<void> {
  await writeSafetensorsWith(path, metadata, tensors, async ({ handle, placements }) => {
    for (const [i, tensor] of tensors.entries()) {
      const { offset, size: expected } = placements[i]!;
      let written = 0;
      for await (const chunk of chunksOf(tensor)) {
        written += chunk.length;
        if (written > expected) break;
        await handle.write(chunk, 0, chunk.length, offset + written - chunk.length);
      }
      if (written !== expected) {
        throw new SafetensorsError(`tensor ${tensor.name}: produced ${written > expected ? 'more than' : 'only'} ${Math.min(written, expected)} bytes, shape and dtype need ${expected}`);
      }
    }
  });
}
