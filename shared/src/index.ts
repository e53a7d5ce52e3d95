export * from './assert.ts';
export * from './errors.ts';
export * from './hlc.ts';
export * from './ids.ts';
export * from './idempotency-key.ts';
export * from './cursor.ts';
export * from './transport/tls.ts';
export { gs1Separator, normalizeGtin, parseGs1, type Gs1Fields, type Gs1Parse } from './barcodes/gs1.ts';
export * as limits from './limits.ts';
export * from './auth/rate-limiter.ts';
export * from './auth/sign-in-guard.ts';
export * from './auth/work-gate.ts';
export * as openapi from './openapi/document.ts';
export * from './domain/catalog/schemas.ts';
export * from './domain/stock/apply.ts';
export * from './domain/stock/history.ts';
export * from './domain/stock/partition.ts';
export * from './domain/stock/quantities.ts';
export * from './domain/stock/schemas.ts';
export * from './domain/fulfillment/schemas.ts';
export * from './domain/fulfillment/rules.ts';
export * from './domain/fulfillment/transitions.ts';
export * from './domain/quotas/policy.ts';
export * from './policy/policy.ts';
export * from './domain/catalog/products.ts';
export * from './domain/catalog/configuration.ts';
export * from './domain/catalog/warehouses.ts';
export * from './protocol/index.ts';
export * from './domain/holds/schemas.ts';
export * from './domain/orders/transitions.ts';
export * from './domain/orders/schemas.ts';
export * from './domain/orders/order-number.ts';
export * from './domain/orders/patch.ts';
export * from './domain/allocation/geo.ts';
export type {
  AllocationLine,
  AllocationRequest,
  AllocationResult,
  AllocationStrategy,
  CandidateWarehouse,
  WarehouseAllocation,
} from './domain/allocation/request.ts';
export * from './domain/allocation/strategies.ts';
export * from './domain/allocation/status.ts';
export * from './webhooks/events.ts';
export * from './domain/tracking/tracking.ts';
export * from './domain/tracking/easypost.ts';
export * from './domain/returns/transitions.ts';
export * from './domain/returns/schemas.ts';
export * from './domain/returns/rules.ts';
export * from './domain/returns/exchanges.ts';
export * from './domain/supply/schemas.ts';
export * from './notifications/kinds.ts';
export * from './notifications/templates.ts';
export * from './notifications/feedback.ts';
