import { assert } from '../../assert.ts';

/**
 * The hub's record of a fulfillment order (one warehouse's part of a paid order; docs/architecture.md, "Ownership") and of a
 * cancel request to it: two complete tables, no `Partial`, so the compiler proves every (state,
 * event) pair was decided; `null` means "not allowed" (a 3PL's REST call is answered 409
 * `transition_not_allowed` with the current status; an edge's fact is refused durably as
 * `fulfillment_state_conflict`). The edge's own pick → pack → ship rules are in rules.ts; this is
 * what the hub records of them, and what a 3PL warehouse (no edge) moves through the REST API.
 *
 * Invariants
 * 1. Every pair is decided. Enforced by the types of `fulfillmentOrderTransitions` and
 *    `fulfillmentCancelTransitions` (a missing pair does not compile) and tests that walk every pair.
 * 2. `shipped`, `canceled` and `rejected` are final: no event changes them, except that a shipped
 *    order still answers a cancel request with a refusal (which changes its cancel state, not its
 *    status). Enforced by their rows; tested.
 * 3. Nothing ships before the warehouse has the order in hand: an edge packs first (`checkShip` at
 *    the edge; its `fulfillment_packed` fact precedes `fulfillment_shipped` in the same stream), a
 *    3PL accepts first. Enforced by the `requested` row (no `ship_*`); tested.
 * 4. Physical fact wins: before any unit has left, a cancel request can only be accepted; once some
 *    have (`partially_shipped`, `shipped`), it can only be refused, and the order asks for a return.
 *    The edge answers by the same rule (`answerCancel` in rules.ts). Enforced by the `cancel` and
 *    `refuse_cancel` columns; tested.
 * 5. Accepting or rejecting is the 3PL's one answer to the request, given before anything else
 *    happened to it: allowed from `requested` only. Enforced by the `accept` and `reject` columns.
 * 6. A fulfillment order with nothing left to ship ends: `canceled` (its cancel accepted, or every
 *    unit released by shortage re-routing) or `rejected` (its units re-routed or backordered).
 *    Enforced by the table; the hub's callers release the units in the same transaction.
 * 7. A cancel request is asked once and answered once: `none → requested → accepted | refused`.
 *    Enforced by `fulfillmentCancelTransitions`; tested.
 */
export const fulfillmentOrderStatuses = [
  /** Sent to its warehouse (an edge's channel, or listed for a 3PL); nothing reported yet. */
  'requested',
  /** A 3PL accepted it (edges own their orders on delivery and never report this). */
  'accepted',
  /** An edge packed it. */
  'packed',
  /** A 3PL shipped some of its units; the rest is still committed there. */
  'partially_shipped',
  /** Every unit it still held has left with a carrier. */
  'shipped',
  /** Its warehouse accepted a cancel request, or every unit was released (shortage re-routing). */
  'canceled',
  /** A 3PL refused it: its units were re-routed to other warehouses or backordered. */
  'rejected',
] as const;
export type FulfillmentOrderStatus = (typeof fulfillmentOrderStatuses)[number];

export const fulfillmentOrderEvents = [
  /** A 3PL accepts the request (`POST /fulfillment-orders/{id}/accept`). */
  'accept',
  /** A 3PL rejects the request (`POST /fulfillment-orders/{id}/reject`). */
  'reject',
  /** An edge packed it (`fulfillment_packed`). */
  'pack',
  /** Some units left, others are still to ship (a 3PL's partial shipment). */
  'ship_some',
  /** The last units left (an edge's `fulfillment_shipped`, or a 3PL shipping the rest). */
  'ship_all',
  /** The warehouse accepted a cancel request and released the commitment. */
  'cancel',
  /** The warehouse refused a cancel request because goods had shipped. */
  'refuse_cancel',
  /** Shortage re-routing released every unit it held: nothing is left for it to ship. */
  'all_released',
] as const;
export type FulfillmentOrderEvent = (typeof fulfillmentOrderEvents)[number];

export const finalFulfillmentOrderStatuses = [
  'shipped',
  'canceled',
  'rejected',
] as const satisfies readonly FulfillmentOrderStatus[];

/** Final statuses reached without shipping: such an order holds nothing and waits for nothing. */
export const unshippedFinalFulfillmentOrderStatuses = [
  'canceled',
  'rejected',
] as const satisfies readonly FulfillmentOrderStatus[];

const nothing: Record<FulfillmentOrderEvent, null> = {
  accept: null,
  reject: null,
  pack: null,
  ship_some: null,
  ship_all: null,
  cancel: null,
  refuse_cancel: null,
  all_released: null,
};

export const fulfillmentOrderTransitions: Record<
  FulfillmentOrderStatus,
  Record<FulfillmentOrderEvent, FulfillmentOrderStatus | null>
