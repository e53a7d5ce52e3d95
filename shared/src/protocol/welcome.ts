import { z } from 'zod';
import { upstreamRejectionsSchema } from './ack.ts';
import { cursorSchema } from './common.ts';

/** The hub's answer to hello: the highest upstream seq it has durably applied (or refused) for this edge. */
export const welcomeMessageSchema = z.strictObject({
  type: z.literal('welcome'),
  protocol: z.int().min(1),
  upstreamAck: cursorSchema,
  serverTimeMs: z.int().min(0),
  /**
   * Rejections stored for seqs after the hello's `ackedSeq`: the ack that first carried them may have
   * been lost with its connection. Added in version 2.
   */
  rejected: upstreamRejectionsSchema.optional(),
});
export type WelcomeMessage = z.infer<typeof welcomeMessageSchema>;
