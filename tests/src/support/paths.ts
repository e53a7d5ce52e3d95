import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The monorepo root (tests/src/support → ../../..): real processes are started from here. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The edge's command-line entry point, run by `node --import tsx` so the child's pid is the server itself. */
export const edgeMain = path.join(repoRoot, 'edge/src/main.ts');

/** The hub's command-line entry point, run the same way. */
export const hubMain = path.join(repoRoot, 'hub/src/main.ts');
