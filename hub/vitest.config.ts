import { workspaceTestConfig } from '../vitest.shared.ts';

// PostgreSQL for the adapter suites (scripts/vitest-postgres.ts); each file's schemas are dropped
// when it ends (src/testing/vitest-setup.ts).
export default workspaceTestConfig({ postgres: true, setupFiles: ['src/testing/vitest-setup.ts'] });
