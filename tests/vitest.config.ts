import { workspaceTestConfig } from '../vitest.shared.ts';

// Cross-process scenarios start real servers and kill them: one file at a time keeps the 2-core
// machine from timing itself out.
export default workspaceTestConfig({ testTimeoutMs: 180_000, fileParallelism: false, postgres: true });
