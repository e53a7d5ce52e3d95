import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashClientSecret } from '../identity/secrets.ts';
import {
  type AdapterName,
  type TestHub,
  adapters,
  adminToken,
  call,
  clientToken,
  startTestHub,
} from '../testing/harness.ts';
import { emitWebhookEvent } from './emit.ts';
import type { WebhookSettings } from './settings.ts';
import { TestReceiver } from '../testing/webhook-receiver.ts';

/**
 * Webhooks end to end on each adapter (a real SQLite file; the real PostgreSQL server when
 * configured): endpoints through the REST API, events through emitWebhookEvent, deliveries by the
 * hub's own worker to real receivers on loopback that verify each request with `standardwebhooks`.
 */
const clientSecret = 'webhook-test-secret-0123456789';
const fast: Partial<WebhookSettings> = {
  allowPrivate: true,
  attemptTimeoutMs: 2_000,
  retryScheduleMs: [0, 200, 200, 200],
  pollIntervalMs: 50,
};

const directories: string[] = [];
async function hubOn(adapter: AdapterName, webhooks: Partial<WebhookSettings>): Promise<TestHub> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-webhooks-'));
  directories.push(directory);
  return startTestHub(adapter, { webhooks, sqliteFile: path.join(directory, 'hub.db') });
}
afterAll(() => {
  for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

/** A client of `role` written directly (as the policy matrix does), and a token for it. */
async function client(hub: TestHub, id: string, role: string, warehouses: string[] | '*'): Promise<string> {
  await hub.storage.db
    .insertInto('api_clients')
    .values({
      id,
      name: id,
      role,
      warehouses_json: JSON.stringify(warehouses),
      secret_hash: hashClientSecret(clientSecret),
      epoch: 1,
      revoked_at: null,
      created_at: Date.now(),
    })
    .execute();
  return clientToken(hub, id, clientSecret);
}

async function warehouse(hub: TestHub, token: string, id: string): Promise<void> {
  const created = await call(hub, 'POST', '/api/v1/warehouses', {
    token,
    body: { id, name: id, kind: '3pl', location: { lat: 52.37, lon: 4.9 } },
  });
  expect(created.status).toBe(201);
}

const receivers: TestReceiver[] = [];
async function receiver(): Promise<TestReceiver> {
  const started = await new TestReceiver().start();
  receivers.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((entry) => entry.close()));
});

const lowStock = (warehouseId: string, sku = 'SOFA-1') => ({
  warehouseId,
  sku,
  available: 1,
  safetyStock: 3,
  occurredAt: new Date().toISOString(),
});

