import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { PROTOCOL_VERSION, type Role, closeCodes, limits, newId, permissions } from '@dovetail/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SignJWT, generateKeyPair } from 'jose';
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

describe('security checklist (OWASP API Top 10)', () => {
  async function sqliteHub(options: Parameters<typeof startTestHub>[1] = {}): Promise<TestHub> {
    const hub = await startTestHub('sqlite', options);
    extraHubs.push(hub);
    return hub;
  }
  async function clientOf(hub: TestHub, admin: string, body: Record<string, unknown>) {
    const created = await call(hub, 'POST', '/api/v1/clients', { token: admin, body });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return {
      id: created.body.clientId as string,
      token: await clientToken(hub, created.body.clientId, created.body.clientSecret),
    };
  }
  async function staffToken(hub: TestHub, admin: string, username: string, role: string, warehouses: string[] = []) {
    const password = `${username}-password-123`;
    const created = await call(hub, 'POST', '/api/v1/staff', {
      token: admin,
      body: { username, password, role, warehouses },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const signedIn = await call(hub, 'POST', '/api/v1/auth/login', { body: { username, password } });
    expect(signedIn.status).toBe(200);
    return signedIn.body.token as string;
  }
  async function warehouse(hub: TestHub, admin: string, id: string, kind: string) {
    const created = await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id, name: id, kind, location: { lat: 52.37, lon: 4.89 } },
    });
    expect(created.status).toBe(201);
  }
  /** A paid order allocated to 3PL warehouse `TPL` (stocked with SOFA-1), shipped by `threePl`. */
  async function shippedAtThirdParty(
    hub: TestHub,
    admin: string,
    threePl: string,
    trackingNumber = 'JD014600003812345678',
  ) {
    const placed = await call(hub, 'POST', '/api/v1/orders', {
      token: admin,
      body: {
        lines: [{ sku: 'SOFA-1', quantity: 1 }],
        customer: { email: 'ada@example.com', name: 'Ada Lovelace', phone: '+31612345678' },
        shippingAddress: { line1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' },
      },
    });
    expect(placed.status).toBe(201);
    const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
      token: admin,
      body: { reference: 'psp-1' },
    });
    const fulfillmentId = paid.body.fulfillments[0].id as string;
    expect(
      (await call(hub, 'POST', `/api/v1/fulfillment-orders/${fulfillmentId}/accept`, { token: threePl, body: {} }))
        .status,
    ).toBe(200);
    const shipped = await call(hub, 'POST', `/api/v1/fulfillment-orders/${fulfillmentId}/ship`, {
      token: threePl,
      body: { carrier: 'DHL', trackingNumber },
    });
    expect(shipped.status).toBe(200);
    return { orderId: placed.body.id as string, fulfillmentId, shipmentId: shipped.body.shipments[0].id as string };
  }
  async function stockedThirdParty(hub: TestHub, admin: string) {
    expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') })).status).toBe(201);
    await warehouse(hub, admin, 'TPL', '3pl');
    await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/SOFA-1', { token: admin, body: { onHand: 5 } });
    return clientOf(hub, admin, { name: 'partner', role: '3pl', warehouses: ['TPL'] });
  }

  it('API2 authentication: forged/unsigned/expired tokens → 401. Password guesses packed into one tRPC batch each count; lockout or 429 after the threshold. `access_token` in the query string → rejected', async () => {
    let clockMs = Date.now();
    const hub = await sqliteHub({ nowMs: () => clockMs });
    const admin = await adminToken(hub);
    const [header, payload] = admin.split('.') as [string, string];
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const attacker = await generateKeyPair('ES256');
    const forged = await new SignJWT(decode(payload))
      .setProtectedHeader(decode(header) as { alg: string })
      .sign(attacker.privateKey);
    const refused = [
      forged,
      `${header}.${payload}.`,
      `${encode({ ...decode(header), alg: 'none' })}.${payload}.`,
      `${header}.${payload}.${'A'.repeat(86)}`,
    ];
    for (const token of refused) {
      const rest = await call(hub, 'GET', '/api/v1/products', { token });
      expect(rest.status).toBe(401);
      expect(rest.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await trpcGet(hub, 'catalog.list', {}, token)).status).toBe(401);
    }
    expect((await call(hub, 'GET', '/api/v1/products', { token: admin })).status).toBe(200);

    // `access_token` in the query string: refused even beside a valid header, over REST, the reserve
    // fast path and tRPC (which reads the header only).
    const inQuery = await call(hub, 'GET', `/api/v1/products?access_token=${admin}`);
    expect(inQuery.status).toBe(401);
    expect(inQuery.body.error.code).toBe('token_in_query');
    expect((await call(hub, 'GET', `/api/v1/products?access_token=${admin}`, { token: admin })).status).toBe(401);
    const reserve = await call(hub, 'POST', `/api/v1/inventory/reserve?access_token=${admin}`, {
      body: { lines: [{ sku: 'SOFA-1', quantity: 1 }] },
    });
    expect(reserve.status).toBe(401);
    expect((await hub.app.request(`/trpc/catalog.list?input=%7B%7D&access_token=${admin}`)).status).toBe(401);

    // Password guesses packed into one tRPC batch: each counts, and the right password then waits.
    await warehouse(hub, admin, 'BATCH', 'store');
    const created = await call(hub, 'POST', '/api/v1/staff', {
      token: admin,
      body: { username: 'guessed', password: 'the-real-password', role: 'warehouse_staff', warehouses: ['BATCH'] },
    });
    expect(created.status).toBe(201);
    const guesses = 8;
    const batch = await hub.app.request(`/trpc/${Array(guesses).fill('staff.login').join(',')}?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        Object.fromEntries(
          Array.from({ length: guesses }, (_, index) => [
            index,
            // The right password, packed in last: past the threshold it is never checked.
            { username: 'guessed', password: index === guesses - 1 ? 'the-real-password' : `guess-${index}` },
          ]),
        ),
      ),
    });
    const answers = (await batch.json()) as Array<{ error?: { data?: { httpStatus?: number } } }>;
    expect(answers).toHaveLength(guesses);
    const statuses = answers.map((answer) => answer.error?.data?.httpStatus);
    expect(statuses).toEqual([
      ...Array(limits.loginFailuresMax).fill(401),
      ...Array(guesses - limits.loginFailuresMax).fill(429),
    ]);
    const afterwards = await call(hub, 'POST', '/api/v1/auth/login', {
      body: { username: 'guessed', password: 'the-real-password' },
    });
    expect(afterwards.status).toBe(429);
    expect(Number(afterwards.headers.get('retry-after'))).toBeGreaterThan(0);

    // Expired: past the token's lifetime and the clock tolerance.
    clockMs += (limits.accessTokenTtlSeconds + limits.clockToleranceSeconds + 1) * 1000;
    expect((await call(hub, 'GET', '/api/v1/products', { token: admin })).status).toBe(401);
    expect((await trpcGet(hub, 'catalog.list', {}, admin)).status).toBe(401);
  });

  it('API3 property level: a customer PATCH with `{status,total,warehouseId}` → 400 (strict schemas), nothing changed. Responses to customer-service and 3PL tokens carry exactly the allowed fields (no cost price, no extra PII)', async () => {
    const hub = await sqliteHub();
    const admin = await adminToken(hub);
    const threePl = await stockedThirdParty(hub, admin);
    const shop = await clientOf(hub, admin, { name: 'shop', role: 'storefront' });
    const placed = await call(hub, 'POST', '/api/v1/orders', {
      token: shop.token,
      body: {
        lines: [{ sku: 'SOFA-1', quantity: 1 }],
        customer: { email: 'ada@example.com', name: 'Ada Lovelace', phone: '+31612345678' },
        shippingAddress: { line1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' },
        billingAddress: { line1: 'Billing St 9', city: 'Utrecht', postalCode: '3511 AA', country: 'NL' },
      },
    });
    expect(placed.status).toBe(201);
    const orderId = placed.body.id as string;
    const before = await call(hub, 'GET', `/api/v1/orders/${orderId}`, { token: shop.token });
    for (const body of [
      { status: 'paid' },
      { total: 1 },
      { warehouseId: 'TPL' },
      { status: 'paid', total: 1, warehouseId: 'TPL' },
      { note: 'fine', total: 1 },
    ]) {
      const patched = await call(hub, 'PATCH', `/api/v1/orders/${orderId}`, {
        token: shop.token,
        body,
        headers: { 'if-match': before.headers.get('etag') ?? '*' },
      });
      expect(patched.status, JSON.stringify(body)).toBe(400);
      for (const field of Object.keys(body).filter((key) => key !== 'note'))
        expect(JSON.stringify(patched.body.error), field).toContain(field);
      const viaTrpc = await trpcPost(hub, 'orders.update', { id: orderId, ...body }, shop.token);
      expect(viaTrpc.status).toBe(400);
    }
    expect(await call(hub, 'GET', `/api/v1/orders/${orderId}`, { token: shop.token })).toMatchObject({
      status: 200,
      body: before.body,
    });
    expect(before.body).toMatchObject({ status: 'pending_payment', total: placed.body.total });

    // Customer service: the order as agents need it (contact, addresses, lines), nothing internal.
    const agent = await staffToken(hub, admin, 'agent', 'customer_service');
    const seen = await call(hub, 'GET', `/api/v1/orders/${orderId}`, { token: agent });
    expect(seen.status).toBe(200);
    const orderFields = [
      'id',
      'number',
      'status',
      'holdId',
      'customer',
      'shippingAddress',
      'billingAddress',
      'note',
      'paymentReference',
      'currency',
      'total',
      'lines',
      'allocations',
      'fulfillments',
      'shipments',
      'history',
      'trackingUrl',
      'expiresAt',
      'createdAt',
      'updatedAt',
    ];
    for (const key of Object.keys(seen.body)) expect(orderFields, key).toContain(key);
    expect(Object.keys(seen.body.customer).sort()).toEqual(['email', 'name', 'phone']);
    const listed = await call(hub, 'GET', '/api/v1/orders', { token: agent });
    expect(Object.keys(listed.body.items[0]).sort()).toEqual(
      [
        'createdAt',
        'currency',
        'customer',
        'id',
        'itemCount',
        'number',
        'status',
        'total',
        'updatedAt',
        'warehouses',
      ].sort(),
    );
    expect(Object.keys(listed.body.items[0].customer).sort()).toEqual(['email', 'name']);
    const product = await call(
      hub,
      'GET',
      `/api/v1/products/${(await call(hub, 'GET', '/api/v1/products', { token: agent })).body.items[0].id}`,
      { token: agent },
    );
    for (const response of [seen, listed, product])
      for (const key of keysOf(response.body)) expect(key).not.toMatch(/cost|margin|secret|hash|password/i);
    // Nor anything that is not theirs to read: clients, staff, audit.
    for (const path of ['/api/v1/clients', '/api/v1/audit', '/api/v1/staff'])
      expect((await call(hub, 'GET', path, { token: agent })).status, path).toBe(403);

    // A 3PL: what it needs to ship (name, phone, address, lines), no e-mail, prices or payment.
    await call(hub, 'POST', `/api/v1/orders/${orderId}/payment`, { token: shop.token, body: { reference: 'psp-9' } });
    const list = await call(hub, 'GET', '/api/v1/fulfillment-orders', { token: threePl.token });
    const fulfillment = await call(hub, 'GET', `/api/v1/fulfillment-orders/${list.body.items[0].id}`, {
      token: threePl.token,
    });
    expect(fulfillment.status).toBe(200);
    const allowed = new Set([
      'id',
      'orderId',
      'orderNumber',
      'warehouseId',
      'status',
      'cancelState',
      'lines',
      'sku',
      'quantity',
      'shipped',
      'toShip',
      'configuration',
      'shipTo',
      'name',
      'phone',
      'address',
      'line1',
      'line2',
      'city',
      'region',
      'postalCode',
      'country',
      'location',
      'lat',
      'lon',
      'shipments',
      'carrier',
      'trackingNumber',
      'shippedAt',
      'createdAt',
    ]);
    for (const response of [fulfillment, list]) {
      for (const key of keysOf(response.body))
        if (!['items', 'nextCursor'].includes(key)) expect(allowed, key).toContain(key);
      const text = JSON.stringify(response.body);
      for (const secret of ['ada@example.com', 'Billing St 9', 'psp-9', String(placed.body.total)])
        expect(text).not.toContain(secret);
    }
    expect(fulfillment.body.shipTo).toEqual({
      name: 'Ada Lovelace',
      phone: '+31612345678',
      address: { line1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' },
    });
    const stock = await call(hub, 'GET', '/api/v1/inventory/SOFA-1', { token: threePl.token });
    for (const key of keysOf(stock.body)) expect(key).not.toMatch(/cost|margin|price/i);
  });

  it('API4 resource consumption: `limit=100000`, oversized arrays, oversized bodies → 400/413 or clamped page size; tRPC batch over N calls, WebSocket frames over size/rate → refused', async () => {
    const frozenMs = Date.now();
    const hub = await sqliteHub();
    const admin = await adminToken(hub);
    await stockedThirdParty(hub, admin);
    for (const path of [
      '/api/v1/products',
      '/api/v1/orders',
      '/api/v1/audit',
      '/api/v1/webhooks',
      '/api/v1/inventory',
    ]) {
      const huge = await call(hub, 'GET', `${path}?limit=100000`, { token: admin });
      expect(huge.status, path).toBe(400);
      expect(JSON.stringify(huge.body.error), path).toContain('limit');
      expect((await call(hub, 'GET', `${path}?limit=${limits.pageSizeMax}`, { token: admin })).status, path).toBe(200);
    }
    expect((await trpcGet(hub, 'catalog.list', { limit: 100_000 }, admin)).status).toBe(400);

    // Oversized arrays: variants, order lines, hold lines.
    const variants = Array.from({ length: limits.productVariantsMax + 1 }, (_, index) => ({
      sku: `MANY-${index}`,
      options: {},
    }));
    const tooManyVariants = await call(hub, 'POST', '/api/v1/products', {
      token: admin,
      body: { ...sofa('MANY'), options: [], variants },
    });
    expect(tooManyVariants.status).toBe(400);
    const lines = (count: number) => Array.from({ length: count }, () => ({ sku: 'SOFA-1', quantity: 1 }));
    const order = await call(hub, 'POST', '/api/v1/orders', {
      token: admin,
      body: {
        lines: lines(limits.orderLinesMax + 1),
        customer: { email: 'a@example.com', name: 'A' },
        shippingAddress: address,
      },
    });
    expect(order.status).toBe(400);
    const hold = await call(hub, 'POST', '/api/v1/inventory/reserve', {
      token: admin,
      body: { lines: lines(limits.holdLinesMax + 1) },
    });
    expect(hold.status).toBe(400);
    expect((await call(hub, 'GET', '/api/v1/orders', { token: admin })).body.items).toEqual([]);

    // Oversized bodies: REST, the reserve fast path, tRPC and the token endpoint.
    const big = JSON.stringify({ ...sofa('BIG-1'), description: 'x'.repeat(limits.requestBodyBytesMax) });
    const restBig = await call(hub, 'POST', '/api/v1/products', {
      token: admin,
      rawBody: big,
      headers: { 'content-type': 'application/json' },
    });
    expect(restBig.status).toBe(413);
    expect(restBig.body.error.code).toBe('payload_too_large');
    const reserveBig = await call(hub, 'POST', '/api/v1/inventory/reserve', {
      token: admin,
      rawBody: JSON.stringify({ lines: [{ sku: 'SOFA-1', quantity: 1 }], pad: 'x'.repeat(limits.requestBodyBytesMax) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(reserveBig.status).toBe(413);
    const trpcBig = await hub.app.request('/trpc/catalog.create', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: big,
    });
    expect(trpcBig.status).toBe(413);
    const tokenBig = await hub.app.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=admin&client_secret=${adminSecret}&pad=${'x'.repeat(limits.tokenRequestBytesMax)}`,
    });
    expect(tokenBig.status).toBe(413);
    expect((await call(hub, 'GET', '/api/v1/products', { token: admin })).body.items).toHaveLength(1);

    // tRPC batches: 20 calls answer, 21 are refused as a whole.
    const batchOf = (count: number) =>
      hub.app.request(
        `/trpc/${Array(count).fill('catalog.list').join(',')}?batch=1&input=${encodeURIComponent(
          JSON.stringify(Object.fromEntries(Array.from({ length: count }, (_, index) => [index, {}]))),
        )}`,
        { headers: { authorization: `Bearer ${admin}` } },
      );
    expect((await batchOf(20)).status).toBe(200);
    expect((await batchOf(21)).status).toBe(400);

    // The sync socket: a frame over the size bound, and frames over the rate (a frozen sync clock,
    // so every frame falls in one one-second window), each close the socket.
    await warehouse(hub, admin, 'W1', 'warehouse');
    const enrolled = await call(hub, 'POST', '/api/v1/warehouses/W1/edges', { token: admin, body: {} });
    const edge = await clientToken(hub, enrolled.body.clientId, enrolled.body.clientSecret);
    const port = await served(hub, () => frozenMs);
    const oversized = await edgeSocket(port, edge);
    oversized.socket.send(JSON.stringify(hello('W1')));
    await oversized.next('welcome');
    oversized.socket.send(`{"type":"push","events":[],"pad":"${'x'.repeat(limits.syncFrameBytesMax)}"}`);
    expect(await oversized.closed).toBe(1009);
    const flooding = await edgeSocket(port, edge);
    flooding.socket.send(JSON.stringify(hello('W1')));
    await flooding.next('welcome');
    const push = JSON.stringify({ type: 'push', events: [{ seq: 1, event: receive('SOFA-1', 4, 'W1') }] });
    flooding.socket.send(push);
    await flooding.next('ack');
    for (let index = 0; index < limits.syncFramesPerSecondMax; index++) flooding.socket.send(push);
    expect(await flooding.closed).toBe(closeCodes.rateLimited);
    const w1 = await call(hub, 'GET', '/api/v1/warehouses/W1/inventory', { token: admin });
    expect(w1.body.items.map((item: { sku: string; onHand: number }) => [item.sku, item.onHand])).toEqual([
      ['SOFA-1', 4],
    ]);
  });

  it('API5 function level: customer_service token on any mutation, customer on admin routes, storefront on 3PL routes, edge machine token on non-sync routes → 403', async () => {
    const hub = await sqliteHub();
    const admin = await adminToken(hub);
    await warehouse(hub, admin, 'W1', 'warehouse');
    const enrolled = await call(hub, 'POST', '/api/v1/warehouses/W1/edges', { token: admin, body: {} });
    const secret = 'customer-secret-0123456789abcdef';
    // No API creates customer clients (an outside issuer vouches for customers): written directly.
    await hub.storage.db
      .insertInto('api_clients')
      .values({
        id: 'customer-1',
        name: 'customer',
        role: 'customer',
        warehouses_json: JSON.stringify([]),
        secret_hash: hashClientSecret(secret),
        epoch: 1,
        revoked_at: null,
        created_at: Date.now(),
      })
      .execute();
    const tokens: Record<'customer_service' | 'customer' | 'storefront' | 'edge', string> = {
      customer_service: await staffToken(hub, admin, 'agent', 'customer_service'),
      customer: await clientToken(hub, 'customer-1', secret),
      storefront: (await clientOf(hub, admin, { name: 'shop', role: 'storefront' })).token,
      edge: await clientToken(hub, enrolled.body.clientId, enrolled.body.clientSecret),
    };
    const holders = (route: { permission: string }) =>
      permissions[route.permission as keyof typeof permissions].roles as readonly Role[];
    const routes = restRoutes(appRouter).filter((route) => route.permission !== 'public');
    const probes = [
      ...routes
        .filter((route) => route.method !== 'GET' && !holders(route).includes('customer_service'))
        .map((route) => ({ route, role: 'customer_service' as const })),
      ...routes
        .filter((route) => holders(route).every((role) => role === 'admin'))
        .map((route) => ({ route, role: 'customer' as const })),
      ...routes
        .filter((route) => holders(route).includes('3pl') && !holders(route).includes('storefront'))
        .map((route) => ({ route, role: 'storefront' as const })),
      ...routes.map((route) => ({ route, role: 'edge' as const })),
    ];
    // What the policy does let customer service change (privacy requests, returns, its own MFA) is
    // named here, so a new mutation granted to it shows up as a change to this list.
    expect(
      [
        ...new Set(
          routes
            .filter((route) => route.method !== 'GET' && holders(route).includes('customer_service'))
            .map((route) => route.permission),
        ),
      ].sort(),
    ).toEqual([
      'customers.privacy',
      'exchanges.request',
      'returns.cancel',
      'returns.manage',
      'returns.request',
      'returns.track',
      'staff.mfa',
    ]);
    expect(probes.filter((probe) => probe.role === 'storefront').length).toBeGreaterThanOrEqual(5);
    expect(probes.filter((probe) => probe.role === 'customer').length).toBeGreaterThanOrEqual(10);
    for (const { route, role } of probes) {
      const path = route.path.replace(/\{[^}]+\}/g, 'W1');
      const response = await call(hub, route.method, `/api/v1${path}`, {
        token: tokens[role],
        ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { body: {} }),
      });
      expect(response.status, `${role} ${route.method} ${route.path}`).toBe(403);
      const viaTrpc =
        route.method === 'GET'
          ? await trpcGet(hub, route.procedure, { id: 'W1' }, tokens[role])
          : await trpcPost(hub, route.procedure, { id: 'W1' }, tokens[role]);
      expect(viaTrpc.status, `${role} tRPC ${route.procedure}`).toBe(403);
    }
    // The edge token does what it is for.
    const port = await served(hub);
    const socket = await edgeSocket(port, tokens.edge);
    socket.socket.send(JSON.stringify(hello('W1')));
    await socket.next('welcome');
    socket.socket.close();
  });

  it('API7 SSRF: webhook URLs to 169.254.169.254, 127.0.0.1, [::1], 10/8, 172.16/12, 192.168/16, fc00::/7, hostnames resolving to those, 30x redirects to them, non-http(s) schemes → refused, checked again at every delivery attempt', async () => {
    // The guard stays on; only the test's receivers on loopback are let through, by an explicit
    // allow-list of host:port (HUB_WEBHOOK_ALLOW_HOSTS).
    const partner = await new TestReceiver().start();
    const redirecting = await new TestReceiver().start();
    const inside = await new TestReceiver().start();
    receivers.push(partner, redirecting, inside);
    const hub = await sqliteHub({
      webhooks: {
        allowPrivate: false,
        allowHosts: [`127.0.0.1:${partner.port}`, `127.0.0.1:${redirecting.port}`],
        retryScheduleMs: [0, 50],
        pollIntervalMs: 20,
      },
    });
    const admin = await adminToken(hub);
    for (const url of [
      inside.url(),
      `http://localhost:${partner.port}/hook`,
      `http://[::1]:${partner.port}/hook`,
      'http://169.254.169.254/latest/meta-data/',
      'http://127.0.0.1:9/hook',
      'http://127.1/hook',
      'http://2130706433/hook',
      'http://0.0.0.0/hook',
      'http://[::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://10.0.0.1/hook',
      'http://10.255.255.254/hook',
      'http://172.16.0.1/hook',
      'http://172.31.255.254/hook',
      'http://192.168.1.10/hook',
      'http://[fc00::1]/hook',
      'http://[fd12:3456::1]/hook',
      'http://[fe80::1]/hook',
      'http://100.64.0.1/hook',
      'http://localhost:9/hook',
      'http://LOCALHOST./hook',
      'http://api.localhost/hook',
      'ftp://example.com/hook',
      'file:///etc/passwd',
      'gopher://example.com/',
      'javascript:alert(1)',
      'https://user:pass@example.com/hook',
    ]) {
      const refused = await call(hub, 'POST', '/api/v1/webhooks', {
        token: admin,
        body: { url, events: ['order.created'] },
      });
      expect(refused.status, url).toBeGreaterThanOrEqual(400);
      expect(refused.status, url).toBeLessThan(500);
    }
    expect((await call(hub, 'GET', '/api/v1/webhooks', { token: admin })).body.items).toEqual([]);
    // Just outside the private ranges is a public address: accepted (nothing is sent yet).
    const outside = await call(hub, 'POST', '/api/v1/webhooks', {
      token: admin,
      body: { url: 'https://172.32.0.1/hook', events: ['order.created'] },
    });
    expect(outside.status).toBe(201);
    const moved = await call(hub, 'PATCH', `/api/v1/webhooks/${outside.body.id}`, {
      token: admin,
      body: { url: 'http://169.254.169.254/' },
    });
    expect(moved.status).toBe(422);

    // The allow-listed receiver is served, signed as usual.
    const allowed = await call(hub, 'POST', '/api/v1/webhooks', {
      token: admin,
      body: { url: partner.url(), events: ['order.created'] },
    });
    expect(allowed.status).toBe(201);
    partner.secrets = [allowed.body.secret];
    await call(hub, 'POST', `/api/v1/webhooks/${allowed.body.id}/test`, { token: admin });
    expect((await settled(hub, admin, allowed.body.id)).status).toBe('succeeded');
    expect(partner.received.map((request) => request.verifiedWith)).toEqual([[true]]);

    // Checked again at every attempt: a stored URL that now points inside (DNS rebinding; rows
    // written directly) is never called, each attempt refused.
    const rebound: string[] = [];
    for (const url of [inside.url(), `http://localhost:${inside.port}/hook`]) {
      const id = `ep_${compactId()}`;
      rebound.push(id);
      const now = Date.now();
      await hub.storage.db
        .insertInto('webhook_endpoints')
        .values({
          id,
          owner_client_id: 'admin',
          owner_role: 'admin',
          url,
          description: null,
          warehouses_json: null,
          secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
          previous_secret: null,
          previous_secret_expires_at: null,
          disabled_at: null,
          disabled_reason: null,
          failing_since: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      expect((await call(hub, 'POST', `/api/v1/webhooks/${id}/test`, { token: admin })).status).toBe(202);
    }
    for (const id of rebound) {
      const attempts = await settled(hub, admin, id);
      expect(attempts.status).toBe('failed');
      expect(attempts.attemptLog).toHaveLength(2);
      for (const attempt of attempts.attemptLog) expect(attempt.error).toMatch(/^address refused: /);
    }
    expect(inside.received).toHaveLength(0);

    // 30x redirects to an internal address are never followed: the allow-listed receiver answers
    // 302/307 towards a loopback receiver not on the list and the metadata address.
    redirecting.answer = (_request, nth) => ({
      status: nth === 0 ? 302 : 307,
      headers: { location: nth === 0 ? inside.url() : 'http://169.254.169.254/latest/meta-data/' },
    });
    const endpoint = await call(hub, 'POST', '/api/v1/webhooks', {
      token: admin,
      body: { url: redirecting.url(), events: ['order.created'] },
    });
    expect(endpoint.status).toBe(201);
    await call(hub, 'POST', `/api/v1/webhooks/${endpoint.body.id}/test`, { token: admin });
    const redirected = await settled(hub, admin, endpoint.body.id);
    expect(redirected.status).toBe('failed');
    expect(redirected.attemptLog.map((attempt) => attempt.error).sort()).toEqual([
      expect.stringMatching(/redirect \(302\) not followed/),
      expect.stringMatching(/redirect \(307\) not followed/),
    ]);
    expect(redirecting.received).toHaveLength(2);
    expect(inside.received).toHaveLength(0);
  });

  it('API8 misconfiguration: no stack traces in errors; unknown verbs → 405; hostile Origin gets no CORS; token and PII responses carry `Cache-Control: no-store`; wrong Content-Type → 415', async () => {
    const hub = await sqliteHub();
    const admin = await adminToken(hub);
    const threePl = await stockedThirdParty(hub, admin);
    const { orderId, fulfillmentId } = await shippedAtThirdParty(hub, admin, threePl.token);

    // Errors: a 400 and a 500, over REST and tRPC, carry no stack, no SQL, no file paths.
    const invalid = await trpcPost(hub, 'catalog.create', { ...sofa('STRICT'), costPrice: 5 }, admin);
    expect(invalid.status).toBe(400);
    const invalidText = await invalid.text();
    expect(invalidText).toContain('costPrice');
    const broken = await sqliteHub();
    const brokenAdmin = await adminToken(broken);
    await call(broken, 'POST', '/api/v1/products', { token: brokenAdmin, body: sofa('BROKEN-1') });
    await broken.storage.db.schema.dropTable('variants').execute();
    const internal = await call(broken, 'GET', '/api/v1/products', { token: brokenAdmin });
    expect(internal.status).toBe(500);
    expect(internal.body).toEqual({ error: { code: 'internal', message: 'internal error' } });
    const internalTrpc = await trpcGet(broken, 'catalog.list', {}, brokenAdmin);
    expect(internalTrpc.status).toBe(500);
    for (const text of [invalidText, JSON.stringify(internal.body), await internalTrpc.text()]) {
      expect(text).not.toMatch(/stack|\bat \S+ \(|\.ts:\d+|node_modules|SQLITE|no such table|variants/i);
    }

    // Unknown verbs: 405 with Allow, on the API, the token endpoint and the probes.
    for (const [method, path, allow] of [
      ['PATCH', '/api/v1/products', 'GET, POST'],
      ['PURGE', '/api/v1/products', 'GET, POST'],
      ['DELETE', `/api/v1/orders/${orderId}`, 'GET, PATCH'],
      ['PUT', '/healthz', 'GET'],
      ['PUT', '/.well-known/jwks.json', 'GET'],
      ['DELETE', '/oauth/token', 'POST'],
      ['GET', '/oauth/token', 'POST'],
    ] as const) {
      const answer = await hub.app.request(path, { method, headers: { authorization: `Bearer ${admin}` } });
      expect(answer.status, `${method} ${path}`).toBe(405);
      expect(answer.headers.get('allow'), `${method} ${path}`).toBe(allow);
    }
    expect(
      (await hub.app.request('/trpc/catalog.create', { method: 'PUT', headers: { authorization: `Bearer ${admin}` } }))
        .status,
    ).toBe(405);

    // Hostile Origin: no CORS headers on preflights or answers, anywhere.
    for (const path of ['/api/v1/products', '/trpc/catalog.list', '/oauth/token']) {
      const preflight = await hub.app.request(path, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://evil.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization',
        },
      });
      expect(preflight.headers.get('access-control-allow-origin'), path).toBeNull();
      expect(preflight.headers.get('access-control-allow-credentials'), path).toBeNull();
    }
    const simple = await call(hub, 'GET', '/api/v1/products', {
      token: admin,
      headers: { origin: 'https://evil.example' },
    });
    expect(simple.status).toBe(200);
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();

    // no-store on tokens and on every answer carrying personal data.
    const token = await hub.app.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'admin', client_secret: adminSecret }),
    });
    const agent = await call(hub, 'POST', '/api/v1/staff', {
      token: admin,
      body: { username: 'agent', password: 'agent-password-123', role: 'customer_service', warehouses: [] },
    });
    expect(agent.status).toBe(201);
    const signIn = await call(hub, 'POST', '/api/v1/auth/login', {
      body: { username: 'agent', password: 'agent-password-123' },
    });
    const refusedSignIn = await call(hub, 'POST', '/api/v1/auth/login', {
      body: { username: 'agent', password: 'wrong-password' },
    });
    const personal = [
      ['token', token],
      ['sign-in', signIn],
      ['refused sign-in', refusedSignIn],
      ['order', await call(hub, 'GET', `/api/v1/orders/${orderId}`, { token: admin })],
      ['orders', await call(hub, 'GET', '/api/v1/orders', { token: admin })],
      ['order via tRPC', await trpcGet(hub, 'orders.get', { id: orderId }, admin)],
      [
        'fulfillment order',
        await call(hub, 'GET', `/api/v1/fulfillment-orders/${fulfillmentId}`, { token: threePl.token }),
      ],
      ['fulfillment orders', await call(hub, 'GET', '/api/v1/fulfillment-orders', { token: threePl.token })],
      ['shipments', await call(hub, 'GET', `/api/v1/shipments/${orderId}`, { token: admin })],
      [
        'export',
        await call(hub, 'POST', '/api/v1/customers/export', { token: admin, body: { email: 'ada@example.com' } }),
      ],
      ['clients', await call(hub, 'GET', '/api/v1/clients', { token: admin })],
      ['staff', await call(hub, 'GET', '/api/v1/staff', { token: admin })],
    ] as const;
    for (const [what, answer] of personal) {
      expect(answer.status, what).toBeLessThan(500);
      expect(answer.headers.get('cache-control'), what).toBe('no-store');
    }

    // Wrong Content-Type: 415 over REST and tRPC, nothing created.
    for (const contentType of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/xml',
      'multipart/form-data; boundary=x',
    ]) {
      const rest = await call(hub, 'POST', '/api/v1/products', {
        token: admin,
        rawBody: JSON.stringify(sofa('TYPE-1')),
        headers: { 'content-type': contentType },
      });
      expect(rest.status, contentType).toBe(415);
      expect(rest.body.error.code).toBe('unsupported_media_type');
      expect((await trpcPost(hub, 'catalog.create', sofa('TYPE-2'), admin, contentType)).status, contentType).toBe(415);
    }
    const untyped = await hub.app.request('/api/v1/products', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: JSON.stringify(sofa('TYPE-3')),
    });
    expect(untyped.status).toBe(415);
    expect((await call(hub, 'GET', '/api/v1/products', { token: admin })).body.items).toHaveLength(1);
  });

  it('API9 inventory: every live route is in the OpenAPI document; nothing undocumented is reachable', async () => {
    const hub = await sqliteHub();
    const admin = await adminToken(hub);
    const document = (await call(hub, 'GET', '/api/v1/openapi.json')).body;
    expect(document.openapi).toBe('3.1.0');
    // One server (/api/v1) for every path; the routes outside it (token endpoint, probes, pages) are
    // listed under x-root-routes.
    expect(document.servers).toEqual([{ url: '/api/v1' }]);
    const list = (paths: Record<string, Record<string, unknown>>, prefix: string) =>
      Object.entries(paths).flatMap(([path, item]) => {
        expect(item, path).not.toHaveProperty('servers');
        return Object.keys(item)
          .filter((key) => key !== 'parameters')
          .map((method) => ({ method: method.toUpperCase(), path: prefix + path }));
      });
    const documented = [...list(document.paths, '/api/v1'), ...list(document['x-root-routes'], '')];
    for (const { method, path } of documented) {
      const concrete = path.replace(/\{[^}]+\}/g, 'PROBE-1');
      const init =
        method === 'GET' ? { method } : { method, headers: { 'content-type': 'application/json' }, body: '{}' };
      const response = await hub.app.request(concrete, init);
      // A documented route exists: it never answers 405 or "no route".
      expect(response.status, `${method} ${path}`).not.toBe(405);
      expect(await response.text(), `${method} ${path}`).not.toContain('no route');
    }
    // Every route Hono serves outside the generated REST surface is documented too.
    const served = hub.app.routes
      .filter((route) => route.method !== 'ALL' && !route.path.endsWith('*'))
      .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    const documentedKeys = new Set(documented.map(({ method, path }) => `${method} ${path}`));
    for (const route of served) expect(documentedKeys, route).toContain(route);
    // Every tRPC procedure is the twin of a documented REST operation: /trpc reaches nothing else.
    const operations = new Set(restRoutes(appRouter).map((route) => route.procedure));
    const procedures = Object.keys(appRouter._def.procedures);
    expect(procedures.length).toBeGreaterThan(50);
    for (const procedure of procedures) expect(operations, procedure).toContain(procedure);
    // And nothing undocumented answers: made-up paths are 404, undocumented methods 405.
    for (const path of [
      '/api/v1/secret-admin',
      '/api/v1/debug',
      '/api/v1/products/PROBE-1/internal',
      '/admin',
      '/.env',
      '/metrics',
    ]) {
      expect((await hub.app.request(path, { headers: { authorization: `Bearer ${admin}` } })).status, path).toBe(404);
    }
    expect((await trpcGet(hub, 'debug.dump', {}, admin)).status).toBe(404);
    expect((await call(hub, 'PATCH', '/api/v1/products', { token: admin, body: {} })).status).toBe(405);
    for (const path of [
      '/products',
      '/products/{id}',
      '/inventory',
      '/inventory/{sku}',
      '/warehouses',
      '/warehouses/{id}/inventory',
    ])
      expect(Object.keys(document.paths)).toContain(path);
  });

  it('API10 unsafe consumption: a 3PL/carrier callback failing the schema or carrying injection strings → rejected, nothing stored; redirects not followed; timeouts enforced', async () => {
    const easypostSecret = 'easypost-webhook-secret-0123';
    const created = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret,
      easypostWebhookSecret: easypostSecret,
      webhooks: { allowPrivate: true, attemptTimeoutMs: 300, retryScheduleMs: [0], pollIntervalMs: 20 },
    });
    const hub: TestHub = { ...created, adapter: 'sqlite', description: 'memory', dispose: () => created.close() };
    extraHubs.push(hub);
    const admin = await adminToken(hub);
    const threePl = await stockedThirdParty(hub, admin);
    const { orderId, shipmentId } = await shippedAtThirdParty(hub, admin, threePl.token);
    const stored = async () => ({
      events: (
        await hub.storage.db
          .selectFrom('shipment_events' as never)
          .selectAll()
          .execute()
      ).length,
      shipment: (await call(hub, 'GET', `/api/v1/shipments/${orderId}`, { token: admin })).body,
      tables: (await hub.storage.db.selectFrom('shipments').select('id').execute()).length,
    });
    const before = await stored();

    // The 3PL's tracking callback: schema failures and injection strings in structured fields.
    const scan = { carrierEventId: 'scan-1', status: 'in_transit', occurredAt: '2026-12-02T06:00:00Z' };
    for (const body of [
      { ...scan, carrierEventId: "x'; DROP TABLE shipments; --" },
      { ...scan, carrierEventId: '<script>alert(1)</script>' },
      { ...scan, status: "delivered' OR '1'='1" },
      { ...scan, status: 'delivered', occurredAt: "2026-12-02T06:00:00Z'--" },
      { ...scan, occurredAt: { $gt: '' } },
      { ...scan, location: 'x'.repeat(10_000) },
      { ...scan, $where: 'sleep(1000)' },
      { carrierEventId: 'scan-2' },
      [scan],
    ]) {
      const answer = await call(hub, 'POST', `/api/v1/shipments/${shipmentId}/events`, { token: threePl.token, body });
      expect(answer.status, JSON.stringify(body).slice(0, 80)).toBe(400);
    }
    for (const raw of [
      `{"carrierEventId":"scan-3","status":"in_transit","occurredAt":"2026-12-02T06:00:00Z","__proto__":{"admin":true}}`,
      `{"carrierEventId":"scan-4","status":"in_transit","occurredAt":"2026-12-02T06:00:00Z","constructor":{"prototype":{"admin":true}}}`,
      '{"carrierEventId":"scan-5","status":"in_transit","occurredAt":"2026-12-02T06:00:00Z"',
    ]) {
      const answer = await call(hub, 'POST', `/api/v1/shipments/${shipmentId}/events`, {
        token: threePl.token,
        rawBody: raw,
        headers: { 'content-type': 'application/json' },
      });
      expect(answer.status, raw).toBe(400);
    }
    // The 3PL's ship callback with injection strings in the carrier or the tracking number.
    await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/SOFA-1', { token: admin, body: { onHand: 5 } });
    const next = await call(hub, 'POST', '/api/v1/orders', {
      token: admin,
      body: {
        lines: [{ sku: 'SOFA-1', quantity: 1 }],
        customer: { email: 'bo@example.com', name: 'Bo' },
        shippingAddress: address,
      },
    });
    const nextPaid = await call(hub, 'POST', `/api/v1/orders/${next.body.id}/payment`, {
      token: admin,
      body: { reference: 'psp-2' },
    });
    const nextFulfillment = nextPaid.body.fulfillments[0].id as string;
    await call(hub, 'POST', `/api/v1/fulfillment-orders/${nextFulfillment}/accept`, { token: threePl.token, body: {} });
    for (const body of [
      { carrier: "DHL'; DROP TABLE shipments; --", trackingNumber: 'JD0000000002' },
      { carrier: '<img src=x onerror=alert(1)>', trackingNumber: 'JD0000000002' },
      { carrier: 'DHL', trackingNumber: "1' OR '1'='1" },
      { carrier: 'DHL', trackingNumber: '../../etc/passwd' },
      { carrier: 'DHL', trackingNumber: 'JD0000000002', status: 'delivered' },
    ]) {
      const answer = await call(hub, 'POST', `/api/v1/fulfillment-orders/${nextFulfillment}/ship`, {
        token: threePl.token,
        body,
      });
      expect(answer.status, JSON.stringify(body)).toBe(400);
    }
    expect(await stored()).toEqual(before);
    const untouched = await call(hub, 'GET', `/api/v1/fulfillment-orders/${nextFulfillment}`, { token: threePl.token });
    expect(untouched.body).toMatchObject({ status: 'accepted', shipments: [] });

    // The carrier aggregator's callback (EasyPost): unsigned, wrongly signed, failing the schema, or
    // naming a tracking code built to inject: refused or matched to nothing, nothing stored.
    const post = (body: string, signature = easypostSignature(easypostSecret, body)) =>
      hub.app.request('/api/v1/carriers/easypost', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hmac-signature': signature },
        body,
      });
    const tracker = (trackingCode: string, details: unknown[]) =>
      JSON.stringify({
        id: 'evt_1',
        object: 'Event',
        description: 'tracker.updated',
        result: {
          object: 'Tracker',
          id: 'trk_1',
          tracking_code: trackingCode,
          carrier: 'DHL',
          tracking_details: details,
        },
      });
    const genuine = tracker('JD014600003812345678', [{ status: 'in_transit', datetime: '2026-12-02T06:00:00Z' }]);
    expect((await post(genuine, 'hmac-sha256-hex=00')).status).toBe(401);
    expect((await post(genuine, '')).status).toBe(401);
    expect(
      (await post(tracker('JD014600003812345678', [{ status: 'in_transit', datetime: 'yesterday' }]))).status,
    ).toBe(400);
    expect((await post('{"id":1}')).status).toBe(400);
    expect((await post('not json')).status).toBe(400);
    const injected = await post(tracker("' OR 1=1; --", [{ status: 'delivered', datetime: '2026-12-02T06:00:00Z' }]));
    expect(injected.status).toBe(200);
    expect(await injected.json()).toMatchObject({ matched: false });
    const unknownStatus = await post(
      tracker('JD014600003812345678', [{ status: "delivered'; --", datetime: '2026-12-02T06:00:00Z' }]),
    );
    expect(unknownStatus.status).toBe(200);
    const after = await stored();
    expect(after.events).toBe(before.events);
    expect(after.shipment.items.find((item: { id: string }) => item.id === shipmentId)).toEqual(
      before.shipment.items.find((item: { id: string }) => item.id === shipmentId),
    );

    // Outbound: a partner that hangs is cut off at the attempt timeout; a JWKS that redirects is not followed.
    const hanging = await new TestReceiver().start();
    receivers.push(hanging);
    hanging.answer = () => ({ status: 200, hang: true });
    const endpoint = await call(hub, 'POST', '/api/v1/webhooks', {
      token: admin,
      body: { url: hanging.url(), events: ['order.created'] },
    });
    await call(hub, 'POST', `/api/v1/webhooks/${endpoint.body.id}/test`, { token: admin });
    const timedOut = await settled(hub, admin, endpoint.body.id);
    expect(timedOut.status).toBe('failed');
    expect(timedOut.attemptLog[0]?.error).toMatch(/no answer within 300 ms/);

    const requests = { redirect: 0, keys: 0 };
    const keysUrl = `${await listenOn(
      http.createServer((_request, response) => {
        requests.keys++;
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ keys: [] }));
      }),
    )}/jwks`;
    const redirectUrl = `${await listenOn(
      http.createServer((_request, response) => {
        requests.redirect++;
        response.writeHead(302, { location: keysUrl });
        response.end();
      }),
    )}/jwks`;
    const issuer = 'https://login.example.test';
    const outside = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret,
      externalIssuer: { issuer, jwksUrl: redirectUrl, audience: 'dovetail-api' },
    });
    extraHubs.push({ dispose: () => outside.close() });
    const key = await generateKeyPair('ES256');
    const external = await new SignJWT({ dovetail_role: 'storefront' })
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
      .setIssuer(issuer)
      .setSubject('p')
      .setAudience('dovetail-api')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key.privateKey);
    expect((await call(outside, 'GET', '/api/v1/products', { token: external })).status).toBe(401);
    expect(requests.redirect).toBe(1);
    expect(requests.keys).toBe(0);
  });
});

/** Waits for a webhook endpoint's first delivery to finish (delivered or failed) and returns it. */
async function settled(hub: TestHub, token: string, endpointId: string) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const listed = await call(hub, 'GET', `/api/v1/webhooks/${endpointId}/deliveries`, { token });
    const delivery = listed.body.items[0] as
      | { status: string; attemptLog: Array<{ statusCode: number | null; error: string | null }> }
      | undefined;
    if (delivery && delivery.status !== 'pending') return delivery;
    if (Date.now() > deadline) throw new Error(`delivery to ${endpointId} not settled: ${JSON.stringify(listed.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function listenOn(server: http.Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
