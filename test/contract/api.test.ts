import { describe, expect, it } from 'vitest';
import { ApiError, BenchResult, decodeWire, encodeWire, headRecallFloor, isMethodName, MAX_ERROR_ROWS, MAX_TOKENS_PER_CALL, methods, parseRequest } from '../../contract/api.js';

describe('parseRequest', () => {
  it('accepts every method with valid params and fills defaults', () => {
    const { params } = parseRequest('head.pooledMap', { captureId: 'c', layer: 0, head: 1, resolution: 256 });
    expect(params).toMatchObject({ backend: 'auto', sampling: { mode: 'sampled', rows: 1024, seed: 0 } });
    expect(parseRequest('device.info', undefined).params).toEqual({});
  });

  it('bounds a token range to MAX_TOKENS_PER_CALL tokens, end not before start', () => {
    expect(parseRequest('capture.tokens', { captureId: 'c', start: 10, end: 10 + MAX_TOKENS_PER_CALL }).params).toEqual({ captureId: 'c', start: 10, end: 10 + MAX_TOKENS_PER_CALL });
    expect(() => parseRequest('capture.tokens', { captureId: 'c', start: 10, end: 11 + MAX_TOKENS_PER_CALL })).toThrow(`capture.tokens: end: at most ${MAX_TOKENS_PER_CALL} tokens per call`);
    expect(() => parseRequest('capture.tokens', { captureId: 'c', start: 10, end: 9 })).toThrow('capture.tokens: end: end must not be before start');
    expect(() => parseRequest('capture.tokens', { captureId: 'c', start: -1, end: 9 })).toThrow(/capture.tokens: start:/);
  });

  it('refuses unknown methods, including inherited object keys', () => {
    expect(() => parseRequest('capture.delete', {})).toThrow(/unknown method "capture.delete"/);
    expect(() => parseRequest('toString', {})).toThrow(ApiError);
    expect(isMethodName('__proto__')).toBe(false);
    expect(isMethodName('job.start')).toBe(true);
  });

  it('names the offending field of a bad request', () => {
    expect(() => parseRequest('head.pooledMap', { captureId: 'c', layer: -1, head: 0, resolution: 256 })).toThrow(/head.pooledMap: layer:/);
    expect(() => parseRequest('head.pooledMap', { captureId: 'c', layer: 0, head: 0, resolution: 4096 })).toThrow(/resolution/);
    expect(() => parseRequest('head.evaluate', { captureId: 'c', layer: 0, head: 0, pattern: { pattern: 'diagonal', a: 1, b: 2 } })).toThrow(/pattern\.pattern/);
    expect(() => parseRequest('job.start', { kind: 'train' })).toThrow(/job.start: kind/);
    expect(() => parseRequest('capture.open', { path: '' })).toThrow(/path/);
  });

  it('bounds the kernel and output-error views to one query block and at most MAX_ERROR_ROWS rows', () => {
    const head = { captureId: 'c', layer: 0, head: 1, pattern: { pattern: 'vertical_and_slash', a: 30, b: 50 } };
    expect(parseRequest('head.kernelBlocks', { ...head, queryBlock: 3 }).params).toMatchObject({ queryBlock: 3, lastQ: 64 });
    expect(() => parseRequest('head.kernelBlocks', { ...head, queryBlock: -1 })).toThrow(/head.kernelBlocks: queryBlock:/);
    expect(parseRequest('head.outputError', head).params).toMatchObject({ rows: 256, seed: 0, top: 12, backend: 'auto' });
    expect(() => parseRequest('head.outputError', { ...head, rows: MAX_ERROR_ROWS + 1 })).toThrow(/head.outputError: rows:/);
    expect(() => parseRequest('head.outputError', { ...head, top: 65 })).toThrow(/head.outputError: top:/);
  });

  it('validates job specs per kind', () => {
    const { params } = parseRequest('job.start', { kind: 'bench', sweep: [8192, 16384] });
    expect(params).toEqual({ kind: 'bench', sweep: [8192, 16384], backend: 'auto', repeat: 3 });
    expect(() => parseRequest('job.start', { kind: 'bench', sweep: [8] })).toThrow(/sweep/);
    expect(() => parseRequest('job.start', { kind: 'search', captureId: 'c', settings: { mode: 'target-recall', targetRecall: 1.5 } })).toThrow(/targetRecall/);
  });

  it('holds a layer-mean search to MInference\'s patterns and a floor at or below its target', () => {
    const search = (settings: object) => parseRequest('job.start', { kind: 'search', captureId: 'c', settings: { mode: 'target-recall', targetRecall: 0.95, ...settings } });
    expect(search({ recallScope: 'layer', minHeadRecall: 0.9 }).params).toMatchObject({ settings: { recallScope: 'layer', minHeadRecall: 0.9 } });
    expect(() => search({ recallScope: 'layer', methods: ['minference', 'duo'] })).toThrow(/recallScope: a layer-mean recall is searched over MInference patterns only/);
    expect(() => search({ recallScope: 'layer', minHeadRecall: 0.97 })).toThrow(/minHeadRecall: minHeadRecall is above targetRecall/);
    expect(() => search({ recallScope: 'model' })).toThrow(/recallScope/);
    expect(headRecallFloor({ targetRecall: 0.95, recallScope: 'layer' })).toBe(0.92);
    expect(headRecallFloor({ targetRecall: 0.95, minHeadRecall: 0.9 })).toBe(0.95);
  });

  it('job.list takes no params and answers job events, a finished one with its result', () => {
    expect(parseRequest('job.list', undefined)).toEqual({ method: 'job.list', params: {} });
    const done = { jobId: 'job-2', kind: 'bench', state: 'done', progress: 1, message: 'done', etaSeconds: null, result: { sweep: [] } };
    const running = { jobId: 'job-3', kind: 'analyze', state: 'running', progress: 0.4, message: 'layer 1', etaSeconds: 2 };
    expect(methods['job.list'].result.parse([running, done])).toEqual([running, done]);
    expect(methods['job.list'].result.safeParse([{ ...done, state: 'finished' }]).success).toBe(false);
  });

  it('sweep points carry the device and precision they ran on', () => {
    const point = { seqLen: 1024, device: 'NVIDIA H100 (CUDA, sm 9.0)', dtype: 'BF16', denseMs: 2, indexMs: 0.1, sparseMs: 0.4, speedup: 4, meanRecall: 0.97 };
    expect(BenchResult.parse({ sweep: [point] }).sweep[0]).toEqual(point);
    const { dtype: _dtype, ...withoutPrecision } = point;
    expect(BenchResult.safeParse({ sweep: [withoutPrecision] }).success).toBe(false);
    expect(BenchResult.safeParse({ sweep: [{ ...point, dtype: 'FP8' }] }).success).toBe(false);
  });

  it('has a params and result schema for every method', () => {
    for (const [name, method] of Object.entries(methods)) {
      expect(method.params, name).toBeDefined();
      expect(method.result, name).toBeDefined();
    }
  });
});

