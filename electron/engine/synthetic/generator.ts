/**
 * Synthetic captures with planted, mechanistic attention structure (spec section 8).
 *
 * Every query and key is built in "logit units" (q~ . k~ is the attention logit), then real RoPE
 * is applied and both are scaled by D^(1/4) so that q.k / sqrt(D) gives the planted logit back.
 * RoPE uses a long-context base (theta = 1e8, like Llama-3-262k's 2.8e8), which splits the
 * rotary pairs in two:
 *  - positional pairs (frequency w with w N > 0.3) carry relative-position preferences: a query
 *    pair (A cos(w o), -A sin(w o)) against a key pair (1, 0) scores A cos(w (i - j - o)), so a sum
 *    over pairs peaks at offset o. A peak at 0 is a local window (it decays as a power law of the
 *    distance, exponent p = A D / (2 ln theta)); peaks at o > 0 are slash lines.
 *  - semantic pairs (w N <= 0.3, nearly still over the sequence) carry content channels: a sink
 *    channel (keys of the first tokens), salient channels (keys of vertical-line tokens) and topic
 *    vectors shared by the queries and keys of 64-aligned segments (block clusters).
 * Sink and salient keys drop their positional part, so their logit is the same for every row.
 * Amplitudes are calibrated per head against the attention mass of the last row, so each family's
 * structure carries a chosen share of the mass at any sequence length.
 * GQA: the keys of a KV head carry every channel; each query head of the group reads its own mix.
 *
 * Tensors are produced head by head, CHUNK_ROWS rows at a time: nothing O(N^2), nor a whole head, is held.
 */
import type { DType, HeadPattern, PatternName } from '../../../contract/api.js';
import type { CaptureMetadata, TensorKind, TensorSource } from '../capture/types.js';
import { FAMILY_MIX, STREAM_BUDGET, VS_BUDGETS, type BudgetClass, type PlantedFamily } from './distributions.js';
import { encodeFloats } from './float-codec.js';
import { BLOCK, designPositional, logitForShare, turnByPairAngle, type PositionalDesign } from './positional.js';
import { Rng } from './prng.js';
import { buildGeometry, CHUNK_ROWS, ROPE_THETA, rotatedRows, type Geometry } from './rotary.js';

export interface SyntheticOptions {
  seqLen: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  seed: number;
  dtype: DType;
  model?: string;
}

export interface SyntheticCapture {
  metadata: CaptureMetadata;
  tensors: TensorSource[];
}

/** Per-coordinate noise of q~ and k~ (logit units): about 0.4 logits of noise per score. */
const QUERY_NOISE = 0.05;
const KEY_NOISE = 0.01;
const MAX_SEQ_LEN = 1 << 20;

const FAMILIES: readonly PlantedFamily[] = ['vertical_and_slash', 'stream_llm', 'block_sparse', 'dense'];

// Stream labels for the PRNG, so every part is reproducible on its own.
const STREAM = { document: 1, layer: 2, kv: 3, head: 4, qNoise: 5, kNoise: 6, values: 7 } as const;

/** The document: 64-aligned segments, each with a topic. The same for every layer and head. */
interface Document {
  /** Topic of each 64-token block. */
  blockTopic: Int32Array;
  numTopics: number;
}

interface KvPlan {
  sinkCount: number;
  /** Token positions of each salient channel (vertical lines), ascending. */
  salient: Int32Array[];
  /** Random orientation of each positional pair's key direction. */
  pairAngle: Float64Array;
  /** Unit topic vectors in the topic dims, numTopics x topicDims. */
  topics: Float64Array[];
}

interface HeadPlan {
  /** Pre-rotation query coefficients (a, b) per positional pair, already turned by the KV pair angle. */
  positional: Float64Array;
  sinkLogit: number;
  salientChannel: number;
  salientLogit: number;
  topicLogit: number;
}

