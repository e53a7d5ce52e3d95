import { z } from 'zod';
import { type DomainError, badRequest } from './errors.ts';
import * as limits from './limits.ts';

/**
 * `Idempotency-Key` as the hub's REST creates and the edge's staff writes accept it: printable ASCII
 * without spaces, 1 to `idempotencyKeyLengthMax` characters (IETF Idempotency-Key draft; Stripe
 * allows 255). The hub's OpenAPI document describes the header with the same schema.
 */
export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(limits.idempotencyKeyLengthMax)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** The answer to a key the schema refuses: 400 `invalid_idempotency_key`, and nothing is done. */
export function invalidIdempotencyKey(): DomainError {
  return badRequest(
    'invalid_idempotency_key',
    `Idempotency-Key must be 1-${limits.idempotencyKeyLengthMax} printable ASCII characters`,
  );
}
