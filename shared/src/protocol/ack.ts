import { z } from 'zod';
import { stockRejectionReasons } from '../domain/stock/apply.ts';
import { skuSchema } from '../domain/stock/schemas.ts';
import * as limits from '../limits.ts';
import { cursorSchema, upstreamSeqSchema } from './common.ts';

/**
 * Why the hub durably refused an upstream event (staff see it at the edge): the stock fold's own
 * refusals, a SKU missing from the catalog, and a fulfillment fact that does not fit the hub's order.
 * `wrong_warehouse` is kept for edges that know it; the hub closes the socket (4403) instead.
 */
export const pushRejectionReasons = [
  ...stockRejectionReasons,
  'unknown_sku',
  'wrong_warehouse',
  'unknown_fulfillment',
  'fulfillment_state_conflict',
  'unknown_return',
  'return_state_conflict',
] as const;
export type PushRejectionReason = (typeof pushRejectionReasons)[number];

/** Events the hub durably refused, with the reason staff will see. */
export const upstreamRejectionsSchema = z
  .array(
    z.strictObject({
      seq: upstreamSeqSchema,
      reason: z.enum(pushRejectionReasons),
      message: z.string().max(500),
    }),
  )
  .max(limits.pushBatchEventsMax);

/**
 * Sent only after the hub's commit: everything up to `upstreamAck` is durably applied or durably
 * rejected. Rejections in the acked range are listed so the edge can show them to staff.
 */
export const ackMessageSchema = z.strictObject({
  type: z.literal('ack'),
  upstreamAck: cursorSchema,
  rejected: upstreamRejectionsSchema.optional(),
  /**
   * Checksums (`partitionChecksum`) of the hub's replica of each partition this push touched, as of
   * `upstreamAck`. The edge compares them with its own state and restates a drifted partition with a
   * `reconcile` event. Added in version 2.
   */
  checksums: z
    .array(z.strictObject({ sku: skuSchema, checksum: z.string().regex(/^[0-9a-f]{16}$/) }))
    .max(limits.pushBatchEventsMax)
    .optional(),
});
export type AckMessage = z.infer<typeof ackMessageSchema>;
