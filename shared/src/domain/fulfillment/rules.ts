import * as limits from '../../limits.ts';

/**
 * A fulfillment order as its warehouse's edge holds it, and the rules of its pick → pack → ship flow.
 * Pure: the edge decides with them, tests and the simulation check them.
 *
 * Statuses: `open` (nothing picked) → `picking` → `packed` → `shipped`; `canceled` from any status
 * before `shipped`. A line's `quantity` is what this warehouse still owes; a release request (shortage
 * re-routing) lowers it, never below what is already picked.
 *
 * Invariants
 * 1. `0 ≤ picked ≤ quantity` on every line. Picks and releases check it.
 * 2. Packing needs every line fully picked, shipping needs packing: what leaves is what was picked.
 * 3. `shipped` and `canceled` are final: nothing changes them, and a cancel request answered after
 *    `shipped` is refused (physical fact wins).
 */
export const edgeFulfillmentStatuses = ['open', 'picking', 'packed', 'shipped', 'canceled'] as const;
export type EdgeFulfillmentStatus = (typeof edgeFulfillmentStatuses)[number];

/** Statuses in which the order still commits stock at the warehouse. */
export const committingFulfillmentStatuses = [
  'open',
  'picking',
  'packed',
] as const satisfies readonly EdgeFulfillmentStatus[];

export type EdgeFulfillmentLine = { sku: string; quantity: number; picked: number };
export type EdgeFulfillment = { status: EdgeFulfillmentStatus; lines: readonly EdgeFulfillmentLine[]; picks: number };

export const fulfillmentRefusalReasons = [
  'fulfillment_closed',
  'sku_not_in_fulfillment',
  'over_pick',
  'too_many_picks',
  'not_fully_picked',
  'not_packed',
  'over_ship',
  'nothing_to_ship',
] as const;
export type FulfillmentRefusalReason = (typeof fulfillmentRefusalReasons)[number];
export type FulfillmentCheck = { ok: true } | { ok: false; reason: FulfillmentRefusalReason; message: string };

const refuse = (reason: FulfillmentRefusalReason, message: string): FulfillmentCheck => ({
  ok: false,
  reason,
  message,
});
const ok: FulfillmentCheck = { ok: true };

export function checkPick(fulfillment: EdgeFulfillment, sku: string, quantity: number): FulfillmentCheck {
  if (fulfillment.status !== 'open' && fulfillment.status !== 'picking') {
    return refuse(
      'fulfillment_closed',
      `this fulfillment order is ${fulfillment.status}; nothing more can be picked for it`,
    );
  }
  if (fulfillment.picks >= limits.picksPerFulfillmentMax) {
    return refuse(
      'too_many_picks',
      `at most ${limits.picksPerFulfillmentMax} pick scans per fulfillment order; scan larger quantities`,
    );
  }
  const line = fulfillment.lines.find((candidate) => candidate.sku === sku);
  if (!line || line.quantity === 0)
    return refuse('sku_not_in_fulfillment', `${sku} is not on this fulfillment order; check the item`);
  if (line.picked + quantity > line.quantity) {
    return refuse('over_pick', `${line.quantity - line.picked} of ${sku} left to pick, not ${quantity}`);
  }
  return ok;
}

export function checkPack(fulfillment: EdgeFulfillment): FulfillmentCheck {
  if (fulfillment.status !== 'open' && fulfillment.status !== 'picking') {
    return refuse('fulfillment_closed', `this fulfillment order is ${fulfillment.status}; it cannot be packed again`);
  }
  const short = fulfillment.lines.find((line) => line.picked < line.quantity);
  if (short)
    return refuse('not_fully_picked', `${short.quantity - short.picked} of ${short.sku} still to pick before packing`);
  if (fulfillment.lines.every((line) => line.quantity === 0)) {
    return refuse('fulfillment_closed', 'nothing is left on this fulfillment order to pack');
  }
  return ok;
}

