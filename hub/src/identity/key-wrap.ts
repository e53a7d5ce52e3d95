import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Private signing keys at rest: AES-256-GCM under a key-encryption key (`HUB_KEY_ENCRYPTION_KEY`,
 * else the file `HUB_KEY_ENCRYPTION_KEY_FILE`, by default `hub.kek` in the data directory, generated
 * on first start), the kid bound in as additional data so a row cannot be swapped onto another kid.
 * Only a hub built without one (tests in memory) stores plain JWK.
 */
const prefix = 'enc:v1:';

export function isWrapped(stored: string): boolean {
  return stored.startsWith(prefix);
}

export function wrapPrivateKey(plaintext: string, kid: string, kek: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${prefix}${iv.toString('base64url')}:${sealed.toString('base64url')}`;
}

export function unwrapPrivateKey(stored: string, kid: string, kek: Buffer | undefined): string {
  if (!isWrapped(stored)) return stored;
  if (!kek)
    throw new Error('signing keys are encrypted at rest: set HUB_KEY_ENCRYPTION_KEY or HUB_KEY_ENCRYPTION_KEY_FILE');
  const [ivText, sealedText] = stored.slice(prefix.length).split(':');
  if (!ivText || !sealedText) throw new Error(`signing key ${kid} is malformed`);
  const sealed = Buffer.from(sealedText, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(ivText, 'base64url'));
  decipher.setAAD(Buffer.from(kid, 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    throw new Error(
      `signing key ${kid} does not decrypt with this key-encryption key (wrong key? hubs sharing a database need the same one)`,
    );
  }
}

/** Parses a 32-byte key given as base64 or base64url (e.g. `openssl rand -base64 32`). */
export function parseKeyEncryptionKey(text: string): Buffer {
  const key = Buffer.from(text.trim(), /[+/=]/.test(text) ? 'base64' : 'base64url');
  if (key.length !== 32) throw new Error('HUB_KEY_ENCRYPTION_KEY must be 32 bytes, base64-encoded');
  return key;
}
