import { defineConfig } from 'vitest/config';

/** The build info the renderer's bundle carries (vite.config.ts), fixed for the unit tests. */
const TEST_BUILD = { name: 'Sparsescope', version: '0.0.0-test', builtAt: '2026-01-02T03:04:05.000Z' };

export default defineConfig({
  test: {
    projects: [
      { define: { __SPARSESCOPE_BUILD__: JSON.stringify(TEST_BUILD) }, test: { name: 'unit', include: ['test/{contract,electron,renderer,tools}/**/*.test.{ts,tsx}'], exclude: ['**/node_modules/**', '**/*.timing.test.ts'], environment: 'node' } },
      // Tests whose assertions are timings: one file at a time, after the unit tests, so no other test loads the CPU.
      { test: { name: 'timing', include: ['test/**/*.timing.test.ts'], testTimeout: 180_000, fileParallelism: false } },
      { test: { name: 'native', include: ['test/native/**/*.test.ts'], testTimeout: 120_000 } },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 180_000, hookTimeout: 180_000, fileParallelism: false } },
      // Fuzzers against the real `serve` (built dist/): bounded, seeded budgets; FUZZ_RUNS for more.
      { test: { name: 'fuzz', include: ['test/fuzz/**/*.test.ts'], hookTimeout: 60_000, fileParallelism: false } },
    ],
  },
});
