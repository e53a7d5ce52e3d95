import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { limits } from '@dovetail/shared';
import { type CryptoKey, type JWK, SignJWT, exportJWK, generateKeyPair, importJWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHub } from '../hub.ts';
import { KeyStore } from '../identity/keys.ts';
import { apiAudience, syncAudience } from '../identity/principal.ts';
import { type TestHub, adminSecret, adminToken, call, clientToken, sofa, startTestHub } from '../testing/harness.ts';

/**
 * The "Tokens" lines of the security checklist (docs/security-checklist.md), one test per line,
 * against a hub in-process (and over a real socket for `/sync`).
 */
let hub: TestHub | undefined;
let clockMs = Date.now();
const servers: http.Server[] = [];
const outsideHubs: Array<Awaited<ReturnType<typeof createHub>>> = [];

afterEach(async () => {
  await hub?.dispose();
  hub = undefined;
  for (const outside of outsideHubs.splice(0)) await outside.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const status = async (token: string) => (await call(hub!, 'GET', '/api/v1/products', { token })).status;
const part = (token: string, index: number) =>
  JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString()) as Record<string, unknown>;
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const adminClaims = { sub: 'admin', role: 'admin', wh: '*', scope: 'catalog.read', knd: 'client', epoch: 1 };

async function listen(server: http.Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The hub's active private signing key, read from its database: what an insider forging claims would hold. */
async function activeSigningKey(test: TestHub): Promise<{ key: CryptoKey; kid: string }> {
  const jwks = (await call(test, 'GET', '/.well-known/jwks.json')).body as { keys: Array<{ kid: string }> };
  const kid = jwks.keys[0]!.kid;
  const row = await test.storage.db
    .selectFrom('signing_keys')
    .select('private_jwk')
    .where('kid', '=', kid)
    .executeTakeFirstOrThrow();
  return { key: (await importJWK(JSON.parse(row.private_jwk) as JWK, 'ES256')) as CryptoKey, kid };
}

/** An upgrade to `/sync` with this token: the status the hub answers (101 when it accepts). */
async function upgradeStatus(port: number, token: string): Promise<number> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/sync`, { headers: { authorization: `Bearer ${token}` } });
  return new Promise((resolve, reject) => {
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

describe('security checklist: tokens', () => {
  it('Tokens: pin algorithms in jwtVerify; alg:none, HS256 signed with the public key, an algorithm off the list → 401', async () => {
    hub = await startTestHub('sqlite');
    const valid = await adminToken(hub);
    expect(await status(valid)).toBe(200);
    expect(part(valid, 0)).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: expect.any(String) });
    // alg none: the genuine payload, no signature.
    expect(await status(`${encode({ ...part(valid, 0), alg: 'none' })}.${valid.split('.')[1]}.`)).toBe(401);
    // HS256 with the published public key as the HMAC secret (the key-confusion attack).
    const jwks = (await call(hub, 'GET', '/.well-known/jwks.json')).body as { keys: Array<{ kid: string }> };
    for (const secret of [JSON.stringify(jwks.keys[0]), encode(jwks.keys[0])]) {
      const confused = await new SignJWT({ ...adminClaims })
        .setProtectedHeader({ alg: 'HS256', kid: jwks.keys[0]!.kid, typ: 'at+jwt' })
        .setIssuer('dovetail-hub')
        .setAudience(apiAudience)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
      expect(await status(confused)).toBe(401);
    }
    // Off the list, signed by the genuine key holder: the hub pins ES256 for its own tokens…
    const { key, kid } = await activeSigningKey(hub);
    const genuine = (alg: string) =>
      new SignJWT({ ...adminClaims })
        .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
        .setIssuer('dovetail-hub')
        .setAudience(apiAudience)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);
    expect(await status(await genuine('ES256'))).toBe(200);
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const rsaPrivate = await exportJWK(rsa.privateKey);
    const rsaKey = async (alg: string) => (await importJWK({ ...rsaPrivate }, alg)) as CryptoKey;
    const offList = await new SignJWT({ ...adminClaims })
      .setProtectedHeader({ alg: 'RS384', kid, typ: 'at+jwt' })
      .setIssuer('dovetail-hub')
      .setAudience(apiAudience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(await rsaKey('RS384'));
    expect(await status(offList)).toBe(401);

    // …and an outside issuer's list (ES256, ES384, RS256, PS256, EdDSA): the same published RSA key
    // verifies RS256 and is refused for RS384, which is off the list.
    const issuer = 'https://login.example.test';
    const published: JWK = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', use: 'sig' };
    const jwksUrl = `${await listen(
      http.createServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ keys: [published] }));
      }),
    )}/jwks`;
    const outside = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret,
      externalIssuer: { issuer, jwksUrl, audience: apiAudience },
    });
    outsideHubs.push(outside);
    const external = async (alg: string) =>
      new SignJWT({ dovetail_role: 'storefront' })
        .setProtectedHeader({ alg, kid: 'rsa-1' })
        .setIssuer(issuer)
        .setSubject('person-1')
        .setAudience(apiAudience)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(await rsaKey(alg));
    expect((await call(outside, 'GET', '/api/v1/products', { token: await external('RS256') })).status).toBe(200);
    expect((await call(outside, 'GET', '/api/v1/products', { token: await external('RS384') })).status).toBe(401);
    const unsigned = await external('RS256');
    expect(
      (
        await call(outside, 'GET', '/api/v1/products', {
          token: `${encode({ alg: 'none', kid: 'rsa-1' })}.${unsigned.split('.')[1]}.`,
        })
      ).status,
    ).toBe(401);
  });

  it('Tokens: exp past beyond clock tolerance, nbf in the future, missing/wrong aud, wrong iss, tampered payload → 401. Distinct typ/aud per token kind (access vs edge vs webhook)', async () => {
    clockMs = Date.now();
    hub = await startTestHub('sqlite', { nowMs: () => clockMs });
    const admin = await adminToken(hub);
    const { key, kid } = await activeSigningKey(hub);
    const forge = (edit: (jwt: SignJWT) => SignJWT, header: Record<string, unknown> = {}) => {
      const now = Math.floor(clockMs / 1000);
      return edit(new SignJWT({ ...adminClaims }).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt', ...header }))
        .setIssuedAt(now)
        .sign(key);
    };
    const base = (jwt: SignJWT) =>
      jwt
        .setIssuer('dovetail-hub')
        .setAudience(apiAudience)
        .setExpirationTime(Math.floor(clockMs / 1000) + 300);
    expect(await status(await forge(base))).toBe(200);
    // exp: within the tolerance still passes, beyond it does not.
    const expiredBy = (seconds: number) =>
      forge((jwt) =>
        jwt
          .setIssuer('dovetail-hub')
          .setAudience(apiAudience)
          .setExpirationTime(Math.floor(clockMs / 1000) - seconds),
      );
    expect(await status(await expiredBy(limits.clockToleranceSeconds - 10))).toBe(200);
    expect(await status(await expiredBy(limits.clockToleranceSeconds + 10))).toBe(401);
    // nbf in the future (beyond the tolerance).
    expect(await status(await forge((jwt) => base(jwt).setNotBefore(Math.floor(clockMs / 1000) + 600)))).toBe(401);
    // Missing aud, wrong aud, wrong iss.
    expect(
      await status(
        await forge((jwt) => jwt.setIssuer('dovetail-hub').setExpirationTime(Math.floor(clockMs / 1000) + 300)),
      ),
    ).toBe(401);
    expect(await status(await forge((jwt) => base(jwt).setAudience('someone-else')))).toBe(401);
    expect(await status(await forge((jwt) => base(jwt).setIssuer('https://evil.example')))).toBe(401);
    // Another KeyStore (its own keys) claiming another issuer.
    const otherIssuer = new KeyStore(hub.storage.db, 'someone-else', () => clockMs);
    await otherIssuer.init();
    expect(await status(await otherIssuer.sign({ ...adminClaims }, apiAudience, 300))).toBe(401);
    // A tampered payload under the genuine signature.
    const [header, payload, signature] = admin.split('.');
    const tampered = encode({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'someone-else' });
    expect(await status(`${header}.${tampered}.${signature}`)).toBe(401);
    // A real token expires past its lifetime plus the tolerance (401 with the Bearer challenge).
    clockMs += (limits.accessTokenTtlSeconds + limits.clockToleranceSeconds + 1) * 1000;
    const expired = await call(hub, 'GET', '/api/v1/products', { token: admin });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toMatch(/^Bearer/);

    // Distinct typ/aud per kind: access tokens `at+jwt` for dovetail-api, edge tokens for dovetail-sync.
    const fresh = await adminToken(hub);
    expect(part(fresh, 0)).toMatchObject({ typ: 'at+jwt' });
    expect(part(fresh, 1)).toMatchObject({ aud: apiAudience });
    expect(await status(await forge(base, { typ: 'JWT' }))).toBe(401);
    await call(hub, 'POST', '/api/v1/warehouses', {
      token: fresh,
      body: { id: 'W1', name: 'W1', kind: 'warehouse', location: { lat: 0, lon: 0 } },
    });
    const enrolled = await call(hub, 'POST', '/api/v1/warehouses/W1/edges', { token: fresh, body: {} });
    const edge = await clientToken(hub, enrolled.body.clientId, enrolled.body.clientSecret);
    expect(part(edge, 1)).toMatchObject({ aud: syncAudience, role: 'edge' });
    const edgeClaims = { sub: enrolled.body.clientId, role: 'edge', wh: ['W1'], scope: 'sync.connect', knd: 'client' };
    const server = serve({ fetch: hub.app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
    servers.push(server);
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    await hub.startSync(server, { pollIntervalMs: 100 });
    const port = (server.address() as AddressInfo).port;
    expect(await upgradeStatus(port, edge)).toBe(101);
    // The edge's claims minted for the API audience, and the admin's for the sync audience: refused.
    const edgeForApi = await hub.deps.keys.sign({ ...edgeClaims, epoch: 1 }, apiAudience, 300);
    expect(await upgradeStatus(port, edgeForApi)).toBe(401);
    expect(await status(edgeForApi)).toBe(401);
    const adminForSync = await hub.deps.keys.sign({ ...adminClaims }, syncAudience, 300);
    expect(await status(adminForSync)).toBe(401);
    expect(await upgradeStatus(port, adminForSync)).toBe(401);
    // An access token is not an edge's: /sync refuses it (403, the policy's sync.connect).
    expect(await upgradeStatus(port, fresh)).toBe(403);
    // Webhooks carry no bearer token (Standard Webhooks HMAC); a token minted for them is no access token.
    expect(await status(await hub.deps.keys.sign({ ...adminClaims }, 'dovetail-webhooks', 300))).toBe(401);
  });

  it('Tokens: unknown kid refetches the JWKS at most once per cooldown; jku/x5u/jwk headers ignored. Rotation: new kid accepted once published, removed kid rejected after cache expiry', async () => {
    const issuer = 'https://login.example.test';
    const requests = { jwks: 0, attacker: 0 };
    const genuine = await generateKeyPair('ES256', { extractable: true });
    const next = await generateKeyPair('ES256', { extractable: true });
    const forged = await generateKeyPair('ES256', { extractable: true });
    const jwkOf = async (key: CryptoKey, kid: string): Promise<JWK> => ({
      ...(await exportJWK(key)),
      kid,
      alg: 'ES256',
      use: 'sig',
    });
    const forgedJwk = await jwkOf(forged.publicKey, 'evil-1');
    let publishedKeys: JWK[] = [await jwkOf(genuine.publicKey, 'idp-1')];
    const jwksUrl = `${await listen(
      http.createServer((_request, response) => {
        requests.jwks++;
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ keys: publishedKeys }));
      }),
    )}/jwks`;
    const attackerUrl = `${await listen(
      http.createServer((_request, response) => {
        requests.attacker++;
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ keys: [forgedJwk] }));
      }),
    )}/jwks`;
    const sign = (key: CryptoKey, header: Record<string, unknown>) =>
      new SignJWT({ dovetail_role: 'storefront' })
        .setProtectedHeader({ alg: 'ES256', ...header })
        .setIssuer(issuer)
        .setSubject('person-42')
        .setAudience(apiAudience)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);

    // The hub's defaults: a 30 s cooldown, so a burst of unknown kids fetches the set once at most.
    const outside = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret,
      externalIssuer: { issuer, jwksUrl, audience: apiAudience },
    });
    outsideHubs.push(outside);
    const products = async (token: string, on = outside) =>
      (await call(on, 'GET', '/api/v1/products', { token })).status;
    expect(await products(await sign(genuine.privateKey, { kid: 'idp-1' }))).toBe(200);
    expect(requests.jwks).toBe(1);
    for (let i = 0; i < 10; i++)
      expect(await products(await sign(forged.privateKey, { kid: `unknown-${i}` }))).toBe(401);
    expect(requests.jwks - 1).toBeLessThanOrEqual(1);
    // Keys offered in the header are never used nor fetched.
    for (const header of [
      { kid: 'evil-1', jku: attackerUrl },
      { kid: 'evil-1', x5u: attackerUrl },
      { kid: 'evil-1', jwk: { ...forgedJwk, kid: undefined } },
      { kid: 'idp-1', jwk: { ...forgedJwk, kid: undefined } },
    ]) {
      expect(await products(await sign(forged.privateKey, header))).toBe(401);
    }
    expect(requests.attacker).toBe(0);

    // Rotation at the issuer, against a hub with a short cooldown and cache age (settings, not
    // assertions on time): the new kid is accepted once published, the removed one refused once
    // the cached set has expired.
    const rotating = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret,
      externalIssuer: { issuer, jwksUrl, audience: apiAudience, jwksCooldownMs: 50, jwksCacheMaxAgeMs: 300 },
    });
    outsideHubs.push(rotating);
    const oldToken = await sign(genuine.privateKey, { kid: 'idp-1' });
    const newToken = await sign(next.privateKey, { kid: 'idp-2' });
    expect(await products(oldToken, rotating)).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await products(newToken, rotating)).toBe(401);
    publishedKeys = [await jwkOf(genuine.publicKey, 'idp-1'), await jwkOf(next.publicKey, 'idp-2')];
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await products(newToken, rotating)).toBe(200);
    publishedKeys = [await jwkOf(next.publicKey, 'idp-2')];
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Fresh tokens (the verified-token cache is keyed by the token itself).
    expect(await products(await sign(genuine.privateKey, { kid: 'idp-1', jti: 'after' }), rotating)).toBe(401);
    expect(await products(await sign(next.privateKey, { kid: 'idp-2', jti: 'after' }), rotating)).toBe(200);

    // The hub's own keys rotate the same way: the new kid is published and signs, the old one keeps
    // verifying while published, and once rotated out of the JWKS its tokens are refused.
    hub = await startTestHub('sqlite');
    const admin = await adminToken(hub);
    const first = await adminToken(hub);
    const firstKid = part(first, 0)['kid'];
    const rotated = await call(hub, 'POST', '/api/v1/keys/rotate', { token: admin });
    expect(rotated.status).toBe(200);
    const published = (await call(hub, 'GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
    expect(published).toEqual([rotated.body.kid, firstKid]);
    const second = await adminToken(hub);
    expect(part(second, 0)['kid']).toBe(rotated.body.kid);
    expect(await status(second)).toBe(200);
    expect(await status(first)).toBe(200);
    for (let i = 1; i < limits.signingKeysPublishedMax; i++)
      expect((await call(hub, 'POST', '/api/v1/keys/rotate', { token: second })).status).toBe(200);
    const after = (await call(hub, 'GET', '/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
    expect(after).not.toContain(firstKid);
    hub.deps.authenticator.forget();
    expect(await status(first)).toBe(401);
  });

  it('Tokens: no Authorization → 401 with `WWW-Authenticate: Bearer`; missing scope → 403 `insufficient_scope`', async () => {
    hub = await startTestHub('sqlite');
    for (const [method, path] of [
      ['GET', '/api/v1/products'],
      ['POST', '/api/v1/products'],
      ['GET', '/api/v1/orders'],
    ] as const) {
      const bare = await call(hub, method, path, method === 'POST' ? { body: sofa('NO-AUTH') } : {});
      expect(bare.status).toBe(401);
      expect(bare.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(bare.body.error.code).toBe('unauthorized');
    }
    const trpc = await hub.app.request('/trpc/catalog.list?input=%7B%7D');
    expect(trpc.status).toBe(401);
    for (const authorization of ['Bearer', 'Basic YWRtaW46eA==', 'Bearer a.b', `Bearer ${await adminToken(hub)} x`]) {
      const malformed = await hub.app.request('/api/v1/products', { headers: { authorization } });
      expect(malformed.status).toBe(401);
      expect(malformed.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const readOnly = await clientToken(hub, 'admin', adminSecret, 'catalog.read');
    expect(await status(readOnly)).toBe(200);
    const write = await call(hub, 'POST', '/api/v1/products', { token: readOnly, body: sofa('SCOPE-1') });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('insufficient_scope');
    expect(write.headers.get('www-authenticate')).toMatch(/^Bearer .*error="insufficient_scope"/);
    const viaTrpc = await hub.app.request('/trpc/catalog.create', {
      method: 'POST',
      headers: { authorization: `Bearer ${readOnly}`, 'content-type': 'application/json' },
      body: JSON.stringify(sofa('SCOPE-2')),
    });
    expect(viaTrpc.status).toBe(403);
    expect(await hub.storage.db.selectFrom('products').select('id').execute()).toEqual([]);
  });

  it("Tokens: `/oauth/token`: bad client secret → 401 `invalid_client`; success has no refresh token and `Cache-Control: no-store`; scope beyond the client's → 400 `invalid_scope`", async () => {
    hub = await startTestHub('sqlite');
    const token = (body: string, headers: Record<string, string> = {}) =>
      hub!.app.request('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
    const wrongSecret = await token('grant_type=client_credentials&client_id=admin&client_secret=wrong-wrong-wrong');
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toMatchObject({ error: 'invalid_client' });
    expect(wrongSecret.headers.get('cache-control')).toBe('no-store');
    const wrongBasic = await token('grant_type=client_credentials', {
      authorization: `Basic ${Buffer.from('admin:wrong-wrong-wrong').toString('base64')}`,
    });
    expect(wrongBasic.status).toBe(401);
    expect(wrongBasic.headers.get('www-authenticate')).toMatch(/^Basic/);
    const unknown = await token('grant_type=client_credentials&client_id=ghost&client_secret=whatever-whatever');
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toMatchObject({ error: 'invalid_client' });

    for (const success of [
      await token(`grant_type=client_credentials&client_id=admin&client_secret=${adminSecret}`),
      await token('grant_type=client_credentials', {
        authorization: `Basic ${Buffer.from(`admin:${adminSecret}`).toString('base64')}`,
      }),
    ]) {
      expect(success.status).toBe(200);
      expect(success.headers.get('cache-control')).toBe('no-store');
      const body = (await success.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: limits.accessTokenTtlSeconds });
      expect(body).not.toHaveProperty('refresh_token');
    }

    const created = await call(hub, 'POST', '/api/v1/clients', {
      token: await adminToken(hub),
      body: { name: 'Shop', role: 'storefront' },
    });
    const shop = `client_id=${created.body.clientId}&client_secret=${created.body.clientSecret}`;
    for (const scope of ['catalog.write', 'orders.read clients.manage', 'sync.connect', 'no.such.scope']) {
      const beyond = await token(`grant_type=client_credentials&${shop}&scope=${encodeURIComponent(scope)}`);
      expect(beyond.status, scope).toBe(400);
      expect(await beyond.json()).toMatchObject({ error: 'invalid_scope' });
      expect(beyond.headers.get('cache-control')).toBe('no-store');
    }
    const narrowed = await token(`grant_type=client_credentials&${shop}&scope=catalog.read`);
    expect(narrowed.status).toBe(200);
    expect(((await narrowed.json()) as { scope: string }).scope).toBe('catalog.read');
    const password = await token('grant_type=password&username=a&password=b');
    expect(password.status).toBe(400);
    expect(await password.json()).toMatchObject({ error: 'unsupported_grant_type' });
    const json = await hub.app.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'admin', client_secret: adminSecret }),
    });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ error: 'invalid_request' });
    expect((await hub.app.request('/oauth/token', { method: 'GET' })).status).toBe(405);
  });
});
