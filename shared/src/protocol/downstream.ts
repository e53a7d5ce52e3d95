import { z } from 'zod';
import { ackMessageSchema } from './ack.ts';
import { changesMessageSchema, checkpointCompleteMessageSchema, mustResetMessageSchema } from './changes.ts';
import { errorMessageSchema } from './error.ts';
import { welcomeMessageSchema } from './welcome.ts';

/** Every frame the hub may send to an edge. */
export const downstreamMessageSchema = z.discriminatedUnion('type', [
  welcomeMessageSchema,
  ackMessageSchema,
  changesMessageSchema,
  checkpointCompleteMessageSchema,
  mustResetMessageSchema,
  errorMessageSchema,
]);
export type DownstreamMessage = z.infer<typeof downstreamMessageSchema>;
