import { describe, expect, it } from 'vitest';
import {
  returnEvents,
  returnStatuses,
  returnTransitions,
  terminalReturnStatuses,
  transitionReturn,
} from './transitions.ts';
import {
  authorizedByPolicy,
  chooseReturnWarehouse,
  defaultReturnPolicy,
  firstExcessLine,
  refundAllowed,
  returnWindowClosesAtMs,
  returnableQuantities,
} from './rules.ts';

describe('the return table', () => {
  it('decides every status × event pair', () => {
    for (const status of returnStatuses)
      for (const event of returnEvents) expect(returnTransitions[status][event]).not.toBeUndefined();
  });

  it('leaves no terminal status', () => {
    for (const status of terminalReturnStatuses)
      for (const event of returnEvents) expect(transitionReturn(status, event).ok).toBe(false);
  });

  it('runs requested → authorized → in_transit → received → closed', () => {
    expect(transitionReturn('requested', 'authorize')).toEqual({ ok: true, status: 'authorized' });
    expect(transitionReturn('authorized', 'dispatch')).toEqual({ ok: true, status: 'in_transit' });
    expect(transitionReturn('in_transit', 'receive_some')).toEqual({ ok: true, status: 'received' });
    expect(transitionReturn('received', 'receive_all')).toEqual({ ok: true, status: 'closed' });
  });

  it('never rejects or cancels what the warehouse has received (physical fact wins)', () => {
    expect(transitionReturn('received', 'reject').ok).toBe(false);
    expect(transitionReturn('received', 'cancel').ok).toBe(false);
    expect(transitionReturn('requested', 'receive_some').ok).toBe(false);
  });

  it('reaches a terminal status from every status', () => {
    for (const status of returnStatuses) {
      const seen = new Set([status]);
      const queue = [status];
      let terminal = false;
      while (queue.length > 0) {
        const at = queue.shift() as (typeof returnStatuses)[number];
        if ((terminalReturnStatuses as readonly string[]).includes(at)) terminal = true;
        for (const event of returnEvents) {
          const next = returnTransitions[at][event];
          if (next && !seen.has(next)) {
            seen.add(next);
            queue.push(next);
          }
        }
      }
      expect(terminal).toBe(true);
    }
  });
});

describe('return rules', () => {
  it('returns at most what shipped less what is already being returned', () => {
    const returnable = returnableQuantities(new Map([['A', 3]]), new Map([['A', 2]]));
    expect(firstExcessLine([{ sku: 'A', quantity: 1 }], returnable)).toBeUndefined();
    expect(firstExcessLine([{ sku: 'A', quantity: 2 }], returnable)).toEqual({ sku: 'A', quantity: 2, returnable: 1 });
    expect(firstExcessLine([{ sku: 'B', quantity: 1 }], returnable)).toEqual({ sku: 'B', quantity: 1, returnable: 0 });
  });

  it('counts the window from delivery, else from the last shipment', () => {
    const day = 86_400_000;
    expect(returnWindowClosesAtMs({ windowDays: 30 }, 10 * day, 1 * day)).toBe(40 * day);
    expect(returnWindowClosesAtMs({ windowDays: 30 }, undefined, 1 * day)).toBe(31 * day);
    expect(returnWindowClosesAtMs({ windowDays: 30 }, undefined, undefined)).toBeUndefined();
  });

  it('authorizes by policy only allowed reasons under the value threshold', () => {
    const policy = { ...defaultReturnPolicy, autoAuthorizeValueMax: 1_000 };
    expect(authorizedByPolicy(policy, [{ reason: 'changed_mind', quantity: 2, unitPrice: 500 }])).toBe(true);
    expect(authorizedByPolicy(policy, [{ reason: 'changed_mind', quantity: 3, unitPrice: 500 }])).toBe(false);
    expect(authorizedByPolicy(policy, [{ reason: 'other', quantity: 1, unitPrice: 1 }])).toBe(false);
  });

  it('keeps refunds within what was paid', () => {
    expect(refundAllowed(100, 60, 40)).toBe(true);
    expect(refundAllowed(100, 60, 41)).toBe(false);
    expect(refundAllowed(100, 0, 0)).toBe(false);
  });

  it('sends a return to the nearest warehouse that accepts returns, else to one that shipped it', () => {
    const candidates = [
      { id: 'AMS', location: { lat: 52.37, lon: 4.89 }, shippedFrom: false },
      { id: 'PAR', location: { lat: 48.86, lon: 2.35 }, shippedFrom: true },
    ];
    expect(chooseReturnWarehouse(candidates, { lat: 52.0, lon: 4.3 })).toBe('AMS');
    expect(chooseReturnWarehouse(candidates, undefined)).toBe('PAR');
    expect(chooseReturnWarehouse([], undefined)).toBeUndefined();
  });
});
