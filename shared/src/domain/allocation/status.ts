import { assert } from '../../assert.ts';

/**
 * What an allocation's units are doing (one order line's units committed at one warehouse once
 * paid). Only `committed` counts in the partition's `committed` quantity.
 *
 * Invariants
 * 1. Every (status, event) pair is decided. Enforced by the type of `allocationTransitions` (no
 *    `Partial`) and a test that walks every pair.
 * 2. Units leave `committed` once: `shipped`, `released` and `rerouted` are final (re-routed units
 *    live on as a new `committed` row at the warehouse that took them). Enforced by their all-null
 *    rows; tested.
 * 3. Only committed units ship: backordered units wait at no warehouse, so they can only be released
 *    (the order was canceled while they waited). Enforced by the `backordered` row; tested.
 * 4. Every move out of `committed` takes the units off the partition's `committed` under its lock in
 *    the same transaction. Enforced by the hub's callers (fulfillment/facts.ts, fulfillment/shortage.ts),
 *    which change a row only through `transitionAllocation`.
 */
export const allocationStatuses = ['committed', 'shipped', 'released', 'rerouted', 'backordered'] as const;
export type AllocationStatus = (typeof allocationStatuses)[number];

export const allocationEvents = [
  /** The units left their warehouse with a carrier. */
  'ship',
  /** No longer wanted: the cancel was accepted, or they were released while the order was being canceled. */
  'release',
  /** Released by their warehouse (a shortage, or a 3PL's rejection) and committed at another one. */
  'reroute',
  /** Released by their warehouse with no other warehouse able to take them. */
  'backorder',
] as const;
export type AllocationEvent = (typeof allocationEvents)[number];

const final: Record<AllocationEvent, null> = { ship: null, release: null, reroute: null, backorder: null };

export const allocationTransitions: Record<AllocationStatus, Record<AllocationEvent, AllocationStatus | null>> = {
  committed: { ship: 'shipped', release: 'released', reroute: 'rerouted', backorder: 'backordered' },
  shipped: final,
  released: final,
  rerouted: final,
  backordered: { ...final, release: 'released' },
};

/** The status `event` moves an allocation in `from` to; asserts the table allows it (callers select rows by status). */
export function transitionAllocation(from: AllocationStatus, event: AllocationEvent): AllocationStatus {
  const row = allocationTransitions[from];
  assert(row !== undefined, `unknown allocation status: ${from}`);
  const to = row[event];
  assert(to !== undefined, `unknown allocation event: ${event}`);
  assert(to !== null, `an allocation that is ${from} cannot take ${event}`);
  return to;
}
