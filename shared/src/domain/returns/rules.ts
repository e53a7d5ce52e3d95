import * as limits from '../../limits.ts';
import { haversineKm } from '../allocation/geo.ts';
import type { ReturnDisposition, ReturnReason } from './schemas.ts';

/**
 * Pure rules of returns: what may still be returned, the return window, and when policy authorizes
 * a return without an agent. Time is passed in (`nowMs`), so a simulation can drive them.
 *
 * Invariants
 * 1. Units returned never exceed units shipped: per SKU, what open and finished returns hold plus the
 *    new request is at most what shipped. Enforced by `returnableQuantities` (hub: 409
 *    `exceeds_returnable` naming the line), computed under the order's lock.
 * 2. A request is on time: before the window closes, counted from delivery, or from the last shipment
 *    when no delivery was recorded. Enforced by `returnWindowClosesAtMs` (hub: 409 `return_window_closed`).
 * 3. Refunded never exceeds paid. Enforced by `refundAllowed` (hub: 409 `refund_exceeds_payment`).
 */

const dayMs = 86_400_000;

export type ReturnPolicy = {
  /** Days after delivery (or shipment) a return may be asked for. */
  windowDays: number;
  /** Reasons policy authorizes without an agent. */
  autoAuthorizeReasons: readonly ReturnReason[];
  /** The most a return may be worth (minor units, at the order's unit prices) to be authorized by policy. */
  autoAuthorizeValueMax: number;
  /** Days an exchange's replacement stays held waiting for the return before the exchange is canceled. */
  exchangeWindowDays: number;
  /** "Advance exchange": the replacement ships at once instead of when the return is received. */
  advanceExchange: boolean;
};

export const defaultReturnPolicy: ReturnPolicy = {
  windowDays: limits.returnWindowDaysDefault,
  autoAuthorizeReasons: ['changed_mind', 'wrong_size', 'damaged_in_transit', 'defective', 'wrong_item'],
  autoAuthorizeValueMax: limits.returnAutoAuthorizeValueMaxDefault,
  exchangeWindowDays: limits.exchangeWindowDaysDefault,
  advanceExchange: false,
};

/** Per SKU: shipped less what returns (not rejected or canceled) already hold. Never negative. */
export function returnableQuantities(
  shipped: ReadonlyMap<string, number>,
  alreadyReturning: ReadonlyMap<string, number>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [sku, quantity] of shipped) out.set(sku, Math.max(0, quantity - (alreadyReturning.get(sku) ?? 0)));
  return out;
}

/** The first line asking for more than may be returned, with what may be; undefined when all fit. */
export function firstExcessLine(
  lines: ReadonlyArray<{ sku: string; quantity: number }>,
  returnable: ReadonlyMap<string, number>,
): { sku: string; quantity: number; returnable: number } | undefined {
  for (const line of lines) {
    const may = returnable.get(line.sku) ?? 0;
    if (line.quantity > may) return { sku: line.sku, quantity: line.quantity, returnable: may };
  }
  return undefined;
}

/** When the window closes: `windowDays` after delivery, or after the last shipment if not delivered. */
export function returnWindowClosesAtMs(
  policy: Pick<ReturnPolicy, 'windowDays'>,
  deliveredAtMs: number | undefined,
  lastShippedAtMs: number | undefined,
): number | undefined {
  const from = deliveredAtMs ?? lastShippedAtMs;
  return from === undefined ? undefined : from + policy.windowDays * dayMs;
}

/** Policy authorizes when every reason is allowed and the value is within the threshold. */
export function authorizedByPolicy(
  policy: ReturnPolicy,
  lines: ReadonlyArray<{ reason: ReturnReason; quantity: number; unitPrice: number }>,
): boolean {
  const value = lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
  return (
    value <= policy.autoAuthorizeValueMax && lines.every((line) => policy.autoAuthorizeReasons.includes(line.reason))
  );
}

/** True when recording `amount` keeps refunds within what was paid. */
export function refundAllowed(paid: number, refundedSoFar: number, amount: number): boolean {
  return amount > 0 && refundedSoFar + amount <= paid;
}

/** Units accounted for per SKU, by disposition, from received lines. */
export function accountedBySku(
  lines: ReadonlyArray<{ sku: string; quantity: number; disposition: ReturnDisposition }>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of lines) out.set(line.sku, (out.get(line.sku) ?? 0) + line.quantity);
  return out;
}

export type ReturnWarehouseCandidate = {
  id: string;
  location: { lat: number; lon: number };
  /** True when some of the order's units shipped from here. */
  shippedFrom: boolean;
};

/**
 * The warehouse that receives a return, among those that accept returns (edge warehouses by
 * default): the nearest to the customer's address when it has coordinates; otherwise one the order
 * shipped from; otherwise the first by id. Ties go to the one that shipped, then to the smaller id.
 */
export function chooseReturnWarehouse(
  candidates: readonly ReturnWarehouseCandidate[],
  customer: { lat: number; lon: number } | undefined,
): string | undefined {
  const ranked = [...candidates].sort((a, b) => {
    if (customer) {
      const distance = haversineKm(customer, a.location) - haversineKm(customer, b.location);
      if (distance !== 0) return distance;
    }
    if (a.shippedFrom !== b.shippedFrom) return a.shippedFrom ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
  return ranked[0]?.id;
}
