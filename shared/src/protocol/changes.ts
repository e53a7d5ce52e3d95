import { z } from 'zod';
import * as limits from '../limits.ts';
import { channelSchema, cursorSchema, upstreamSeqSchema } from './common.ts';

/**
 * Downstream changes on one channel, in seq order. The edge applies them idempotently and only
 * stores its cursor when the checkpoint that closes them arrives (PowerSync's framing).
 * `change` is a named domain change (`catalog.variant_upserted`, `roster.staff_upserted`, …) whose
 * payload is validated by the applier of that type; unknown types are skipped by older edges.
 */
export const downstreamChangeSchema = z.strictObject({
  seq: upstreamSeqSchema,
  kind: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z_]+\.[a-z_]+$/),
  payload: z.unknown(),
});
export type DownstreamChange = z.infer<typeof downstreamChangeSchema>;

export const changesMessageSchema = z.strictObject({
  type: z.literal('changes'),
  channel: channelSchema,
  changes: z.array(downstreamChangeSchema).min(1).max(limits.downstreamBatchChangesMax),
});
export type ChangesMessage = z.infer<typeof changesMessageSchema>;

/** Closes a checkpoint: the edge applies everything up to `seq` and stores the cursor in one transaction. */
export const checkpointCompleteMessageSchema = z.strictObject({
  type: z.literal('checkpoint_complete'),
  channel: channelSchema,
  seq: cursorSchema,
  /** Per-partition checksums of the hub's replica, so drift is detected and that partition repaired. */
  checksums: z
    .array(
      z.strictObject({
        sku: z.string().min(1).max(limits.skuLengthMax),
        checksum: z.string().regex(/^[0-9a-f]{16,64}$/),
      }),
    )
    .max(limits.checksumsPerCheckpointMax)
    .optional(),
  /** True once catch-up is over and the channel is live. */
  live: z.boolean(),
});
export type CheckpointCompleteMessage = z.infer<typeof checkpointCompleteMessageSchema>;

/** The edge's acknowledgement of a checkpoint it has durably applied. */
export const changesAckMessageSchema = z.strictObject({
  type: z.literal('changes_ack'),
  channel: channelSchema,
  seq: cursorSchema,
});
export type ChangesAckMessage = z.infer<typeof changesAckMessageSchema>;

/** The edge's cursor can no longer be served (compacted log, other hub epoch): a snapshot follows. */
export const mustResetMessageSchema = z.strictObject({
  type: z.literal('must_reset'),
  channel: channelSchema,
  reason: z.enum(['cursor_compacted', 'cursor_ahead', 'hub_epoch_changed']),
});
export type MustResetMessage = z.infer<typeof mustResetMessageSchema>;