export function checkShip(fulfillment: EdgeFulfillment): FulfillmentCheck {
  if (fulfillment.status === 'packed') return ok;
  if (fulfillment.status === 'open' || fulfillment.status === 'picking')
    return refuse('not_packed', 'pack the order before shipping it');
  return refuse('fulfillment_closed', `this fulfillment order is ${fulfillment.status}`);
}

/** What the edge answers to the hub's cancel request: accept (put picked units back) or refuse. */
export type CancelAnswer =
  | {
      accept: true;
      unpick: Array<{ sku: string; quantity: number }>;
      released: Array<{ sku: string; quantity: number }>;
    }
  | { accept: false; reason: 'shipped' }
  | { accept: 'already' };

export function answerCancel(fulfillment: EdgeFulfillment): CancelAnswer {
  if (fulfillment.status === 'shipped') return { accept: false, reason: 'shipped' };
  if (fulfillment.status === 'canceled') return { accept: 'already' };
  return {
    accept: true,
    unpick: fulfillment.lines
      .filter((line) => line.picked > 0)
      .map((line) => ({ sku: line.sku, quantity: line.picked })),
    released: fulfillment.lines.map((line) => ({ sku: line.sku, quantity: line.quantity })),
  };
}

/**
 * What the edge releases of a release request: per line, at most what was asked and what is not yet
 * picked (picked units are in a tote for this customer); nothing once packed, shipped or canceled.
 */
export function answerRelease(
  fulfillment: EdgeFulfillment,
  requested: ReadonlyArray<{ sku: string; quantity: number }>,
): Array<{ sku: string; quantity: number }> {
  const open = fulfillment.status === 'open' || fulfillment.status === 'picking';
  return requested.map((ask) => {
    const line = fulfillment.lines.find((candidate) => candidate.sku === ask.sku);
    const releasable = open && line ? line.quantity - line.picked : 0;
    return { sku: ask.sku, quantity: Math.max(0, Math.min(ask.quantity, releasable)) };
  });
}

/**
 * What a shipment reported through the hub's API (a 3PL warehouse, no edge) takes: `requested` lines,
 * or everything still to ship when none are given. Each line at most what is still to ship of its
 * SKU (what leaves is what this warehouse owes, as picking bounds it at an edge); `complete` when
 * nothing is left to ship afterwards.
 */
export type ShipmentPlan =
  | { ok: true; lines: Array<{ sku: string; quantity: number }>; complete: boolean }
  | { ok: false; reason: FulfillmentRefusalReason; message: string };

export function planShipment(
  toShip: ReadonlyArray<{ sku: string; quantity: number }>,
  requested?: ReadonlyArray<{ sku: string; quantity: number }>,
): ShipmentPlan {
  const owed = new Map<string, number>();
  for (const line of toShip) owed.set(line.sku, (owed.get(line.sku) ?? 0) + line.quantity);
  const lines = requested
    ? requested.map((line) => ({ sku: line.sku, quantity: line.quantity }))
    : [...owed].filter(([, quantity]) => quantity > 0).map(([sku, quantity]) => ({ sku, quantity }));
  if (lines.length === 0)
    return { ok: false, reason: 'nothing_to_ship', message: 'nothing is left to ship on this fulfillment order' };
  const taken = new Map<string, number>();
  for (const line of lines) {
    const left = owed.get(line.sku) ?? 0;
    if (left === 0)
      return {
        ok: false,
        reason: 'sku_not_in_fulfillment',
        message: `${line.sku} is not left to ship on this fulfillment order`,
      };
    const total = (taken.get(line.sku) ?? 0) + line.quantity;
    if (total > left)
      return { ok: false, reason: 'over_ship', message: `${left} of ${line.sku} left to ship, not ${total}` };
    taken.set(line.sku, total);
  }
  const complete = [...owed].every(([sku, quantity]) => (taken.get(sku) ?? 0) === quantity);
  return { ok: true, lines, complete };
}
