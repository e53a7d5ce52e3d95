import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub } from '../hub.ts';
import { call } from '../testing/harness.ts';

/** Tokens from an outside OIDC issuer, verified through its JWKS URL (served here on loopback). */
describe('external OIDC issuer', () => {
  const issuer = 'https://login.example.test';
  let server: http.Server;
  let hub: Awaited<ReturnType<typeof createHub>>;
  let privateKey: CryptoKey;
  let jwksRequests = 0;

  const sign = (
    claims: Record<string, unknown>,
    options: { key?: CryptoKey; kid?: string; audience?: string; expiresIn?: string; alg?: string } = {},
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: options.kid ?? 'idp-1' })
      .setIssuer(issuer)
      .setSubject('person-42')
      .setAudience(options.audience ?? 'dovetail-api')
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '5m')
      .sign(options.key ?? privateKey);

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' };
    server = http.createServer((request, response) => {
      jwksRequests++;
      response.writeHead(request.url === '/jwks' ? 200 : 404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    hub = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret: 'external-admin-secret-0123',
      externalIssuer: { issuer, jwksUrl: `http://127.0.0.1:${port}/jwks`, audience: 'dovetail-api' },
    });
  });
  afterAll(async () => {
    await hub?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('accepts a token with a Dovetail role, scoped by its warehouses', async () => {
    const storefront = await sign({ dovetail_role: 'storefront' });
    expect((await call(hub, 'GET', '/api/v1/products', { token: storefront })).status).toBe(200);
    expect((await call(hub, 'POST', '/api/v1/products', { token: storefront, body: {} })).status).toBe(403);
    const staff = await sign({ dovetail_role: 'warehouse_staff', dovetail_warehouses: ['W1'] });
    const list = await call(hub, 'GET', '/api/v1/warehouses', { token: staff });
    expect(list.status).toBe(200);
    expect((await call(hub, 'GET', '/api/v1/warehouses/W2/inventory', { token: staff })).status).toBe(403);
    expect(jwksRequests).toBeGreaterThanOrEqual(1);
  });

  it('narrows to the scope claim when one is present', async () => {
    const admin = await sign({ dovetail_role: 'admin', scope: 'catalog.read' });
    expect((await call(hub, 'GET', '/api/v1/products', { token: admin })).status).toBe(200);
    const write = await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id: 'X', name: 'X', kind: 'store', location: { lat: 0, lon: 0 } },
    });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('insufficient_scope');
  });

  it('refuses a wrong audience, an expired token, a foreign key, no role, the edge role and a scoped role without warehouses', async () => {
    const attacker = await generateKeyPair('ES256');
    const refused = [
      await sign({ dovetail_role: 'storefront' }, { audience: 'someone-else' }),
      await sign({ dovetail_role: 'storefront' }, { expiresIn: '-10m' }),
      await sign({ dovetail_role: 'storefront' }, { key: attacker.privateKey }),
      await sign({ dovetail_role: 'storefront' }, { key: attacker.privateKey, kid: 'unknown-kid' }),
      await sign({}),
      await sign({ dovetail_role: 'edge', dovetail_warehouses: ['W1'] }),
      await sign({ dovetail_role: 'warehouse_staff' }),
      await sign({ dovetail_role: 'pirate' }),
    ];
    for (const token of refused) expect((await call(hub, 'GET', '/api/v1/products', { token })).status).toBe(401);
  });

  it('still accepts the hub’s own tokens', async () => {
    const response = await hub.app.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=admin&client_secret=external-admin-secret-0123',
    });
    const { access_token: token } = (await response.json()) as { access_token: string };
    expect((await call(hub, 'GET', '/api/v1/products', { token })).status).toBe(200);
  });
});
