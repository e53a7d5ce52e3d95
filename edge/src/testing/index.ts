/**
 * `@dovetail/edge/testing`: the edge internals that the simulation and cross-process tests in
 * `tests/` drive directly (the stock book, the writer, the fulfillment desk, the sync session), so
 * they go through a package entry point rather than reaching into the edge's sources.
 */
export { ensureNodeIdentity, type NodeIdentity } from '../services/node-identity.ts';
export { StockBook, type StockCommand } from '../services/stock.ts';
export { StockWriter } from '../services/stock-writer.ts';
export { FulfillmentDesk, type DeskResponse } from '../services/fulfillments.ts';
export { verifyPassword } from '../services/passwords.ts';
export { createChangeApplier, type ChangeApplier } from '../sync/apply-changes.ts';
export { EdgeSyncSession } from '../sync/session.ts';
