/**
 * Property-based test of the capture reader (safetensors + capture checks): a valid capture with
 * tokens, mutated as bytes (flips, truncation, a lying header length, appended bytes), as its
 * header's JSON (values replaced by odd ones, keys dropped or added: shapes, offsets, dtypes,
 * metadata), or replaced by random bytes. The file must open and serve every head, layer and
 * token, or be refused with a CaptureError or SafetensorsError naming the problem; any other error
 * or a hang fails. Budget: FUZZ_RUNS files (default 1000), FUZZ_SEED (default 1).
 */
import fc from 'fast-check';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCaptureInputError, openCapture, writeCapture } from '../../electron/engine/capture/capture.js';
import type { Capture } from '../../electron/engine/capture/types.js';
import { pokedTensors, tinyMetadata, TINY, tokenArrays, tokenTensors } from '../electron/engine/capture/make-capture.js';
import { fuzzBudget } from './budget.js';
import { mutate, mutation, type Json } from './json-mutation.js';

const budget = fuzzBudget(1000, 20);
const PREFIX = 8;

interface Parts {
  header: Json;
  data: Uint8Array;
}

function split(file: Uint8Array): Parts {
  const length = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(file.subarray(PREFIX, PREFIX + length))) as Json, data: file.subarray(PREFIX + length) };
}

function join8(header: Uint8Array, data: Uint8Array, length = BigInt(header.length)): Uint8Array {
  const file = new Uint8Array(PREFIX + header.length + data.length);
  new DataView(file.buffer).setBigUint64(0, length, true);
  file.set(header, PREFIX);
  file.set(data, PREFIX + header.length);
  return file;
}

type Variant = { kind: string; bytes: (seed: Uint8Array) => Uint8Array };

function variants(): fc.Arbitrary<Variant> {
  const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }).map((list) => ({
    kind: 'byte flips',
    bytes: (seed: Uint8Array) => {
      const out = seed.slice();
      for (const [at, xor] of list) out[at % out.length]! ^= xor;
      return out;
    },
  }));
  const truncated = fc.nat().map((cut) => ({ kind: 'truncated', bytes: (seed: Uint8Array) => seed.slice(0, cut % seed.length) }));
  const lyingLength = fc.oneof(fc.bigInt({ min: 0n, max: 4096n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map((length) => ({
    kind: 'header length lies',
    bytes: (seed: Uint8Array) => {
      const out = seed.slice();
      new DataView(out.buffer).setBigUint64(0, length, true);
      return out;
    },
  }));
  const appended = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((extra) => ({ kind: 'bytes appended', bytes: (seed: Uint8Array) => new Uint8Array([...seed, ...extra]) }));
  const header = fc.array(mutation, { minLength: 1, maxLength: 4 }).map((mutations) => ({
    kind: 'header JSON mutated',
    bytes: (seed: Uint8Array) => {
      const { header, data } = split(seed);
      return join8(new TextEncoder().encode(JSON.stringify(mutations.reduce(mutate, header))), data);
    },
  }));
  const random = fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ kind: 'random bytes', bytes: () => bytes }));
  return fc.oneof({ weight: 2, arbitrary: flips }, truncated, lyingLength, appended, { weight: 4, arbitrary: header }, random);
}

const tally = { files: 0, opened: 0, refused: 0, readsRefused: 0, byKind: {} as Record<string, number> };
/** Refusal messages without their particulars (names, numbers), to count the distinct kinds. */
const reasons = new Set<string>();

function noteRefusal(error: Error): void {
  reasons.add(error.message.replace(/^case-\d+\.safetensors: /, '').replace(/\d+/g, 'N').slice(0, 30));
}

/** Read everything a capture offers; only the reader's own input errors may come out. */
async function readAll(capture: Capture): Promise<void> {
  const { layers, numHeads, numKvHeads, tokens, seqLen } = capture.summary;
  const reads: Promise<unknown>[] = [];
  for (const layer of layers) {
    for (const kind of ['q', 'k', 'v'] as const) {
      reads.push(capture.readLayer(layer, kind));
      for (let head = 0; head < (kind === 'q' ? numHeads : numKvHeads); head++) reads.push(capture.readHead(layer, kind, head));
    }
  }
  if (tokens) reads.push(capture.readTokens(0, seqLen), capture.readTokens(seqLen - 1, seqLen));
  for (const result of await Promise.allSettled(reads)) {
    if (result.status === 'fulfilled') continue;
    if (!isCaptureInputError(result.reason)) throw result.reason;
    tally.readsRefused++;
  }
}

describe('fuzz: the capture reader with random and mutated files', () => {
  let dir: string;
  let seed: Uint8Array;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sparsescope-fuzz-safetensors-'));
    const path = join(dir, 'seed.safetensors');
    await writeCapture(path, { ...tinyMetadata(), tokenizer: 't' }, [...pokedTensors(TINY, []), ...tokenTensors(tokenArrays([...'abcdefghij']))]);
    seed = new Uint8Array(await readFile(path));
  });

  afterAll(async () => {
    console.log(`capture reader fuzzer (seed ${budget.seed}): ${JSON.stringify({ ...tally, refusalKinds: reasons.size })}`);
    await rm(dir, { recursive: true, force: true });
  });

  it(`opens or refuses ${budget.numRuns} mutated files with the reader's own errors`, { timeout: budget.timeoutMs }, async () => {
    await fc.assert(
      fc.asyncProperty(variants(), async (variant) => {
        const path = join(dir, `case-${tally.files++}.safetensors`);
        tally.byKind[variant.kind] = (tally.byKind[variant.kind] ?? 0) + 1;
        await writeFile(path, variant.bytes(seed));
        try {
          const capture = await openCapture(path);
          tally.opened++;
          try {
            await readAll(capture);
          } finally {
            await capture.close();
          }
        } catch (error) {
          if (!isCaptureInputError(error)) throw error;
          tally.refused++;
          noteRefusal(error);
        } finally {
          await rm(path);
        }
      }),
      { numRuns: budget.numRuns, seed: budget.seed },
    );
    expect(tally.opened).toBeGreaterThan(0);
  });
});
