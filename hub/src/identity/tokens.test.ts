import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestHub, adminToken, call, startTestHub } from '../testing/harness.ts';
import { KeyStore } from './keys.ts';
import { apiAudience } from './principal.ts';

/** RFC 8725 checks on the hub's bearer tokens: every forgery or misuse is a 401. */
describe('bearer token verification', () => {
  let hub: TestHub;
  let clockMs = Date.now();
  let valid: string;
  const claims = { sub: 'admin', role: 'admin', wh: '*', scope: 'catalog.read', knd: 'client', epoch: 1 };

  const status = async (token: string) => (await call(hub, 'GET', '/api/v1/products', { token })).status;
  const part = (token: string, index: number) =>
    JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString()) as Record<string, unknown>;
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { nowMs: () => clockMs });
    valid = await adminToken(hub);
  });
  afterAll(async () => {
    await hub?.dispose();
  });

  it('accepts the genuine token', async () => {
    expect(await status(valid)).toBe(200);
    expect(part(valid, 0)).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: expect.any(String) });
    expect(part(valid, 1)).toMatchObject({ iss: 'dovetail-hub', aud: apiAudience, sub: 'admin' });
  });

  it('refuses alg none', async () => {
    const header = { ...part(valid, 0), alg: 'none' };
    expect(await status(`${encode(header)}.${valid.split('.')[1]}.`)).toBe(401);
  });

  it('refuses HS256 signed with the public key as the secret', async () => {
    const jwks = (await call(hub, 'GET', '/.well-known/jwks.json')).body as { keys: Array<{ kid: string }> };
    const publicKey = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
    const forged = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256', kid: jwks.keys[0]!.kid, typ: 'at+jwt' })
      .setIssuer('dovetail-hub')
      .setAudience(apiAudience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(publicKey);
    expect(await status(forged)).toBe(401);
  });

  it('refuses a tampered payload', async () => {
    const [header, payload, signature] = valid.split('.');
    const changed = encode({
      ...JSON.parse(Buffer.from(payload!, 'base64url').toString()),
      role: 'admin',
      sub: 'someone-else',
    });
    expect(await status(`${header}.${changed}.${signature}`)).toBe(401);
  });

  it('ignores keys offered in the header (jwk, jku) and unknown kids', async () => {
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(attacker.publicKey);
    const forged = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'attacker', typ: 'at+jwt', jwk, jku: 'http://127.0.0.1:1/jwks.json' })
      .setIssuer('dovetail-hub')
      .setAudience(apiAudience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(attacker.privateKey);
    expect(await status(forged)).toBe(401);
  });

  it('refuses a wrong issuer, a wrong audience and a token not yet valid', async () => {
    const otherIssuer = new KeyStore(hub.storage.db, 'someone-else', () => clockMs);
    await otherIssuer.init();
    expect(await status(await otherIssuer.sign({ ...claims }, apiAudience, 300))).toBe(401);
    expect(await status(await hub.deps.keys.sign({ ...claims }, 'dovetail-webhooks', 300))).toBe(401);
    const future = new KeyStore(hub.storage.db, 'dovetail-hub', () => clockMs + 3_600_000);
    await future.init();
    expect(await status(await future.sign({ ...claims }, apiAudience, 7_200))).toBe(401);
    expect(await status(await hub.deps.keys.sign({ ...claims }, apiAudience, 300))).toBe(200);
  });

  it('refuses an expired token beyond the clock tolerance, 401 with WWW-Authenticate', async () => {
    const token = await adminToken(hub);
    clockMs += 16 * 60 * 1000;
    const response = await call(hub, 'GET', '/api/v1/products', { token });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('refuses malformed Authorization headers', async () => {
    for (const authorization of ['Bearer', 'Basic YWRtaW46eA==', 'Bearer a.b', `Bearer ${valid} extra`]) {
      const response = await hub.app.request('/api/v1/products', { headers: { authorization } });
      expect(response.status).toBe(401);
    }
  });
});
