import { z } from 'zod';
import * as limits from '../limits.ts';
import { warehouseIdSchema } from '../domain/stock/schemas.ts';
import { channelSchema, cursorSchema } from './common.ts';

/**
 * First frame from the edge after the authenticated upgrade. `edgeId` names this database's
 * incarnation (a restored backup gets a new one); `epoch` is the enrollment the edge holds;
 * `cursors` are the last downstream seqs the edge applied, per channel.
 */
export const helloMessageSchema = z.strictObject({
  type: z.literal('hello'),
  protocol: z.int().min(1),
  warehouseId: warehouseIdSchema,
  edgeId: z.uuid(),
  epoch: z.int().min(1),
  lastSeq: cursorSchema,
  cursors: z.record(channelSchema, cursorSchema).refine((cursors) => Object.keys(cursors).length <= limits.channelsPerEdgeMax, {
    message: `at most ${limits.channelsPerEdgeMax} channels`,
  }),
});
export type HelloMessage = z.infer<typeof helloMessageSchema>;
