import { z } from 'zod';
import * as limits from '../../limits.ts';
import { configurationSchema } from '../catalog/configuration.ts';
import { quantitySchema, skuSchema, warehouseIdSchema } from '../stock/schemas.ts';

/** `POST /inventory/reserve`: all lines or none, for at most `holdTtlSecondsMax`. */
export const reserveRequestSchema = z.strictObject({
  lines: z
    .array(z.strictObject({ sku: skuSchema, quantity: quantitySchema, configuration: configurationSchema.optional() }))
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

/**
 * A status as a reader sees it at `nowMs`. A record still `lapsing` at its expiry (an active hold;
 * the unpaid order over it, which expires with its hold) reads as expired from `expiresAtMs` on,
 * whatever the sweeper is doing (docs/architecture.md, "Quantities"); any other status reads as stored.
 */
export function expiringStatusAt<Status extends string>(
  stored: Status,
  lapsing: Status,
  expiresAtMs: number,
  nowMs: number,
): Status | 'expired' {
  return stored === lapsing && expiresAtMs <= nowMs ? 'expired' : stored;
}
