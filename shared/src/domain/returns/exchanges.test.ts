import { describe, expect, it } from 'vitest';
import {
  exchangeDueAtMs,
  exchangeEventForReturn,
  exchangeEvents,
  exchangeHoldTtlSeconds,
  exchangeStatuses,
  exchangeTransitions,
  shipsInAdvance,
  transitionExchange,
} from './exchanges.ts';

describe('the exchange table', () => {
  it('decides every status × event pair, and only awaiting_return moves', () => {
    for (const status of exchangeStatuses)
      for (const event of exchangeEvents) {
        expect(exchangeTransitions[status][event]).not.toBeUndefined();
        if (status !== 'awaiting_return') expect(transitionExchange(status, event).ok).toBe(false);
      }
  });

  it('releases on receipt or advance, cancels when the window lapses or the return is withdrawn', () => {
    expect(transitionExchange('awaiting_return', 'return_received')).toEqual({ ok: true, status: 'released' });
    expect(transitionExchange('awaiting_return', 'advance')).toEqual({ ok: true, status: 'released' });
    expect(transitionExchange('awaiting_return', 'window_lapsed')).toEqual({ ok: true, status: 'canceled' });
    expect(transitionExchange('awaiting_return', 'withdrawn')).toEqual({ ok: true, status: 'canceled' });
    expect(exchangeEventForReturn('received')).toBe('return_received');
    expect(exchangeEventForReturn('closed')).toBe('return_received');
    expect(exchangeEventForReturn('rejected')).toBe('withdrawn');
    expect(exchangeEventForReturn('canceled')).toBe('withdrawn');
    expect(exchangeEventForReturn('in_transit')).toBeUndefined();
  });

  it('holds the replacement past the window, and lets a request override the advance policy', () => {
    const policy = { exchangeWindowDays: 30, advanceExchange: false };
    expect(exchangeHoldTtlSeconds(policy) * 1000).toBeGreaterThan(exchangeDueAtMs(policy, 0));
    expect(shipsInAdvance(policy, undefined)).toBe(false);
    expect(shipsInAdvance({ advanceExchange: true }, undefined)).toBe(true);
    expect(shipsInAdvance({ advanceExchange: true }, false)).toBe(false);
  });
});
