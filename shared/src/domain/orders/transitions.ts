import { assert } from '../../assert.ts';

/**
 * The order state machine (docs/architecture.md, "Orders"): one complete table, no `Partial`, so the compiler
 * proves every (status, event) pair was decided; `null` means "not allowed" (the hub answers 409
 * with the current status).
 *
 * Invariants
 * 1. Every pair is decided. Enforced by the type of `orderTransitions` (a missing pair does not compile)
 *    and a test that walks all statuses × events.
 * 2. `canceled`, `returned` and `expired` are terminal: no event leaves them. Enforced by their all-`null`
 *    rows; tested.
 * 3. Nothing reaches a warehouse before payment: fulfillment facts are refused in `pending_payment`,
 *    and only `payment_confirmed` leads out of it into fulfillment. Enforced by the `pending_payment` row.
 * 4. Only unpaid orders expire, and they expire with their holds: `hold_expired` is allowed from
 *    `pending_payment` only (once paid, holds have become allocations). Enforced by the table; tested.
 * 5. A paid order is cancelled only by its warehouses' consent: `canceled` is reached from a paid
 *    order only through `cancel_accepted` (the edge owns the fulfillment order and released the
 *    commitment; docs/architecture.md, "Ownership"). An unpaid order is cancelled at once, since the hub owns its hold.
 *    Enforced by the table; tested by listing every pair that reaches `canceled`.
 * 6. Physical fact wins: a rejection because goods shipped moves the order to `return_requested`, and
 *    a fact reported by the owner (pack, ship, a late cancel answer) is never refused while the order
 *    still waits on its warehouses (`processing` … `shipped`, `cancel_requested`, `return_requested`);
 *    it may leave the status unchanged. Enforced by the table; tested.
 * 7. Fulfillment progress never goes backwards: in the fulfillment statuses a pack/ship fact moves the
 *    order to the further of where it is and where the fact points (a late or redundant fact is a
 *    no-op, not a refusal). Enforced by `furthest()` building those rows; tested against the ranks.
 * 8. Staff set by hand only what the hub owns: `delivered`, `return_requested`, `returned`. Packing and
 *    shipping are the edge's facts, cancelling goes through `POST /orders/{id}/cancel`, expiry through
 *    the hold's clock, payment through `POST /orders/{id}/payment` (it needs a reference). Enforced by
 *    `staffSettableOrderStatuses` and `staffTransition`; tested.
 * 9. Every status is reachable from `pending_payment`, and every status can reach a terminal one.
 *    Tested by walking the table.
 *
 * `backordered` is not an order status: it belongs to an allocation (one line at one warehouse).
 * docs/architecture.md ("Quantities") marks *allocations* backordered when stock is lost, and a split order may have one line
 * backordered while another is already shipped; an order-level status would have to drop one of the
 * two facts. The order keeps its fulfillment status and its allocations say which lines wait.
 */
export const orderStatuses = [
  'pending_payment',
  'processing',
  'partially_packed',
  'packed',
  'partially_shipped',
  'shipped',
  'delivered',
  'cancel_requested',
  'canceled',
  'return_requested',
  'returned',
  'expired',
] as const;
export type OrderStatus = (typeof orderStatuses)[number];

/**
 * Events. Fulfillment facts say whether *every* fulfillment order of the order has now reached the
 * step (`all_…`) or only some (`some_…`): the hub computes that from its fulfillment records, so
 * the table stays a plain lookup. `delivered`, `return_received`, `cancel_accepted` likewise mean
 * "for the whole order": the hub emits them once the last warehouse or shipment has answered, while
 * `cancel_rejected_shipped` is emitted as soon as any warehouse rejects because it shipped.
 */
export const orderEvents = [
  /** The payment provider (or `POST /orders/{id}/payment`) confirmed payment; holds become allocations. */
  'payment_confirmed',
  /** The order's holds passed `expiresAt` unpaid. */
  'hold_expired',
  /** An edge packed a fulfillment order; some are still unpacked. */
  'some_packed',
  /** An edge packed a fulfillment order; now every one is packed. */
  'all_packed',
  /** An edge shipped a fulfillment order; some are still unshipped. */
  'some_shipped',
  /** An edge shipped a fulfillment order; now every one is shipped. */
  'all_shipped',
  /** Every shipment is delivered (carrier tracking or staff). */
  'delivered',
  /** Staff or the customer asked to cancel (`POST /orders/{id}/cancel`). */
  'cancel_requested',
  /** Every warehouse holding a fulfillment order accepted the cancel request and released its commitment. */
  'cancel_accepted',
  /** A warehouse rejected the cancel request because it had already shipped. */
  'cancel_rejected_shipped',
  /** Staff or the customer asked to return the goods. */
  'return_requested',
  /** Every returned unit was received back at a warehouse. */
  'return_received',
] as const;
export type OrderEvent = (typeof orderEvents)[number];

export const terminalOrderStatuses = ['canceled', 'returned', 'expired'] as const satisfies readonly OrderStatus[];

/** Statuses the fulfillment facts move between, in order of progress. */
const fulfillmentProgress = ['processing', 'partially_packed', 'packed', 'partially_shipped', 'shipped'] as const;
type FulfillmentStatus = (typeof fulfillmentProgress)[number];

/** Where each fulfillment fact points on its own. */
const factTarget = {
  some_packed: 'partially_packed',
  all_packed: 'packed',
  some_shipped: 'partially_shipped',
  all_shipped: 'shipped',
} as const satisfies Record<string, FulfillmentStatus>;

