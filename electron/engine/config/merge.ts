/**
 * `config merge`: head configs searched in layer shards (`search --layers`, one per GPU, host or
 * job-array task) put together into one. Each input contributes the layers it covers: a
 * Sparsescope file the layers its search ran on (`search.layers`), with each head's measured recall
 * as its score (what an export from the search's report writes), any other file all of its layers
 * (MInference and SGLang files carry no shard). A layer two inputs cover must be the same
 * in both; every input must have as many heads per layer; layers no input covers keep
 * MInference's default, with a warning. Files of one setting for all layers (FlexPrefill,
 * MInference's attn_type) have no layers to merge and are refused.
 */
import { fitHeadConfig, type HeadConfig, type SearchSettings } from '../../../contract/api.js';
import { CaptureNeededError } from './flexprefill.js';
import { importConfig, type ImportedConfig } from './index.js';
import { ConfigError, type HeadEntry } from './minference.js';
import { isSparsescopeDocument } from './sparsescope.js';

/** The formats that hold a head per layer: what a merge reads and writes. */
export const MERGE_FORMATS = ['minference', 'sglang', 'sparsescope', 'xattention', 'duo'] as const;
export type MergeFormat = (typeof MERGE_FORMATS)[number];

export interface MergeInput {
  /** Names the input in messages (its file name). */
  name: string;
  text: string;
}

export interface MergedConfig {
  config: HeadConfig;
  /** The first input's format: what the merge writes unless told otherwise. */
  format: MergeFormat;
  /** The first Sparsescope input's search settings, over the layers the merge covers. */
  settings?: SearchSettings;
  warnings: string[];
}

interface Shard {
  name: string;
  imported: ImportedConfig;
  layers: number[];
  settings?: SearchSettings;
  captureHash?: string;
}

function importShard(text: string, name: string): ImportedConfig {
  try {
    return importConfig(text, name);
  } catch (error) {
    if (!(error instanceof CaptureNeededError)) throw error;
    throw new ConfigError(`${name} holds one setting for all layers and heads (FlexPrefill or MInference's attn_type): there is nothing in it to merge`);
  }
}

function readShard({ name, text }: MergeInput): Shard {
  const imported = importShard(text, name);
  const all = imported.config.heads.map((_, layer) => layer);
  if (imported.format !== 'sparsescope') return { name, imported, layers: all };
  const document = JSON.parse(text) as unknown;
  const { search, capture, heads } = (isSparsescopeDocument(document) ? document : {}) as { search?: SearchSettings | null; capture?: { hash?: string } | null; heads?: { recall?: number }[][] };
  // A head's measured recall is its score, as an export from the search's own report writes it.
  imported.config.heads.forEach((layer, l) =>
    layer.forEach((entry, h) => {
      const recall = heads?.[l]?.[h]?.recall;
      if (recall !== undefined) entry.score = recall;
    }),
  );
  const layers = search?.layers ?? all;
  const outside = layers.filter((layer) => layer >= imported.config.numLayers);
  if (outside.length > 0) throw new ConfigError(`${name}: its search covers layers ${outside.join(', ')}, beyond its ${imported.config.numLayers} layers`);
  return { name, imported, layers, ...(search ? { settings: search } : {}), ...(capture?.hash ? { captureHash: capture.hash } : {}) };
}

function headText({ pattern, a, b }: HeadEntry): string {
  return `${pattern} (${a}, ${b})`;
}

function sameEntry(x: HeadEntry, y: HeadEntry): boolean {
  return x.pattern === y.pattern && x.a === y.a && x.b === y.b && x.score === y.score && x.asWritten?.a === y.asWritten?.a && x.asWritten?.b === y.asWritten?.b;
}

/** The first head where two versions of a layer differ, or -1. */
function firstDifference(x: readonly HeadEntry[], y: readonly HeadEntry[]): number {
  return x.findIndex((entry, head) => !sameEntry(entry, y[head]!));
}

/** "0-3, 7" for [0, 1, 2, 3, 7]. */
export function layerRanges(layers: readonly number[]): string {
  const ranges: string[] = [];
  for (let i = 0; i < layers.length; ) {
    let j = i;
    while (j + 1 < layers.length && layers[j + 1] === layers[j]! + 1) j++;
    ranges.push(i === j ? `${layers[i]}` : `${layers[i]}-${layers[j]}`);
    i = j + 1;
  }
  return ranges.join(', ');
}

function checkShapes(shards: readonly Shard[]): void {
  const [first] = shards;
  for (const shard of shards.slice(1)) {
    const heads = shard.imported.config.numHeads;
    if (heads !== first!.imported.config.numHeads) {
      throw new ConfigError(`${shard.name} has ${heads} heads per layer but ${first!.name} has ${first!.imported.config.numHeads}: configs of different models cannot be merged`);
    }
    if (JSON.stringify(shard.imported.config.runtime ?? {}) !== JSON.stringify(first!.imported.config.runtime ?? {})) {
      throw new ConfigError(`${shard.name} and ${first!.name} have different runtime settings (${JSON.stringify(shard.imported.config.runtime ?? {})} vs ${JSON.stringify(first!.imported.config.runtime ?? {})})`);
    }
  }
}

export function mergeConfigs(inputs: readonly MergeInput[]): MergedConfig {
  if (inputs.length === 0) throw new ConfigError('nothing to merge');
  const shards = inputs.map(readShard);
  checkShapes(shards);
  const numLayers = Math.max(...shards.map((shard) => shard.imported.config.numLayers));
  const first = shards[0]!.imported;
  const config: HeadConfig = { ...fitHeadConfig(null, { numLayers, numHeads: first.config.numHeads }), ...(first.config.runtime ? { runtime: first.config.runtime } : {}) };
  const source = new Map<number, Shard>();
  for (const shard of shards) {
    for (const layer of shard.layers) {
      const heads = shard.imported.config.heads[layer]!;
      const earlier = source.get(layer);
      if (earlier) {
        const head = firstDifference(earlier.imported.config.heads[layer]!, heads);
        if (head >= 0) {
          const [was, is] = [earlier.imported.config.heads[layer]![head]!, heads[head]!];
          throw new ConfigError(
            `layer ${layer} is in both ${earlier.name} and ${shard.name} and they differ (head ${head}: ${headText(was)} vs ${headText(is)}); give each layer to one shard, or write shards with --format sparsescope so each says which layers it searched`,
          );
        }
        continue;
      }
      source.set(layer, shard);
      config.heads[layer] = heads.map((entry) => ({ ...entry }));
    }
  }
  const warnings = shards.flatMap((shard) => shard.imported.warnings);
  const missing = config.heads.map((_, layer) => layer).filter((layer) => !source.has(layer));
  if (missing.length > 0) warnings.push(`layers ${layerRanges(missing)} are in no input: they keep MInference's default`);
  const hashes = new Set(shards.flatMap((shard) => (shard.captureHash ? [shard.captureHash] : [])));
  if (hashes.size > 1) warnings.push('the inputs were searched on different captures');
  return { config, format: first.format as MergeFormat, ...mergedSettings(shards, [...source.keys()].sort((x, y) => x - y), numLayers), warnings };
}

/** The first Sparsescope input's search settings, over the layers covered (no layer list when that is all of them). */
function mergedSettings(shards: readonly Shard[], covered: number[], numLayers: number): { settings?: SearchSettings } {
  const searched = shards.find((shard) => shard.settings)?.settings;
  if (!searched) return {};
  const { layers: _shardLayers, ...settings } = searched;
  return { settings: covered.length === numLayers ? settings : { ...settings, layers: covered } };
}
