import { assert } from '../../assert.ts';

/**
 * The return (RMA) state machine: one complete table, no `Partial`, so the compiler proves every
 * (status, event) pair was decided; `null` means "not allowed" (the hub answers 409 with the status).
 *
 * `requested → authorized → in_transit → received → closed`, and `rejected`, `canceled`.
 *
 * Invariants
 * 1. Every pair is decided. Enforced by the type of `returnTransitions`; a test walks all pairs.
 * 2. `closed`, `rejected` and `canceled` are terminal. Enforced by their all-`null` rows; tested.
 * 3. Nothing is received that was not authorized: the receive events leave `authorized`, `in_transit`
 *    and `received` only. Enforced by the table; the quantities by the edge (409 `exceeds_authorized`)
 *    and again by the hub when the fact arrives (hub/src/returns/receive.ts).
 * 4. Physical fact wins: once the warehouse received units, the return can no longer be rejected or
 *    canceled. Enforced by the `received` row.
 * 5. A return is closed when everything authorized is accounted for (restocked, damaged or missing)
 *    (`receive_all`), or by hand after a partial receipt (`close`). Enforced by the table; tested.
 */
export const returnStatuses = [
  'requested',
  'authorized',
  'in_transit',
  'received',
  'closed',
  'rejected',
  'canceled',
] as const;
export type ReturnStatus = (typeof returnStatuses)[number];

export const returnEvents = [
  /** An agent, or the auto-authorization policy, accepted the request: the warehouse expects the goods. */
  'authorize',
  /** An agent refused the request. */
  'reject',
  /** The customer or an agent withdrew it before anything arrived. */
  'cancel',
  /** The parcel is on its way back (a carrier scan). */
  'dispatch',
  /** The warehouse accounted for some of the authorized units. */
  'receive_some',
  /** The warehouse has now accounted for every authorized unit. */
  'receive_all',
  /** An agent closes a partly received return. */
  'close',
] as const;
export type ReturnEvent = (typeof returnEvents)[number];

export const terminalReturnStatuses = ['closed', 'rejected', 'canceled'] as const satisfies readonly ReturnStatus[];
/** Statuses in which a return still counts against what may be returned. */
export const openReturnStatuses = [
  'requested',
  'authorized',
  'in_transit',
  'received',
] as const satisfies readonly ReturnStatus[];

const none: Record<ReturnEvent, null> = {
  authorize: null,
  reject: null,
  cancel: null,
  dispatch: null,
  receive_some: null,
  receive_all: null,
  close: null,
};

export const returnTransitions: Record<ReturnStatus, Record<ReturnEvent, ReturnStatus | null>> = {
  requested: { ...none, authorize: 'authorized', reject: 'rejected', cancel: 'canceled' },
  authorized: {
    ...none,
    cancel: 'canceled',
    dispatch: 'in_transit',
    receive_some: 'received',
    receive_all: 'closed',
  },
  in_transit: { ...none, receive_some: 'received', receive_all: 'closed' },
  received: { ...none, receive_some: 'received', receive_all: 'closed', close: 'closed' },
  closed: none,
  rejected: none,
  canceled: none,
};

export type ReturnTransitionResult =
  | { ok: true; status: ReturnStatus }
  | { ok: false; reason: 'transition_not_allowed'; from: ReturnStatus; event: ReturnEvent };

export function transitionReturn(from: ReturnStatus, event: ReturnEvent): ReturnTransitionResult {
  const row = returnTransitions[from];
  assert(row !== undefined, `unknown return status: ${from}`);
  const to = row[event];
  assert(to !== undefined, `unknown return event: ${event}`);
  return to === null ? { ok: false, reason: 'transition_not_allowed', from, event } : { ok: true, status: to };
}

export function asReturnStatus(text: string): ReturnStatus {
  assert((returnStatuses as readonly string[]).includes(text), `unknown return status: ${text}`);
  return text as ReturnStatus;
}
