import { z } from 'zod';
import { changesAckMessageSchema } from './changes.ts';
import { helloMessageSchema } from './hello.ts';
import { pushMessageSchema } from './push.ts';

/** Every frame an edge may send to the hub. */
export const upstreamMessageSchema = z.discriminatedUnion('type', [
  helloMessageSchema,
  pushMessageSchema,
  changesAckMessageSchema,
]);
export type UpstreamMessage = z.infer<typeof upstreamMessageSchema>;
