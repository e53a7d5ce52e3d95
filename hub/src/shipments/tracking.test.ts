import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { easypostSignature } from '../http/carriers.ts';
import { createHub } from '../hub.ts';
import { type TestHub, adminSecret, adminToken, call, clientToken, sofa, startTestHub } from '../testing/harness.ts';

/** Carrier tracking: scans in (duplicated, out of order), shipment and order status out. */
let hub: TestHub;
let admin: string;
let clock: number;

async function client(body: Record<string, unknown>): Promise<string> {
  const created = await call(hub, 'POST', '/api/v1/clients', { token: admin, body });
  expect(created.status).toBe(201);
  return clientToken(hub, created.body.clientId, created.body.clientSecret);
}

/** An order shipped by a 3PL through the API, with one DHL shipment. */
async function shippedOrder(threePl: string): Promise<{ orderId: string; shipmentId: string }> {
  const placed = await call(hub, 'POST', '/api/v1/orders', {
    token: admin,
    body: {
      customer: { email: 'ada@example.com', name: 'Ada Lovelace' },
      shippingAddress: { line1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' },
      lines: [{ sku: 'SOFA-1', quantity: 1 }],
    },
  });
  expect(placed.status).toBe(201);
  const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
    token: admin,
    body: { reference: 'psp-1' },
  });
  expect(paid.status).toBe(200);
  const fulfillmentId = paid.body.fulfillments[0].id;
  expect(
    (await call(hub, 'POST', `/api/v1/fulfillment-orders/${fulfillmentId}/accept`, { token: threePl, body: {} }))
      .status,
  ).toBe(200);
  const shipped = await call(hub, 'POST', `/api/v1/fulfillment-orders/${fulfillmentId}/ship`, {
    token: threePl,
    body: { carrier: 'DHL', trackingNumber: 'JD014600003812345678' },
  });
  expect(shipped.status).toBe(200);
  const order = await call(hub, 'GET', `/api/v1/orders/${placed.body.id}`, { token: admin });
  expect(order.body.status).toBe('shipped');
  return { orderId: placed.body.id, shipmentId: order.body.shipments[0].id };
}

const scan = (token: string, shipmentId: string, body: Record<string, unknown>) =>
  call(hub, 'POST', `/api/v1/shipments/${shipmentId}/events`, { token, body });

