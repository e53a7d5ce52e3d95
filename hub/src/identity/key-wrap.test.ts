import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Database } from '../database.ts';
import { dropPostgresSchema, openStorage, type StorageConfig } from '../db/connect.ts';
import { type AdapterName, adapters, postgresTarget, uniqueSchemaName } from '../testing/harness.ts';
import { parseKeyEncryptionKey, unwrapPrivateKey, wrapPrivateKey } from './key-wrap.ts';
import { KeyStore } from './keys.ts';

const schemas = new Map<AdapterName, string>();
async function storageFor(adapter: AdapterName): Promise<StorageConfig> {
  if (adapter === 'sqlite') return { kind: 'sqlite', file: ':memory:' };
  const schema = uniqueSchemaName('kek');
  schemas.set(adapter, schema);
  const target = await postgresTarget();
  return target.kind === 'server' ? { kind: 'postgres', url: target.url, schema } : { kind: 'pglite', schema };
}
async function dropFor(adapter: AdapterName): Promise<void> {
  const target = await postgresTarget();
  const schema = schemas.get(adapter);
  if (adapter === 'postgres' && schema && target.kind === 'server') await dropPostgresSchema(target.url, schema);
}

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

  it.each(adapters)(
    'seals the plain keys a hub without a KEK stored, when a hub with one starts (%s)',
    async (adapter) => {
      const storage = await openStorage<Database>(await storageFor(adapter));
      try {
        const plain = new KeyStore(storage.db, 'dovetail-hub', Date.now);
        await plain.init();
        const token = await plain.sign({ sub: 's' }, 'dovetail-api', 60);
        const before = await storage.db.selectFrom('signing_keys').select('private_jwk').execute();
        expect(before.every((row) => row.private_jwk.includes('"d"'))).toBe(true);

        const sealed = new KeyStore(storage.db, 'dovetail-hub', Date.now, kek);
        await sealed.init();
        const after = await storage.db.selectFrom('signing_keys').select('private_jwk').execute();
        expect(after.length).toBe(before.length);
        expect(after.every((row) => row.private_jwk.startsWith('enc:v1:') && !row.private_jwk.includes('"d"'))).toBe(
          true,
        );
        expect((await sealed.verify(token, 'dovetail-api')).sub).toBe('s');
        expect((await sealed.verify(await sealed.sign({ sub: 't' }, 'dovetail-api', 60), 'dovetail-api')).sub).toBe(
          't',
        );
        // A second start seals nothing twice.
        await new KeyStore(storage.db, 'dovetail-hub', Date.now, kek).init();
        expect(await storage.db.selectFrom('signing_keys').select('private_jwk').execute()).toEqual(after);
      } finally {
        await storage.close();
        await dropFor(adapter);
      }
    },
  );
});
