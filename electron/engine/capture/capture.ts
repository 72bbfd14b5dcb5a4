/**
 * Captures (spec section 3.1): a safetensors file with `layers.{L}.q|k|v`, optional token tensors
 * (`tokens.ts`) and Sparsescope metadata. `openCapture` validates everything the rest of the
 * engine relies on, then serves head, layer and token slices from disk on demand.
 */
import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { z } from 'zod';
import { DType, HeadPattern, type CaptureSummary } from '../../../contract/api.js';
import { CaptureError } from './errors.js';
import { SafetensorsError, SafetensorsFile, writeSafetensors, type SafetensorsHeader, type TensorInfo } from './safetensors.js';
import { checkTextOffsets, checkTokenTensors, isTokenTensor, readTokenRange } from './tokens.js';
import type { Capture, CaptureMetadata, TensorKind, TensorSource, TokenRange } from './types.js';
import { badValueText, findBadValue } from './values.js';

export const CAPTURE_FORMAT = 'sparsescope.capture/1';

const TENSOR_NAME = /^layers\.(0|[1-9]\d*)\.([qkv])$/;
const TENSOR_KINDS: readonly TensorKind[] = ['q', 'k', 'v'];
const PlantedPatterns = z.array(z.array(HeadPattern));

export function tensorName(layer: number, kind: TensorKind): string {
  return `layers.${layer}.${kind}`;
}

/** A positive integer metadata field, or an error naming it. */
function positiveInt(metadata: Record<string, string>, key: keyof CaptureMetadata, where: string): number {
  const text = metadata[key];
  if (text === undefined) throw new CaptureError(`${where}: __metadata__.${key} missing`);
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw new CaptureError(`${where}: __metadata__.${key} = ${JSON.stringify(text)} is not a positive integer`);
  return value;
}

interface Geometry {
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  seqLen: number;
}

function readGeometry(metadata: Record<string, string>, where: string): Geometry {
  if (metadata.format !== CAPTURE_FORMAT) {
    throw new CaptureError(`${where}: not a Sparsescope capture (__metadata__.format is ${JSON.stringify(metadata.format ?? null)}, expected "${CAPTURE_FORMAT}")`);
  }
  if (metadata.rope_applied !== 'true') throw new CaptureError(`${where}: __metadata__.rope_applied must be "true" (q and k are expected post-RoPE)`);
  const geometry = {
    numLayers: positiveInt(metadata, 'num_layers', where),
    numHeads: positiveInt(metadata, 'num_heads', where),
    numKvHeads: positiveInt(metadata, 'num_kv_heads', where),
    headDim: positiveInt(metadata, 'head_dim', where),
    seqLen: positiveInt(metadata, 'seq_len', where),
  };
  if (geometry.numHeads % geometry.numKvHeads !== 0) {
    throw new CaptureError(`${where}: num_heads ${geometry.numHeads} is not a multiple of num_kv_heads ${geometry.numKvHeads}`);
  }
  return geometry;
}

