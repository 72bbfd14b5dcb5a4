/**
 * Sparsescope head configs: every head's pattern and parameters plus the provenance MInference's
 * format cannot carry (model, capture hash, search settings, measured recall, error, density,
 * speedup). Validated with zod on import; ragged layers and counts that disagree are refused.
 */
import { z } from 'zod';
import { DType, HeadPattern, PatternName, Report, RuntimeSettings, SearchSettings, type CaptureSummary, type HeadConfig, type HeadStats } from '../../../contract/api.js';
import { ConfigError } from './minference.js';

export const SPARSESCOPE_CONFIG_VERSION = 'sparsescope.config/1';

const Budget = HeadPattern.shape.a;

const SparsescopeHead = z.strictObject({
  pattern: PatternName,
  params: z.tuple([Budget, Budget]),
  /** MInference's opaque 4th field, kept for a faithful export back to that format. */
  score: z.number().optional(),
  /** The parameters as the imported file wrote them, where its engine runs `params` instead. */
  asWritten: z.tuple([Budget, Budget]).optional(),
  recall: z.number().min(0).max(1).optional(),
  outputRelError: z.number().min(0).optional(),
  density: z.number().min(0).max(1).optional(),
  /** Measured dense_ms / (index_ms + sparse_ms) of this head, same backend and inputs. */
  speedup: z.number().positive().optional(),
});
type SparsescopeHead = z.infer<typeof SparsescopeHead>;

export const SparsescopeConfigFile = z.strictObject({
  version: z.literal(SPARSESCOPE_CONFIG_VERSION),
  model: z.string(),
  createdAt: z.string(),
  capture: z.strictObject({ fileName: z.string(), hash: z.string(), seqLen: z.number().int().positive(), dtype: DType }).nullable(),
  search: SearchSettings.nullable(),
  measured: z
    .strictObject({
      backend: Report.shape.backend,
      device: z.string(),
      dtype: DType,
      seqLen: z.number().int(),
      // Files written before speedups said how they were obtained have no speedupKind.
      totals: Report.shape.totals.extend({ speedupKind: Report.shape.totals.shape.speedupKind.optional() }),
    })
    .nullable(),
  numLayers: z.number().int().min(1).max(4096),
  numHeads: z.number().int().min(1).max(4096),
  /** SGLang/vLLM settings the config was imported with. */
  runtime: RuntimeSettings.strict().optional(),
  heads: z.array(z.array(SparsescopeHead)),
});
export type SparsescopeConfigFile = z.infer<typeof SparsescopeConfigFile>;

/** "heads.3.5.params.0" -> "layer 3 head 5 params.0", so messages name the head. */
function issuePath(path: readonly PropertyKey[]): string {
  if (path[0] === 'heads' && path.length >= 3) return `layer ${String(path[1])} head ${String(path[2])}${path.length > 3 ? ` ${path.slice(3).join('.')}` : ''}`;
  return path.length > 0 ? path.join('.') : 'document';
}

export function isSparsescopeDocument(json: unknown): json is { version: unknown } {
  return json !== null && typeof json === 'object' && !Array.isArray(json) && 'version' in json;
}

export function parseSparsescope(json: unknown, where: string): { config: HeadConfig; file: SparsescopeConfigFile } {
  if (isSparsescopeDocument(json) && json.version !== SPARSESCOPE_CONFIG_VERSION) {
    throw new ConfigError(`${where}: unsupported version ${JSON.stringify(json.version)} (this build reads "${SPARSESCOPE_CONFIG_VERSION}")`);
  }
  const parsed = SparsescopeConfigFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${where}: ${issuePath(issue?.path ?? [])}: ${issue?.message ?? 'invalid'}`);
  }
  const file = parsed.data;
  if (file.heads.length !== file.numLayers) throw new ConfigError(`${where}: heads lists ${file.heads.length} layers, numLayers is ${file.numLayers}`);
  file.heads.forEach((layer, l) => {
    if (layer.length !== file.numHeads) throw new ConfigError(`${where}: layer ${l} lists ${layer.length} heads, numHeads is ${file.numHeads} (ragged layers)`);
  });
  const heads = file.heads.map((layer) =>
    layer.map(({ pattern, params: [a, b], score, asWritten }) => ({
      pattern,
      a,
      b,
      ...(score === undefined ? {} : { score }),
      ...(asWritten ? { asWritten: { a: asWritten[0], b: asWritten[1] } } : {}),
    })),
  );
  return { config: { numLayers: file.numLayers, numHeads: file.numHeads, heads, ...(file.runtime ? { runtime: file.runtime } : {}) }, file };
}

export interface Provenance {
  capture?: CaptureSummary;
  report?: Report;
  settings?: SearchSettings;
}

/** A head's measures; its speedup only where it was measured (a predicted one is no provenance). */
function measuredHead(stats: HeadStats | undefined): Partial<SparsescopeHead> {
  if (!stats) return {};
  return {
    recall: stats.recall,
    outputRelError: stats.outputRelError,
    density: stats.density,
    ...(stats.speedupKind === 'measured' && stats.speedup > 0 ? { speedup: stats.speedup } : {}),
  };
}

export function sparsescopeText(config: HeadConfig, provenance: Provenance = {}, now: Date = new Date()): string {
  const { capture, report, settings } = provenance;
  const statsByHead = new Map(report?.heads.map((stats) => [`${stats.layer}/${stats.head}`, stats]));
  const file: SparsescopeConfigFile = {
    version: SPARSESCOPE_CONFIG_VERSION,
    model: capture?.model ?? '',
    createdAt: now.toISOString(),
    capture: capture ? { fileName: capture.fileName, hash: capture.hash, seqLen: capture.seqLen, dtype: capture.dtype } : null,
    search: settings ?? null,
    measured: report ? { backend: report.backend, device: report.device, dtype: report.dtype, seqLen: report.seqLen, totals: report.totals } : null,
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    ...(config.runtime ? { runtime: config.runtime } : {}),
    heads: config.heads.map((layer, l) =>
      layer.map(({ pattern, a, b, score, asWritten }, h) => ({
        pattern,
        params: [a, b] as [number, number],
        ...(score === undefined ? {} : { score }),
        ...(asWritten ? { asWritten: [asWritten.a, asWritten.b] as [number, number] } : {}),
        ...measuredHead(statsByHead.get(`${l}/${h}`)),
      })),
    ),
  };
  // One line per head keeps a 1,000-head file readable and diffable.
  const { heads, ...rest } = file;
  const headsText = heads.map((layer) => `    [\n${layer.map((head) => `      ${JSON.stringify(head)}`).join(',\n')}\n    ]`).join(',\n');
  return `${JSON.stringify(rest, null, 2).slice(0, -2)},\n  "heads": [\n${headsText}\n  ]\n}\n`;
}
