import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { PROTOCOL_VERSION, type Role, closeCodes, limits, newId, permissions } from '@dovetail/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHub } from '../hub.ts';
import { hashClientSecret } from '../identity/secrets.ts';
import {
  type TestHub,
  adapters,
  adminSecret,
  adminToken,
  call,
  clientToken,
  sofa,
  startTestHub,
} from '../testing/harness.ts';
import { TestReceiver } from '../testing/webhook-receiver.ts';
import { compactId } from '../webhooks/emit.ts';
import { easypostSignature } from './carriers.ts';
import { restRoutes } from './openapi.ts';
import { appRouter } from './root.ts';

/**
 * The OWASP API Top 10 lines of the security checklist (docs/security-checklist.md), one test per
 * line named after it, each against a hub in-process; the sync socket and webhook receivers are
 * real sockets on loopback.
 */
const servers: http.Server[] = [];
const receivers: TestReceiver[] = [];
const extraHubs: Array<{ dispose(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  for (const extra of extraHubs.splice(0)) await extra.dispose();
});

/** The hub on a loopback port with `/sync` attached (the sync clock given, else the hub's). */
async function served(hub: TestHub, syncNowMs?: () => number): Promise<number> {
  const server = serve({ fetch: hub.app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
  servers.push(server);
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  await hub.startSync(server, { pollIntervalMs: 100, ...(syncNowMs ? { nowMs: syncNowMs } : {}) });
  return (server.address() as AddressInfo).port;
}

type Socket = { socket: WebSocket; next(type: string): Promise<unknown>; closed: Promise<number> };

/** An edge's socket to `/sync`, frame by frame. */
async function edgeSocket(port: number, token: string): Promise<Socket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/sync`, { headers: { authorization: `Bearer ${token}` } });
  const inbox: Array<{ type: string }> = [];
  socket.on('message', (data) => inbox.push(JSON.parse(data.toString()) as { type: string }));
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    closed,
    async next(type) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const index = inbox.findIndex((message) => message.type === type);
        if (index >= 0) return inbox.splice(index, 1)[0];
        if (Date.now() > deadline) throw new Error(`no ${type} frame; inbox ${JSON.stringify(inbox).slice(0, 500)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

const hello = (warehouseId: string) => ({
  type: 'hello',
  protocol: PROTOCOL_VERSION,
  warehouseId,
  edgeId: '4324181b-6492-4e8d-9cb2-d994c810dd59',
  epoch: 1,
  lastSeq: 0,
  cursors: {},
});
const receive = (sku: string, quantity: number, warehouseId: string) => ({
  type: 'receive',
  sku,
  quantity,
  id: newId(),
  warehouseId,
  hlc: `${String(Date.now()).padStart(13, '0')}-0000-edge`,
  atMs: Date.now(),
  actor: 'lead',
});

/** The id with its last hex digit stepped: what an attacker walking ids tries next. */
const neighbours = (id: string) => {
  const last = Number.parseInt(id.slice(-1), 16);
  return [(last + 1) % 16, (last + 15) % 16].map((digit) => id.slice(0, -1) + digit.toString(16));
};

/** Every key at every depth of a JSON value. */
function keysOf(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) keysOf(item, into);
  else if (value !== null && typeof value === 'object')
    for (const [key, item] of Object.entries(value)) {
      into.add(key);
      keysOf(item, into);
    }
  return into;
}

const address = { line1: '1 Rue Y', city: 'Paris', postalCode: '75001', country: 'FR' };
const trpcGet = (hub: TestHub, procedure: string, input: unknown, token?: string) =>
  hub.app.request(`/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
const trpcPost = (hub: TestHub, procedure: string, input: unknown, token?: string, contentType = 'application/json') =>
  hub.app.request(`/trpc/${procedure}`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(input),
  });

describe.each(adapters)('security checklist (OWASP API Top 10) on %s', (adapter) => {
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

  async function client(name: string, role: string, warehouses?: string[]): Promise<{ id: string; token: string }> {
    const created = await call(hub, 'POST', '/api/v1/clients', {
      token: admin,
      body: { name, role, ...(warehouses ? { warehouses } : {}) },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return {
      id: created.body.clientId,
      token: await clientToken(hub, created.body.clientId, created.body.clientSecret),
    };
  }
  const storefront = async (name: string) => (await client(name, 'storefront')).token;

  it("API1 object level: warehouse-A staff token GET/PATCH on warehouse-B stock (REST and tRPC) → 403/404, row unchanged, denial audited. Edge A's sync socket pushes an event for B → refused, B unchanged, socket closed. Customer X reads Y's order, 3PL P1 reads P2's shipment, sequential id walking → 404", async () => {
    // Warehouse B: a 3PL with stock of its own, and a product only it stocks.
    for (const id of ['TPL-B']) {
      await call(hub, 'POST', '/api/v1/warehouses', {
        token: admin,
        body: { id, name: id, kind: '3pl', location: { lat: 48.8, lon: 2.3 } },
      });
    }
    expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-2') })).status).toBe(201);
    await call(hub, 'PUT', '/api/v1/warehouses/TPL-B/inventory/SOFA-2', { token: admin, body: { onHand: 7 } });
    const stockOfB = async () =>
      (await call(hub, 'GET', '/api/v1/warehouses/TPL-B/inventory', { token: admin })).body.items.map(
        (item: { sku: string; onHand: number }) => [item.sku, item.onHand],
      );
    expect(await stockOfB()).toEqual([['SOFA-2', 7]]);

    // Staff of warehouse A (a person, signed in) and the 3PL client of warehouse A.
    const staffCreated = await call(hub, 'POST', '/api/v1/staff', {
      token: admin,
      body: { username: 'ana', password: 'ana-at-warehouse-a', role: 'warehouse_staff', warehouses: ['TPL-A'] },
    });
    expect(staffCreated.status).toBe(201);
    const signedIn = await call(hub, 'POST', '/api/v1/auth/login', {
      body: { username: 'ana', password: 'ana-at-warehouse-a' },
    });
    const staffA = signedIn.body.token as string;
    const p1 = await client('P1', '3pl', ['TPL-A']);
    const p2 = await client('P2', '3pl', ['TPL-B']);
    expect((await call(hub, 'GET', '/api/v1/warehouses/TPL-A/inventory', { token: staffA })).status).toBe(200);
    for (const token of [staffA, p1.token]) {
      expect((await call(hub, 'GET', '/api/v1/warehouses/TPL-B/inventory', { token })).status).toBe(403);
      expect((await trpcGet(hub, 'warehouses.inventory', { id: 'TPL-B' }, token)).status).toBe(403);
      for (const method of ['PUT', 'POST', 'DELETE'] as const) {
        const write = await call(hub, method, '/api/v1/warehouses/TPL-B/inventory/SOFA-2', {
          token,
          ...(method === 'DELETE' ? {} : { body: { onHand: 0 } }),
        });
        expect([403, 404], method).toContain(write.status);
      }
      const viaTrpc = await trpcPost(hub, 'warehouses.replaceStock', { id: 'TPL-B', sku: 'SOFA-2', onHand: 0 }, token);
      expect(viaTrpc.status).toBe(403);
      // Filtered views leave B out or refuse it.
      expect((await call(hub, 'GET', '/api/v1/inventory?warehouseId=TPL-B', { token })).status).toBe(403);
    }
    expect(await stockOfB()).toEqual([['SOFA-2', 7]]);
    // Each refusal is in the audit trail, with who asked and for which warehouse.
    const denials = (await call(hub, 'GET', '/api/v1/audit?action=access.denied&limit=100', { token: admin })).body
      .items as Array<{ actor: string; actorKind: string; target: string; requestId: string | null }>;
    expect(denials.length).toBeGreaterThanOrEqual(8);
    expect(denials.filter((entry) => entry.actor === p1.id).length).toBeGreaterThanOrEqual(4);
    expect(denials.some((entry) => entry.actorKind === 'staff')).toBe(true);
    expect(denials.every((entry) => entry.target.includes('TPL-B'))).toBe(true);
    expect(JSON.stringify(denials)).not.toContain('ana-at-warehouse-a');

    // Edge A's socket pushes an event for B (an edge warehouse too): refused, closed, nothing applied.
    for (const id of ['EDGE-A', 'EDGE-B']) {
      await call(hub, 'POST', '/api/v1/warehouses', {
        token: admin,
        body: { id, name: id, kind: 'warehouse', location: { lat: 52, lon: 5 } },
      });
    }
    const enrolled = await call(hub, 'POST', '/api/v1/warehouses/EDGE-A/edges', { token: admin, body: {} });
    const edgeA = await clientToken(hub, enrolled.body.clientId, enrolled.body.clientSecret);
    const port = await served(hub);
    const onHandAt = async (warehouseId: string) =>
      (await call(hub, 'GET', `/api/v1/warehouses/${warehouseId}/inventory`, { token: admin })).body.items.map(
        (item: { sku: string; onHand: number }) => [item.sku, item.onHand],
      );
    const pushing = await edgeSocket(port, edgeA);
    pushing.socket.send(JSON.stringify(hello('EDGE-A')));
    await pushing.next('welcome');
    pushing.socket.send(
      JSON.stringify({
        type: 'push',
        events: [
          { seq: 1, event: receive('SOFA-1', 4, 'EDGE-A') },
          { seq: 2, event: receive('SOFA-1', 9, 'EDGE-B') },
        ],
      }),
    );
    expect(await pushing.closed).toBe(closeCodes.forbidden);
    expect(await onHandAt('EDGE-B')).toEqual([]);
    expect(await onHandAt('EDGE-A')).toEqual([]);
    // A hello naming B is refused the same way.
    const posing = await edgeSocket(port, edgeA);
    posing.socket.send(JSON.stringify(hello('EDGE-B')));
    expect(await posing.closed).toBe(closeCodes.forbidden);

    // Customer X (one storefront) reads customer Y's order (another's), walking ids: 404 throughout.
    const shopX = await storefront('X');
    const shopY = await storefront('Y');
    const placed = await call(hub, 'POST', '/api/v1/orders', {
      token: shopY,
      body: {
        lines: [{ sku: 'SOFA-1', quantity: 1 }],
        customer: { email: 'yara@example.com', name: 'Yara' },
        shippingAddress: address,
      },
    });
    expect(placed.status).toBe(201);
    const { id: orderId, holdId } = placed.body;
    expect((await call(hub, 'GET', `/api/v1/orders/${orderId}`, { token: shopY })).status).toBe(200);
    for (const id of [orderId, ...neighbours(orderId)]) {
      const probe = await call(hub, 'GET', `/api/v1/orders/${id}`, { token: shopX });
      expect(probe.status).toBe(404);
      expect(JSON.stringify(probe.body)).not.toContain('yara');
      expect((await trpcGet(hub, 'orders.get', { id }, shopX)).status).toBe(404);
      expect((await call(hub, 'GET', `/api/v1/shipments/${id}`, { token: shopX })).status).toBe(404);
    }
    for (const id of [holdId, ...neighbours(holdId)]) {
      expect((await call(hub, 'GET', `/api/v1/inventory/holds/${id}`, { token: shopX })).status).toBe(404);
      expect(
        (await call(hub, 'POST', '/api/v1/inventory/release', { token: shopX, body: { holdId: id } })).status,
      ).toBe(404);
    }
    expect((await call(hub, 'GET', '/api/v1/orders', { token: shopX })).body.items).toEqual([]);
    expect((await call(hub, 'GET', `/api/v1/orders/${orderId}`, { token: shopY })).body.status).toBe('pending_payment');

    // 3PL P1 reads P2's shipment: P2's fulfillment order at B, shipped.
    const forB = await call(hub, 'POST', '/api/v1/orders', {
      token: shopY,
      body: {
        lines: [{ sku: 'SOFA-2', quantity: 1 }],
        customer: { email: 'yves@example.com', name: 'Yves' },
        shippingAddress: address,
      },
    });
    const paid = await call(hub, 'POST', `/api/v1/orders/${forB.body.id}/payment`, {
      token: shopY,
      body: { reference: 'psp-b' },
    });
    expect(paid.status).toBe(200);
    const fulfillmentId = paid.body.fulfillments[0].id as string;
    expect(paid.body.fulfillments[0].warehouseId).toBe('TPL-B');
    expect(
      (await call(hub, 'POST', `/api/v1/fulfillment-orders/${fulfillmentId}/accept`, { token: p2.token, body: {} }))
        .status,
    ).toBe(200);
    const shipped = await call(hub, 'POST', `/api/v1/fulfillment-orders/${fulfillmentId}/ship`, {
      token: p2.token,
      body: { carrier: 'DHL', trackingNumber: 'JD0146000038' },
    });
    expect(shipped.status).toBe(200);
    const shipmentId = shipped.body.shipments[0].id as string;
    for (const id of [fulfillmentId, ...neighbours(fulfillmentId)]) {
      const probe = await call(hub, 'GET', `/api/v1/fulfillment-orders/${id}`, { token: p1.token });
      expect(probe.status).toBe(404);
      expect(JSON.stringify(probe.body)).not.toContain('JD0146000038');
      expect((await trpcGet(hub, 'fulfillmentOrders.get', { id }, p1.token)).status).toBe(404);
    }
    for (const id of [shipmentId, ...neighbours(shipmentId)]) {
      const scan = await call(hub, 'POST', `/api/v1/shipments/${id}/events`, {
        token: p1.token,
        body: { carrierEventId: `probe-${id.slice(-4)}`, status: 'delivered', occurredAt: new Date().toISOString() },
      });
      expect(scan.status).toBe(404);
    }
    expect((await call(hub, 'GET', '/api/v1/fulfillment-orders', { token: p1.token })).body.items).toEqual([]);
    const own = await call(hub, 'GET', `/api/v1/fulfillment-orders/${fulfillmentId}`, { token: p2.token });
    expect(own.body.shipments[0]).toMatchObject({ id: shipmentId, status: expect.not.stringMatching(/^delivered$/) });
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
