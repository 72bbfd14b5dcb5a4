/**
 * A synthetic capture served from memory, without a file: the benchmark's context-length sweep
 * and tests use it. Tensors are generated on first read of a layer; one layer is kept.
 */
import type { CaptureSummary } from '../../../contract/api.js';
import type { Capture, TensorKind, TensorSource } from '../capture/types.js';
import { generateSynthetic, type SyntheticOptions } from './generator.js';

async function collect(source: TensorSource): Promise<Uint8Array> {
  const produced = await source.produce();
  const chunks: Uint8Array[] = [];
  if (produced instanceof Uint8Array) chunks.push(produced);
  else for await (const chunk of produced) chunks.push(chunk);
  const out = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

export function syntheticCapture(options: SyntheticOptions): Capture {
  const { metadata, tensors } = generateSynthetic(options);
  const bytesPerValue = options.dtype === 'F32' ? 4 : 2;
  const summary: CaptureSummary = {
    captureId: `synthetic-${options.seed}-${options.seqLen}`,
    path: '',
    fileName: '(synthetic, in memory)',
    sizeBytes: 0,
    hash: '',
    model: metadata.model,
    source: metadata.source,
    numLayers: options.layers,
    layers: Array.from({ length: options.layers }, (_, layer) => layer),
    numHeads: options.heads,
    numKvHeads: options.kvHeads,
    headDim: options.headDim,
    seqLen: options.seqLen,
    dtype: options.dtype,
    planted: JSON.parse(metadata.planted ?? '[]') as CaptureSummary['planted'],
    tokens: false,
  };
  let cached: { layer: number; tensors: Map<TensorKind, Uint8Array> } | null = null;
  const readLayer = async (layer: number, kind: TensorKind): Promise<Uint8Array> => {
    if (!Number.isInteger(layer) || layer < 0 || layer >= options.layers) throw new Error(`layer ${layer} is not in the synthetic capture (0..${options.layers - 1})`);
    if (cached?.layer !== layer) cached = { layer, tensors: new Map() };
    const layerTensors = cached.tensors;
    let bytes = layerTensors.get(kind);
    if (!bytes) {
      const source = tensors.find((tensor) => tensor.name === `layers.${layer}.${kind}`)!;
      bytes = await collect(source);
      layerTensors.set(kind, bytes);
    }
    return bytes;
  };
  const readHeads = async (layer: number, kind: TensorKind, start: number, end: number, into?: Uint8Array): Promise<Uint8Array> => {
    const count = kind === 'q' ? options.heads : options.kvHeads;
    for (const head of [start, end - 1]) {
      if (!Number.isInteger(head) || head < 0 || head >= count || end <= start) throw new Error(`${kind} head ${head} is out of range (0..${count - 1})`);
    }
    const headBytes = options.seqLen * options.headDim * bytesPerValue;
    const heads = (await readLayer(layer, kind)).subarray(start * headBytes, end * headBytes);
    if (!into) return heads.slice();
    into.set(heads);
    return into.subarray(0, heads.byteLength);
  };
  return {
    summary,
    readLayer,
    readHead(layer, kind, head) {
      return readHeads(layer, kind, head, head + 1);
    },
    readHeads,
    async readTokens() {
      throw new Error('the synthetic capture holds no tokens');
    },
    async close() {
      cached = null;
    },
  };
}