describe('wire codec', () => {
  it('round-trips Float32Array payloads exactly, including views into larger buffers', () => {
    const backing = new Float32Array(40_000).map((_, i) => Math.sin(i) * 1e-3);
    const view = backing.subarray(3, 39_999);
    const special = Float32Array.from([0, -0, Infinity, -Infinity, NaN, 1e-45, 3.4e38]);
    const decoded = decodeWire(encodeWire({ mean: view, nested: [{ special }], n: 1, s: 'x' })) as {
      mean: Float32Array;
      nested: { special: Float32Array }[];
      n: number;
      s: string;
    };
    expect(decoded.mean).toBeInstanceOf(Float32Array);
    expect(Array.from(decoded.mean)).toEqual(Array.from(view));
    expect(Object.is(decoded.nested[0]!.special[1], -0)).toBe(true);
    expect(Number.isNaN(decoded.nested[0]!.special[4])).toBe(true);
    expect(Array.from(decoded.nested[0]!.special.slice(5))).toEqual(Array.from(special.slice(5)));
    expect(decoded.n).toBe(1);
    expect(decoded.s).toBe('x');
  });

  it('leaves look-alike objects with other keys alone', () => {
    expect(decodeWire(JSON.stringify({ a: { $f32: 'AAAA', other: 1 } }))).toEqual({ a: { $f32: 'AAAA', other: 1 } });
  });

  it('refuses text that is not JSON and Float32 tags that are not base64 of whole float32s, as the sender\'s error (found by the wire fuzzer)', () => {
    const refusal = (text: string) => {
      try {
        decodeWire(text);
      } catch (error) {
        return error instanceof ApiError ? [error.code, error.message] : error;
      }
      return 'decoded';
    };
    expect(refusal('')).toEqual(['bad-request', expect.stringMatching(/JSON/)]);
    expect(refusal('{"$f32": 12}')).toEqual(['bad-request', '$f32 is not a base64 string']);
    expect(refusal('{"$f32": "AAAAAAA"}')).toEqual(['bad-request', '$f32 holds 5 bytes, not whole float32s']);
    expect(refusal('[{"$f32": "*!*"}]')).toEqual(['bad-request', expect.any(String)]);
  });
});
