/**
 * WebSocket frame fuzzer against the real `sparsescope serve`: each run is a batch of sockets
 * (upgraded with the token) that send random or mutated frames: any opcode, reserved bits,
 * unmasked, lengths that lie (up to 2^64 - 1), fragmented control frames, invalid UTF-8 in text
 * and close frames, byte flips, truncation, frames sent before the 101, split writes. After every
 * batch serve must still run, answer a call and deliver job events to a socket opened before the
 * fuzzing. Budget: FUZZ_RUNS batches (default 25), FUZZ_SEED (default 1).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frame, openRawSocket, serverFrames, type FrameSpec, type RawSocket } from '../electron/serve/raw-socket.js';
import { fuzzBudget } from './budget.js';
import { logCounts, startFuzzServer, type FuzzServer } from './harness.js';

const budget = fuzzBudget(25, 2_000);
/** How long a socket that sent valid frames is kept open before the fuzzer drops it. */
const LINGER_MS = 100;

const OPCODES = [0x0, 0x1, 0x2, 0x8, 0x9, 0xa];

const closePayload = fc
  .tuple(fc.oneof(fc.constantFrom(1000, 1001, 1005, 1006, 1015, 2999, 3000, 4999, 5000), fc.integer({ min: 0, max: 0xffff })), fc.uint8Array({ maxLength: 30 }))
  .map(([code, reason]) => Uint8Array.from([code >> 8, code & 0xff, ...reason]));

const payload = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }).map((text) => new Uint8Array(Buffer.from(text))),
  fc.uint8Array({ maxLength: 200 }), // mostly invalid UTF-8
  fc.constantFrom(Uint8Array.from([0xc3, 0x28]), Uint8Array.from([0xed, 0xa0, 0x80]), Uint8Array.from([0xf4, 0x90, 0x80, 0x80]), Uint8Array.from([0xe2, 0x82])),
  closePayload,
  fc.integer({ min: 126, max: 70_000 }).map(filled), // 16-bit length, and over the 64 KiB limit
);

/** n bytes of 'a', printed short in a counterexample. */
function filled(n: number): Uint8Array {
  return Object.assign(new Uint8Array(n).fill(0x61), { [fc.toStringMethod]: () => `<${n} x 'a'>` });
}

const declaredLength = fc.oneof(
  fc.nat({ max: 300 }),
  fc.constantFrom(125, 126, 127, 0xffff, 0x10000, 64 * 1024 + 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }),
);

const frameSpec: fc.Arbitrary<FrameSpec> = fc.record({
  opcode: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...OPCODES) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) }),
  fin: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  rsv: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
  masked: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  mask: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  payload,
  declaredLength: fc.option(declaredLength, { freq: 4, nil: undefined }),
});

const socketScript = fc.record({
  frames: fc.array(frameSpec, { minLength: 1, maxLength: 6 }),
  /** Byte flips: [position (any, wrapped), xor]. */
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
  /** Keep only this many bytes (wrapped), or all. */
  cutAt: fc.option(fc.nat(), { nil: undefined }),
  /** Write in this many pieces. */
  pieces: fc.integer({ min: 1, max: 4 }),
  /** Send the frames with the handshake, before the server answered it. */
  early: fc.boolean(),
});
type SocketScript = typeof socketScript extends fc.Arbitrary<infer T> ? T : never;

function scriptBytes(script: SocketScript): Buffer {
  const bytes = Buffer.concat(script.frames.map(frame));
  for (const [at, xor] of script.flips) bytes[at % bytes.length]! ^= xor;
  return script.cutAt === undefined ? bytes : bytes.subarray(0, script.cutAt % (bytes.length + 1));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const tally = { batches: 0, sockets: 0, frames: 0, bytes: 0, refusedUpgrades: 0, closeCodes: {} as Record<string, number> };

/** Run one socket's script; resolves once the socket is gone (closed by serve, or dropped by us). */
async function runScript(port: number, token: string, script: SocketScript): Promise<void> {
  const bytes = scriptBytes(script);
  tally.sockets++;
  tally.frames += script.frames.length;
  tally.bytes += bytes.length;
  let raw: RawSocket;
  try {
    raw = await openRawSocket(port, `/events?token=${token}`, script.early ? bytes : undefined);
  } catch {
    // Frames sent before the 101 may be read by serve as a broken HTTP request: refusing it is fine.
    tally.refusedUpgrades++;
    return;
  }
  if (!script.early) {
    const size = Math.ceil(bytes.length / script.pieces);
    for (let at = 0; at < bytes.length; at += size) {
      raw.socket.write(bytes.subarray(at, at + size));
      await sleep(1);
    }
  }
  await Promise.race([raw.ended, sleep(LINGER_MS)]);
  const close = serverFrames(raw.received()).find((f) => f.opcode === 0x8);
  const code = close ? (close.payload.length >= 2 ? String(close.payload.readUInt16BE(0)) : 'empty') : 'none (dropped by the fuzzer)';
  tally.closeCodes[code] = (tally.closeCodes[code] ?? 0) + 1;
  raw.socket.destroy();
}

describe('fuzz: WebSocket frames against a running serve', () => {
  let server: FuzzServer;

  beforeAll(async () => {
    server = await startFuzzServer();
  });

  afterAll(async () => {
    console.log(`frame fuzzer (seed ${budget.seed}): ${JSON.stringify(tally)}; serve logged ${JSON.stringify(logCounts(server?.serve.output() ?? ''))}`);
    await server?.close();
  });

  it(
    `survives ${budget.numRuns} batches of bad sockets and keeps serving`,
    async () => {
      await server.expectServing();
      await fc.assert(
        fc.asyncProperty(fc.array(socketScript, { minLength: 4, maxLength: 24 }), async (batch) => {
          tally.batches++;
          await Promise.all(batch.map((script) => runScript(server.port, server.serve.token, script)));
          await server.expectServing();
        }),
        { numRuns: budget.numRuns, seed: budget.seed, endOnFailure: true },
      );
      expect(server.serve.exited()).toBeNull();
    },
    budget.timeoutMs,
  );
});
