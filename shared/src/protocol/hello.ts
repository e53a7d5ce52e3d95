import { z } from 'zod';
import * as limits from '../limits.ts';
import { warehouseIdSchema } from '../domain/stock/schemas.ts';
import { channelSchema, cursorSchema } from './common.ts';

/**
 * First frame from the edge after the authenticated upgrade. `edgeId` names this database's
 * incarnation (a restored backup gets a new one); `epoch` is the enrollment the edge holds;
 * `cursors` are the last downstream seqs the edge applied, per channel; `lastSeq` and `ackedSeq`
 * tell the hub where the edge's upstream stream stands.
 */
export const helloMessageSchema = z.strictObject({
  type: z.literal('hello'),
  protocol: z.int().min(1),
  warehouseId: warehouseIdSchema,
  edgeId: z.uuid(),
  epoch: z.int().min(1),
  lastSeq: cursorSchema,
  /**
   * The highest seq this edge has seen acked (it keeps no outbox rows at or below it). A hub that
   * starts a stream for a new incarnation or enrollment starts it here. Added in version 2.
   */
  ackedSeq: cursorSchema.optional(),
  cursors: z
    .record(channelSchema, cursorSchema)
    .refine((cursors) => Object.keys(cursors).length <= limits.channelsPerEdgeMax, {
      message: `at most ${limits.channelsPerEdgeMax} channels`,
    }),
});
export type HelloMessage = z.infer<typeof helloMessageSchema>;