describe.each(adapters)('webhooks on %s', (adapter) => {
  let hub: TestHub;
  let admin: string;

  beforeAll(async () => {
    hub = await hubOn(adapter, fast);
    admin = await adminToken(hub);
  });
  afterAll(async () => {
    await hub?.dispose();
  });

  async function endpoint(token: string, body: Record<string, unknown>) {
    const created = await call(hub, 'POST', '/api/v1/webhooks', { token, body });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body as { id: string; secret: string };
  }

  it('registers an endpoint with a whsec_ secret shown once, and delivers a ping that standardwebhooks verifies', async () => {
    const target = await receiver();
    const created = await endpoint(admin, { url: target.url(), events: ['order.created'], description: 'ops' });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(created.secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);
    target.secrets = [created.secret];
    const shown = await call(hub, 'GET', `/api/v1/webhooks/${created.id}`, { token: admin });
    expect(shown.status).toBe(200);
    expect(JSON.stringify(shown.body)).not.toContain(created.secret.slice(6, 20));
    expect(shown.body).toMatchObject({ id: created.id, url: target.url(), events: ['order.created'], enabled: true });

    const ping = await call(hub, 'POST', `/api/v1/webhooks/${created.id}/test`, { token: admin, body: {} });
    expect(ping.status).toBe(202);
    await target.waitFor((received) => received.length === 1);
    const [request] = target.received;
    expect(request?.verifiedWith).toEqual([true]);
    expect(request?.id).toBe(ping.body.deliveryId);
    expect(request?.id).toMatch(/^msg_/);
    expect(Math.abs(Number(request?.timestamp) - Date.now() / 1000)).toBeLessThan(300);
    const body = JSON.parse(request?.body ?? '{}');
    expect(Object.keys(body).sort()).toEqual(['data', 'timestamp', 'type']);
    expect(body).toMatchObject({ type: 'ping', data: { endpointId: created.id } });
  });

  it('retries a 500 with the same webhook-id and a fresh signature until a 200, and lists every attempt', async () => {
    const target = await receiver();
    const created = await endpoint(admin, { url: target.url(), events: ['inventory.low'] });
    target.secrets = [created.secret];
    target.answer = (_request, nth) => (nth === 0 ? { status: 500, body: 'try later' } : { status: 200 });
    const eventId = await emitWebhookEvent(hub.storage.db, {
      type: 'inventory.low',
      data: lowStock('ANY'),
      warehouseId: 'ANY',
      nowMs: Date.now(),
    });
    expect(eventId).toMatch(/^evt_/);
    await target.waitFor((received) => received.length === 2);
    const [first, second] = target.received;
    expect(second?.id).toBe(first?.id);
    expect(first?.verifiedWith).toEqual([true]);
    expect(second?.verifiedWith).toEqual([true]);
    expect(second?.body).toBe(first?.body);

    let deliveries = await call(hub, 'GET', `/api/v1/webhooks/${created.id}/deliveries`, { token: admin });
    for (let i = 0; i < 100 && deliveries.body.items[0]?.status !== 'succeeded'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      deliveries = await call(hub, 'GET', `/api/v1/webhooks/${created.id}/deliveries`, { token: admin });
    }
    expect(deliveries.status).toBe(200);
    const [delivery] = deliveries.body.items;
    expect(delivery).toMatchObject({ id: first?.id, eventId, eventType: 'inventory.low', status: 'succeeded' });
    expect(delivery.attempts).toBe(2);
    expect(delivery.attemptLog.map((attempt: { statusCode: number }) => attempt.statusCode)).toEqual([200, 500]);
    expect(delivery.attemptLog[1]).toMatchObject({ error: 'HTTP 500', responseBody: 'try later' });
    for (const attempt of delivery.attemptLog) expect(attempt.latencyMs).toBeGreaterThanOrEqual(0);
    const failed = await call(hub, 'GET', `/api/v1/webhooks/${created.id}/deliveries?status=failed`, { token: admin });
    expect(failed.body.items).toEqual([]);
  });

  it('a manual retry sends a delivered event again with the same webhook-id', async () => {
    const target = await receiver();
    const created = await endpoint(admin, { url: target.url(), events: ['inventory.low'] });
    target.secrets = [created.secret];
    await emitWebhookEvent(hub.storage.db, {
      type: 'inventory.low',
      data: lowStock('ANY'),
      warehouseId: 'ANY',
      nowMs: Date.now(),
    });
    await target.waitFor((received) => received.length === 1);
    const deliveryId = target.received[0]?.id;
    let retried = await call(hub, 'POST', `/api/v1/webhooks/${created.id}/deliveries/${deliveryId}/retry`, {
      token: admin,
      body: {},
    });
    // The first attempt may still be being recorded: then the hub says so (409) and a moment later accepts.
    for (let i = 0; i < 50 && retried.status === 409; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      retried = await call(hub, 'POST', `/api/v1/webhooks/${created.id}/deliveries/${deliveryId}/retry`, {
        token: admin,
        body: {},
      });
    }
    expect(retried.status).toBe(202);
    await target.waitFor((received) => received.length === 2);
    expect(target.received[1]?.id).toBe(deliveryId);
    expect(target.received[1]?.verifiedWith).toEqual([true]);
    const unknown = await call(hub, 'POST', `/api/v1/webhooks/${created.id}/deliveries/msg_nope/retry`, {
      token: admin,
      body: {},
    });
    expect(unknown.status).toBe(404);
  });

  it('after rotate-secret both signatures are sent and each verifies; the new secret is shown once', async () => {
    const target = await receiver();
    const created = await endpoint(admin, { url: target.url(), events: ['order.created'] });
    const rotated = await call(hub, 'POST', `/api/v1/webhooks/${created.id}/rotate-secret`, { token: admin, body: {} });
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.secret);
    target.secrets = [created.secret, rotated.body.secret, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'];
    await call(hub, 'POST', `/api/v1/webhooks/${created.id}/test`, { token: admin, body: {} });
    await target.waitFor((received) => received.length === 1);
    expect(target.received[0]?.signature.split(' ')).toHaveLength(2);
    expect(target.received[0]?.verifiedWith).toEqual([true, true, false]);
  });

  it('a 410 Gone disables the endpoint and an admin endpoint is told (endpoint.disabled)', async () => {
    const gone = await receiver();
    const ops = await receiver();
    const watcher = await endpoint(admin, { url: ops.url(), events: ['endpoint.disabled'] });
    ops.secrets = [watcher.secret];
    const created = await endpoint(admin, { url: gone.url(), events: ['inventory.low'] });
    gone.answer = () => ({ status: 410 });
    await emitWebhookEvent(hub.storage.db, {
      type: 'inventory.low',
      data: lowStock('ANY'),
      warehouseId: 'ANY',
      nowMs: Date.now(),
    });
    await ops.waitFor((received) => received.some((entry) => entry.data?.endpointId === created.id));
    const notice = ops.of('endpoint.disabled').find((entry) => entry.data?.endpointId === created.id);
    expect(notice?.verifiedWith).toEqual([true]);
    expect(notice?.data).toMatchObject({ reason: 'gone', url: gone.url() });
    const shown = await call(hub, 'GET', `/api/v1/webhooks/${created.id}`, { token: admin });
    expect(shown.body).toMatchObject({ enabled: false, disabledReason: 'gone' });
    expect(gone.received).toHaveLength(1);
    const deliveries = await call(hub, 'GET', `/api/v1/webhooks/${created.id}/deliveries?status=failed`, {
      token: admin,
    });
    expect(deliveries.body.items).toHaveLength(1);
    // Disabled: no more deliveries, and a ping is refused until it is enabled again.
    expect((await call(hub, 'POST', `/api/v1/webhooks/${created.id}/test`, { token: admin, body: {} })).status).toBe(
      409,
    );
    gone.answer = () => ({ status: 200 });
    const enabled = await call(hub, 'PATCH', `/api/v1/webhooks/${created.id}`, {
      token: admin,
      body: { disabled: false },
    });
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null });
    expect((await call(hub, 'POST', `/api/v1/webhooks/${created.id}/test`, { token: admin, body: {} })).status).toBe(
      202,
    );
    await gone.waitFor((received) => received.length === 2);
  });

  it('does not follow a redirect: a 3xx is a failed attempt and the target is never called', async () => {
    const elsewhere = await receiver();
    const redirecting = await receiver();
    redirecting.answer = () => ({ status: 302, headers: { location: elsewhere.url('/internal') } });
    const created = await endpoint(admin, { url: redirecting.url(), events: ['inventory.low'] });
    await call(hub, 'POST', `/api/v1/webhooks/${created.id}/test`, { token: admin, body: {} });
    await redirecting.waitFor((received) => received.length >= 2);
    expect(elsewhere.received).toHaveLength(0);
    const deliveries = await call(hub, 'GET', `/api/v1/webhooks/${created.id}/deliveries`, { token: admin });
    const attempt = deliveries.body.items[0].attemptLog.at(-1);
    expect(attempt).toMatchObject({ statusCode: 302, error: 'redirect (302) not followed' });
  });

  it('scopes endpoints and events: a 3PL sees its own endpoints and its warehouses, a storefront its orders', async () => {
    await warehouse(hub, admin, 'TPL1');
    await warehouse(hub, admin, 'TPL2');
    const partnerOne = await client(hub, 'tpl-one', '3pl', ['TPL1']);
    const partnerTwo = await client(hub, 'tpl-two', '3pl', ['TPL2']);
    const shop = await client(hub, 'shop-one', 'storefront', '*');
    const otherShop = await client(hub, 'shop-two', 'storefront', '*');
    const support = await client(hub, 'support-one', 'customer_service', '*');
    const one = await receiver();
    const two = await receiver();
    const shopReceiver = await receiver();

    // What each role may subscribe to.
    const refused = await call(hub, 'POST', '/api/v1/webhooks', {
      token: partnerOne,
      body: { url: one.url(), events: ['order.created'] },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('event_not_allowed');
    const otherWarehouse = await call(hub, 'POST', '/api/v1/webhooks', {
      token: partnerOne,
      body: { url: one.url(), events: ['inventory.low'], warehouses: ['TPL2'] },
    });
    expect(otherWarehouse.status).toBe(403);
    expect(
      (
        await call(hub, 'POST', '/api/v1/webhooks', {
          token: shop,
          body: { url: shopReceiver.url(), events: ['inventory.low'] },
        })
      ).status,
    ).toBe(403);
    expect(
      (await call(hub, 'POST', '/api/v1/webhooks', { token: support, body: { url: one.url(), events: ['ping'] } }))
        .status,
    ).toBe(403);
    expect((await call(hub, 'GET', '/api/v1/webhooks', { token: support })).status).toBe(403);

    const endpointOne = await endpoint(partnerOne, { url: one.url(), events: ['inventory.low'] });
    const endpointTwo = await endpoint(partnerTwo, { url: two.url(), events: ['inventory.low'] });
    const shopEndpoint = await endpoint(shop, { url: shopReceiver.url(), events: ['order.created'] });
    one.secrets = [endpointOne.secret];
    two.secrets = [endpointTwo.secret];

    // Another client's endpoint does not exist for them: 404 on every route, and not listed.
    const base = `/api/v1/webhooks/${endpointOne.id}`;
    for (const [method, route, body] of [
      ['GET', base, undefined],
      ['PATCH', base, { description: 'mine now' }],
      ['DELETE', base, undefined],
      ['POST', `${base}/rotate-secret`, {}],
      ['POST', `${base}/test`, {}],
      ['GET', `${base}/deliveries`, undefined],
    ] as const) {
      const answer = await call(hub, method, route, { token: partnerTwo, ...(body ? { body } : {}) });
      expect(answer.status, `${method} ${route}`).toBe(404);
    }
    expect((await call(hub, 'GET', base, { token: shop })).status).toBe(404);
    const listed = await call(hub, 'GET', '/api/v1/webhooks', { token: partnerTwo });
    expect(listed.body.items.map((item: { id: string }) => item.id)).toEqual([endpointTwo.id]);
    const all = await call(hub, 'GET', '/api/v1/webhooks?limit=500', { token: admin });
    expect(all.body.items.map((item: { id: string }) => item.id)).toEqual(
      expect.arrayContaining([endpointOne.id, endpointTwo.id, shopEndpoint.id]),
    );
    expect((await call(hub, 'GET', base, { token: partnerOne })).status).toBe(200);

    // Events reach only the endpoints allowed to see them.
    const now = Date.now();
    await emitWebhookEvent(hub.storage.db, {
      type: 'inventory.low',
      data: lowStock('TPL2'),
      warehouseId: 'TPL2',
      nowMs: now,
    });
    await emitWebhookEvent(hub.storage.db, {
      type: 'inventory.low',
      data: lowStock('TPL1'),
      warehouseId: 'TPL1',
      nowMs: now,
    });
    const order = (clientId: string) =>
      emitWebhookEvent(hub.storage.db, {
        type: 'order.created',
        data: {
          id: `order-${clientId}`,
          number: 'DT-0000-0001',
          status: 'pending_payment',
          previousStatus: null,
          currency: 'EUR',
          total: 100,
          lines: [{ sku: 'SOFA-1', quantity: 1 }],
          updatedAt: new Date(now).toISOString(),
        },
        clientId,
        nowMs: now,
      });
    await order('shop-two');
    await order('shop-one');
    await one.waitFor((received) => received.length === 1);
    await two.waitFor((received) => received.length === 1);
    await shopReceiver.waitFor((received) => received.length === 1);
    expect(one.received[0]?.data.warehouseId).toBe('TPL1');
    expect(two.received[0]?.data.warehouseId).toBe('TPL2');
    expect(shopReceiver.received[0]?.data.id).toBe('order-shop-one');
    // Nothing else arrives later (each delivery was fanned out at commit).
    const stored = await hub.storage.db
      .selectFrom('webhook_deliveries')
      .select(['endpoint_id'])
      .where('endpoint_id', 'in', [endpointOne.id, endpointTwo.id, shopEndpoint.id])
      .execute();
    expect(stored).toHaveLength(3);
    void otherShop;
  });

  it('emits order and fulfillment events from the real order flow, and inventory.low from a 3PL stock write', async () => {
    await warehouse(hub, admin, 'FLOW3PL');
    const product = await call(hub, 'POST', '/api/v1/products', {
      token: admin,
      body: {
        name: 'Mora table',
        category: 'table',
        basePrice: 59_900,
        currency: 'EUR',
        variants: [{ sku: 'TABLE-MORA-200', options: { length: '200' } }],
      },
    });
    expect(product.status).toBe(201);
    const stocked = await call(hub, 'PUT', '/api/v1/warehouses/FLOW3PL/inventory/TABLE-MORA-200', {
      token: admin,
      body: { onHand: 10, safetyStock: 3 },
    });
    expect(stocked.status).toBe(200);
    const partner = await client(hub, 'flow-3pl', '3pl', ['FLOW3PL']);
    const shop = await client(hub, 'flow-shop', 'storefront', '*');
    const partnerReceiver = await receiver();
    const shopReceiver = await receiver();
    const partnerEndpoint = await endpoint(partner, {
      url: partnerReceiver.url(),
      events: ['fulfillment_order.requested', 'fulfillment_order.cancel_requested', 'inventory.low'],
    });
    const shopEndpoint = await endpoint(shop, {
      url: shopReceiver.url(),
      events: ['order.created', 'order.paid', 'order.canceled'],
    });
    partnerReceiver.secrets = [partnerEndpoint.secret];
    shopReceiver.secrets = [shopEndpoint.secret];

    const placed = await call(hub, 'POST', '/api/v1/orders', {
      token: shop,
      body: {
        lines: [{ sku: 'TABLE-MORA-200', quantity: 2 }],
        customer: { email: 'linus@example.com', name: 'Linus Berg' },
        shippingAddress: { line1: 'Damrak 1', city: 'Amsterdam', postalCode: '1012 LG', country: 'NL' },
      },
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const orderId = placed.body.id as string;
    const paid = await call(hub, 'POST', `/api/v1/orders/${orderId}/payment`, {
      token: shop,
      body: { reference: 'psp-1' },
    });
    expect(paid.status).toBe(200);
    await shopReceiver.waitFor((received) => received.length >= 2);
    await partnerReceiver.waitFor((received) => received.length >= 1);
    expect(shopReceiver.received.map((entry) => entry.type)).toEqual(['order.created', 'order.paid']);
    expect(shopReceiver.received.every((entry) => entry.verifiedWith[0])).toBe(true);
    expect(shopReceiver.received[0]?.data).toMatchObject({
      id: orderId,
      number: placed.body.number,
      status: 'pending_payment',
      previousStatus: null,
      total: 119_800,
      lines: [{ sku: 'TABLE-MORA-200', quantity: 2 }],
    });
    expect(shopReceiver.received[1]?.data).toMatchObject({ status: 'processing', previousStatus: 'pending_payment' });
    const requested = partnerReceiver.of('fulfillment_order.requested');
    expect(requested).toHaveLength(1);
    expect(requested[0]?.verifiedWith).toEqual([true]);
    expect(requested[0]?.data).toMatchObject({
      orderId,
      warehouseId: 'FLOW3PL',
      reason: 'payment',
      lines: [{ sku: 'TABLE-MORA-200', quantity: 2 }],
      shippingAddress: { city: 'Amsterdam' },
    });
    // Customer data beyond the address never leaves in a webhook.
    expect(requested[0]?.body).not.toContain('linus@example.com');
    expect(shopReceiver.received[0]?.body).not.toContain('linus@example.com');

    // The 3PL counts less: available goes from 5 (10 - 2 committed - 3 safety) to 2, below the safety stock of 3.
    const counted = await call(hub, 'PUT', '/api/v1/warehouses/FLOW3PL/inventory/TABLE-MORA-200', {
      token: partner,
      body: { onHand: 7, safetyStock: 3 },
    });
    expect(counted.status).toBe(200);
    await partnerReceiver.waitFor((received) => received.some((entry) => entry.type === 'inventory.low'));
    expect(partnerReceiver.of('inventory.low')[0]?.data).toMatchObject({
      warehouseId: 'FLOW3PL',
      sku: 'TABLE-MORA-200',
      available: 2,
      safetyStock: 3,
    });
    // Still below: no second alert for the same crossing.
    await call(hub, 'PUT', '/api/v1/warehouses/FLOW3PL/inventory/TABLE-MORA-200', {
      token: partner,
      body: { onHand: 6, safetyStock: 3 },
    });

    const canceled = await call(hub, 'POST', `/api/v1/orders/${orderId}/cancel`, { token: shop, body: {} });
    expect(canceled.status).toBe(200);
    await partnerReceiver.waitFor((received) =>
      received.some((entry) => entry.type === 'fulfillment_order.cancel_requested'),
    );
    expect(partnerReceiver.of('fulfillment_order.cancel_requested')[0]?.data).toMatchObject({
      id: requested[0]?.data.id,
      orderId,
      warehouseId: 'FLOW3PL',
    });
    const lowEvents = await hub.storage.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_events as v', 'v.id', 'd.event_id')
      .select('d.id')
      .where('d.endpoint_id', '=', partnerEndpoint.id)
      .where('v.type', '=', 'inventory.low')
      .execute();
    expect(lowEvents).toHaveLength(1);
  });

  it('refuses bad input with the error envelope and stores nothing', async () => {
    const before = await call(hub, 'GET', '/api/v1/webhooks?limit=500', { token: admin });
    for (const body of [
      { url: 'https://example.com/hook', events: [] },
      { url: 'https://example.com/hook', events: ['order.exploded'] },
      { url: 'https://example.com/hook', events: ['order.created', 'order.created'] },
      { url: 'not a url', events: ['order.created'] },
      { url: 'https://example.com/hook', events: ['order.created'], secret: 'mine' },
      { url: `https://example.com/${'x'.repeat(3_000)}`, events: ['order.created'] },
    ]) {
      const answer = await call(hub, 'POST', '/api/v1/webhooks', { token: admin, body });
      expect(answer.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(answer.body.error.code).toBe('invalid_input');
    }
    const emptyPatch = await call(hub, 'PATCH', '/api/v1/webhooks/ep_x', { token: admin, body: {} });
    expect(emptyPatch.status).toBe(400);
    const after = await call(hub, 'GET', '/api/v1/webhooks?limit=500', { token: admin });
    expect(after.body.items).toHaveLength(before.body.items.length);
    expect((await call(hub, 'GET', '/api/v1/webhooks/ep_unknown', { token: admin })).status).toBe(404);
  });

  it('pages the endpoint list with a cursor', async () => {
    const partner = await client(hub, 'pager', 'storefront', '*');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await endpoint(partner, { url: `https://example.com/hook/${i}`, events: ['order.paid'] })).id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page = await call(hub, 'GET', `/api/v1/webhooks${query}`, { token: partner });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((item: { id: string }) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].sort());
    const deleted = await call(hub, 'DELETE', `/api/v1/webhooks/${ids[0]}`, { token: partner });
    expect(deleted.status).toBe(200);
    expect((await call(hub, 'GET', `/api/v1/webhooks/${ids[0]}`, { token: partner })).status).toBe(404);
  });
});
