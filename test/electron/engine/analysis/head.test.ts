import { describe, expect, it } from 'vitest';
import type { HeadEvaluation, HeadPattern } from '../../../../contract/api.js';
import { analyzeCapture } from '../../../../electron/engine/analysis/analyze.js';
import { evaluatedRows, headInputs, resolveBackend } from '../../../../electron/engine/analysis/common.js';
import { costModel } from '../../../../electron/engine/analysis/cost-model.js';
import { HeadCache } from '../../../../electron/engine/analysis/head-cache.js';
import { budgetCurve, evaluateHead, maskCoverage, maskGeometry, pooledMap } from '../../../../electron/engine/analysis/head.js';
import { computedIntervals } from '../../../../electron/engine/analysis/index-geometry.js';
import { HeadProbe } from '../../../../electron/engine/analysis/probe.js';
import { decodeFloats } from '../../../../electron/engine/synthetic/float-codec.js';
import { syntheticCapture } from '../../../../electron/engine/synthetic/memory-capture.js';
import type { NativeModule } from '../../../../electron/engine/native-api.js';
import { nativeOrReference } from './native-or-reference.js';
import { referenceNative } from './reference-native.js';

const N = 320; // not a multiple of 64
const capture = syntheticCapture({ seqLen: N, layers: 2, heads: 4, kvHeads: 2, headDim: 32, seed: 3, dtype: 'F32' });
const built = await nativeOrReference();
/** Every test runs on the TypeScript reference, and on the native addon when it is built. */
const implementations: [string, NativeModule][] = [['reference', referenceNative()], ...(built.kind === 'native' ? [['native', built.native] as [string, NativeModule]] : [])];
const ALL_ROWS = { mode: 'exact' } as const;

