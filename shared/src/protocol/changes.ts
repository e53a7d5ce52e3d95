import { z } from 'zod';
import * as limits from '../limits.ts';
import { channelSchema, cursorSchema } from './common.ts';
import { downstreamChangeSchema } from './downstream-changes.ts';

/**
 * Downstream changes on one channel, in seq order. The edge applies them idempotently and only
 * stores its cursor when the checkpoint that closes them arrives (PowerSync's framing). Each change
 * is a named domain change whose payload its kind's schema checks (downstream-changes.ts); a kind a
 * newer hub added still decodes, and older edges skip it.
 */
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

/**
 * The edge's cursor can no longer be served: it is ahead of the hub's log (the hub's database was
 * restored from a backup), so the channel is sent again from its start. Upserts make that idempotent.
 */
export const mustResetMessageSchema = z.strictObject({
  type: z.literal('must_reset'),
  channel: channelSchema,
  reason: z.enum(['cursor_ahead']),
});
export type MustResetMessage = z.infer<typeof mustResetMessageSchema>;
