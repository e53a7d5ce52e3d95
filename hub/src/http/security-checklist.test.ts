import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { limits } from '@dovetail/shared';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHub } from '../hub.ts';
import { type TestHub, adapters, adminToken, call, clientToken, sofa, startTestHub } from '../testing/harness.ts';

/**
 * Lines of the security checklist (the founding notes' SECURITY_CHECKLIST.md) that no other test
 * owned, each as a test named after its line, against an in-process hub. The lines owned elsewhere:
 * API1 staff/warehouse scope and sync (http/policy-matrix.test.ts, sync tests), API2–API5 and API8
 * (http/api.contract.test.ts, http/trpc.test.ts, http/security-headers.test.ts), API7
 * (webhooks/delivery.test.ts), API9 (http/openapi-*.test.ts), tokens (identity/tokens.test.ts; the
 * outside issuer's JWKS refetch is here),
 * webhooks (webhooks/webhooks.test.ts), idempotency (http/idempotency.test.ts), rate limits
 * (http/rate-limit.test.ts, identity/budgets.test.ts), the audit log (audit/) and PII at rest (privacy/).
 */
describe.each(adapters)('security checklist on %s', (adapter) => {
  let hub: TestHub;
  let admin: string;

  beforeEach(async () => {
    hub = await startTestHub(adapter);
    admin = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') })).status).toBe(201);
    const warehouse = await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id: 'TPL-A', name: 'TPL-A', kind: '3pl', location: { lat: 51.9, lon: 4.5 } },
    });
    expect(warehouse.status).toBe(201);
    const stocked = await call(hub, 'PUT', '/api/v1/warehouses/TPL-A/inventory/SOFA-1', {
      token: admin,
      body: { onHand: 500 },
    });
    expect(stocked.status).toBe(200);
  });
  afterEach(() => hub.dispose());

  async function storefront(name: string): Promise<string> {
    const created = await call(hub, 'POST', '/api/v1/clients', { token: admin, body: { name, role: 'storefront' } });
    expect(created.status).toBe(201);
    return clientToken(hub, created.body.clientId, created.body.clientSecret);
  }

  /** The id with its last hex digit stepped: what an attacker walking ids tries next. */
  const neighbours = (id: string) => {
    const last = Number.parseInt(id.slice(-1), 16);
    return [(last + 1) % 16, (last + 15) % 16].map((digit) => id.slice(0, -1) + digit.toString(16));
  };

  it("API1 object level: customer X reads Y's order, sequential id walking → 404", async () => {
    const shopX = await storefront('X');
    const shopY = await storefront('Y');
    const placed = await call(hub, 'POST', '/api/v1/orders', {
      token: shopY,
      body: {
        lines: [{ sku: 'SOFA-1', quantity: 1 }],
        customer: { email: 'yara@example.com', name: 'Yara' },
        shippingAddress: { line1: '1 Rue Y', city: 'Paris', postalCode: '75001', country: 'FR' },
      },
    });
    expect(placed.status).toBe(201);
    const { id: orderId, holdId } = placed.body;
    expect((await call(hub, 'GET', `/api/v1/orders/${orderId}`, { token: shopY })).status).toBe(200);
    for (const id of [orderId, ...neighbours(orderId)]) {
      const probe = await call(hub, 'GET', `/api/v1/orders/${id}`, { token: shopX });
      expect(probe.status).toBe(404);
      expect(JSON.stringify(probe.body)).not.toContain('yara');
    }
    for (const id of [holdId, ...neighbours(holdId)]) {
      expect((await call(hub, 'GET', `/api/v1/inventory/holds/${id}`, { token: shopX })).status).toBe(404);
      expect(
        (await call(hub, 'POST', '/api/v1/inventory/release', { token: shopX, body: { holdId: id } })).status,
      ).toBe(404);
    }
    // Y's order is untouched by X's attempts.
    const after = await call(hub, 'GET', `/api/v1/orders/${orderId}`, { token: shopY });
    expect(after.body.status).toBe('pending_payment');
  });

  it('API6 business flows: one account reserving a limited item across many carts → per-account cap or 429', async () => {
    const shop = await storefront('flash sale');
    const cap = limits.holdUnitsPerSkuMaxDefault;
    // Many carts at once, each holding a few units of the one limited SKU.
    const carts = await Promise.all(
      Array.from({ length: 40 }, () =>
        call(hub, 'POST', '/api/v1/inventory/reserve', {
          token: shop,
          body: { lines: [{ sku: 'SOFA-1', quantity: 3 }], ttlSeconds: 3600 },
        }),
      ),
    );
    const held = carts.filter((cart) => cart.status === 201).length * 3;
    expect(held).toBeLessThanOrEqual(cap);
    expect(held).toBeGreaterThan(cap - 3);
    for (const refused of carts.filter((cart) => cart.status !== 201)) {
      expect([409, 429]).toContain(refused.status);
      if (refused.status === 409) expect(refused.body.error.code).toBe('hold_cap_exceeded');
    }
    // The stock the account could not take is still there for everyone else.
    const inventory = await call(hub, 'GET', '/api/v1/inventory/SOFA-1', { token: admin });
    expect(inventory.body.available).toBe(500 - held);
    const other = await storefront('another shop');
    const otherHold = await call(hub, 'POST', '/api/v1/inventory/reserve', {
      token: other,
      body: { lines: [{ sku: 'SOFA-1', quantity: 3 }] },
    });
    expect(otherHold.status).toBe(201);
  });
});

