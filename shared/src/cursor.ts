/**
 * Opaque page cursors, on the hub's lists and the edge's alike: the page's last key as base64url
 * (RFC 4648 §5, unpadded) of its UTF-8 bytes, so clients hand a cursor back rather than build one.
 * Written out here rather than with `Buffer`, which shared/ does not use (it runs wherever TextEncoder
 * does); what each server puts in a key and how it answers a bad cursor stays with that server.
 */
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const utf8 = new TextEncoder();

export function opaqueCursor(key: string): string {
  const bytes = utf8.encode(key);
  let cursor = '';
  for (let index = 0; index < bytes.length; index += 3) {
    const group = ((bytes[index] ?? 0) << 16) | ((bytes[index + 1] ?? 0) << 8) | (bytes[index + 2] ?? 0);
    // 1, 2 or 3 bytes make 2, 3 or 4 characters.
    const characters = Math.min(bytes.length - index, 3) + 1;
    for (let position = 0; position < characters; position++) {
      cursor += alphabet[(group >> (18 - 6 * position)) & 63];
    }
  }
  return cursor;
}

/**
 * The key a cursor carries, or undefined for text `opaqueCursor` did not make: a character outside
 * the alphabet, a length no byte count gives, stray bits, or bytes that are not UTF-8.
 */
export function cursorKey(cursor: string): string | undefined {
  if (cursor.length % 4 === 1 || !/^[A-Za-z0-9_-]*$/.test(cursor)) return undefined;
  const bytes = new Uint8Array(Math.floor((cursor.length * 3) / 4));
  let length = 0;
  let bits = 0;
  let buffered = 0;
  for (const character of cursor) {
    buffered = ((buffered << 6) | alphabet.indexOf(character)) & 0xfff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[length++] = (buffered >> bits) & 0xff;
    }
  }
  if ((buffered & ((1 << bits) - 1)) !== 0) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, length));
  } catch {
    return undefined;
  }
}
