/**
 * Every fuzzer's budget: a fixed seed and a bounded number of runs in `npm test`, FUZZ_RUNS and
 * FUZZ_SEED for longer hunts.
 */
export interface FuzzBudget {
  numRuns: number;
  seed: number;
  /** For the test: generous per run, so only a real hang times out. */
  timeoutMs: number;
}

/** `defaultRuns` runs with seed 1 unless FUZZ_RUNS / FUZZ_SEED say otherwise. */
export function fuzzBudget(defaultRuns: number, msPerRun: number): FuzzBudget {
  const numRuns = Number(process.env.FUZZ_RUNS) || defaultRuns;
  const seed = Number(process.env.FUZZ_SEED) || 1;
  return { numRuns, seed, timeoutMs: 60_000 + numRuns * msPerRun };
}
