import { z } from 'zod';
import * as limits from '../../limits.ts';
import { quantitySchema, skuSchema } from '../stock/schemas.ts';

/**
 * In-store selling quotas (docs/architecture.md, "Quantities"): the hub grants each edge rights to sell units of a
 * partition offline (escrow), removed from online availability the moment they are granted; the
 * edge spends them on in-store sales and returns what it does not need. Rights are conserved:
 * `edge rights + online available + held + committed + consumed = on_hand` for every partition.
 *
 * The policy an admin sets is a target of rights per SKU at a warehouse; rebalancing moves rights
 * toward it, granting only what online could still sell and asking back any excess.
 */
const units = z.int().min(0).max(limits.quotaUnitsMax);

export const quotaPolicySchema = z.strictObject({
  /** Target for every SKU stocked at the warehouse that `skus` does not name. */
  defaultUnits: units,
  skus: z
    .record(skuSchema, units)
    .refine(
      (skus) => Object.keys(skus).length <= limits.quotaPolicySkusMax,
      `at most ${limits.quotaPolicySkusMax} SKUs`,
    )
    .default({}),
});
export type QuotaPolicy = z.infer<typeof quotaPolicySchema>;

export const quotaMoveSchema = z.strictObject({ sku: skuSchema, quantity: quantitySchema });

export function quotaTarget(policy: QuotaPolicy, sku: string): number {
  return policy.skus[sku] ?? policy.defaultUnits;
}

/**
 * One rebalancing decision for a partition: grant toward the target out of what online could sell,
 * or ask back the excess. `outstanding` is rights at the edge minus returns already asked for.
 */
export function rebalanceStep(input: {
  target: number;
  outstanding: number;
  available: number;
}): { action: 'grant'; quantity: number } | { action: 'return'; quantity: number } | { action: 'none' } {
  const { target, outstanding, available } = input;
  if (outstanding < target) {
    const quantity = Math.min(target - outstanding, Math.max(0, available));
    return quantity > 0 ? { action: 'grant', quantity } : { action: 'none' };
  }
  if (outstanding > target) return { action: 'return', quantity: outstanding - target };
  return { action: 'none' };
}
