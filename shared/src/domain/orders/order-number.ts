import { assert } from '../../assert.ts';
import * as limits from '../../limits.ts';

/**
 * Human order numbers: `DT-` + the order's sequence in Crockford base32 (7 characters, zero-padded)
 * + one check character, grouped in fours for reading aloud: sequence 1 is `DT-0000-001Y`.
 *
 * Crockford's alphabet has no I, L, O or U, so a number read over the phone cannot be misheard as
 * another; parsing accepts lower case, drops hyphens and spaces, and reads I/L as 1 and O as 0. The
 * check character is Luhn mod 32 over the 7 characters, from the same alphabet (Crockford's own
 * mod-37 check adds `*~$=U`, which do not belong in a `/track/:orderNumber` URL): it catches every
 * single mistyped character and nearly every swap of two neighbours.
 *
 * A sequence is guessable, so an order number alone must not be enough to see an order; the tracking
 * page needs a second factor (e-mail or a signed link).
 */
export const orderNumberAlphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const radix = orderNumberAlphabet.length;
const prefix = 'DT-';

export type OrderNumberParse =
  | { ok: true; sequence: number; orderNumber: string }
  | { ok: false; reason: 'malformed_order_number' | 'order_number_check_mismatch' };

export function formatOrderNumber(sequence: number): string {
  assert(
    Number.isSafeInteger(sequence) && sequence >= 1 && sequence <= limits.orderNumberSequenceMax,
    `order sequence out of range: ${sequence}`,
  );
  let body = '';
  for (let rest = sequence; rest > 0; rest = Math.floor(rest / radix)) body = orderNumberAlphabet[rest % radix] + body;
  body = body.padStart(limits.orderNumberSequenceCharacters, '0');
  const full = body + checkCharacter(body);
  return prefix + full.slice(0, 4) + '-' + full.slice(4);
}

/** Reads what a person typed or a URL carried; returns the canonical form with the sequence. */
export function parseOrderNumber(text: string): OrderNumberParse {
  const compact = text.trim().toUpperCase().replace(/[\s-]/g, '');
  if (!compact.startsWith('DT')) return { ok: false, reason: 'malformed_order_number' };
  const chars = compact.slice(2).replace(/[IL]/g, '1').replace(/O/g, '0');
  if (chars.length !== limits.orderNumberSequenceCharacters + 1) return { ok: false, reason: 'malformed_order_number' };
  for (const char of chars)
    if (!orderNumberAlphabet.includes(char)) return { ok: false, reason: 'malformed_order_number' };
  const body = chars.slice(0, -1);
  if (checkCharacter(body) !== chars.slice(-1)) return { ok: false, reason: 'order_number_check_mismatch' };
  let sequence = 0;
  for (const char of body) sequence = sequence * radix + orderNumberAlphabet.indexOf(char);
  if (sequence < 1) return { ok: false, reason: 'malformed_order_number' };
  return { ok: true, sequence, orderNumber: formatOrderNumber(sequence) };
}

/** Luhn mod N (N = 32): double every second value from the right, sum the base-N digits, complement. */
function checkCharacter(body: string): string {
  let sum = 0;
  let factor = 2;
  for (let i = body.length - 1; i >= 0; i--) {
    const addend = factor * orderNumberAlphabet.indexOf(body[i] as string);
    sum += Math.floor(addend / radix) + (addend % radix);
    factor = factor === 2 ? 1 : 2;
  }
  return orderNumberAlphabet[(radix - (sum % radix)) % radix] as string;
}
