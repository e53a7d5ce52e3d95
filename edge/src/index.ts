export { createEdgeNode, type EdgeNode, type EdgeNodeOptions } from './node.ts';
export { openEdgeDatabase, type EdgeDatabase } from './db/open.ts';
export { verifyEdgeDatabase, type VerifyReport } from './services/verify.ts';
