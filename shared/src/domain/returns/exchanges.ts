import { assert } from '../../assert.ts';
import * as limits from '../../limits.ts';
import type { ReturnPolicy } from './rules.ts';
import type { ReturnStatus } from './transitions.ts';

/**
 * Exchanges: a return and a linked replacement order whose units are held from the start (a hold
 * with a long TTL). The replacement is released to fulfillment when the warehouse receives the
 * return, or at once under "advance exchange"; if the return does not arrive within the window, or
 * is withdrawn, the hold is released and the exchange canceled. One complete table, like the others.
 *
 * `awaiting_return → released`, `awaiting_return → canceled`.
 *
 * Invariants
 * 1. Every pair is decided; `released` and `canceled` are terminal. Enforced by the table; tested.
 * 2. The replacement leaves for a warehouse once at most: only `awaiting_return` may release, and the
 *    hub moves it under the original order's lock (hub/src/returns/exchanges.ts).
 * 3. A replacement is never both shipped and its hold released: release converts the hold into
 *    allocations; cancel releases the hold of an order that never left `pending_payment`.
 * 4. The hold outlives the window (`exchangeHoldTtlSeconds`), so the hub cancels a lapsed exchange
 *    (and tells its webhooks) before its hold could lapse on its own.
 */
export const exchangeStatuses = ['awaiting_return', 'released', 'canceled'] as const;
export type ExchangeStatus = (typeof exchangeStatuses)[number];

export const exchangeEvents = [
  /** The warehouse accounted for units of the return. */
  'return_received',
  /** Advance exchange: policy or an agent ships the replacement before the return arrives. */
  'advance',
  /** The window closed with nothing received. */
  'window_lapsed',
  /** The return was rejected or canceled, or the replacement order was canceled. */
  'withdrawn',
] as const;
export type ExchangeEvent = (typeof exchangeEvents)[number];

const none: Record<ExchangeEvent, null> = {
  return_received: null,
  advance: null,
  window_lapsed: null,
  withdrawn: null,
};

export const exchangeTransitions: Record<ExchangeStatus, Record<ExchangeEvent, ExchangeStatus | null>> = {
  awaiting_return: {
    return_received: 'released',
    advance: 'released',
    window_lapsed: 'canceled',
    withdrawn: 'canceled',
  },
  released: none,
  canceled: none,
};

export type ExchangeTransitionResult =
  | { ok: true; status: ExchangeStatus }
  | { ok: false; reason: 'transition_not_allowed'; from: ExchangeStatus; event: ExchangeEvent };

export function transitionExchange(from: ExchangeStatus, event: ExchangeEvent): ExchangeTransitionResult {
  const row = exchangeTransitions[from];
  assert(row !== undefined, `unknown exchange status: ${from}`);
  const to = row[event];
  assert(to !== undefined, `unknown exchange event: ${event}`);
  return to === null ? { ok: false, reason: 'transition_not_allowed', from, event } : { ok: true, status: to };
}

export function asExchangeStatus(text: string): ExchangeStatus {
  assert((exchangeStatuses as readonly string[]).includes(text), `unknown exchange status: ${text}`);
  return text as ExchangeStatus;
}

/** What a return's move means for its exchange: received units release it; rejected or canceled withdraw it. */
export function exchangeEventForReturn(status: ReturnStatus): ExchangeEvent | undefined {
  if (status === 'received' || status === 'closed') return 'return_received';
  if (status === 'rejected' || status === 'canceled') return 'withdrawn';
  return undefined;
}

/** Whether the replacement ships at once: asked for per request (by someone allowed to), else policy. */
export function shipsInAdvance(policy: Pick<ReturnPolicy, 'advanceExchange'>, requested: boolean | undefined): boolean {
  return requested ?? policy.advanceExchange;
}

/** When an exchange still awaiting its return is canceled. */
export function exchangeDueAtMs(policy: Pick<ReturnPolicy, 'exchangeWindowDays'>, createdAtMs: number): number {
  return createdAtMs + policy.exchangeWindowDays * 86_400_000;
}

/** The replacement's hold: the window plus a grace, so it never lapses before the hub cancels the exchange. */
export function exchangeHoldTtlSeconds(policy: Pick<ReturnPolicy, 'exchangeWindowDays'>): number {
  return Math.ceil((policy.exchangeWindowDays * 86_400_000 + limits.exchangeHoldGraceMs) / 1000);
}