/** Group tensors by layer and check each layer has q, k, v of the shapes the metadata states. */
function readLayers(tensors: Map<string, TensorInfo>, geometry: Geometry, where: string): { layers: number[]; dtype: DType } {
  const { numLayers, numHeads, numKvHeads, seqLen, headDim } = geometry;
  const layers = new Set<number>();
  for (const name of tensors.keys()) {
    if (isTokenTensor(name)) continue;
    const match = TENSOR_NAME.exec(name);
    if (!match) throw new CaptureError(`${where}: unexpected tensor ${name} (a capture holds only layers.{L}.q, .k and .v, and tokens.*)`);
    const layer = Number(match[1]);
    if (layer >= numLayers) throw new CaptureError(`${where}: tensor ${name}: layer ${layer} out of range (num_layers = ${numLayers})`);
    layers.add(layer);
  }
  if (layers.size === 0) throw new CaptureError(`${where}: no layers.{L}.q/k/v tensors`);
  let dtype: DType | undefined;
  const sorted = [...layers].sort((x, y) => x - y);
  for (const layer of sorted) {
    for (const kind of TENSOR_KINDS) {
      const name = tensorName(layer, kind);
      const tensor = tensors.get(name);
      if (!tensor) throw new CaptureError(`${where}: tensor ${name} missing (layer ${layer} has some but not all of q, k, v)`);
      const expected = [kind === 'q' ? numHeads : numKvHeads, seqLen, headDim];
      if (tensor.shape.length !== 3 || tensor.shape.some((dim, i) => dim !== expected[i])) {
        throw new CaptureError(
          `${where}: tensor ${name}: shape [${tensor.shape.join(', ')}] disagrees with metadata [${expected.join(', ')}] (num_${kind === 'q' ? '' : 'kv_'}heads, seq_len, head_dim)`,
        );
      }
      const float = DType.safeParse(tensor.dtype);
      if (!float.success) throw new CaptureError(`${where}: tensor ${name}: dtype ${tensor.dtype} is not one of ${DType.options.join(', ')}`);
      dtype ??= float.data;
      if (tensor.dtype !== dtype) throw new CaptureError(`${where}: tensor ${name}: dtype ${tensor.dtype} differs from ${dtype} of the other tensors`);
    }
  }
  return { layers: sorted, dtype: dtype as DType };
}

function readPlanted(text: string | undefined, geometry: Geometry, where: string): HeadPattern[][] | undefined {
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CaptureError(`${where}: __metadata__.planted is not valid JSON (${(error as Error).message})`);
  }
  const parsed = PlantedPatterns.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CaptureError(`${where}: __metadata__.planted[${issue?.path.join('][') ?? ''}]: ${issue?.message ?? 'invalid'}`);
  }
  const planted = parsed.data;
  if (planted.length !== geometry.numLayers) throw new CaptureError(`${where}: __metadata__.planted has ${planted.length} layers, num_layers is ${geometry.numLayers}`);
  const ragged = planted.findIndex((heads) => heads.length !== geometry.numHeads);
  if (ragged >= 0) throw new CaptureError(`${where}: __metadata__.planted layer ${ragged} has ${planted[ragged]?.length} heads, num_heads is ${geometry.numHeads}`);
  return planted;
}

/**
 * The id of an open capture. The header hash cannot be it: re-captures of one model at one length
 * with one prompt share header and size. The real path, device, inode and modification time tell
 * apart two files, and two versions of one file, without reading their data.
 */
function captureIdOf(path: string, header: SafetensorsHeader): string {
  const { device, inode, modifiedMs } = header.file;
  return createHash('sha256').update(JSON.stringify([header.hash, path, device, inode, modifiedMs])).digest('hex').slice(0, 16);
}

class SafetensorsCapture implements Capture {
  /** Heads whose values were checked (`layer.kind.head`): each is checked once, when first read. */
  private readonly checked = new Set<string>();

  constructor(
    readonly summary: CaptureSummary,
    private readonly file: SafetensorsFile,
  ) {}

  /** Refuse a head holding a value no kernel can compute with, naming where it is. */
  private checkValues(layer: number, kind: TensorKind, head: number, bytes: Uint8Array): void {
    const key = `${layer}.${kind}.${head}`;
    if (this.checked.has(key)) return;
    const bad = findBadValue(bytes, this.summary.dtype, this.summary.headDim);
    if (bad) throw new CaptureError(`${this.summary.fileName}: layer ${layer} ${kind} head ${head} row ${bad.row} ${badValueText(bad)}`);
    this.checked.add(key);
  }

