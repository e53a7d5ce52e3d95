import { describe, expect, it } from 'vitest';
import { canonicalJson, changeDigest, genesisHash, rowHash, withoutSecrets } from './chain.ts';

describe('audit chain primitives', () => {
  it('digests equal changes alike whatever their key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 2, y: 3 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":3,"z":2}]},"b":1}',
    );
    expect(changeDigest({ a: 1, b: 2 })).toBe(changeDigest({ b: 2, a: 1 }));
    expect(changeDigest({ a: 1 })).not.toBe(changeDigest({ a: 2 }));
  });

  it('keeps secrets and contact details out of the digest', () => {
    expect(
      withoutSecrets({ username: 'grace', password: 'hunter22hunter', nested: { clientSecret: 'x', email: 'a@b.c' } }),
    ).toEqual({
      username: 'grace',
      password: '[redacted]',
      nested: { clientSecret: '[redacted]', email: '[redacted]' },
    });
    expect(changeDigest({ email: 'margaret@example.com' })).toBe(changeDigest({ email: 'ada@example.com' }));
  });

  it('chains each row to the previous hash, so changing either changes the hash', () => {
    const row = {
      seq: 1,
      at: 1,
      actor: 'admin',
      actor_kind: 'client',
      source: '127.0.0.1',
      request_id: null,
      action: 'client.create',
      target: 'c1',
      digest: changeDigest({}),
    };
    const hash = rowHash(genesisHash, row);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rowHash(genesisHash, { ...row, target: 'c2' })).not.toBe(hash);
    expect(rowHash('1'.repeat(64), row)).not.toBe(hash);
  });
});