/** Float64 attention probabilities of row i of (layer 0, head), independent of the engine. */
async function probabilities(head: number, i: number): Promise<Float64Array> {
  const q = decodeFloats(await capture.readHead(0, 'q', head), 'F32');
  const k = decodeFloats(await capture.readHead(0, 'k', Math.floor(head / 2)), 'F32');
  const s = Float64Array.from({ length: i + 1 }, (_, j) => {
    let dot = 0;
    for (let x = 0; x < 32; x++) dot += q[i * 32 + x]! * k[j * 32 + x]!;
    return dot / Math.sqrt(32);
  });
  const max = Math.max(...s);
  const e = s.map((v) => Math.exp(v - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** A-shape membership, straight from spec 2.1. */
const inStream = (nInit: number, nLocal: number) => (i: number, j: number) => j <= i && (j < nInit || j > i - nLocal);

describe('evaluated rows', () => {
  it('uses rows >= 2500 only when N > 5000, all of them in exact mode', () => {
    expect(evaluatedRows(4096, ALL_ROWS)).toHaveLength(4096);
    const rows = evaluatedRows(8000, ALL_ROWS);
    expect(rows[0]).toBe(2500);
    expect(rows).toHaveLength(5500);
  });

  it('samples a seeded, sorted, distinct subset', () => {
    const a = evaluatedRows(8000, { mode: 'sampled', rows: 300, seed: 1 });
    expect(a).toHaveLength(300);
    expect(new Set(a).size).toBe(300);
    expect([...a]).toEqual([...a].sort((x, y) => x - y));
    expect(Math.min(...a)).toBeGreaterThanOrEqual(2500);
    expect(a).toEqual(evaluatedRows(8000, { mode: 'sampled', rows: 300, seed: 1 }));
    expect(a).not.toEqual(evaluatedRows(8000, { mode: 'sampled', rows: 300, seed: 2 }));
  });
});

describe.each(implementations)('on the %s implementation', (name, native) => {
  describe('backend', () => {
    it('resolves auto to the CPU without CUDA and refuses an explicit cuda', () => {
      expect(resolveBackend(native, 'auto').backend).toBe('cpu');
      if (name === 'reference') expect(() => resolveBackend(native, 'cuda')).toThrow(/CUDA is not available: reference implementation/);
    });
  });

  describe('pooledMap', () => {
    it('pools the whole map: every row of mass sums to 1 over its cells', async () => {
      const map = await pooledMap(native, capture, { layer: 0, head: 1, resolution: 16, sampling: ALL_ROWS, backend: 'auto' });
      expect([map.rows, map.cols, map.rowsUsed, map.backend]).toEqual([16, 16, N, 'cpu']);
      for (let r = 0; r < 16; r++) expect(map.mean.subarray(r * 16, r * 16 + 16).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    });

    it('gives one cell per token when zoomed in below the resolution, clamping the region', async () => {
      const map = await pooledMap(native, capture, { layer: 0, head: 0, resolution: 64, region: { rowStart: 280, rowEnd: 400, colStart: 0, colEnd: 20 }, sampling: ALL_ROWS, backend: 'auto' });
      expect(map.region).toEqual({ rowStart: 280, rowEnd: N, colStart: 0, colEnd: 20 });
      expect([map.rows, map.cols]).toEqual([40, 20]);
      const p = await probabilities(0, 290);
      for (let c = 0; c < 20; c++) expect(map.mean[10 * 20 + c]).toBeCloseTo(p[c]!, 5);
    });

    it('samples rows from every cell row, and refuses an empty region', async () => {
      // 320 rows in 7 cell rows: uneven cells, each must still get its sampled rows.
      const map = await pooledMap(native, capture, { layer: 0, head: 0, resolution: 7, sampling: { mode: 'sampled', rows: 14, seed: 0 }, backend: 'auto' });
      expect(map.rowsUsed).toBe(14);
      for (let r = 0; r < 7; r++) expect(map.mean.subarray(r * 7, r * 7 + 7).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      // 10 rows in 4 cell rows (3, 2, 3, 2 rows): one sampled row must land in each, whatever the seed.
      for (let seed = 0; seed < 12; seed++) {
        const small = await pooledMap(native, capture, { layer: 0, head: 0, resolution: 4, region: { rowStart: 300, rowEnd: 310, colStart: 0, colEnd: N }, sampling: { mode: 'sampled', rows: 4, seed }, backend: 'auto' });
        for (let r = 0; r < 4; r++) expect(small.mean.subarray(r * 4, r * 4 + 4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      }
      await expect(pooledMap(native, capture, { layer: 0, head: 0, resolution: 8, region: { rowStart: 10, rowEnd: 10, colStart: 0, colEnd: 5 }, sampling: ALL_ROWS, backend: 'auto' })).rejects.toThrow(
        /region \[10, 10\) x \[0, 5\) is empty/,
      );
    });
  });

  describe('maskGeometry', () => {
    it('covers exactly the A-shape entries, per token, with the matching density', async () => {
      const pattern: HeadPattern = { pattern: 'stream_llm', a: 8, b: 40 };
      const mask = await maskGeometry(native, capture, { layer: 0, head: 2, pattern, resolution: N });
      const member = inStream(8, 40);
      let computed = 0;
      let wrong = 0;
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          if (mask.coverage[i * N + j] !== (member(i, j) ? 1 : 0)) wrong++;
          if (member(i, j)) computed++;
        }
      }
      expect(wrong).toBe(0);
      expect(mask.density).toBeCloseTo(computed / ((N * (N + 1)) / 2), 9);
    });

    it('pools coverage into cells as the computed fraction of their causal entries', async () => {
      const mask = await maskGeometry(native, capture, { layer: 0, head: 2, pattern: { pattern: 'dense', a: 0, b: 0 }, resolution: 10 });
      expect(Array.from(mask.coverage).every((c, cell) => (Math.floor(cell / 10) >= cell % 10 ? c === 1 : c === 0))).toBe(true);
      const vs = await maskGeometry(native, capture, { layer: 0, head: 0, pattern: { pattern: 'vertical_and_slash', a: 30, b: 50 }, resolution: 10 });
      expect(vs.slashOffsets.slice(0, 3)).toEqual([0, 1, 2]);
      expect(vs.verticalColumns.slice(0, 3)).toEqual([0, 1, 2]);
    });
    it('pools every pattern exactly as a per-token count of the computed keys, on an unaligned region and grid', async () => {
      const region = { rowStart: 37, rowEnd: 301, colStart: 5, colEnd: 290 };
      const [rows, cols] = [11, 13];
      const edge = (start: number, end: number, cells: number, c: number) => start + Math.ceil(((end - start) * c) / cells);
      const patterns: [number, HeadPattern][] = [
        [0, { pattern: 'vertical_and_slash', a: 30, b: 50 }],
        [1, { pattern: 'block_sparse', a: 2, b: 0 }],
        [2, { pattern: 'stream_llm', a: 8, b: 40 }],
        [3, { pattern: 'dense', a: 0, b: 0 }],
      ];
      for (const [head, pattern] of patterns) {
        const index = await new HeadProbe(native, await headInputs(capture, 0, head, false), 'cpu', new Int32Array()).index(pattern);
        const expected = new Float32Array(rows * cols);
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            const [c0, c1] = [edge(region.colStart, region.colEnd, cols, c), edge(region.colStart, region.colEnd, cols, c + 1)];
            let computed = 0;
            let causalEntries = 0;
            for (let i = edge(region.rowStart, region.rowEnd, rows, r); i < edge(region.rowStart, region.rowEnd, rows, r + 1); i++) {
              causalEntries += Math.max(0, Math.min(c1, i + 1) - c0);
              for (const [from, to] of computedIntervals(index, 0, i)) computed += Math.max(0, Math.min(to, c1) - Math.max(from, c0));
            }
            expected[r * cols + c] = causalEntries > 0 ? computed / causalEntries : 0;
          }
        }
        expect(maskCoverage(index, region, rows, cols), pattern.pattern).toEqual(expected);
      }
    });
  });

  describe('evaluateHead', () => {
    it('gives recall 1 and no output error for dense', async () => {
      const evaluation = await evaluateHead(native, capture, { layer: 0, head: 1, pattern: { pattern: 'dense', a: 0, b: 0 }, sampling: ALL_ROWS, stripRows: 8, backend: 'auto', lastQ: 64 });
      expect(evaluation.stats.recall).toBeCloseTo(1, 6);
      expect(evaluation.stats.outputRelError).toBeLessThan(1e-6);
      expect(evaluation.stats.density).toBe(1);
      expect(evaluation.rowRecall.recall).toHaveLength(8);
    });

    it('measures recall against an independent float64 computation of the A-shape set', async () => {
      const rows = evaluatedRows(N, { mode: 'sampled', rows: 40, seed: 9 });
      const member = inStream(4, 16);
      let expected = 0;
      for (const i of rows) expected += (await probabilities(3, i)).reduce((sum, p, j) => sum + (member(i, j) ? p : 0), 0) / rows.length;
      const evaluation = await evaluateHead(native, capture, { layer: 0, head: 3, pattern: { pattern: 'stream_llm', a: 4, b: 16 }, sampling: { mode: 'sampled', rows: 40, seed: 9 }, stripRows: 4, backend: 'auto', lastQ: 64 });
      expect(evaluation.stats.rowsUsed).toBe(40);
      expect(evaluation.stats.recall).toBeCloseTo(expected, 5);
      expect(evaluation.stats.recall).toBeLessThan(1);
      expect(evaluation.stats.outputRelError).toBeGreaterThan(0);
      // Timings of 40 rows are no speedup: the evaluation predicts full-row times from its cost model.
      const { denseMs, indexMs, sparseMs, speedup, speedupKind } = evaluation.stats;
      expect(speedupKind).toBe('predicted');
      expect(speedup).toBeCloseTo(denseMs / (indexMs + sparseMs), 9);
      expect(Math.min(denseMs, sparseMs)).toBeGreaterThan(0);
    });

    it('stops when cancelled', async () => {
      const cancel = new Int32Array(new SharedArrayBuffer(4));
      cancel[0] = 1;
      await expect(
        evaluateHead(native, capture, { layer: 0, head: 0, pattern: { pattern: 'dense', a: 0, b: 0 }, sampling: ALL_ROWS, stripRows: 8, backend: 'auto', lastQ: 64 }, { cancel }),
      ).rejects.toThrow('cancelled');
    });
  });

  describe("with the worker's head cache", () => {
    /** The native module, counting the calls a budget change should not repeat. */
    function counting(inner: NativeModule) {
      const calls = { dense: 0, index: 0 };
      const counted: NativeModule = {
        ...inner,
        denseAttention: (...args) => (calls.dense++, inner.denseAttention(...args)),
        buildIndex: (...args) => (calls.index++, inner.buildIndex(...args)),
      };
      return { counted, calls };
    }
    const withoutTimes = (evaluation: HeadEvaluation) => ({ ...evaluation, stats: { ...evaluation.stats, denseMs: 0, indexMs: 0, sparseMs: 0, speedup: 0 } });

    it('gives the same evaluations and masks as without it, computing dense rows once per head and an index once per pattern', async () => {
      const cache = new HeadCache();
      const { counted, calls } = counting(native);
      // The cost model calibrates once per native module; only the evaluations' own calls count.
      await costModel(counted, await headInputs(capture, 1, 0, true), resolveBackend(native, 'auto').backend);
      Object.assign(calls, { dense: 0, index: 0 });
      const vs = (a: number, b: number): HeadPattern => ({ pattern: 'vertical_and_slash', a, b });
      const steps: { layer: number; head: number; pattern: HeadPattern; rows: number }[] = [
        { layer: 1, head: 0, pattern: vs(30, 50), rows: 60 },
        { layer: 1, head: 0, pattern: vs(60, 90), rows: 60 },
        { layer: 1, head: 1, pattern: vs(60, 90), rows: 60 },
        { layer: 0, head: 0, pattern: vs(60, 90), rows: 60 },
        { layer: 1, head: 0, pattern: { pattern: 'block_sparse', a: 2, b: 0 }, rows: 60 },
        { layer: 1, head: 0, pattern: vs(30, 50), rows: 90 },
        { layer: 1, head: 0, pattern: vs(30, 50), rows: 60 },
      ];
      for (const { layer, head, pattern, rows } of steps) {
        const params = { layer, head, pattern, sampling: { mode: 'sampled', rows, seed: 4 }, stripRows: 8, backend: 'auto', lastQ: 64 } as const;
        expect(withoutTimes(await evaluateHead(counted, capture, params, undefined, cache))).toEqual(withoutTimes(await evaluateHead(native, capture, params)));
        const maskParams = { layer, head, pattern, resolution: 16 };
        expect(await maskGeometry(counted, capture, maskParams, undefined, cache)).toEqual(await maskGeometry(native, capture, maskParams));
      }
      expect(calls).toEqual({ dense: 4, index: 5 }); // 4 (layer, head, rows) and 5 (layer, head, pattern) distinct
    });
  });

  describe('budgetCurve', () => {
    it('grows recall and density along each family ladder', async () => {
      for (const pattern of ['stream_llm', 'vertical_and_slash', 'block_sparse'] as const) {
        const curve = await budgetCurve(native, capture, { layer: 1, head: 0, pattern, sampling: { mode: 'sampled', rows: 64, seed: 0 } });
        expect(curve.points.length).toBeGreaterThan(3);
        for (let p = 1; p < curve.points.length; p++) {
          expect(curve.points[p]!.recall).toBeGreaterThanOrEqual(curve.points[p - 1]!.recall - 1e-6);
          expect(curve.points[p]!.density).toBeGreaterThanOrEqual(curve.points[p - 1]!.density - 1e-9);
        }
        expect(curve.points.at(-1)!.recall).toBeGreaterThan(0.99);
      }
    });
  });

  describe('analyzeCapture', () => {
    it('reports every head with MInference defaults where the config is silent', async () => {
      const fractions: number[] = [];
      const config = { numLayers: 2, numHeads: 4, heads: [[{ pattern: 'stream_llm' as const, a: 4, b: 32 }]] };
      const report = await analyzeCapture(native, capture, { config, backend: 'auto', sampling: { mode: 'sampled', rows: 32, seed: 0 } }, (f) => fractions.push(f));
      expect(report.heads).toHaveLength(8);
      expect(report.heads[0]).toMatchObject({ layer: 0, head: 0, pattern: 'stream_llm', params: [4, 32], rowsUsed: 32 });
      expect(report.heads[1]).toMatchObject({ pattern: 'vertical_and_slash', params: [1000, 6096] });
      expect(report.heads[0]!.recall).toBeLessThan(report.heads[1]!.recall);
      expect(report.totals.minRecall).toBe(Math.min(...report.heads.map((h) => h.recall)));
      for (const head of report.heads) {
        expect(head.speedupKind).toBe('measured');
        expect(head.speedup).toBeCloseTo(head.denseMs / (head.indexMs + head.sparseMs), 9);
      }
      expect(report.totals.speedupKind).toBe('measured');
      expect(fractions.at(-1)).toBe(1);
    });

    it('names missing layers and mismatched configs', async () => {
      await expect(analyzeCapture(native, capture, { layers: [5], backend: 'auto', sampling: ALL_ROWS })).rejects.toThrow(/layers 5 are not in the capture/);
      await expect(analyzeCapture(native, capture, { config: { numLayers: 2, numHeads: 3, heads: [] }, backend: 'auto', sampling: ALL_ROWS })).rejects.toThrow(/config has 3 heads per layer but the capture has 4/);
    });
  });
});
