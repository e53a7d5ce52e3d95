import { describe, expect, it } from 'vitest';
import { applyStockEvent, emptyPartition } from '../../index.ts';

describe('applyStockEvent', () => {
  it('receives units into the default bin', () => {
    const result = applyStockEvent(emptyPartition(), { type: 'receive', sku: 'A', quantity: 3 });
    expect(result).toEqual({ ok: true, state: { ...emptyPartition(), onHand: 3, bins: [['UNASSIGNED', 3]] } });
  });
});
