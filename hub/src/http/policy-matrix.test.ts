import { type Role, permissions, roles } from '@dovetail/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashClientSecret } from '../identity/secrets.ts';
import { type TestHub, adapters, adminToken, call, clientToken, startTestHub } from '../testing/harness.ts';
import { type RestRoute, restRoutes } from './openapi.ts';
import { appRouter } from './root.ts';

/**
 * The role × route matrix, walked from the shared policy table: for every REST route and every
 * tRPC procedure, each role either holds the route's permission (and is never refused with
 * 401/403) or does not (and gets 403). Object-level scope is exercised with an in-scope warehouse.
 */
const secret = 'matrix-secret-0123456789abcdef';
const inScopeWarehouse = 'T1';

/** A plausible input per route parameter: in-scope warehouse, a SKU, an unknown id. */
function pathValue(name: string, route: RestRoute): string {
  if (name === 'sku') return 'SKU-1';
  if (name === 'id' && route.path.startsWith('/warehouses')) return inScopeWarehouse;
  return 'PROBE-1';
}

function concrete(route: RestRoute): { path: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  const path = route.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    params[name] = pathValue(name, route);
    return params[name];
  });
  return { path, params };
}

const routes = restRoutes(appRouter).filter((route) => route.permission !== 'public');
const matrix = routes.flatMap((route) => roles.map((role) => ({ route, role })));

/** A valid body for each fulfillment-order action, so the probe reaches the scope check. */
const fulfillmentActionBodies: Record<string, Record<string, unknown>> = {
  reject: { reason: 'probe' },
  ship: { carrier: 'ups', trackingNumber: '1Z999AA10123456784' },
  'cancel-refuse': { reason: 'probe' },
};