describe('security checklist: tokens of an outside issuer', () => {
  const issuer = 'https://login.example.test';
  let hub: Awaited<ReturnType<typeof createHub>>;
  let jwksServer: http.Server;
  let attackerServer: http.Server;
  const requests = { jwks: 0, attacker: 0 };

  const listen = async (server: http.Server) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  afterEach(async () => {
    await hub?.close();
    for (const server of [jwksServer, attackerServer]) await new Promise((resolve) => server?.close(resolve));
  });

  it('Tokens: unknown kid refetches the JWKS at most once per cooldown; jku/x5u/jwk headers ignored', async () => {
    const genuine = await generateKeyPair('ES256', { extractable: true });
    const forged = await generateKeyPair('ES256', { extractable: true });
    const publicJwk: JWK = { ...(await exportJWK(genuine.publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' };
    const forgedJwk: JWK = { ...(await exportJWK(forged.publicKey)), kid: 'evil-1', alg: 'ES256', use: 'sig' };
    jwksServer = http.createServer((_request, response) => {
      requests.jwks++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [publicJwk] }));
    });
    attackerServer = http.createServer((_request, response) => {
      requests.attacker++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [forgedJwk] }));
    });
    const jwksUrl = `${await listen(jwksServer)}/jwks`;
    const attackerUrl = `${await listen(attackerServer)}/jwks`;
    hub = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret: 'checklist-admin-secret-0123',
      externalIssuer: { issuer, jwksUrl, audience: 'dovetail-api' },
    });
    const sign = (key: CryptoKey, header: Record<string, unknown>) =>
      new SignJWT({ dovetail_role: 'storefront' })
        .setProtectedHeader({ alg: 'ES256', ...header })
        .setIssuer(issuer)
        .setSubject('person-42')
        .setAudience('dovetail-api')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);

    const good = await sign(genuine.privateKey, { kid: 'idp-1' });
    expect((await call(hub, 'GET', '/api/v1/products', { token: good })).status).toBe(200);
    const fetchedOnce = requests.jwks;
    expect(fetchedOnce).toBe(1);
    // A burst of unknown kids inside the cooldown: refused, and the JWKS is not fetched for each.
    for (let i = 0; i < 10; i++) {
      const unknown = await sign(forged.privateKey, { kid: `unknown-${i}` });
      expect((await call(hub, 'GET', '/api/v1/products', { token: unknown })).status).toBe(401);
    }
    expect(requests.jwks - fetchedOnce).toBeLessThanOrEqual(1);
    // Keys offered in the header are never used nor fetched.
    for (const header of [
      { kid: 'evil-1', jku: attackerUrl },
      { kid: 'evil-1', x5u: attackerUrl },
      { kid: 'evil-1', jwk: { ...forgedJwk, kid: undefined } },
    ]) {
      const offered = await sign(forged.privateKey, header);
      expect((await call(hub, 'GET', '/api/v1/products', { token: offered })).status).toBe(401);
    }
    expect(requests.attacker).toBe(0);
  });
});
