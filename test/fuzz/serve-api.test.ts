/**
 * Property-based tests of the serve API against the real `sparsescope serve`: valid calls of every
 * method mutated (values replaced by odd ones, keys dropped or added), random params, raw bodies
 * (not JSON, invalid UTF-8, deep nesting, bad Float32 tags) and odd headers. Every answer must be
 * a clean one: 200 with a result the contract accepts, or a 4xx with a JSON error that is not
 * `internal`; never a 5xx, a hang or a dead server (checked after every batch).
 * Budget: FUZZ_RUNS batches of 8 calls (default 40), FUZZ_SEED (default 1).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWire, encodeWire, methods, type MethodName } from '../../contract/api.js';
import { fuzzBudget } from './budget.js';
import { mutate, mutation, type Json } from './json-mutation.js';
import { logCounts, startFuzzServer, type FuzzServer, type Reply } from './harness.js';

const budget = fuzzBudget(40, 3_000);

/** A valid call of every method (openDemo left out: it writes a large demo capture, not input handling). */
function seedCalls(ids: { tiny: string; tokens: string; huge: string }, root: string): [MethodName, Json][] {
  const head = { captureId: ids.tiny, layer: 0, head: 1 };
  const hugeHead = { ...head, captureId: ids.huge };
  const entry = { pattern: 'vertical_and_slash', a: 4, b: 4 };
  const config = { numLayers: 2, numHeads: 4, heads: [Array(4).fill(entry), Array(4).fill({ pattern: 'dense', a: 0, b: 0 })] };
  return [
    ['device.info', {}],
    ['capture.openSample', {}],
    ['capture.open', { path: 'tiny.safetensors' }],
    ['capture.close', { captureId: 'not-open' }],
    ['capture.tokens', { captureId: ids.tokens, start: 2, end: 6 }],
    ['files.list', { dir: root }],
    ['capture.recent', {}],
    ['head.pooledMap', { ...head, resolution: 8, region: { rowStart: 0, rowEnd: 10, colStart: 0, colEnd: 10 }, sampling: { mode: 'exact' } }],
    ['head.mask', { ...head, resolution: 8, pattern: entry }],
    ['head.evaluate', { ...head, pattern: entry, sampling: { mode: 'sampled', rows: 4, seed: 1 }, stripRows: 8, staleKey: 'k' }],
    ['head.budgetCurve', { ...head, pattern: 'stream_llm' }],
    ['head.kernelBlocks', { ...head, pattern: entry, queryBlock: 0 }],
    ['head.outputError', { ...head, pattern: entry, rows: 4, top: 3 }],
    ['head.pooledMap', { ...hugeHead, resolution: 8 }],
    ['head.evaluate', { ...hugeHead, pattern: entry }],
    ['head.budgetCurve', { ...hugeHead, pattern: 'vertical_and_slash' }],
    ['head.outputError', { ...hugeHead, pattern: entry, rows: 4 }],
    ['job.start', { kind: 'analyze', captureId: ids.tiny, config, layers: [0, 1], backend: 'cpu' }],
    ['job.start', { kind: 'search', captureId: ids.tiny, settings: { mode: 'target-recall', targetRecall: 0.9 } }],
    ['job.start', { kind: 'bench', captureId: ids.tiny, config, repeat: 1 }],
    ['job.cancel', { jobId: 'job-none' }],
    ['job.list', {}],
    ['config.import', { text: JSON.stringify([[[ 'vertical_and_slash', 4, 4, 1 ]]]), fileName: 'c.json' }],
    ['config.import', { path: 'missing.json' }],
    ['config.export', { config, format: 'sglang', path: 'exported.json' }],
    ['config.export', { config, format: 'minference', captureId: ids.tiny }],
  ];
}

interface Call {
  method: string;
  body: string | Uint8Array;
  headers: Record<string, string>;
}

const methodNames = Object.keys(methods) as MethodName[];

