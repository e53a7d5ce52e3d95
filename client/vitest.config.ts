import { workspaceTestConfig } from '../vitest.shared.ts';

// Each file starts real processes (tsc, a hub): one at a time on a 2-core machine.
export default workspaceTestConfig({ testTimeoutMs: 180_000, fileParallelism: false });
