/**
 * Predicted full-row timings of one head (spec 2.2, a *predicted* speedup): a cost model of the
 * backend, measured once per engine process, turns a pattern's density into milliseconds. The
 * interactive paths (head view, tune) use it, since timing a head's full rows on every budget
 * change would be far too slow there.
 *
 * Calibration times, on the first tokens of a real head (after a warm-up, median of repeats), the
 * dense pre-fill and, for each pattern family, the index build and the sparse pre-fill; it fits
 * milliseconds per score entry (dense; sparse per family) and per unit of index work per family.
 */
import type { HeadPattern, PatternName } from '../../../contract/api.js';
import type { AttentionInputs, NativeBackend, NativeModule } from '../native-api.js';
import { causalEntries, encodePatterns, indexWork, throwIfCancelled, timed, type Control } from './common.js';

export interface CostModel {
  /** Milliseconds per causal score entry of the dense pre-fill. */
  denseMsPerEntry: number;
  /** Milliseconds per computed score entry of the sparse pre-fill, per family. */
  sparseMsPerEntry: Record<PatternName, number>;
  /** Milliseconds per unit of indexWork, per family. */
  indexMsPerUnit: Record<PatternName, number>;
}

export interface PredictedTimes {
  denseMs: number;
  indexMs: number;
  sparseMs: number;
}

/**
 * Tokens the calibration times: enough that per-call overheads are small next to the work (a GPU
 * needs more work to fill than a CPU), few enough that calibrating takes a fraction of a second.
 */
const CALIBRATION_TOKENS: Record<NativeBackend, number> = { cpu: 4096, cuda: 32768 };
const CALIBRATION_REPEATS = 3;

/** One moderate budget per family (about a third of the entries at 4K tokens). */
const CALIBRATION_PATTERNS: readonly HeadPattern[] = [
  { pattern: 'vertical_and_slash', a: 100, b: 500 },
  { pattern: 'stream_llm', a: 128, b: 512 },
  { pattern: 'block_sparse', a: 8, b: 0 },
  { pattern: 'dense', a: 0, b: 0 },
];

const NO_COST: Record<PatternName, number> = { vertical_and_slash: 0, stream_llm: 0, block_sparse: 0, dense: 0 };

/** The first `tokens` tokens of a one-head input (layout [1, N, D], so a prefix is a subarray). */
function prefixOf(inputs: AttentionInputs, tokens: number): AttentionInputs {
  const bytes = (inputs.q.byteLength / inputs.seqLen) * tokens;
  return { ...inputs, seqLen: tokens, q: inputs.q.subarray(0, bytes), k: inputs.k.subarray(0, bytes), ...(inputs.v ? { v: inputs.v.subarray(0, bytes) } : {}) };
}

async function calibrate(native: NativeModule, inputs: AttentionInputs, backend: NativeBackend): Promise<CostModel> {
  const run = <T extends { ms: number }>(work: () => Promise<T>) => timed(CALIBRATION_REPEATS, work);
  const causal = causalEntries(inputs.seqLen);
  const dense = await run(() => native.denseAttention(inputs, { backend }));
  const model: CostModel = { denseMsPerEntry: dense.ms / causal, sparseMsPerEntry: { ...NO_COST }, indexMsPerUnit: { ...NO_COST } };
  for (const pattern of CALIBRATION_PATTERNS) {
    const encoded = encodePatterns([pattern]);
    const index = await run(() => native.buildIndex(inputs, encoded, { backend }));
    const sparse = await run(() => native.sparseAttention(inputs, index.result, { backend }));
    model.indexMsPerUnit[pattern.pattern] = index.ms / indexWork(pattern.pattern, inputs.seqLen);
    model.sparseMsPerEntry[pattern.pattern] = sparse.ms / Math.max(1, (index.result.density[0] ?? 1) * causal);
  }
  return model;
}

/** Calibrated models of this engine process, by backend and input shape. */
const models = new Map<string, Promise<CostModel>>();

/**
 * The cost model of `backend` for heads shaped like `head` (a one-head input: its dtype and head
 * dim matter), calibrated on the head's first tokens the first time and kept for the process.
 * Calibrating takes well under a second and is shared by concurrent callers, so no caller's cancel
 * stops it; a failed calibration is not kept.
 */
export async function costModel(native: NativeModule, head: AttentionInputs, backend: NativeBackend, control?: Control): Promise<CostModel> {
  const tokens = Math.min(head.seqLen, CALIBRATION_TOKENS[backend]);
  const key = `${backend} ${head.dtype} D${head.headDim} N${tokens}`;
  let model = models.get(key);
  if (!model) {
    model = calibrate(native, prefixOf(head, tokens), backend);
    models.set(key, model);
    model.catch(() => models.delete(key));
  }
  const calibrated = await model;
  throwIfCancelled(control);
  return calibrated;
}

/** Full-row times of one head of `seqLen` tokens with `pattern` at `density`, as the model predicts them. */
export function predictTimes(model: CostModel, pattern: PatternName, density: number, seqLen: number): PredictedTimes {
  const causal = causalEntries(seqLen);
  return {
    denseMs: model.denseMsPerEntry * causal,
    indexMs: model.indexMsPerUnit[pattern] * indexWork(pattern, seqLen),
    sparseMs: model.sparseMsPerEntry[pattern] * density * causal,
  };
}
