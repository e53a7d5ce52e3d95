import { describe, expect, it } from 'vitest';
import { answerCancel } from './rules.ts';
import {
  type FulfillmentCancelEvent,
  type FulfillmentCancelState,
  type FulfillmentOrderEvent,
  type FulfillmentOrderStatus,
  finalFulfillmentOrderStatuses,
  fulfillmentCancelEvents,
  fulfillmentCancelStates,
  fulfillmentCancelTransitions,
  fulfillmentOrderEvents,
  fulfillmentOrderStatuses,
  fulfillmentOrderStatusesAllowing,
  fulfillmentOrderTransitions,
  transitionFulfillmentCancel,
  transitionFulfillmentOrder,
} from './transitions.ts';

const pairs = fulfillmentOrderStatuses.flatMap((status) =>
  fulfillmentOrderEvents.map((event) => [status, event] as const),
);

/** Every allowed pair, written out: the walk below checks the table says exactly these and nothing else. */
const allowed: Array<[FulfillmentOrderStatus, FulfillmentOrderEvent, FulfillmentOrderStatus]> = [
  ['requested', 'accept', 'accepted'],
  ['requested', 'reject', 'rejected'],
  ['requested', 'pack', 'packed'],
  ['requested', 'cancel', 'canceled'],
  ['requested', 'all_released', 'canceled'],
  ['accepted', 'ship_some', 'partially_shipped'],
  ['accepted', 'ship_all', 'shipped'],
  ['accepted', 'cancel', 'canceled'],
  ['accepted', 'all_released', 'canceled'],
  ['packed', 'pack', 'packed'],
  ['packed', 'ship_all', 'shipped'],
  ['packed', 'cancel', 'canceled'],
  ['partially_shipped', 'ship_some', 'partially_shipped'],
  ['partially_shipped', 'ship_all', 'shipped'],
  ['partially_shipped', 'refuse_cancel', 'partially_shipped'],
  ['shipped', 'refuse_cancel', 'shipped'],
];
const key = (status: string, event: string) => `${status}:${event}`;
const allowedKeys = new Map(allowed.map(([status, event, to]) => [key(status, event), to]));

function reachableFrom(start: FulfillmentOrderStatus): Set<FulfillmentOrderStatus> {
  const seen = new Set<FulfillmentOrderStatus>([start]);
  const queue: FulfillmentOrderStatus[] = [start];
  for (let status = queue.shift(); status !== undefined; status = queue.shift()) {
    for (const event of fulfillmentOrderEvents) {
      const next = fulfillmentOrderTransitions[status][event];
      if (next !== null && !seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

describe('the hub fulfillment order transition table', () => {
  it('decides every status × event pair and nothing else', () => {
    expect(Object.keys(fulfillmentOrderTransitions).sort()).toEqual([...fulfillmentOrderStatuses].sort());
    for (const status of fulfillmentOrderStatuses)
      expect(Object.keys(fulfillmentOrderTransitions[status]).sort()).toEqual([...fulfillmentOrderEvents].sort());
  });

  it.each(pairs)('%s on %s: allowed exactly when listed, to the listed status', (status, event) => {
    const to = allowedKeys.get(key(status, event));
    const result = transitionFulfillmentOrder(status, event);
    if (to === undefined) expect(result).toEqual({ ok: false, reason: 'transition_not_allowed', from: status, event });
    else expect(result).toEqual({ ok: true, status: to });
  });

  it('leaves a final status only by refusing a cancel, which keeps it', () => {
    for (const status of finalFulfillmentOrderStatuses) {
      for (const event of fulfillmentOrderEvents) {
        const to = fulfillmentOrderTransitions[status][event];
        expect(to === null || to === status, `${status} on ${event}`).toBe(true);
      }
    }
  });

  it('ships nothing that is only requested: an edge packs first, a 3PL accepts first', () => {
    expect(transitionFulfillmentOrder('requested', 'ship_all').ok).toBe(false);
    expect(transitionFulfillmentOrder('requested', 'ship_some').ok).toBe(false);
    expect(fulfillmentOrderStatusesAllowing('ship_all').sort()).toEqual(['accepted', 'packed', 'partially_shipped']);
  });

  it('accepts a cancel exactly while nothing has left, and refuses it exactly once something has (as the edge answers)', () => {
    for (const status of fulfillmentOrderStatuses) {
      const accepts = fulfillmentOrderTransitions[status].cancel !== null;
      const refuses = fulfillmentOrderTransitions[status].refuse_cancel !== null;
      expect(accepts && refuses, status).toBe(false);
    }
    expect(fulfillmentOrderStatusesAllowing('cancel').sort()).toEqual(['accepted', 'packed', 'requested']);
    expect(fulfillmentOrderStatusesAllowing('refuse_cancel').sort()).toEqual(['partially_shipped', 'shipped']);
    // The edge's own rule gives the same answers for the statuses both sides know.
    const line = [{ sku: 'SOFA', quantity: 1, picked: 1 }];
    expect(answerCancel({ status: 'packed', lines: line, picks: 1 }).accept).toBe(true);
    expect(answerCancel({ status: 'shipped', lines: line, picks: 1 }).accept).toBe(false);
  });

  it('lets a 3PL answer the request once, before anything else happened to it', () => {
    expect(fulfillmentOrderStatusesAllowing('accept')).toEqual(['requested']);
    expect(fulfillmentOrderStatusesAllowing('reject')).toEqual(['requested']);
  });

  it('reaches every status from requested, and a final status from every status', () => {
    expect([...reachableFrom('requested')].sort()).toEqual([...fulfillmentOrderStatuses].sort());
    for (const status of fulfillmentOrderStatuses) {
      const finals = [...reachableFrom(status)].filter((next) =>
        (finalFulfillmentOrderStatuses as readonly string[]).includes(next),
      );
      expect(finals.length, status).toBeGreaterThan(0);
    }
  });
});

describe('the cancel request table', () => {
  const cancelPairs = fulfillmentCancelStates.flatMap((state) =>
    fulfillmentCancelEvents.map((event) => [state, event] as const),
  );
  const cancelAllowed: Array<[FulfillmentCancelState, FulfillmentCancelEvent, FulfillmentCancelState]> = [
    ['none', 'request', 'requested'],
    ['requested', 'accept', 'accepted'],
    ['requested', 'refuse', 'refused'],
  ];
  const cancelKeys = new Map(cancelAllowed.map(([state, event, to]) => [key(state, event), to]));

  it('decides every state × event pair', () => {
    expect(Object.keys(fulfillmentCancelTransitions).sort()).toEqual([...fulfillmentCancelStates].sort());
    for (const state of fulfillmentCancelStates)
      expect(Object.keys(fulfillmentCancelTransitions[state]).sort()).toEqual([...fulfillmentCancelEvents].sort());
  });

  it.each(cancelPairs)('%s on %s: allowed exactly when listed (asked once, answered once)', (state, event) => {
    const to = cancelKeys.get(key(state, event));
    const result = transitionFulfillmentCancel(state === 'none' ? null : state, event);
    if (to === undefined) expect(result).toEqual({ ok: false, reason: 'transition_not_allowed', from: state, event });
    else expect(result).toEqual({ ok: true, state: to });
  });

  it('reads a stored null as no request, and refuses a stored value it does not know', () => {
    expect(transitionFulfillmentCancel(null, 'request')).toEqual({ ok: true, state: 'requested' });
    expect(() => transitionFulfillmentCancel('none', 'request')).toThrow();
    expect(() => transitionFulfillmentCancel('maybe', 'accept')).toThrow();
  });
});
