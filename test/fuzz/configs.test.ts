/**
 * Property-based test of the three config parsers (MInference list, SGLang/vLLM config.json,
 * Sparsescope document): seeds of each format (two layers of a real MInference file, that list
 * nested for SGLang, a Sparsescope export) mutated (values replaced by odd ones, keys dropped or
 * added), random JSON, random text, and valid generated MInference lists with boundary budgets.
 * An input is imported or refused with a ConfigError; whatever imports must export to all three
 * formats, and each export must import again and export to the same text (a file we write is one
 * we read, and import then export is stable). Anything else fails, as does a hang.
 * Budget: FUZZ_RUNS inputs (default 1000), FUZZ_SEED (default 1).
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import type { ConfigFormat } from '../../contract/api.js';
import { ConfigError, exportConfig, importConfig } from '../../electron/engine/config/index.js';
import { MAX_BUDGET } from '../../electron/engine/config/engines.js';
import { fuzzBudget } from './budget.js';
import { mutate, mutation, type Json } from './json-mutation.js';

const budget = fuzzBudget(1000, 50);
const FORMATS: ConfigFormat[] = ['minference', 'sglang', 'sparsescope'];

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/minference-configs/Phi_3_mini_128k_instruct_kv_out_v32_fit_o_best_pattern.json'), 'utf8')) as Json[];
const minferenceSeed: Json = fixture.slice(0, 2);
const sglangSeed: Json = { architectures: ['Qwen2ForCausalLM'], dual_chunk_attention_config: { sparse_attention_config: minferenceSeed, sparse_attention_threshold: 8192, sparse_attention_last_q: 32 } };

const budgetValue = fc.oneof(fc.constantFrom(0, 1, 29, 30, 31, 49, 50, 64, 99, 100, 129, 130, 131, MAX_BUDGET), fc.integer({ min: 0, max: MAX_BUDGET }));
const entry = fc.tuple(fc.constantFrom('vertical_and_slash', 'stream_llm', 'block_sparse'), budgetValue, budgetValue, fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.nat({ max: 5000 })));
/** A valid MInference list: 1 to 3 layers of up to 6 heads, some heads left out (they take the default). */
const generatedList = fc.array(fc.dictionary(fc.nat({ max: 5 }).map(String), entry, { minKeys: 1, maxKeys: 6 }), { minLength: 1, maxLength: 3 });

async function sparsescopeSeed(): Promise<Json> {
  return JSON.parse((await exportConfig(importConfig(JSON.stringify(minferenceSeed), 'seed.json').config, 'sparsescope')).text) as Json;
}

/** Config text to import, and what made it. */
function inputs(seeds: Json[]): fc.Arbitrary<{ kind: string; text: string }> {
  const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([seed, mutations]) => ({ kind: 'mutated seed', text: JSON.stringify(mutations.reduce(mutate, seed)) }));
  return fc.oneof(
    { weight: 6, arbitrary: mutated },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((json) => ({ kind: 'random JSON', text: JSON.stringify(json) })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 100 }).map((text) => ({ kind: 'random text', text })) },
    { weight: 3, arbitrary: generatedList.map((list) => ({ kind: 'generated list', text: JSON.stringify(list) })) },
  );
}

/** The text without the export's timestamp, which differs from one export to the next. */
const withoutDate = (text: string) => text.replace(/"createdAt": "[^"]*"/, '');

const tally = { inputs: 0, imported: 0, refused: 0, exports: 0, byKind: {} as Record<string, number> };

/** Every format's export of an imported config imports again and exports to the same text. */
async function checkExports(text: string): Promise<void> {
  const { config } = importConfig(text, 'fuzz.json');
  for (const format of FORMATS) {
    const first = (await exportConfig(config, format)).text;
    const again = importConfig(first, `fuzz.${format}.json`);
    const second = (await exportConfig(again.config, format)).text;
    if (withoutDate(second) !== withoutDate(first)) throw new Error(`${format}: import then export changed the file:\n${first}\n---\n${second}`);
    tally.exports++;
  }
}

describe('fuzz: the config parsers with random and mutated inputs', () => {
  afterAll(() => {
    console.log(`config parser fuzzer (seed ${budget.seed}): ${JSON.stringify(tally)}`);
  });

  it(`imports or refuses ${budget.numRuns} inputs with a ConfigError, and what imports exports stably`, { timeout: budget.timeoutMs }, async () => {
    const seeds = [minferenceSeed, sglangSeed, await sparsescopeSeed()];
    await fc.assert(
      fc.asyncProperty(inputs(seeds), async ({ kind, text }) => {
        tally.inputs++;
        tally.byKind[kind] = (tally.byKind[kind] ?? 0) + 1;
        try {
          importConfig(text, 'fuzz.json');
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          tally.refused++;
          return;
        }
        tally.imported++;
        await checkExports(text);
      }),
      { numRuns: budget.numRuns, seed: budget.seed },
    );
  });
});
