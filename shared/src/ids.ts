import { v7 } from 'uuid';

/**
 * Time-ordered ids (UUIDv7, RFC 9562). Clock and randomness are injectable so a simulation can
 * produce the same ids from the same seed; production uses the wall clock and crypto randomness.
 */
export type IdSource = () => string;

export function createIdSource(options: { nowMs?: () => number; randomBytes?: () => Uint8Array } = {}): IdSource {
  const { nowMs, randomBytes } = options;
  if (!nowMs && !randomBytes) return monotonicPooledV7;
  return () => v7({ msecs: nowMs?.(), random: randomBytes?.() });
}

/**
 * 16 random bytes per id, drawn from a pool refilled 256 ids at a time: one call into the system's
 * CSPRNG per 256 ids instead of one per id (it was 7% of a scan's cost at the edge).
 */
const poolIds = 256;
let pool = new Uint8Array(0);
let poolOffset = 0;
function pooledRandomBytes(): Uint8Array {
  if (poolOffset >= pool.length) {
    pool = new Uint8Array(16 * poolIds);
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + 16);
  poolOffset += 16;
  return bytes;
}

/**
 * UUIDv7 as `uuid` makes it (a 31-bit counter seeded at random each millisecond keeps ids of one
 * process strictly increasing), with the randomness from the pool.
 */
let lastMs = 0;
let seq = 0;
function monotonicPooledV7(): string {
  const random = pooledRandomBytes();
  let msecs = Date.now();
  if (msecs > lastMs) {
    seq =
      (((random[6] as number) << 23) |
        ((random[7] as number) << 15) |
        ((random[8] as number) << 7) |
        ((random[9] as number) >>> 1)) >>>
      0;
  } else {
    msecs = lastMs;
    seq = (seq + 1) >>> 0;
    if (seq > 0x7fffffff) {
      msecs++;
      seq = 0;
    }
  }
  lastMs = msecs;
  return v7({ msecs, seq, random });
}

export const newId: IdSource = createIdSource();

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}