  private tensor(layer: number, kind: TensorKind): TensorInfo {
    if (!TENSOR_KINDS.includes(kind)) throw new CaptureError(`${this.summary.fileName}: tensor kind ${JSON.stringify(kind)} is not q, k or v`);
    const tensor = this.file.tensor(tensorName(layer, kind));
    if (!tensor) {
      throw new CaptureError(`${this.summary.fileName}: layer ${layer} is not in this capture (layers: ${this.summary.layers.join(', ')})`);
    }
    return tensor;
  }

  async readHead(layer: number, kind: TensorKind, head: number): Promise<Uint8Array> {
    return this.readHeads(layer, kind, head, head + 1);
  }

  async readHeads(layer: number, kind: TensorKind, start: number, end: number, into?: Uint8Array): Promise<Uint8Array> {
    const tensor = this.tensor(layer, kind);
    const heads = tensor.shape[0] ?? 0;
    for (const head of [start, end - 1]) {
      if (!Number.isInteger(head) || head < 0 || head >= heads || end <= start) {
        throw new CaptureError(`${this.summary.fileName}: ${kind} head ${head} out of range (layer ${layer} has ${heads})`);
      }
    }
    const headBytes = (tensor.end - tensor.begin) / heads;
    const bytes = await this.file.read(tensor.name, start * headBytes, (end - start) * headBytes, into);
    for (let head = start; head < end; head++) this.checkValues(layer, kind, head, bytes.subarray((head - start) * headBytes, (head - start + 1) * headBytes));
    return bytes;
  }

  async readLayer(layer: number, kind: TensorKind): Promise<Uint8Array> {
    return this.readHeads(layer, kind, 0, this.tensor(layer, kind).shape[0] ?? 0);
  }

  async readTokens(start: number, end: number): Promise<TokenRange> {
    const { fileName, tokens, seqLen } = this.summary;
    if (!tokens) throw new CaptureError(`${fileName}: this capture holds no tokens`);
    return readTokenRange(this.file, seqLen, start, end, fileName);
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

/** Open and validate a capture; every problem is a CaptureError or SafetensorsError naming the file. */
export async function openCapture(path: string): Promise<Capture> {
  const file = await SafetensorsFile.open(path);
  try {
    const where = basename(path);
    const { metadata, tensors, fileSize, hash } = file.header;
    const absolute = resolve(path);
    const geometry = readGeometry(metadata, where);
    const { layers, dtype } = readLayers(tensors, geometry, where);
    const planted = readPlanted(metadata.planted, geometry, where);
    const tokens = checkTokenTensors(tensors, geometry.seqLen, where);
    if (tokens) await checkTextOffsets(file, where);
    const summary: CaptureSummary = {
      captureId: captureIdOf(absolute, file.header),
      path: absolute,
      fileName: where,
      sizeBytes: fileSize,
      hash,
      model: metadata.model ?? '',
      source: metadata.source ?? '',
      ...geometry,
      layers,
      dtype,
      ...(planted ? { planted } : {}),
      tokens,
      ...(metadata.tokenizer === undefined ? {} : { tokenizer: metadata.tokenizer }),
    };
    return new SafetensorsCapture(summary, file);
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** True for the errors that describe bad input (as opposed to bugs). */
export function isCaptureInputError(error: unknown): error is CaptureError | SafetensorsError {
  return error instanceof CaptureError || error instanceof SafetensorsError;
}

/**
 * Write a capture. The tensors must be named `layers.{L}.q|k|v` or `tokens.*`; the file is
 * validated by re-opening it, so a writer bug cannot leave a capture that `openCapture` would refuse.
 */
export async function writeCapture(path: string, metadata: CaptureMetadata, tensors: readonly TensorSource[]): Promise<CaptureSummary> {
  await writeSafetensors(path, { ...metadata }, tensors);
  return writtenCaptureSummary(path);
}

/** The summary of a capture a writer just made, by re-opening it (which validates it). */
export async function writtenCaptureSummary(path: string): Promise<CaptureSummary> {
  const capture = await openCapture(path);
  await capture.close();
  return capture.summary;
}