> = {
  requested: {
    ...nothing,
    accept: 'accepted',
    reject: 'rejected',
    pack: 'packed',
    cancel: 'canceled',
    all_released: 'canceled',
  },
  accepted: {
    ...nothing,
    ship_some: 'partially_shipped',
    ship_all: 'shipped',
    cancel: 'canceled',
    all_released: 'canceled',
  },
  // A packed fact may arrive again (a replayed stream is deduplicated by event id, but a second pack
  // of the same order only restates it); packed units are never released by a shortage request.
  packed: { ...nothing, pack: 'packed', ship_all: 'shipped', cancel: 'canceled' },
  partially_shipped: {
    ...nothing,
    ship_some: 'partially_shipped',
    ship_all: 'shipped',
    refuse_cancel: 'partially_shipped',
  },
  shipped: { ...nothing, refuse_cancel: 'shipped' },
  canceled: nothing,
  rejected: nothing,
};

export type FulfillmentOrderTransitionResult =
  | { ok: true; status: FulfillmentOrderStatus }
  | {
      ok: false;
      reason: 'transition_not_allowed';
      from: FulfillmentOrderStatus;
      event: FulfillmentOrderEvent;
    };

export function transitionFulfillmentOrder(
  from: FulfillmentOrderStatus,
  event: FulfillmentOrderEvent,
): FulfillmentOrderTransitionResult {
  const row = fulfillmentOrderTransitions[from];
  assert(row !== undefined, `unknown fulfillment order status: ${from}`);
  const to = row[event];
  assert(to !== undefined, `unknown fulfillment order event: ${event}`);
  return to === null ? { ok: false, reason: 'transition_not_allowed', from, event } : { ok: true, status: to };
}

/** The statuses from which `event` is allowed: for statements that move many rows at once. */
export function fulfillmentOrderStatusesAllowing(event: FulfillmentOrderEvent): FulfillmentOrderStatus[] {
  return fulfillmentOrderStatuses.filter((status) => fulfillmentOrderTransitions[status][event] !== null);
}

/** A stored status read back: asserted to be one the table knows. */
export function asFulfillmentOrderStatus(stored: string): FulfillmentOrderStatus {
  assert(
    (fulfillmentOrderStatuses as readonly string[]).includes(stored),
    `unknown fulfillment order status: ${stored}`,
  );
  return stored as FulfillmentOrderStatus;
}

// ---------------------------------------------------------------------------------------------
// The cancel request to a fulfillment order's warehouse (stored as null until the hub asks).
// ---------------------------------------------------------------------------------------------

export const fulfillmentCancelStates = ['none', 'requested', 'accepted', 'refused'] as const;
export type FulfillmentCancelState = (typeof fulfillmentCancelStates)[number];
/** As stored and shown: `none` is null. */
export type StoredFulfillmentCancelState = Exclude<FulfillmentCancelState, 'none'> | null;

export const fulfillmentCancelEvents = [
  /** The order was canceled after payment: the hub asks the warehouse. */
  'request',
  /** The warehouse accepted (nothing had left), or the request became moot (nothing is left to ship). */
  'accept',
  /** The warehouse refused: goods had shipped (physical fact wins). */
  'refuse',
] as const;
export type FulfillmentCancelEvent = (typeof fulfillmentCancelEvents)[number];

export const fulfillmentCancelTransitions: Record<
  FulfillmentCancelState,
  Record<FulfillmentCancelEvent, Exclude<FulfillmentCancelState, 'none'> | null>
> = {
  none: { request: 'requested', accept: null, refuse: null },
  requested: { request: null, accept: 'accepted', refuse: 'refused' },
  accepted: { request: null, accept: null, refuse: null },
  refused: { request: null, accept: null, refuse: null },
};

export type FulfillmentCancelTransitionResult =
  | { ok: true; state: Exclude<FulfillmentCancelState, 'none'> }
  | {
      ok: false;
      reason: 'transition_not_allowed';
      from: FulfillmentCancelState;
      event: FulfillmentCancelEvent;
    };

/** `from` as stored (null before any request). */
export function transitionFulfillmentCancel(
  from: string | null,
  event: FulfillmentCancelEvent,
): FulfillmentCancelTransitionResult {
  assert(
    from === null || (from !== 'none' && (fulfillmentCancelStates as readonly string[]).includes(from)),
    `unknown cancel state: ${from}`,
  );
  const state = (from ?? 'none') as FulfillmentCancelState;
  const to = fulfillmentCancelTransitions[state][event];
  assert(to !== undefined, `unknown cancel event: ${event}`);
  return to === null ? { ok: false, reason: 'transition_not_allowed', from: state, event } : { ok: true, state: to };
}
