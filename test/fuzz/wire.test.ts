/**
 * Property-based test of the wire codec and request validation of contract/api.ts: any value of
 * JSON and Float32Arrays (NaN payloads, subarray views) comes back from encodeWire/decodeWire
 * as it went in; random and mutated wire text decodes or is refused with an ApiError; random and
 * mutated params of every method validate or are refused with an ApiError. Anything else fails.
 * Budget: FUZZ_RUNS cases per property (default 1000), FUZZ_SEED (default 1).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiError, decodeWire, encodeWire, methods, parseRequest, type MethodName } from '../../contract/api.js';
import { fuzzBudget } from './budget.js';
import { mutate, mutation, type Json } from './json-mutation.js';

const budget = fuzzBudget(1000, 10);

type Wire = Json | Float32Array | Wire[] | { [key: string]: Wire };

/** Float32Arrays of any bits (NaN payloads, -0, infinities), some of them views into a larger buffer. */
const float32s: fc.Arbitrary<Float32Array> = fc
  .tuple(fc.uint8Array({ maxLength: 64 }).map((bytes) => bytes.subarray(0, bytes.length - (bytes.length % 4))), fc.nat({ max: 3 }))
  .map(([bytes, skip]) => {
    const padded = new Uint8Array(bytes.length + 4 * skip);
    padded.set(bytes, 4 * skip);
    return new Float32Array(padded.buffer, 4 * skip, bytes.length / 4);
  });

/** `{"$f32": ...}` alone is the codec's tag, so a plain object of that one key is not a value it carries. */
const isTagLike = (value: object) => Object.keys(value).length === 1 && '$f32' in value;

const wireValue: fc.Arbitrary<Wire> = fc.letrec<{ value: Wire }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<Wire>,
    float32s,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 }).filter((object) => !isTagLike(object)),
  ),
})).value;

/** Equal as the codec promises: Float32Arrays by their bits, the rest as JSON carries them. */
function sameOnTheWire(actual: unknown, expected: Wire): void {
  if (expected instanceof Float32Array) {
    expect(actual).toBeInstanceOf(Float32Array);
    expect(new Uint8Array((actual as Float32Array).buffer, (actual as Float32Array).byteOffset, (actual as Float32Array).byteLength)).toEqual(new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength));
  } else if (expected !== null && typeof expected === 'object') {
    expect(Object.keys(actual as object)).toEqual(Object.keys(expected));
    for (const [key, value] of Object.entries(expected)) sameOnTheWire((actual as Record<string, unknown>)[key], value as Wire);
  } else expect(actual).toEqual(JSON.parse(JSON.stringify(expected)));
}

/** Only ApiError may come out of `work`. */
function refusedCleanly(work: () => unknown): 'accepted' | 'refused' {
  try {
    work();
    return 'accepted';
  } catch (error) {
    if (error instanceof ApiError && error.code === 'bad-request') return 'refused';
    throw error;
  }
}

const tally = { roundTrips: 0, decoded: { accepted: 0, refused: 0 }, requests: { accepted: 0, refused: 0 } };

/** A valid params object of some methods, to mutate. */
const REQUEST_SEEDS: [MethodName, Json][] = [
  ['head.evaluate', { captureId: 'c', layer: 0, head: 1, pattern: { pattern: 'vertical_and_slash', a: 4, b: 4 }, sampling: { mode: 'sampled', rows: 4, seed: 1 }, stripRows: 8 }],
  ['head.pooledMap', { captureId: 'c', layer: 0, head: 1, resolution: 8, region: { rowStart: 0, rowEnd: 10, colStart: 0, colEnd: 10 } }],
  ['job.start', { kind: 'search', captureId: 'c', settings: { mode: 'target-recall', targetRecall: 0.9, layers: [0] } }],
  ['config.export', { config: { numLayers: 1, numHeads: 1, heads: [[{ pattern: 'dense', a: 0, b: 0 }]], runtime: { sparseAttentionThreshold: 8, sparseAttentionLastQ: 64 } }, format: 'sglang', path: 'x.json' }],
  ['capture.tokens', { captureId: 'c', start: 2, end: 6 }],
];

describe('fuzz: the wire codec and request validation of the contract', () => {
  afterAll(() => {
    console.log(`wire fuzzer (seed ${budget.seed}): ${JSON.stringify(tally)}`);
  });

  it(`carries ${budget.numRuns} values of JSON and Float32Arrays unchanged`, { timeout: budget.timeoutMs }, () => {
    fc.assert(
      fc.property(wireValue, (value) => {
        tally.roundTrips++;
        sameOnTheWire(decodeWire(encodeWire(value)), value);
      }),
      { numRuns: budget.numRuns, seed: budget.seed },
    );
  });

  it(`decodes or refuses ${budget.numRuns} random and mutated wire texts with an ApiError`, { timeout: budget.timeoutMs }, () => {
    const texts = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.tuple(wireValue, fc.array(mutation, { maxLength: 3 })).map(([value, mutations]) => JSON.stringify(mutations.reduce(mutate, JSON.parse(encodeWire(value)) as Json))),
      fc.tuple(fc.oneof(fc.string({ maxLength: 12 }), fc.base64String({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 })), fc.boolean()).map(([tag, nested]) => JSON.stringify(nested ? [{ $f32: tag }] : { $f32: tag })),
    );
    fc.assert(
      fc.property(texts, (text) => {
        tally.decoded[refusedCleanly(() => decodeWire(text))]++;
      }),
      { numRuns: budget.numRuns, seed: budget.seed },
    );
  });

  it(`validates or refuses ${budget.numRuns} random and mutated requests with an ApiError`, { timeout: budget.timeoutMs }, () => {
    const methodNames = Object.keys(methods) as MethodName[];
    const requests = fc.oneof(
      fc.tuple(fc.constantFrom(...REQUEST_SEEDS), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([[method, params], mutations]) => [method, mutations.reduce(mutate, params)] as const),
      fc.tuple(fc.constantFrom(...methodNames), fc.jsonValue({ maxDepth: 3 })),
      fc.tuple(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'toString')), fc.jsonValue({ maxDepth: 1 })),
    );
    fc.assert(
      fc.property(requests, ([method, params]) => {
        tally.requests[refusedCleanly(() => parseRequest(method, params))]++;
      }),
      { numRuns: budget.numRuns, seed: budget.seed },
    );
  });
});
