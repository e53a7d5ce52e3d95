import { describe, expect, it } from 'vitest';
import {
  type OrderEvent,
  type OrderStatus,
  isTerminalOrderStatus,
  orderEvents,
  orderStatuses,
  orderTransitions,
  staffOrderStatusEvents,
  staffSettableOrderStatuses,
  staffTransition,
  terminalOrderStatuses,
  transitionOrder,
} from './transitions.ts';

const pairs = orderStatuses.flatMap((status) => orderEvents.map((event) => [status, event] as const));
const allowed = pairs.filter(([status, event]) => orderTransitions[status][event] !== null);

function reachableFrom(start: OrderStatus): Set<OrderStatus> {
  const seen = new Set<OrderStatus>([start]);
  const queue: OrderStatus[] = [start];
  for (let status = queue.shift(); status !== undefined; status = queue.shift()) {
    for (const event of orderEvents) {
      const next = orderTransitions[status][event];
      if (next !== null && !seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

describe('the order transition table', () => {
  it('decides every status × event pair and nothing else', () => {
    expect(Object.keys(orderTransitions).sort()).toEqual([...orderStatuses].sort());
    for (const status of orderStatuses) {
      expect(Object.keys(orderTransitions[status]).sort()).toEqual([...orderEvents].sort());
      for (const event of orderEvents) {
        const to = orderTransitions[status][event];
        expect(to === null || orderStatuses.includes(to)).toBe(true);
      }
    }
  });

  it('has no backordered order status, because backorder is a fact about one allocation', () => {
    expect(orderStatuses as readonly string[]).not.toContain('backordered');
  });

  it.each([
    ['pending_payment', 'payment_confirmed', 'processing'],
    ['pending_payment', 'hold_expired', 'expired'],
    ['pending_payment', 'cancel_requested', 'canceled'],
    ['processing', 'some_packed', 'partially_packed'],
    ['processing', 'all_packed', 'packed'],
    ['processing', 'some_shipped', 'partially_shipped'],
    ['processing', 'all_shipped', 'shipped'],
    ['partially_packed', 'some_packed', 'partially_packed'],
    ['partially_packed', 'all_packed', 'packed'],
    ['packed', 'some_shipped', 'partially_shipped'],
    ['packed', 'all_shipped', 'shipped'],
    ['partially_shipped', 'all_packed', 'partially_shipped'],
    ['partially_shipped', 'all_shipped', 'shipped'],
    ['shipped', 'delivered', 'delivered'],
    ['shipped', 'return_requested', 'return_requested'],
    ['delivered', 'return_requested', 'return_requested'],
    ['processing', 'cancel_requested', 'cancel_requested'],
    ['packed', 'cancel_requested', 'cancel_requested'],
    ['partially_shipped', 'cancel_requested', 'cancel_requested'],
    ['cancel_requested', 'cancel_accepted', 'canceled'],
    ['cancel_requested', 'cancel_rejected_shipped', 'return_requested'],
    ['cancel_requested', 'all_shipped', 'cancel_requested'],
    ['return_requested', 'cancel_accepted', 'return_requested'],
    ['return_requested', 'return_received', 'returned'],
  ] satisfies Array<[OrderStatus, OrderEvent, OrderStatus]>)('moves %s on %s to %s', (from, event, to) => {
    expect(transitionOrder(from, event)).toEqual({ ok: true, status: to });
  });

  it.each([
    ['pending_payment', 'some_packed'],
    ['pending_payment', 'all_shipped'],
    ['pending_payment', 'delivered'],
    ['processing', 'hold_expired'],
    ['processing', 'payment_confirmed'],
    ['processing', 'delivered'],
    ['partially_shipped', 'delivered'],
    ['shipped', 'cancel_requested'],
    ['delivered', 'cancel_requested'],
    ['delivered', 'all_shipped'],
    ['cancel_requested', 'cancel_requested'],
    ['cancel_requested', 'hold_expired'],
    ['return_requested', 'return_requested'],
    ['expired', 'payment_confirmed'],
    ['canceled', 'cancel_accepted'],
    ['returned', 'return_received'],
  ] satisfies Array<[OrderStatus, OrderEvent]>)('refuses %s on %s with transition_not_allowed', (from, event) => {
    expect(transitionOrder(from, event)).toEqual({ ok: false, reason: 'transition_not_allowed', from, event });
  });

  it('lets no event leave a terminal status', () => {
    for (const status of terminalOrderStatuses) {
      expect(isTerminalOrderStatus(status)).toBe(true);
      for (const event of orderEvents) expect(orderTransitions[status][event]).toBeNull();
    }
  });

  it('lets every non-terminal status leave on some event', () => {
    for (const status of orderStatuses.filter((s) => !isTerminalOrderStatus(s))) {
      expect(
        orderEvents.some(
          (event) => orderTransitions[status][event] !== null && orderTransitions[status][event] !== status,
        ),
      ).toBe(true);
    }
  });

  it('expires only unpaid orders', () => {
    expect(allowed.filter(([, event]) => event === 'hold_expired')).toEqual([['pending_payment', 'hold_expired']]);
  });

  it('refuses every fulfillment fact before payment', () => {
    for (const event of ['some_packed', 'all_packed', 'some_shipped', 'all_shipped', 'delivered'] as const) {
      expect(orderTransitions.pending_payment[event]).toBeNull();
    }
  });

  it('cancels a paid order only when its warehouses accept', () => {
    const intoCanceled = allowed.filter(([status, event]) => orderTransitions[status][event] === 'canceled');
    expect(intoCanceled).toEqual([
      ['pending_payment', 'cancel_requested'],
      ['cancel_requested', 'cancel_accepted'],
    ]);
  });

  it('never refuses a warehouse fact while the order still waits on its warehouses', () => {
    const waiting: OrderStatus[] = [
      'processing',
      'partially_packed',
      'packed',
      'partially_shipped',
      'shipped',
      'cancel_requested',
      'return_requested',
    ];
    const facts: OrderEvent[] = ['some_packed', 'all_packed', 'some_shipped', 'all_shipped'];
    for (const status of waiting) for (const fact of facts) expect(transitionOrder(status, fact).ok).toBe(true);
    for (const status of ['cancel_requested', 'return_requested'] as const) {
      for (const fact of ['delivered', 'cancel_rejected_shipped', 'cancel_accepted'] as const)
        expect(transitionOrder(status, fact).ok).toBe(true);
    }
  });

  it('never moves fulfillment progress backwards', () => {
    const progress: OrderStatus[] = [
      'processing',
      'partially_packed',
      'packed',
      'partially_shipped',
      'shipped',
      'delivered',
    ];
    for (const [status, event] of allowed) {
      const to = orderTransitions[status][event] as OrderStatus;
      if (progress.includes(status) && progress.includes(to))
        expect(progress.indexOf(to)).toBeGreaterThanOrEqual(progress.indexOf(status));
    }
  });

  it('reaches every status from pending_payment', () => {
    expect([...reachableFrom('pending_payment')].sort()).toEqual([...orderStatuses].sort());
  });

  it('can finish from every status', () => {
    for (const status of orderStatuses) {
      const ends = [...reachableFrom(status)].filter(isTerminalOrderStatus);
      expect(ends.length).toBeGreaterThan(0);
    }
  });

  it('asserts on a status that is not in the table', () => {
    expect(() => transitionOrder('backordered' as OrderStatus, 'delivered')).toThrow(/unknown order status/);
    expect(() => transitionOrder('processing', 'teleported' as OrderEvent)).toThrow(/unknown order event/);
  });
});

describe('staff status changes (PUT /orders/{id}/status)', () => {
  it('may set only the statuses the hub owns, never packing, shipping, cancelling or expiry', () => {
    expect([...staffSettableOrderStatuses].sort()).toEqual(['delivered', 'return_requested', 'returned']);
    expect(Object.keys(staffOrderStatusEvents).sort()).toEqual([...staffSettableOrderStatuses].sort());
  });

  it.each([
    ['shipped', 'delivered'],
    ['shipped', 'return_requested'],
    ['delivered', 'return_requested'],
    ['return_requested', 'returned'],
  ] satisfies Array<[OrderStatus, (typeof staffSettableOrderStatuses)[number]]>)('moves %s to %s', (from, to) => {
    expect(staffTransition(from, to)).toEqual({ ok: true, status: to });
  });

  it.each([
    ['processing', 'delivered', 'delivered'],
    ['cancel_requested', 'delivered', 'delivered'],
    ['return_requested', 'delivered', 'delivered'],
    ['processing', 'returned', 'return_received'],
    ['canceled', 'return_requested', 'return_requested'],
  ] satisfies Array<[OrderStatus, (typeof staffSettableOrderStatuses)[number], OrderEvent]>)(
    'refuses to move %s to %s, naming the event %s',
    (from, to, event) => {
      expect(staffTransition(from, to)).toEqual({ ok: false, reason: 'transition_not_allowed', from, event });
    },
  );

  it('lands exactly on the status staff asked for whenever it is allowed', () => {
    for (const from of orderStatuses) {
      for (const to of staffSettableOrderStatuses) {
        const result = staffTransition(from, to);
        if (result.ok) expect(result.status).toBe(to);
      }
    }
  });
});
