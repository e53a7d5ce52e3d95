import { describe, expect, it } from 'vitest';
import * as limits from '../../limits.ts';
import { quotaPolicySchema, quotaTarget, rebalanceStep } from './policy.ts';

describe('quota policy', () => {
  it('targets named SKUs, else the default', () => {
    const policy = quotaPolicySchema.parse({ defaultUnits: 2, skus: { 'SOFA-3S': 5, 'BED-1': 0 } });
    expect(quotaTarget(policy, 'SOFA-3S')).toBe(5);
    expect(quotaTarget(policy, 'BED-1')).toBe(0);
    expect(quotaTarget(policy, 'CHAIR')).toBe(2);
    expect(quotaPolicySchema.parse({ defaultUnits: 0 }).skus).toEqual({});
  });

  it('refuses negative, oversized and unknown fields', () => {
    expect(quotaPolicySchema.safeParse({ defaultUnits: -1 }).success).toBe(false);
    expect(quotaPolicySchema.safeParse({ defaultUnits: limits.quotaUnitsMax + 1 }).success).toBe(false);
    expect(quotaPolicySchema.safeParse({ defaultUnits: 1, skus: { 'bad sku': 1 } }).success).toBe(false);
    expect(quotaPolicySchema.safeParse({ defaultUnits: 1, extra: true }).success).toBe(false);
  });
});

describe('rebalanceStep', () => {
  it.each([
    ['grants up to the target', { target: 5, outstanding: 2, available: 10 }, { action: 'grant', quantity: 3 }],
    [
      'grants only what online could sell',
      { target: 5, outstanding: 2, available: 1 },
      { action: 'grant', quantity: 1 },
    ],
    ['grants nothing when online has nothing', { target: 5, outstanding: 2, available: 0 }, { action: 'none' }],
    [
      'grants nothing when available is negative (a shortage)',
      { target: 5, outstanding: 0, available: -3 },
      { action: 'none' },
    ],
    ['asks back the excess', { target: 1, outstanding: 4, available: 0 }, { action: 'return', quantity: 3 }],
    ['holds steady at the target', { target: 3, outstanding: 3, available: 50 }, { action: 'none' }],
  ] as const)('%s', (_name, input, expected) => {
    expect(rebalanceStep(input)).toEqual(expected);
  });

  it('never grants beyond the target nor beyond availability', () => {
    for (let target = 0; target <= 6; target++) {
      for (let outstanding = 0; outstanding <= 6; outstanding++) {
        for (let available = -2; available <= 6; available++) {
          const step = rebalanceStep({ target, outstanding, available });
          if (step.action === 'grant') {
            expect(outstanding + step.quantity).toBeLessThanOrEqual(target);
            expect(step.quantity).toBeLessThanOrEqual(available);
          }
          if (step.action === 'return') expect(outstanding - step.quantity).toBe(target);
        }
      }
    }
  });
});