describe.each(['sqlite', 'postgres'] as const)('carrier tracking on %s', (adapter) => {
  let threePl: string;
  let dhl: string;

  beforeEach(async () => {
    clock = Date.parse('2026-12-01T09:00:00Z');
    hub = await startTestHub(adapter, { nowMs: () => clock, webhooks: { allowPrivate: true } });
    admin = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') })).status).toBe(201);
    for (const id of ['TPL', 'TPL2']) {
      await call(hub, 'POST', '/api/v1/warehouses', {
        token: admin,
        body: { id, name: id, kind: '3pl', location: { lat: 52.37, lon: 4.89 } },
      });
    }
    await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/SOFA-1', { token: admin, body: { onHand: 5 } });
    threePl = await client({ name: 'partner', role: '3pl', warehouses: ['TPL'] });
    dhl = await client({ name: 'dhl tracking', role: 'carrier', carrier: 'DHL' });
  });
  afterEach(() => hub.dispose());

  it('places scans by time whatever order they arrive in, counts each carrier event once, and delivers the order', async () => {
    const subscribed = await call(hub, 'POST', '/api/v1/webhooks', {
      token: admin,
      body: { url: 'http://127.0.0.1:9/hooks', events: ['shipment.updated', 'order.delivered'] },
    });
    expect(subscribed.status).toBe(201);
    const { orderId, shipmentId } = await shippedOrder(threePl);
    const inTransit = {
      carrierEventId: 'dhl-2',
      status: 'in_transit',
      occurredAt: '2026-12-02T06:00:00Z',
      location: 'Venlo hub',
      estimatedDeliveryAt: '2026-12-04T18:00:00Z',
    };
    const first = await scan(dhl, shipmentId, inTransit);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'in_transit', estimatedDeliveryAt: '2026-12-04T18:00:00.000Z' });
    const late = await scan(dhl, shipmentId, {
      carrierEventId: 'dhl-1',
      status: 'pre_transit',
      occurredAt: '2026-12-01T12:00:00Z',
    });
    expect(late.body.status).toBe('in_transit'); // older than what is known: history only
    const repeat = await scan(dhl, shipmentId, inTransit);
    expect(repeat.status).toBe(200);
    expect(repeat.body.events).toHaveLength(2);

    const delivered = await scan(dhl, shipmentId, {
      carrierEventId: 'dhl-4',
      status: 'delivered',
      occurredAt: '2026-12-03T15:00:00Z',
      description: 'Delivered, signed by A. Lovelace',
    });
    expect(delivered.body).toMatchObject({ status: 'delivered', deliveredAt: '2026-12-03T15:00:00.000Z' });
    const stray = await scan(dhl, shipmentId, {
      carrierEventId: 'dhl-3',
      status: 'out_for_delivery',
      occurredAt: '2026-12-03T07:00:00Z',
    });
    expect(stray.body.status).toBe('delivered');

    const tracking = await call(hub, 'GET', `/api/v1/orders/${orderId}/tracking`, { token: admin });
    expect(tracking.status).toBe(200);
    expect(tracking.body).toMatchObject({ status: 'delivered', deliveredAt: '2026-12-03T15:00:00.000Z' });
    expect(tracking.body.estimatedDeliveryAt).toBeUndefined();
    expect(tracking.body.shipments[0]).toMatchObject({
      carrier: 'DHL',
      trackingNumber: 'JD014600003812345678',
      trackingUrl: expect.stringContaining('JD014600003812345678'),
    });
    expect(tracking.body.shipments[0].events.map((e: { carrierEventId: string }) => e.carrierEventId)).toEqual([
      'dhl-1',
      'dhl-2',
      'dhl-3',
      'dhl-4',
    ]);
    const order = await call(hub, 'GET', `/api/v1/orders/${orderId}`, { token: admin });
    expect(order.body.status).toBe('delivered');
    expect(order.body.history.at(-1)).toMatchObject({ event: 'delivered', from: 'shipped', to: 'delivered' });
    const stored = await hub.storage.db.selectFrom('shipment_events').selectAll().execute();
    expect(stored).toHaveLength(4);
    // Partners heard each change once: the status moved on dhl-2 and dhl-4 (the rest changed nothing).
    const events = await hub.storage.db
      .selectFrom('webhook_events')
      .select(['type', 'body'])
      .orderBy('created_at')
      .execute();
    expect(events.map((event) => event.type)).toEqual(['shipment.updated', 'shipment.updated', 'order.delivered']);
    expect(JSON.parse(events[1]!.body).data).toMatchObject({ id: shipmentId, status: 'delivered', carrier: 'DHL' });
    expect(JSON.parse(events[2]!.body).data).toMatchObject({
      id: orderId,
      status: 'delivered',
      previousStatus: 'shipped',
    });
  });

  it('lets a carrier report only its own shipments and a 3PL only its warehouses', async () => {
    const { shipmentId } = await shippedOrder(threePl);
    const ups = await client({ name: 'ups tracking', role: 'carrier', carrier: 'UPS' });
    const otherPartner = await client({ name: 'other partner', role: '3pl', warehouses: ['TPL2'] });
    const body = { carrierEventId: 'x-1', status: 'in_transit', occurredAt: '2026-12-02T06:00:00Z' };
    expect((await scan(ups, shipmentId, body)).status).toBe(404);
    expect((await scan(otherPartner, shipmentId, body)).status).toBe(404);
    expect((await scan(threePl, shipmentId, body)).status).toBe(201);
    expect((await hub.storage.db.selectFrom('shipment_events').selectAll().execute()).length).toBe(1);
    const storefront = await client({ name: 'shop', role: 'storefront' });
    expect((await scan(storefront, shipmentId, { ...body, carrierEventId: 'x-2' })).status).toBe(403);
  });

  it('refuses a scan it cannot place with a 400 naming the field, storing nothing', async () => {
    const { shipmentId } = await shippedOrder(threePl);
    const bad = await scan(dhl, shipmentId, { carrierEventId: 'e 1', status: 'lost', occurredAt: 'yesterday' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues.map((issue: { path: string }) => issue.path).sort()).toEqual([
      'carrierEventId',
      'occurredAt',
      'status',
    ]);
    expect(await hub.storage.db.selectFrom('shipment_events').selectAll().execute()).toEqual([]);
    expect(
      (
        await scan(dhl, 'no-such-shipment', {
          carrierEventId: 'e1',
          status: 'in_transit',
          occurredAt: '2026-12-02T06:00:00Z',
        })
      ).status,
    ).toBe(404);
  });

  it('records a shipment made by hand, tracked like the others, and lists an order’s shipments', async () => {
    const { orderId } = await shippedOrder(threePl);
    const made = await call(hub, 'POST', '/api/v1/shipments', {
      token: admin,
      headers: { 'idempotency-key': 'replacement-1' },
      body: { orderId, carrier: 'DHL', trackingNumber: 'JD0000REPLACEMENT1', lines: [{ sku: 'SOFA-1', quantity: 1 }] },
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ status: 'in_transit', warehouseId: 'TPL', events: [] });
    const listed = await call(hub, 'GET', `/api/v1/shipments/${orderId}`, { token: admin });
    expect(listed.body.items.map((s: { trackingNumber: string }) => s.trackingNumber)).toEqual([
      'JD014600003812345678',
      'JD0000REPLACEMENT1',
    ]);
    const shop = await client({ name: 'shop', role: 'storefront' });
    expect((await call(hub, 'GET', `/api/v1/shipments/${orderId}`, { token: shop })).status).toBe(404);
    expect((await call(hub, 'GET', `/api/v1/orders/${orderId}/tracking`, { token: shop })).status).toBe(404);
  });
});

