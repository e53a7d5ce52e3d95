import { z } from 'zod';

/** Sent before the hub closes the socket, so the edge can log and show why. */
export const errorMessageSchema = z.strictObject({
  type: z.literal('error'),
  code: z.enum([
    'malformed',
    'unauthorized',
    'forbidden',
    'protocol_unsupported',
    'fenced',
    'rate_limited',
    'internal',
  ]),
  message: z.string().max(1_000),
});
export type ErrorMessage = z.infer<typeof errorMessageSchema>;
