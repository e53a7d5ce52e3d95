import { limits } from '@dovetail/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
