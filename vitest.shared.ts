import { defineConfig } from 'vitest/config';

/**
 * Every workspace reports to `.reports/vitest.json` so `.ci/run` can sum passed and failed tests
 * across the monorepo; the default reporter keeps the terminal readable.
 */
export function workspaceTestConfig(options: { testTimeoutMs?: number; fileParallelism?: boolean } = {}) {
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts'],
      reporters: ['default', 'json'],
      outputFile: { json: '.reports/vitest.json' },
      testTimeout: options.testTimeoutMs ?? 20_000,
      hookTimeout: options.testTimeoutMs ?? 20_000,
      fileParallelism: options.fileParallelism ?? true,
      allowOnly: false,
      passWithNoTests: false,
    },
  });
}