function furthest(from: FulfillmentStatus, fact: keyof typeof factTarget): FulfillmentStatus {
  const target = factTarget[fact];
  return fulfillmentProgress.indexOf(target) > fulfillmentProgress.indexOf(from) ? target : from;
}

/** A row for a status in which the order waits on its warehouses: facts are recorded, status kept. */
function waitingFacts(status: OrderStatus): Record<keyof typeof factTarget, OrderStatus> {
  return { some_packed: status, all_packed: status, some_shipped: status, all_shipped: status };
}

function fulfillmentRow(from: FulfillmentStatus): Record<keyof typeof factTarget, OrderStatus> {
  return {
    some_packed: furthest(from, 'some_packed'),
    all_packed: furthest(from, 'all_packed'),
    some_shipped: furthest(from, 'some_shipped'),
    all_shipped: furthest(from, 'all_shipped'),
  };
}

const terminal: Record<OrderEvent, null> = {
  payment_confirmed: null,
  hold_expired: null,
  some_packed: null,
  all_packed: null,
  some_shipped: null,
  all_shipped: null,
  delivered: null,
  cancel_requested: null,
  cancel_accepted: null,
  cancel_rejected_shipped: null,
  return_requested: null,
  return_received: null,
};

/** Cancel and return requests while goods are still being prepared (nothing shipped yet, or only part). */
const beforeShipped = {
  payment_confirmed: null,
  hold_expired: null,
  delivered: null,
  cancel_requested: 'cancel_requested',
  cancel_accepted: null,
  cancel_rejected_shipped: null,
  return_requested: null,
  return_received: null,
} as const;

export const orderTransitions: Record<OrderStatus, Record<OrderEvent, OrderStatus | null>> = {
  pending_payment: {
    ...terminal,
    payment_confirmed: 'processing',
    hold_expired: 'expired',
    // The hub owns holds, so an unpaid order is cancelled at once: no warehouse has anything yet.
    cancel_requested: 'canceled',
  },
  processing: { ...beforeShipped, ...fulfillmentRow('processing') },
  partially_packed: { ...beforeShipped, ...fulfillmentRow('partially_packed') },
  packed: { ...beforeShipped, ...fulfillmentRow('packed') },
  // Cancelling a partly shipped order asks every warehouse; those that shipped reject, so it ends in
  // `return_requested`: what left comes back, and the parts whose warehouses accepted are released.
  partially_shipped: { ...beforeShipped, ...fulfillmentRow('partially_shipped') },
  shipped: {
    ...terminal,
    ...fulfillmentRow('shipped'),
    delivered: 'delivered',
    // Everything has left: too late to cancel, ask for a return (e.g. the customer refuses the parcel).
    return_requested: 'return_requested',
  },
  delivered: { ...terminal, return_requested: 'return_requested' },
  cancel_requested: {
    ...terminal,
    // A warehouse may pack or ship before it reads the request; it then answers with a rejection.
    ...waitingFacts('cancel_requested'),
    delivered: 'cancel_requested',
    cancel_accepted: 'canceled',
    cancel_rejected_shipped: 'return_requested',
  },
  canceled: terminal,
  return_requested: {
    ...terminal,
    // Reached from a rejected cancel while other warehouses may still answer, pack, ship or deliver.
    ...waitingFacts('return_requested'),
    delivered: 'return_requested',
    cancel_accepted: 'return_requested',
    cancel_rejected_shipped: 'return_requested',
    return_received: 'returned',
  },
  returned: terminal,
  expired: terminal,
};

export type OrderTransitionResult =
  | { ok: true; status: OrderStatus }
  | { ok: false; reason: 'transition_not_allowed'; from: OrderStatus; event: OrderEvent };

export function transitionOrder(from: OrderStatus, event: OrderEvent): OrderTransitionResult {
  const row = orderTransitions[from];
  assert(row !== undefined, `unknown order status: ${from}`);
  const to = row[event];
  assert(to !== undefined, `unknown order event: ${event}`);
  return to === null ? { ok: false, reason: 'transition_not_allowed', from, event } : { ok: true, status: to };
}

export function isTerminalOrderStatus(status: OrderStatus): boolean {
  return (terminalOrderStatuses as readonly OrderStatus[]).includes(status);
}

/** What `PUT /orders/{id}/status` may set (invariant 8), and the event each one stands for. */
export const staffSettableOrderStatuses = [
  'delivered',
  'return_requested',
  'returned',
] as const satisfies readonly OrderStatus[];
export type StaffSettableOrderStatus = (typeof staffSettableOrderStatuses)[number];
export const staffOrderStatusEvents: Record<StaffSettableOrderStatus, OrderEvent> = {
  delivered: 'delivered',
  return_requested: 'return_requested',
  returned: 'return_received',
};

/**
 * A staff member sets `to` by hand. Allowed only where the event it stands for lands exactly on `to`
 * (e.g. marking a `cancel_requested` order delivered records nothing the table would show, so it is refused).
 */
export function staffTransition(from: OrderStatus, to: StaffSettableOrderStatus): OrderTransitionResult {
  const event = staffOrderStatusEvents[to];
  assert(event !== undefined, `not a staff-settable status: ${to}`);
  const result = transitionOrder(from, event);
  if (result.ok && result.status !== to) return { ok: false, reason: 'transition_not_allowed', from, event };
  return result;
}
