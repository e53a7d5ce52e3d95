import { v7 } from 'uuid';

/**
 * Time-ordered ids (UUIDv7, RFC 9562). Clock and randomness are injectable so a simulation can
 * produce the same ids from the same seed; production uses the wall clock and crypto randomness.
 */
export type IdSource = () => string;

export function createIdSource(options: { nowMs?: () => number; randomBytes?: () => Uint8Array } = {}): IdSource {
  const { nowMs, randomBytes } = options;
  if (!nowMs && !randomBytes) return () => v7();
  return () => v7({ msecs: nowMs?.(), random: randomBytes?.() });
}

export const newId: IdSource = createIdSource();

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}
