import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), what authenticator apps compute:
 * HMAC-SHA-1 by default, 6 digits, 30-second steps. Pure computation (no clock of its own: the caller
 * gives the time) so the hub and the tests agree on every code. Its own entry (`@dovetail/shared/totp`),
 * not re-exported by the package's index, so nothing bundled for a browser pulls in `node:crypto`.
 */
export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type TotpOptions = { digits?: number; stepSeconds?: number; algorithm?: TotpAlgorithm };

export const totpDefaults = { digits: 6, stepSeconds: 30, algorithm: 'sha1' as TotpAlgorithm };
/** Bytes of a new secret: 160 bits, the HMAC-SHA-1 block's recommended key length (RFC 4226 §4). */
export const totpSecretBytes = 20;

/** HOTP (RFC 4226 §5): the dynamically truncated HMAC of the 8-byte big-endian counter, `digits` long. */
export function hotp(secret: Uint8Array, counter: number, options: Omit<TotpOptions, 'stepSeconds'> = {}): string {
  const digits = options.digits ?? totpDefaults.digits;
  if (!Number.isSafeInteger(counter) || counter < 0)
    throw new RangeError('HOTP counter must be a safe non-negative integer');
  if (!Number.isInteger(digits) || digits < 6 || digits > 10) throw new RangeError('HOTP digits must be 6 to 10');
  const message = Buffer.alloc(8);
  message.writeUInt32BE(Math.floor(counter / 2 ** 32), 0);
  message.writeUInt32BE(counter >>> 0, 4);
  const mac = createHmac(options.algorithm ?? totpDefaults.algorithm, secret)
    .update(message)
    .digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The time step a moment falls in (RFC 6238 §4: T = floor((unix seconds − T0) / X), T0 = 0). */
export function totpStep(timeMs: number, stepSeconds = totpDefaults.stepSeconds): number {
  return Math.floor(timeMs / 1000 / stepSeconds);
}

/** The code for the moment `timeMs` (milliseconds since the epoch). */
export function totp(secret: Uint8Array, timeMs: number, options: TotpOptions = {}): string {
  return hotp(secret, totpStep(timeMs, options.stepSeconds), options);
}

/**
 * The step `code` belongs to when it is the code of the current step or one of the `window` steps
 * either side (clock drift; RFC 6238 §5.2 recommends at most one), else null. Compared in constant
 * time. The caller refuses a step at or before the last one it accepted: a code works once.
 */
export function matchTotp(
  secret: Uint8Array,
  code: string,
  timeMs: number,
  options: TotpOptions & { window?: number } = {},
): number | null {
  const digits = options.digits ?? totpDefaults.digits;
  if (!new RegExp(`^[0-9]{${digits}}$`).test(code)) return null;
  const current = totpStep(timeMs, options.stepSeconds);
  const window = options.window ?? 1;
  let found: number | null = null;
  for (let step = current - window; step <= current + window; step++) {
    if (step < 0) continue;
    const expected = Buffer.from(hotp(secret, step, options));
    // Every candidate is compared, found or not, so timing says nothing of which step matched.
    if (timingSafeEqual(expected, Buffer.from(code)) && found === null) found = step;
  }
  return found;
}

/** A new random secret. */
export function newTotpSecret(): Uint8Array {
  return new Uint8Array(randomBytes(totpSecretBytes));
}

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding: how authenticator apps take a secret. */
export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let output = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      output += base32Alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) output += base32Alphabet[(value << (5 - bits)) & 31];
  return output;
}

/** Base32 back to bytes (case, spaces and padding ignored); throws on any other character. */
export function base32Decode(text: string): Uint8Array {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const output: number[] = [];
  for (const char of clean) {
    const index = base32Alphabet.indexOf(char);
    if (index < 0) throw new RangeError('not base32');
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      output.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return new Uint8Array(output);
}

/**
 * The `otpauth://totp/…` URI an authenticator app scans (Google Authenticator's key-URI format):
 * label `issuer:account`, the base32 secret, and the parameters, stated even where they are the default.
 */
export function otpauthUri(issuer: string, account: string, secret: Uint8Array, options: TotpOptions = {}): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const parameters = new URLSearchParams({
    secret: base32Encode(secret),
    issuer,
    algorithm: (options.algorithm ?? totpDefaults.algorithm).toUpperCase(),
    digits: String(options.digits ?? totpDefaults.digits),
    period: String(options.stepSeconds ?? totpDefaults.stepSeconds),
  });
  return `otpauth://totp/${label}?${parameters.toString()}`;
}
