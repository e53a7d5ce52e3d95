import { z } from 'zod';
import * as limits from '../limits.ts';
import { stockEventSchema } from '../domain/stock/schemas.ts';
import { upstreamSeqSchema } from './common.ts';

/** A bounded batch of the edge's outbox, in seq order, with no gaps inside the batch. */
export const pushMessageSchema = z.strictObject({
  type: z.literal('push'),
  events: z
    .array(z.strictObject({ seq: upstreamSeqSchema, event: stockEventSchema }))
    .min(1)
    .max(limits.pushBatchEventsMax)
    .refine((events) => events.every((entry, index) => index === 0 || entry.seq === (events[index - 1]?.seq ?? 0) + 1), {
      message: 'seqs in a push must be consecutive',
    }),
});
export type PushMessage = z.infer<typeof pushMessageSchema>;
