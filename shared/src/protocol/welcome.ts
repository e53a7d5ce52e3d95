import { z } from 'zod';
import { cursorSchema } from './common.ts';

/** The hub's answer to hello: the highest upstream seq it has durably applied for this edge. */
export const welcomeMessageSchema = z.strictObject({
  type: z.literal('welcome'),
  protocol: z.int().min(1),
  upstreamAck: cursorSchema,
  serverTimeMs: z.int().min(0),
});
export type WelcomeMessage = z.infer<typeof welcomeMessageSchema>;
