import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // @actions/workflow-parser imports its schema JSON without an import attribute, which Node's
    // ESM loader refuses; vite's transform (inlining) loads it.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
