/**
 * `@dovetail/edge/testing`: the edge internals that the simulation and cross-process tests in
 * `tests/` drive directly (the stock book, the writer, the fulfillment desk, the sync session), so
 * they go through a package entry point rather than reaching into the edge's sources.
 */

export { type DeskResponse, FulfillmentDesk } from '../services/fulfillments.ts';
export { openEdgeDatabase } from '../db/open.ts';
export { ensureNodeIdentity, type NodeIdentity } from '../services/node-identity.ts';
export { verifyPassword } from '../services/passwords.ts';
export { ReturnDesk } from '../services/returns.ts';
export { StockBook, type StockCommand } from '../services/stock.ts';
export { StockWriter } from '../services/stock-writer.ts';
export { type ChangeApplier, createChangeApplier } from '../sync/apply-changes.ts';
export { EdgeSyncClient } from '../sync/client.ts';
export { EdgeSyncSession } from '../sync/session.ts';
