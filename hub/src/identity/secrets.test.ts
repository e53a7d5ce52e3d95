import { describe, expect, it } from 'vitest';
import { clientSecretMatches, hashClientSecret, newClientSecret } from './secrets.ts';

describe('client secrets', () => {
  it('are prefixed, 256 random bits, and never start with a dash (command lines take those for options)', () => {
    const secrets = Array.from({ length: 2_000 }, () => newClientSecret());
    for (const secret of secrets) expect(secret).toMatch(/^dvt_secret_[A-Za-z0-9_-]{43}$/);
    expect(new Set(secrets).size).toBe(secrets.length);
  });

  it('match only their own hash, and secrets issued before the prefix still verify', () => {
    const secret = newClientSecret();
    expect(clientSecretMatches(secret, hashClientSecret(secret))).toBe(true);
    expect(clientSecretMatches(`${secret}x`, hashClientSecret(secret))).toBe(false);
    const legacy = '-Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg';
    expect(clientSecretMatches(legacy, hashClientSecret(legacy))).toBe(true);
  });
});
