/**
 * `@dovetail/hub/testing`: what the cross-process tests and benches in `tests/` use from the hub,
 * so they go through a package entry point rather than reaching into its sources.
 */
export { insertGeneratedOrders, newestFirst, type GeneratedOrder } from './generated-orders.ts';
export { TestReceiver, type ReceivedWebhook, type Answer } from './webhook-receiver.ts';
// The hub-api bench's baseline: a catalog read with no HTTP layer in front of it.
export { getProduct } from '../catalog/service.ts';
export { TestMailInbox, TestSmsProvider, type ReceivedMail, type ReceivedSms } from './mail-inbox.ts';
// The simulation (tests/src/sim) drives the hub's services and sync session over its own storage.
export { openStorage, type Storage } from '../db/connect.ts';
export type { Database } from '../database.ts';
export { createProduct, updateProduct } from '../catalog/service.ts';
export { createWarehouse } from '../warehouses/service.ts';
export { enrollEdge } from '../identity/edge-enrollment.ts';
export { hashPassword } from '../identity/secrets.ts';
export { SqliteHoldWriter } from '../holds/sqlite-writer.ts';
export { releaseHold, reserveHold, sweepExpiredHolds } from '../holds/service.ts';
export { reserveSuppliedHold } from '../holds/supply.ts';
export { cancelPurchaseOrder, createPurchaseOrder } from '../supply/purchase-orders.ts';
export { type OrderView, cancelOrder, createOrder, payOrder } from '../orders/service.ts';
export { grantQuota, requestQuotaReturn } from '../quotas/service.ts';
export { recordRefund } from '../returns/refunds.ts';
export { requestReturn } from '../returns/service.ts';
export { HubSyncSession } from '../sync/session.ts';
