import { describe, expect, it } from 'vitest';
import { emptyPartition } from './partition.ts';
import { availableUnits, noNonOwnerQuantities, stockQuantities } from './quantities.ts';

const state = {
  ...emptyPartition(),
  onHand: 20,
  damaged: 2,
  qualityControl: 1,
  picked: 3,
  edgeQuota: 4,
  bins: [['A-01', 17]] as Array<[string, number]>,
};

describe('available units (docs/architecture.md, "Quantities")', () => {
  it('is on hand minus committed, reserved, damaged, quality control, safety stock and edge quota', () => {
    const other = { committed: 3, reserved: 2, safetyStock: 1, incoming: 50 };
    expect(availableUnits(state, other)).toBe(20 - 3 - 2 - 2 - 1 - 1 - 4);
  });

  it('does not count incoming units, which are not in the building yet', () => {
    const without = availableUnits(state, noNonOwnerQuantities);
    expect(availableUnits(state, { ...noNonOwnerQuantities, incoming: 1_000 })).toBe(without);
  });

  it('can be negative as a number, so a shortage is detectable', () => {
    expect(availableUnits(state, { committed: 30, reserved: 0, safetyStock: 0, incoming: 0 })).toBe(
      20 - 30 - 2 - 1 - 4,
    );
  });
});

describe('stockQuantities', () => {
  it('reports every quantity, with only owner-held ones when no non-owner quantities are given', () => {
    expect(stockQuantities(state)).toEqual({
      onHand: 20,
      committed: 0,
      reserved: 0,
      damaged: 2,
      qualityControl: 1,
      safetyStock: 0,
      incoming: 0,
      edgeQuota: 4,
      picked: 3,
      available: 13,
    });
  });

  it('never shows available below zero', () => {
    const shown = stockQuantities(state, { committed: 30, reserved: 5, safetyStock: 0, incoming: 7 });
    expect(shown.available).toBe(0);
    expect(shown.committed).toBe(30);
    expect(shown.incoming).toBe(7);
  });

  it('shows zero available for an empty partition', () => {
    expect(stockQuantities(emptyPartition()).available).toBe(0);
  });
});