export function validateSyntheticOptions(options: SyntheticOptions): void {
  const integer = (name: keyof SyntheticOptions, min: number, max: number): void => {
    const value = options[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new Error(`synthetic capture: ${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
    }
  };
  integer('seqLen', BLOCK, MAX_SEQ_LEN);
  integer('layers', 1, 4096);
  integer('heads', 1, 4096);
  integer('kvHeads', 1, 4096);
  integer('headDim', 32, 256);
  integer('seed', -(2 ** 53), 2 ** 53);
  if (options.headDim % 2 !== 0) throw new Error(`synthetic capture: headDim must be even, got ${options.headDim}`);
  if (options.heads % options.kvHeads !== 0) throw new Error(`synthetic capture: heads ${options.heads} is not a multiple of kvHeads ${options.kvHeads}`);
  if (!['F16', 'BF16', 'F32'].includes(options.dtype)) throw new Error(`synthetic capture: dtype must be F16, BF16 or F32, got ${String(options.dtype)}`);
}

function buildDocument(options: SyntheticOptions, geometry: Geometry): Document {
  const rng = new Rng(options.seed, STREAM.document);
  const numBlocks = Math.ceil(options.seqLen / BLOCK);
  const segmentBlocks: number[] = [];
  for (let covered = 0; covered < numBlocks; ) {
    const length = Math.min(rng.int(2, 8), numBlocks - covered);
    segmentBlocks.push(length);
    covered += length;
  }
  // Topics recur, so a query's cluster includes earlier segments: what Block-Sparse exists for.
  const numTopics = Math.max(2, Math.min(geometry.topicDims.length, Math.max(4, Math.round(segmentBlocks.length / 2.5))));
  const blockTopic = new Int32Array(numBlocks);
  let block = 0;
  let previous = -1;
  for (const length of segmentBlocks) {
    let topic = rng.int(0, numTopics - 1);
    if (topic === previous) topic = (topic + 1) % numTopics;
    blockTopic.fill(topic, block, block + length);
    block += length;
    previous = topic;
  }
  return { blockTopic, numTopics };
}

/** Orthonormal topic vectors (Gram-Schmidt of Gaussian draws) in `dims` dimensions. */
function orthonormalTopics(rng: Rng, count: number, dims: number): Float64Array[] {
  const topics: Float64Array[] = [];
  while (topics.length < count) {
    const v = Float64Array.from({ length: dims }, () => rng.normal());
    for (const u of topics) {
      let dot = 0;
      for (let d = 0; d < dims; d++) dot += v[d]! * u[d]!;
      for (let d = 0; d < dims; d++) v[d]! -= dot * u[d]!;
    }
    const norm = Math.hypot(...v);
    if (norm < 1e-6) continue;
    topics.push(v.map((x) => x / norm));
  }
  return topics;
}

/** The cheap part of a layer's plan: each head's family and real-config budget class. */
interface LayerDraw {
  families: PatternName[];
  vsBudgets: BudgetClass[];
  planted: HeadPattern[];
}

function drawLayer(options: SyntheticOptions, document: Document, layer: number): LayerDraw {
  const rng = new Rng(options.seed, STREAM.layer, layer);
  const familyWeights = FAMILIES.map((family) => FAMILY_MIX[family]);
  const families = Array.from({ length: options.heads }, () => FAMILIES[rng.weighted(familyWeights)]!);
  const vsBudgets = families.map(() => VS_BUDGETS[rng.weighted(VS_BUDGETS.map((b) => b.count))]!);
  const lastTopic = document.blockTopic[document.blockTopic.length - 1]!;
  const clusterBlocks = document.blockTopic.reduce((count, topic) => count + (topic === lastTopic ? 1 : 0), 0);
  const planted = families.map((family, h): HeadPattern => {
    if (family === 'vertical_and_slash') return { pattern: family, a: vsBudgets[h]!.vertical, b: vsBudgets[h]!.slash };
    if (family === 'stream_llm') return { ...STREAM_BUDGET };
    // Block-Sparse: the key blocks of the last query block's topic cluster.
    if (family === 'block_sparse') return { pattern: family, a: clusterBlocks, b: 0 };
    return { pattern: family, a: 0, b: 0 };
  });
  return { families, vsBudgets, planted };
}

/** KV head g's plan: cheap (no O(N) work), drawn from its own stream. */
function planKv(options: SyntheticOptions, geometry: Geometry, document: Document, draw: LayerDraw, layer: number, g: number): KvPlan {
  const { seqLen } = options;
  const group = options.heads / options.kvHeads;
  const { families, vsBudgets } = draw;
  const kvRng = new Rng(options.seed, STREAM.kv, layer, g);
  // Each salient channel holds the vertical lines of the VS heads that read it.
  const salient = geometry.salientDims.map((_dim, channel) => {
    let wanted = 8;
    for (let h = g * group; h < (g + 1) * group; h++) {
      if (families[h] === 'vertical_and_slash' && (h - g * group) % geometry.salientDims.length === channel) {
        wanted = Math.max(wanted, verticalCount(vsBudgets[h]!.vertical, seqLen));
      }
    }
    return kvRng.distinctSorted(Math.min(wanted, seqLen - BLOCK), BLOCK, seqLen);
  });
  return {
    sinkCount: kvRng.int(1, 4),
    salient,
    pairAngle: Float64Array.from({ length: geometry.positionalPairs }, () => kvRng.range(0, 2 * Math.PI)),
    topics: orthonormalTopics(kvRng, document.numTopics, geometry.topicDims.length),
  };
}

/** Query head h's plan (its positional design is O(N) per calibration pass), from its own stream. */
function planHead(options: SyntheticOptions, geometry: Geometry, document: Document, draw: LayerDraw, kvPlan: KvPlan, layer: number, h: number): HeadPlan {
  const { seqLen } = options;
  const group = options.heads / options.kvHeads;
  const family = draw.families[h]!;
  const headRng = new Rng(options.seed, STREAM.head, layer, h);
  const salientChannel = (h % group) % geometry.salientDims.length;
  const plan: HeadPlan = {
    positional: new Float64Array(2 * geometry.positionalPairs),
    sinkLogit: 0,
    salientChannel,
    salientLogit: 0,
    topicLogit: 0,
  };
  const withPositional = (design: PositionalDesign): void => {
    plan.positional = turnByPairAngle(design.coefficients, kvPlan.pairAngle);
  };
  if (family === 'vertical_and_slash') {
    const budget = draw.vsBudgets[h]!;
    const wideSlashes = budget.slash >= 700;
    const slashCount = wideSlashes ? headRng.int(2, 3) : 1;
    const slashOffsets = Array.from({ length: slashCount }, () => headRng.int(2 * BLOCK, Math.max(2 * BLOCK + 1, Math.floor(seqLen / 4))));
    const windowExponent = budget.slash >= 6000 ? headRng.range(1.5, 1.9) : headRng.range(1.8, 2.4);
    const design = designPositional(geometry, windowExponent, slashOffsets, headRng.range(0.3, 0.5));
    withPositional(design);
    const sinkShare = headRng.range(0.08, 0.25);
    const verticalShare = budget.vertical >= 500 ? headRng.range(0.2, 0.35) : headRng.range(0.1, 0.2);
    const rest = 1 - sinkShare - verticalShare;
    plan.sinkLogit = logitForShare(sinkShare, kvPlan.sinkCount, rest, design);
    plan.salientLogit = logitForShare(verticalShare, kvPlan.salient[salientChannel]!.length, rest, design);
  } else if (family === 'stream_llm') {
    const design = designPositional(geometry, headRng.range(1.25, 1.6), [], 0);
    withPositional(design);
    const sinkShare = headRng.range(0.3, 0.6);
    plan.sinkLogit = logitForShare(sinkShare, kvPlan.sinkCount, 1 - sinkShare, design);
  } else if (family === 'block_sparse') {
    // The cluster's keys are 1/numTopics of the row: this logit gives them ~98.5% of its mass.
    const clusterShare = 0.985;
    plan.topicLogit = Math.log((clusterShare / (1 - clusterShare)) * (document.numTopics - 1));
  } else {
    // Dense-ish: a very flat power law; no sparse pattern covers 95% of it cheaply.
    withPositional(designPositional(geometry, 0.35, [], 0));
  }
  return plan;
}

/** Below this length a budget class's vertical lines are scaled down with the length. */
const VERTICAL_BUDGET_LENGTH = 65536;

/**
 * Vertical lines planted for a real budget class: the class's own count from 64K tokens on (the
 * fixtures' 1M-token models, Qwen2.5-7B-1M and GLM-4-9B-1M, run 1000 verticals at 1M), scaled
 * down below it (1000 lines would be a quarter of a 4K row's keys). Scaling up with the length too
 * planted 16x the class's lines at 1M: a (1000, 6096) head then reached recall 0.81 at its own
 * budget and needed 80% density for 0.95.
 */
function verticalCount(verticalBudget: number, seqLen: number): number {
  const scaled = Math.round((verticalBudget * Math.min(seqLen, VERTICAL_BUDGET_LENGTH)) / VERTICAL_BUDGET_LENGTH);
  return Math.max(8, Math.min(Math.floor(seqLen / 32), scaled));
}

function queryRows(options: SyntheticOptions, geometry: Geometry, document: Document, head: HeadPlan, kvPlan: KvPlan, layer: number, h: number): Generator<Float32Array> {
  const rng = new Rng(options.seed, STREAM.qNoise, layer, h);
  return rotatedRows(geometry, (row, i) => {
    for (let d = 0; d < options.headDim; d++) row[d] = QUERY_NOISE * rng.normal();
    for (let k = 0; k < geometry.positionalPairs; k++) {
      row[k]! += head.positional[2 * k]!;
      row[k + geometry.half]! += head.positional[2 * k + 1]!;
    }
    row[geometry.sinkDim]! += head.sinkLogit;
    row[geometry.salientDims[head.salientChannel]!]! += head.salientLogit;
    if (head.topicLogit !== 0) {
      const topic = kvPlan.topics[document.blockTopic[Math.floor(i / BLOCK)]!]!;
      for (let t = 0; t < geometry.topicDims.length; t++) row[geometry.topicDims[t]!]! += head.topicLogit * topic[t]!;
    }
  });
}

function keyRows(options: SyntheticOptions, geometry: Geometry, document: Document, kvPlan: KvPlan, layer: number, g: number): Generator<Float32Array> {
  const rng = new Rng(options.seed, STREAM.kNoise, layer, g);
  const salientChannelOf = new Int8Array(options.seqLen).fill(-1);
  kvPlan.salient.forEach((positions, channel) => positions.forEach((j) => (salientChannelOf[j] = channel)));
  // The key direction of every positional pair, once per head rather than per row.
  const pairCos = kvPlan.pairAngle.map(Math.cos);
  const pairSin = kvPlan.pairAngle.map(Math.sin);
  return rotatedRows(geometry, (row, j) => {
    for (let d = 0; d < options.headDim; d++) row[d] = KEY_NOISE * rng.normal();
    const channel = salientChannelOf[j]!;
    const isSink = j < kvPlan.sinkCount;
    if (isSink) row[geometry.sinkDim]! += 1;
    if (channel >= 0) row[geometry.salientDims[channel]!]! += 1;
    if (!isSink && channel < 0) {
      for (let k = 0; k < geometry.positionalPairs; k++) {
        row[k]! += pairCos[k]!;
        row[k + geometry.half]! += pairSin[k]!;
      }
    }
    const topic = kvPlan.topics[document.blockTopic[Math.floor(j / BLOCK)]!]!;
    for (let t = 0; t < geometry.topicDims.length; t++) row[geometry.topicDims[t]!]! += topic[t]!;
  });
}

function* valueRows(options: SyntheticOptions, layer: number, g: number): Generator<Float32Array> {
  const rng = new Rng(options.seed, STREAM.values, layer, g);
  for (let start = 0; start < options.seqLen; start += CHUNK_ROWS) {
    const out = new Float32Array(Math.min(CHUNK_ROWS, options.seqLen - start) * options.headDim);
    for (let i = 0; i < out.length; i++) out[i] = rng.normal();
    yield out;
  }
}

/** The planted pattern of every head, layer-major, without producing any tensor. */
export function plantedPatterns(options: SyntheticOptions): HeadPattern[][] {
  validateSyntheticOptions(options);
  const geometry = buildGeometry(options);
  const document = buildDocument(options, geometry);
  return Array.from({ length: options.layers }, (_, layer) => drawLayer(options, document, layer).planted);
}

/** One head's bytes in the capture's dtype, CHUNK_ROWS rows per chunk. */
export type HeadChunks = (layer: number, kind: TensorKind, index: number) => Generator<Uint8Array>;

/**
 * Any head of the capture on its own: each head draws only from its own streams, so heads made in
 * any order (or by several threads) have the same bytes as the file-order ones.
 */
export function syntheticHeads(options: SyntheticOptions): HeadChunks {
  validateSyntheticOptions(options);
  const geometry = buildGeometry(options);
  const document = buildDocument(options, geometry);
  const group = options.heads / options.kvHeads;
  // Heads are asked for layer by layer: keep that layer's draw and the KV plans made so far.
  let cached: { layer: number; draw: LayerDraw; kv: Map<number, KvPlan> } | null = null;
  const layerPlans = (layer: number, g: number): { draw: LayerDraw; kvPlan: KvPlan } => {
    if (cached?.layer !== layer) cached = { layer, draw: drawLayer(options, document, layer), kv: new Map() };
    const { draw, kv } = cached;
    if (!kv.has(g)) kv.set(g, planKv(options, geometry, document, draw, layer, g));
    return { draw, kvPlan: kv.get(g)! };
  };
  const rows = (layer: number, kind: TensorKind, index: number): Iterable<Float32Array> => {
    if (kind === 'v') return valueRows(options, layer, index);
    if (kind === 'k') return keyRows(options, geometry, document, layerPlans(layer, index).kvPlan, layer, index);
    const { draw, kvPlan } = layerPlans(layer, Math.floor(index / group));
    return queryRows(options, geometry, document, planHead(options, geometry, document, draw, kvPlan, layer, index), kvPlan, layer, index);
  };
  return function* (layer, kind, index) {
    for (const chunk of rows(layer, kind, index)) yield encodeFloats(chunk, options.dtype);
  };
}

export function generateSynthetic(options: SyntheticOptions): SyntheticCapture {
  const headChunks = syntheticHeads(options);
  const { seqLen, headDim, heads, kvHeads, dtype } = options;
  const tensors: TensorSource[] = [];
  for (let layer = 0; layer < options.layers; layer++) {
    for (const [kind, count] of [['q', heads], ['k', kvHeads], ['v', kvHeads]] as const) {
      tensors.push({
        name: `layers.${layer}.${kind}`,
        dtype,
        shape: [count, seqLen, headDim],
        produce: async function* () {
          for (let index = 0; index < count; index++) yield* headChunks(layer, kind, index);
        },
      });
    }
  }
  const planted = plantedPatterns(options);
  const metadata: CaptureMetadata = {
    format: 'sparsescope.capture/1',
    model: options.model ?? `synthetic-L${options.layers}-H${heads}-KV${kvHeads}-D${headDim}`,
    num_layers: String(options.layers),
    num_heads: String(heads),
    num_kv_heads: String(kvHeads),
    head_dim: String(headDim),
    seq_len: String(seqLen),
    rope_applied: 'true',
    source: `sparsescope synthetic generator, seed ${options.seed}: planted sinks, local windows, slash lines, vertical lines and block clusters (RoPE theta ${ROPE_THETA})`,
    planted: JSON.stringify(planted),
  };
  return { metadata, tensors };
}