describe('the EasyPost adapter (tracker.updated, signed)', () => {
  const secret = 'easypost-webhook-secret-0123';
  let threePl: string;

  beforeEach(async () => {
    clock = Date.parse('2026-12-01T09:00:00Z');
    const created = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret,
      nowMs: () => clock,
      easypostWebhookSecret: secret,
    });
    hub = { ...created, adapter: 'sqlite', description: 'memory', dispose: () => created.close() };
    admin = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') })).status).toBe(201);
    await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id: 'TPL', name: 'TPL', kind: '3pl', location: { lat: 52.37, lon: 4.89 } },
    });
    await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/SOFA-1', { token: admin, body: { onHand: 5 } });
    threePl = await client({ name: 'partner', role: '3pl', warehouses: ['TPL'] });
  });
  afterEach(() => hub.dispose());

  const tracker = (details: { status: string; datetime: string; message?: string }[]) =>
    JSON.stringify({
      id: 'evt_1',
      object: 'Event',
      description: 'tracker.updated',
      result: {
        object: 'Tracker',
        id: 'trk_1',
        tracking_code: 'JD014600003812345678',
        carrier: 'DHLExpress',
        est_delivery_date: '2026-12-04T18:00:00Z',
        tracking_details: details.map((detail) => ({
          object: 'TrackingDetail',
          ...detail,
          tracking_location: { city: 'Venlo', state: null, country: 'NL', zip: null },
        })),
      },
    });
  const post = (body: string, signature = easypostSignature(secret, body)) =>
    hub.app.request('/api/v1/carriers/easypost', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hmac-signature': signature },
      body,
    });

  it('maps a signed tracker update onto the shipment, once per scan however often EasyPost resends it', async () => {
    const { orderId, shipmentId } = await shippedOrder(threePl);
    const first = tracker([{ status: 'in_transit', datetime: '2026-12-02T06:00:00Z', message: 'Arrived at hub' }]);
    const answer = await post(first);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ matched: true, shipmentId, status: 'in_transit', recorded: 1 });
    const history = [
      { status: 'in_transit', datetime: '2026-12-02T06:00:00Z', message: 'Arrived at hub' },
      { status: 'unknown', datetime: '2026-12-02T07:00:00Z' },
      { status: 'delivered', datetime: '2026-12-03T15:00:00Z', message: 'Delivered' },
    ];
    const again = await post(tracker(history));
    expect(await again.json()).toMatchObject({ status: 'delivered', recorded: 1 });
    expect((await post(tracker(history))).status).toBe(200);
    const events = await hub.storage.db.selectFrom('shipment_events').selectAll().execute();
    expect(events.map((event) => [event.status, event.location, event.source])).toEqual([
      ['in_transit', 'Venlo, NL', 'easypost'],
      ['delivered', 'Venlo, NL', 'easypost'],
    ]);
    expect((await call(hub, 'GET', `/api/v1/orders/${orderId}`, { token: admin })).body.status).toBe('delivered');
  });

  it('refuses a wrong signature (401) and changes nothing; answers 200 to a tracker it does not know', async () => {
    await shippedOrder(threePl);
    const body = tracker([{ status: 'delivered', datetime: '2026-12-03T15:00:00Z' }]);
    const forged = await post(body, easypostSignature('not-the-secret', body));
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('invalid_signature');
    expect((await post(body, '')).status).toBe(401);
    expect(await hub.storage.db.selectFrom('shipment_events').selectAll().execute()).toEqual([]);
    const stranger = body.replace('JD014600003812345678', 'UNKNOWN-1');
    expect(await (await post(stranger)).json()).toEqual({ matched: false, trackingNumber: 'UNKNOWN-1' });
    const notJson = '{"id":';
    expect((await post(notJson)).status).toBe(400);
  });
});

