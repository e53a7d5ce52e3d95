import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Every workspace reports to `.reports/vitest.json` so `npm test` (scripts/test.ts) can sum passed
 * and failed tests across the monorepo; the default reporter prints each file as it finishes.
 *
 * Timeouts are bounds for a loaded 2-core machine, not expectations: no test asserts a duration.
 * `postgres: true` adds the globalSetup that provides a PostgreSQL server (scripts/vitest-postgres.ts).
 */
export function workspaceTestConfig(
  options: { testTimeoutMs?: number; fileParallelism?: boolean; postgres?: boolean; setupFiles?: string[] } = {},
) {
  const timeout = options.testTimeoutMs ?? 60_000;
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts'],
      reporters: ['default', 'json'],
      outputFile: { json: '.reports/vitest.json' },
      testTimeout: timeout,
      hookTimeout: Math.max(timeout, 120_000),
      teardownTimeout: 60_000,
      fileParallelism: options.fileParallelism ?? true,
      ...(options.postgres
        ? { globalSetup: [fileURLToPath(new URL('./scripts/vitest-postgres.ts', import.meta.url))] }
        : {}),
      ...(options.setupFiles ? { setupFiles: options.setupFiles } : {}),
      allowOnly: false,
      passWithNoTests: false,
    },
  });
}