function callArbitrary(seeds: [MethodName, Json][]): fc.Arbitrary<Call> {
  const wire = (method: string, params: unknown): Call => ({ method, body: encodeWire(params), headers: {} });
  const mutated = fc
    .tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 0, maxLength: 3 }))
    .map(([[method, seed], mutations]) => wire(method, mutations.reduce(mutate, seed)));
  const randomParams = fc.tuple(fc.constantFrom(...methodNames), fc.jsonValue({ maxDepth: 4 })).map(([method, params]) => wire(method, params));
  const oddMethod = fc
    .oneof(fc.string({ maxLength: 30 }), fc.constantFrom('..', '%2e%2e', 'device.info/', 'device.info%00', '__proto__', 'constructor', 'toString', 'hasOwnProperty'))
    .map((method) => wire(encodeURIComponent(method).replace(/%25/g, '%'), {}));
  const rawBody = fc
    .tuple(
      fc.constantFrom(...methodNames),
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat({ max: 50_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
        fc.constantFrom('', ' ', 'null', '[]', '"x"', '1e999', '{"captureId":', '{"__proto__":{"x":1}}', '{"a":1,"a":2}'),
      ),
    )
    .map(([method, body]) => ({ method, body, headers: {} }));
  const oddHeaders = fc
    .tuple(fc.constantFrom(...seeds), fc.constantFrom<Record<string, string>>(
      { 'Content-Type': 'text/plain' },
      { 'Content-Type': 'application/json; charset=latin1' },
      { 'Content-Type': 'APPLICATION/JSON' },
      { 'X-Sparsescope-Token': '' },
      { 'X-Sparsescope-Token': 'wrong' },
      { Origin: 'http://evil.example' },
    ))
    .map(([[method, params], headers]) => ({ ...wire(method, params), headers }));
  return fc.oneof(
    { weight: 6, arbitrary: mutated },
    { weight: 2, arbitrary: randomParams },
    { weight: 1, arbitrary: oddMethod },
    { weight: 2, arbitrary: rawBody },
    { weight: 1, arbitrary: oddHeaders },
  );
}

/** Why an answer is not a clean one, or null when it is. */
function problemWith(method: string, reply: Reply): string | null {
  if (reply.status >= 500) return `HTTP ${reply.status}: ${reply.body.slice(0, 300)}`;
  let body: { result?: unknown; error?: { message?: unknown; code?: unknown } };
  try {
    body = decodeWire(reply.body) as typeof body;
  } catch {
    // Only the static files answer in plain text (a method name such as `..` leaves /api/).
    return reply.contentType.startsWith('text/') ? null : `body is not JSON: ${reply.body.slice(0, 200)}`;
  }
  if (reply.status === 200) {
    const schema = methods[method as MethodName]?.result;
    const parsed = schema?.safeParse(body.result);
    return parsed && !parsed.success ? `result does not match the contract: ${parsed.error.issues[0]?.message}` : null;
  }
  if (typeof body.error?.message !== 'string' || body.error.code === 'internal') return `error ${JSON.stringify(body.error)}`;
  return null;
}

/** Bench sweeps are long work by design (up to 2M tokens), not bad input: the fuzzer does not start them. */
function isLongWork(call: Call): boolean {
  if (call.method !== 'job.start' || typeof call.body !== 'string') return false;
  try {
    const params = JSON.parse(call.body) as { kind?: unknown; sweep?: unknown; captureId?: unknown };
    return params?.kind === 'bench' && (params.captureId === undefined || (Array.isArray(params.sweep) && params.sweep.length > 0));
  } catch {
    return false;
  }
}

const tally = { batches: 0, calls: 0, skippedLongWork: 0, statuses: {} as Record<number, number> };

describe('fuzz: the serve API with random and mutated inputs', () => {
  let server: FuzzServer;
  let seeds: [MethodName, Json][];

  beforeAll(async () => {
    server = await startFuzzServer();
    const open = async (path: string) => (decodeWire((await server.api('capture.open', { path })).body) as { result: { captureId: string } }).result.captureId;
    seeds = seedCalls({ tiny: await open('tiny.safetensors'), tokens: await open('tokens.safetensors'), huge: await open('huge.safetensors') }, server.serve.root);
  });

  afterAll(async () => {
    console.log(`API fuzzer (seed ${budget.seed}): ${JSON.stringify(tally)}; serve logged ${JSON.stringify(logCounts(server?.serve.output() ?? ''))}`);
    await server?.close();
  });

  async function send(call: Call): Promise<string | null> {
    if (isLongWork(call)) {
      tally.skippedLongWork++;
      return null;
    }
    tally.calls++;
    const reply = await server.post(call.method, call.body, call.headers);
    tally.statuses[reply.status] = (tally.statuses[reply.status] ?? 0) + 1;
    const jobId = reply.status === 200 && call.method === 'job.start' ? (decodeWire(reply.body) as { result: { jobId: string } }).result.jobId : null;
    if (jobId) await server.api('job.cancel', { jobId }); // keep the job queue short for the health check
    const problem = problemWith(call.method, reply);
    return problem && `POST /api/${call.method} ${typeof call.body === 'string' ? call.body.slice(0, 1000) : `<${call.body.length} bytes>`} ${JSON.stringify(call.headers)}: ${problem}`;
  }

  it(
    `answers ${budget.numRuns} batches of bad calls with clean 4xx errors and keeps serving`,
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(callArbitrary(seeds), { minLength: 8, maxLength: 8 }), async (batch) => {
          tally.batches++;
          const problems = (await Promise.all(batch.map(send))).filter((p) => p !== null);
          expect(problems).toEqual([]);
          await server.expectServing();
        }),
        { numRuns: budget.numRuns, seed: budget.seed, endOnFailure: true },
      );
    },
    budget.timeoutMs,
  );
});
