import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/{contract,electron,renderer,tools}/**/*.test.{ts,tsx}'], environment: 'node' } },
      { test: { name: 'native', include: ['test/native/**/*.test.ts'], testTimeout: 120_000 } },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 180_000, hookTimeout: 180_000, fileParallelism: false } },
    ],
  },
});
