import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseKeyEncryptionKey } from './identity/key-wrap.ts';

export type KeyEncryptionKeySource = { key: Buffer; file: string; created: boolean };

/**
 * The key-encryption key that seals the hub's private signing keys at rest
 * (`identity/key-wrap.ts`), read from `file`; on first start, when the file does not exist, 32
 * random bytes are written there (mode 0600, its directory created 0700). A file readable by
 * group or others is narrowed to 0600. Hubs sharing one PostgreSQL database need the same key:
 * copy the file or set `HUB_KEY_ENCRYPTION_KEY` on every instance.
 */
export function loadOrCreateKeyEncryptionKey(file: string): KeyEncryptionKeySource {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let created = false;
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    created = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  let key: Buffer;
  try {
    key = parseKeyEncryptionKey(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  return { key, file, created };
}
