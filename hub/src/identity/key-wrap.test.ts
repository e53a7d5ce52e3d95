import type { Database } from '../database.ts';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openStorage } from '../db/connect.ts';
import { parseKeyEncryptionKey, unwrapPrivateKey, wrapPrivateKey } from './key-wrap.ts';
import { KeyStore } from './keys.ts';

describe('signing keys sealed at rest', () => {
  const kek = randomBytes(32);

  it('round-trips and binds the kid', () => {
    const sealed = wrapPrivateKey('{"d":"secret"}', 'k1', kek);
    expect(sealed.startsWith('enc:v1:')).toBe(true);
    expect(sealed).not.toContain('secret');
    expect(unwrapPrivateKey(sealed, 'k1', kek)).toBe('{"d":"secret"}');
    expect(() => unwrapPrivateKey(sealed, 'k2', kek)).toThrow(/does not decrypt/);
    expect(() => unwrapPrivateKey(sealed, 'k1', randomBytes(32))).toThrow(/does not decrypt/);
    expect(() => unwrapPrivateKey(sealed, 'k1', undefined)).toThrow(/HUB_KEY_ENCRYPTION_KEY/);
    expect(unwrapPrivateKey('{"plain":true}', 'k1', undefined)).toBe('{"plain":true}');
  });

  it('parses a base64 key of exactly 32 bytes', () => {
    expect(parseKeyEncryptionKey(kek.toString('base64'))).toEqual(kek);
    expect(parseKeyEncryptionKey(kek.toString('base64url'))).toEqual(kek);
    expect(() => parseKeyEncryptionKey(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
  });

  it('stores no private key material in the clear, and a restart needs the same KEK', async () => {
    const storage = await openStorage<Database>({ kind: 'sqlite', file: ':memory:' });
    try {
      const keys = new KeyStore(storage.db, 'dovetail-hub', Date.now, kek);
      await keys.init();
      const token = await keys.sign({ sub: 's' }, 'dovetail-api', 60);
      const rows = await storage.db.selectFrom('signing_keys').select('private_jwk').execute();
      expect(rows.every((row) => row.private_jwk.startsWith('enc:v1:') && !row.private_jwk.includes('"d"'))).toBe(true);
      const restarted = new KeyStore(storage.db, 'dovetail-hub', Date.now, kek);
      await restarted.init();
      expect((await restarted.verify(token, 'dovetail-api')).sub).toBe('s');
      await expect(new KeyStore(storage.db, 'dovetail-hub', Date.now).init()).rejects.toThrow(/HUB_KEY_ENCRYPTION_KEY/);
      await expect(new KeyStore(storage.db, 'dovetail-hub', Date.now, randomBytes(32)).init()).rejects.toThrow(
        /wrong key/,
      );
    } finally {
      await storage.close();
    }
  });
});