describe.each(['sqlite', 'postgres'] as const)("the customer's tracking page on %s", (adapter) => {
  let threePl: string;
  let dhl: string;

  beforeEach(async () => {
    clock = Date.parse('2026-12-01T09:00:00Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    admin = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') })).status).toBe(201);
    await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id: 'TPL', name: 'TPL', kind: '3pl', location: { lat: 52.37, lon: 4.89 } },
    });
    await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/SOFA-1', { token: admin, body: { onHand: 5 } });
    threePl = await client({ name: 'partner', role: '3pl', warehouses: ['TPL'] });
    dhl = await client({ name: 'dhl tracking', role: 'carrier', carrier: 'DHL' });
  });
  afterEach(() => hub.dispose());

  const page = async (path: string) => {
    const response = await hub.app.request(path);
    return { status: response.status, headers: response.headers, html: await response.text() };
  };

  it('shows the timeline, items, estimate and carrier link, and no personal data, under a strict CSP', async () => {
    const { orderId, shipmentId } = await shippedOrder(threePl);
    await scan(dhl, shipmentId, {
      carrierEventId: 'dhl-1',
      status: 'out_for_delivery',
      occurredAt: '2026-12-03T07:00:00Z',
      location: 'Amsterdam depot',
      estimatedDeliveryAt: '2026-12-03T18:00:00Z',
    });
    const order = await call(hub, 'GET', `/api/v1/orders/${orderId}`, { token: admin });
    const url = new URL(order.body.trackingUrl);
    expect(url.pathname).toMatch(/^\/track\/[A-Za-z0-9_-]{22}$/);
    const shown = await page(url.pathname);
    expect(shown.status).toBe(200);
    for (const text of [
      'Order DT-',
      'Oslo 3-seat sofa (grey)',
      'Out for delivery',
      'Amsterdam depot',
      'Shipped with DHL',
    ]) {
      expect(shown.html).toContain(text);
    }
    expect(shown.html).toContain('Expected Thursday 3 December');
    expect(shown.html).toContain('href="https://www.dhl.com/');
    expect(shown.html).toContain('Ada, here');
    expect(shown.html).toContain('Delivery to Amsterdam');
    for (const secret of ['ada@example.com', 'Lovelace', 'Keizersgracht', '1015 CJ', orderId]) {
      expect(shown.html).not.toContain(secret);
    }
    const csp = shown.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(shown.headers.get('referrer-policy')).toBe('no-referrer');
    expect(shown.headers.get('cache-control')).toBe('no-store');
  });

  it('answers every token that opens nothing with the same 404', async () => {
    await shippedOrder(threePl);
    const wellFormed = await page('/track/AAAAAAAAAAAAAAAAAAAAAA');
    const malformed = await page('/track/x');
    const injected = await page(`/track/${encodeURIComponent("' or 1=1 --")}`);
    expect([wellFormed.status, malformed.status, injected.status]).toEqual([404, 404, 404]);
    expect(malformed.html).toBe(wellFormed.html);
    expect(injected.html).toBe(wellFormed.html);
  });

  it('limits how fast one address may try tokens', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await page(`/track/guess${i.toString().padStart(18, '0')}`)).status);
    expect(statuses.slice(0, 30).every((status) => status === 404)).toBe(true);
    expect(statuses.slice(30).every((status) => status === 429)).toBe(true);
  });
});
