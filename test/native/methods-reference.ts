/**
 * Float64 references of the XAttention and FlexPrefill index definitions (the header comments of
 * native/src/ops/xattention_index.h and flexprefill_index.h), written by brute force from the
 * text: every antidiagonal sum, every probability and every sort is recomputed here, sharing only
 * the dense helpers of reference.ts.
 */
import { BLOCK, probabilityRow, topK, type Problem } from './reference.js';
import { xattentionMasses as sharedMasses } from './xattention-masses.js';

const kvHeadOf = (problem: Problem, head: number) => Math.floor(head / (problem.numHeads / problem.numKvHeads));

/** Element x of row i of head h of q or k, zero past N. */
function element(problem: Problem, tensor: 'q' | 'k', h: number, i: number, x: number): number {
  return i < problem.seqLen ? problem[tensor].values[(h * problem.seqLen + i) * problem.headDim + x]! : 0;
}

/** Descending order of values, ties to the lower index. */
function descending(values: ArrayLike<number>): number[] {
  return Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[b]! - values[a]! || a - b);
}

/** XAttention's block masses mass[m][n], n <= m, float64 (the shared plain-JS reference). */
export function xattentionMasses(problem: Problem, head: number, stride: number, blockSize: number): number[][] {
  return sharedMasses(problem, problem.q.values, problem.k.values, head, stride, blockSize);
}

/** XAttention's kept key blocks per query block (ascending). */
export function xattentionKept(mass: number[][], thresholdThousandths: number): number[][] {
  return mass.map((row, m) => {
    const total = row.slice(0, m + 1).reduce((a, b) => a + b, 0);
    const kept = m > 0 ? [0, m] : [0];
    let cumulative = kept.reduce((acc, n) => acc + row[n]!, 0);
    const others = row.slice(1, Math.max(1, m));
    for (const at of descending(others)) {
      if (!(cumulative < (total * thresholdThousandths) / 1000)) break;
      kept.push(at + 1);
      cumulative += others[at]!;
    }
    return kept.sort((a, b) => a - b);
  });
}

/** Tiles per 64-row query block of a method's kept blocks: the 64-wide tiles starting before the block's last row. */
export function keptTiles(kept: number[][], blockSize: number, seqLen: number): number[][] {
  return Array.from({ length: Math.ceil(seqLen / BLOCK) }, (_, q) => {
    const rowEnd = Math.min(q * BLOCK + BLOCK, seqLen);
    return kept[Math.floor((q * BLOCK) / blockSize)]!.flatMap((n) =>
      Array.from({ length: blockSize / BLOCK }, (_, t) => n * blockSize + t * BLOCK).filter((start) => start < rowEnd),
    );
  });
}

export interface FlexPrefillReference {
  dense: boolean;
  queryAware: boolean;
  verticals: number[];
  slashes: number[];
  kept: number[][];
}

const meanOfRows = (problem: Problem, tensor: 'q' | 'k', h: number, first: number, end: number) =>
  Array.from({ length: problem.headDim }, (_, x) => {
    let sum = 0;
    for (let i = first; i < end; i++) sum += element(problem, tensor, h, i, x);
    return sum / (end - first);
  });
const dot = (a: number[], b: number[]) => a.reduce((acc, x, i) => acc + x * b[i]!, 0);
const softmax = (logits: number[]) => {
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / total);
};
function coverCount(values: Float64Array, gamma: number): number {
  const sorted = Array.from(values).sort((a, b) => b - a);
  let cumulative = 0;
  let count = 0;
  for (const value of sorted) {
    cumulative += value;
    if (cumulative <= gamma) count++;
  }
  return count + 1;
}

/** FlexPrefill's choice for one head (flexprefill_index.h), float64. */
export function flexprefillChoice(problem: Problem, head: number, gammaThousandths: number, tauThousandths: number, blockSize: number, minBudget: number): FlexPrefillReference {
  const { seqLen: n, headDim: d } = problem;
  const blocks = Math.ceil(n / blockSize);
  const minBlocks = Math.ceil(minBudget / blockSize);
  if (n <= Math.max(2 * blockSize, minBlocks * blockSize)) return { dense: true, queryAware: false, verticals: [], slashes: [], kept: [] };
  const vertical = new Float64Array(n);
  const slash = new Float64Array(n);
  for (let i = n - blockSize; i < n; i++) {
    const p = probabilityRow(problem, head, i);
    for (let j = 0; j <= i; j++) {
      vertical[j]! += p[j]! / blockSize;
      slash[i - j]! += p[j]! / blockSize;
    }
  }
  const verticalBlocks = new Array<number>(blocks).fill(0);
  const slashBlocks = new Array<number>(blocks).fill(0);
  vertical.forEach((value, j) => (verticalBlocks[Math.floor(j / blockSize)]! += value));
  slash.forEach((value, o) => (slashBlocks[blocks - 1 - Math.floor((n - 1 - o) / blockSize)]! += value));
  const gamma = gammaThousandths / 1000;
  const clampBlocks = (count: number) => Math.min(blocks, Math.max(minBlocks, count));
  let verticalCount = clampBlocks(Math.floor(coverCount(vertical, gamma) / blockSize) + 1);
  let slashCount = clampBlocks(Math.floor(coverCount(slash, gamma) / blockSize) + 1);
  const kv = kvHeadOf(problem, head);
  const pooledKeys = Array.from({ length: blocks }, (_, b) => meanOfRows(problem, 'k', kv, b * blockSize, Math.min(n, b * blockSize + blockSize)));
  const lastMean = meanOfRows(problem, 'q', head, n - blockSize, n);
  const estimate = softmax(pooledKeys.map((key) => dot(lastMean, key) / Math.sqrt(d)));
  const term = (x: number, mean: number) => (x > 0 ? x * Math.log(x / mean) : 0);
  const js = estimate.reduce((acc, p, b) => {
    const mean = (p + verticalBlocks[b]!) / 2;
    return acc + 0.5 * term(p, mean) + 0.5 * term(verticalBlocks[b]!, mean);
  }, 0);
  const queryAware = Math.sqrt(Math.max(0, js)) < tauThousandths / 1000;
  if (queryAware) verticalCount = slashCount = Math.min(minBlocks, blocks);
  verticalBlocks[0] = Infinity;
  slashBlocks[0] = Infinity;
  const verticals = topK(verticalBlocks, Math.max(1, verticalCount));
  const slashes = topK(slashBlocks, Math.max(1, slashCount));
  const kept = Array.from({ length: blocks }, (_, m) => new Set([...verticals.filter((b) => b <= m), ...slashes.filter((s) => s <= m).map((s) => m - s)]));
  if (queryAware) {
    const probability = new Array<number>(blocks * blocks).fill(0);
    for (let m = 0; m < blocks; m++) {
      const pooledQuery = meanOfRows(problem, 'q', head, m * blockSize, Math.min(n, m * blockSize + blockSize));
      softmax(pooledKeys.slice(0, m + 1).map((key) => dot(pooledQuery, key) / Math.sqrt(d))).forEach((p, b) => (probability[m * blocks + b] = p));
    }
    let cumulative = 0;
    for (const flat of descending(probability)) {
      cumulative += probability[flat]!;
      if (cumulative > gamma * blocks) break;
      if (flat % blocks <= Math.floor(flat / blocks)) kept[Math.floor(flat / blocks)]!.add(flat % blocks);
    }
  }
  return { dense: false, queryAware, verticals, slashes, kept: kept.map((set) => [...set].sort((a, b) => a - b)) };
}
