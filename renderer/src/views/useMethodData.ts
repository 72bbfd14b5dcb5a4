/**
 * What the Methods view shows of one head: each method's measures (the search's for its choices,
 * else `head.evaluate` on sampled rows) and the head's map once with each method's mask over it.
 */
import type { HeadStats, MaskGeometry, MethodSettings, PooledMap, SearchMethod } from '../../../contract/api';
import { useApi } from '../state/context';
import { patternKey, type MethodEntry } from '../state/methods';
import { useCallCache, type CallResult } from './useCallCache';

/** Cells of the map and masks: about one per pixel of a tile. */
export const METHOD_MAP_RESOLUTION = 256;

export interface MethodHead {
  captureId: string;
  layer: number;
  head: number;
  methodSettings: MethodSettings;
}

const headPart = ({ captureId, layer, head, methodSettings }: MethodHead) =>
  `${captureId}:${layer}:${head}:${methodSettings.xattentionBlockSize}:${methodSettings.flexprefillBlockSize}:${methodSettings.flexprefillMinBudget}`;

export interface MethodMeasures {
  stats: Partial<Record<SearchMethod, HeadStats>>;
  errors: Partial<Record<SearchMethod, string>>;
}

function split<T>(entries: MethodEntry[], resultOf: (entry: MethodEntry) => CallResult<T> | undefined): { values: Partial<Record<SearchMethod, T>>; errors: Partial<Record<SearchMethod, string>> } {
  const values: Partial<Record<SearchMethod, T>> = {};
  const errors: Partial<Record<SearchMethod, string>> = {};
  for (const entry of entries) {
    const result = resultOf(entry);
    if (result && 'value' in result) values[entry.method] = result.value;
    if (result && 'error' in result) errors[entry.method] = result.error;
  }
  return { values, errors };
}

export function useMethodMeasures(head: MethodHead, entries: MethodEntry[]): MethodMeasures {
  const api = useApi();
  const keyOf = (entry: MethodEntry) => `${headPart(head)}:${patternKey(entry.pattern)}`;
  const evaluated = useCallCache<HeadStats>(
    entries
      .filter((entry) => !entry.choice)
      .map((entry) => ({
        key: keyOf(entry),
        run: () => api.call('head.evaluate', { captureId: head.captureId, layer: head.layer, head: head.head, pattern: entry.pattern, methodSettings: head.methodSettings, staleKey: `methods-${entry.method}` }).then((e) => e.stats),
      })),
  );
  const { values, errors } = split<HeadStats>(entries, (entry) => (entry.choice ? { value: entry.choice.stats } : evaluated(keyOf(entry))));
  return { stats: values, errors };
}

export interface MethodMaps {
  map: CallResult<PooledMap> | undefined;
  masks: Partial<Record<SearchMethod, MaskGeometry>>;
  maskErrors: Partial<Record<SearchMethod, string>>;
}

export function useMethodMaps(head: MethodHead, entries: MethodEntry[]): MethodMaps {
  const api = useApi();
  const grid = { captureId: head.captureId, layer: head.layer, head: head.head, resolution: METHOD_MAP_RESOLUTION };
  const mapKey = `map:${head.captureId}:${head.layer}:${head.head}`;
  const maskKey = (entry: MethodEntry) => `mask:${headPart(head)}:${patternKey(entry.pattern)}`;
  const results = useCallCache<PooledMap | MaskGeometry>([
    { key: mapKey, run: () => api.call('head.pooledMap', grid) },
    ...entries.map((entry) => ({ key: maskKey(entry), run: () => api.call('head.mask', { ...grid, pattern: entry.pattern, methodSettings: head.methodSettings }) })),
  ]);
  const { values, errors } = split(entries, (entry) => results(maskKey(entry)) as CallResult<MaskGeometry> | undefined);
  return { map: results(mapKey) as CallResult<PooledMap> | undefined, masks: values, maskErrors: errors };
}
