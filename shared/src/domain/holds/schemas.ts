import { z } from 'zod';
import * as limits from '../../limits.ts';
import { quantitySchema, skuSchema, warehouseIdSchema } from '../stock/schemas.ts';

/** `POST /inventory/reserve`: all lines or none, for at most `holdTtlSecondsMax`. */
export const reserveRequestSchema = z.strictObject({
  lines: z
    .array(z.strictObject({ sku: skuSchema, quantity: quantitySchema }))
    .min(1)
    .max(limits.holdLinesMax)
    .refine((lines) => new Set(lines.map((line) => line.sku)).size === lines.length, 'each SKU once per hold'),
  ttlSeconds: z.int().min(limits.holdTtlSecondsMin).max(limits.holdTtlSecondsMax).optional(),
  warehouseId: warehouseIdSchema.optional(),
});
export type ReserveRequest = z.infer<typeof reserveRequestSchema>;

export const releaseRequestSchema = z.strictObject({ holdId: z.string().min(1).max(64) });
export type ReleaseRequest = z.infer<typeof releaseRequestSchema>;

export const holdStatuses = ['active', 'released', 'expired', 'converted'] as const;
export type HoldStatus = (typeof holdStatuses)[number];

/** A hold's status as a reader sees it at `nowMs`: an active hold past its expiry is expired, sweeper or not. */
export function holdStatusAt(
  stored: 'active' | 'released' | 'converted',
  expiresAtMs: number,
  nowMs: number,
): HoldStatus {
  return stored === 'active' && expiresAtMs <= nowMs ? 'expired' : stored;
}