describe.each(adapters)('role × route matrix on %s', (adapter) => {
  let hub: TestHub;
  const tokens = new Map<Role, string>();
  /** A fulfillment order at T2, outside the scoped principals' warehouses (W1, T1). */
  let foreignFulfillmentId = '';

  beforeAll(async () => {
    hub = await startTestHub(adapter);
    const admin = await adminToken(hub);
    await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id: 'W1', name: 'W1', kind: 'warehouse', location: { lat: 0, lon: 0 } },
    });
    await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id: 'T1', name: 'T1', kind: '3pl', location: { lat: 0, lon: 0 } },
    });
    await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id: 'T2', name: 'T2', kind: '3pl', location: { lat: 0, lon: 0 } },
    });
    await call(hub, 'POST', '/api/v1/products', {
      token: admin,
      body: {
        name: 'Scope probe',
        category: 'chair',
        basePrice: 1,
        currency: 'EUR',
        variants: [{ sku: 'SKU-1', options: {} }],
      },
    });
    await call(hub, 'PUT', '/api/v1/warehouses/T2/inventory/SKU-1', { token: admin, body: { onHand: 9 } });
    const placed = await call(hub, 'POST', '/api/v1/orders', {
      token: admin,
      body: {
        lines: [{ sku: 'SKU-1', quantity: 1 }],
        customer: { email: 'probe@example.com', name: 'Probe' },
        shippingAddress: { line1: '1 Probe St', city: 'Paris', postalCode: '75001', country: 'FR' },
      },
    });
    const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
      token: admin,
      body: { reference: 'probe' },
    });
    foreignFulfillmentId = paid.body.fulfillments[0].id;
    // One client per role, written directly: the token endpoint then mints ordinary tokens for each.
    for (const role of roles) {
      await hub.storage.db
        .insertInto('api_clients')
        .values({
          id: `matrix-${role}`,
          name: role,
          role,
          warehouses_json: JSON.stringify(role === 'admin' ? '*' : ['W1', 'T1']),
          secret_hash: hashClientSecret(secret),
          epoch: 1,
          revoked_at: null,
          created_at: Date.now(),
        })
        .execute();
      tokens.set(role, await clientToken(hub, `matrix-${role}`, secret));
    }
  }, 60_000);
  afterAll(async () => {
    await hub?.dispose();
  });

  it('walks every protected route for every role', () => {
    expect(routes.length).toBeGreaterThanOrEqual(20);
    expect(matrix).toHaveLength(routes.length * roles.length);
  });

  it.each(matrix)('REST $route.method $route.path as $role', async ({ route, role }) => {
    const allowed = (permissions[route.permission as keyof typeof permissions].roles as readonly Role[]).includes(role);
    const { path } = concrete(route);
    const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : {};
    const response = await call(hub, route.method, `/api/v1${path}`, {
      token: tokens.get(role)!,
      ...(body ? { body } : {}),
    });
    if (allowed) {
      expect([401, 403], `${response.status} ${JSON.stringify(response.body)}`).not.toContain(response.status);
    } else {
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('forbidden');
    }
    const anonymous = await call(hub, route.method, `/api/v1${path}`, body ? { body } : {});
    expect(anonymous.status).toBe(401);
  });

  it.each(matrix)('tRPC $route.procedure as $role', async ({ route, role }) => {
    const allowed = (permissions[route.permission as keyof typeof permissions].roles as readonly Role[]).includes(role);
    const { params } = concrete(route);
    const input = encodeURIComponent(JSON.stringify(params));
    const headers = { authorization: `Bearer ${tokens.get(role)!}` };
    const response =
      route.method === 'GET'
        ? await hub.app.request(`/trpc/${route.procedure}?input=${input}`, { headers })
        : await hub.app.request(`/trpc/${route.procedure}`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify(params),
          });
    if (allowed) expect([401, 403]).not.toContain(response.status);
    else expect(response.status).toBe(403);
  });

  const outOfScope = routes
    .filter((route) => route.path.startsWith('/warehouses/{id}'))
    .flatMap((route) =>
      (permissions[route.permission as keyof typeof permissions].roles as readonly Role[])
        .filter((role) => role !== 'admin')
        .map((role) => ({ route, role })),
    );

  it('has warehouse-scoped routes to probe outside the scope', () => {
    expect(outOfScope.length).toBeGreaterThan(10);
  });

  it.each(outOfScope)(
    'object level: $role on $route.method $route.path for another warehouse is 403, nothing changes',
    async ({ route, role }) => {
      const path = route.path.replace('{id}', 'T2').replace('{sku}', 'SKU-1');
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : { onHand: 1 };
      const response = await call(hub, route.method, `/api/v1${path}`, {
        token: tokens.get(role)!,
        ...(body ? { body } : {}),
      });
      expect(response.status).toBe(403);
      const params = { id: 'T2', ...(route.path.includes('{sku}') ? { sku: 'SKU-1' } : {}), ...(body ?? {}) };
      const trpc =
        route.method === 'GET'
          ? await hub.app.request(`/trpc/${route.procedure}?input=${encodeURIComponent(JSON.stringify(params))}`, {
              headers: { authorization: `Bearer ${tokens.get(role)!}` },
            })
          : await hub.app.request(`/trpc/${route.procedure}`, {
              method: 'POST',
              headers: { authorization: `Bearer ${tokens.get(role)!}`, 'content-type': 'application/json' },
              body: JSON.stringify(params),
            });
      expect(trpc.status).toBe(403);
      const row = await hub.storage.db
        .selectFrom('stock_partitions')
        .selectAll()
        .where('warehouse_id', '=', 'T2')
        .where('sku', '=', 'SKU-1')
        .executeTakeFirst();
      expect(Number(row?.on_hand)).toBe(9);
    },
  );

  const foreignFulfillment = routes
    .filter((route) => route.path.startsWith('/fulfillment-orders/{id}'))
    .flatMap((route) =>
      (permissions[route.permission as keyof typeof permissions].roles as readonly Role[])
        .filter((role) => role !== 'admin')
        .map((role) => ({ route, role })),
    );

  it('has fulfillment-order routes to probe on another warehouse', () => {
    expect(foreignFulfillment.length).toBeGreaterThanOrEqual(7);
  });

  it.each(foreignFulfillment)(
    "object level: $role on $route.method $route.path for another warehouse's fulfillment order is 404, nothing changes",
    async ({ route, role }) => {
      const path = route.path.replace('{id}', foreignFulfillmentId);
      const action = route.path.split('/').at(-1) ?? '';
      const body = route.method === 'GET' ? undefined : (fulfillmentActionBodies[action] ?? {});
      const response = await call(hub, route.method, `/api/v1${path}`, {
        token: tokens.get(role)!,
        ...(body ? { body } : {}),
      });
      expect(response.status, JSON.stringify(response.body)).toBe(404);
      expect(response.body.error.code).toBe('not_found');
      const params = { id: foreignFulfillmentId, ...(body ?? {}) };
      const trpc =
        route.method === 'GET'
          ? await hub.app.request(`/trpc/${route.procedure}?input=${encodeURIComponent(JSON.stringify(params))}`, {
              headers: { authorization: `Bearer ${tokens.get(role)!}` },
            })
          : await hub.app.request(`/trpc/${route.procedure}`, {
              method: 'POST',
              headers: { authorization: `Bearer ${tokens.get(role)!}`, 'content-type': 'application/json' },
              body: JSON.stringify(params),
            });
      expect(trpc.status).toBe(404);
      const row = await hub.storage.db
        .selectFrom('fulfillments')
        .selectAll()
        .where('id', '=', foreignFulfillmentId)
        .executeTakeFirstOrThrow();
      expect({ status: row.status, cancelState: row.cancel_state }).toEqual({ status: 'requested', cancelState: null });
      const stock = await hub.storage.db
        .selectFrom('stock_partitions')
        .selectAll()
        .where('warehouse_id', '=', 'T2')
        .where('sku', '=', 'SKU-1')
        .executeTakeFirst();
      expect({ onHand: Number(stock?.on_hand), committed: Number(stock?.committed) }).toEqual({
        onHand: 9,
        committed: 1,
      });
    },
  );

  it("object level: the fulfillment-order list leaves another warehouse's out, and filtered to it is 403", async () => {
    for (const role of ['3pl', 'customer_service'] as const) {
      const token = tokens.get(role)!;
      const list = await call(hub, 'GET', '/api/v1/fulfillment-orders', { token });
      expect(list.status).toBe(200);
      expect(list.body.items).toEqual([]);
      expect((await call(hub, 'GET', '/api/v1/fulfillment-orders?warehouseId=T2', { token })).status).toBe(403);
    }
    const all = await call(hub, 'GET', '/api/v1/fulfillment-orders', { token: await adminToken(hub) });
    expect(all.body.items.map((item: { id: string }) => item.id)).toEqual([foreignFulfillmentId]);
  });

  it('object level: the stock view filtered to another warehouse is 403, and unfiltered it leaves that warehouse out', async () => {
    const token = tokens.get('3pl')!;
    expect((await call(hub, 'GET', '/api/v1/inventory?warehouseId=T2', { token })).status).toBe(403);
    const view = await call(hub, 'GET', '/api/v1/inventory/SKU-1', { token });
    expect(view.status).toBe(200);
    expect(view.body.onHand).toBe(0);
    expect(view.body.warehouses).toEqual([]);
  });
});
