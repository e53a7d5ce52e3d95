import {
  defaultReturnPolicy,
  newId,
  type ReturnFactBody,
  type StockEventBody,
  type UpstreamEvent,
} from '@dovetail/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPush } from '../sync/apply-push.ts';
import { adminToken, call, clientToken, sofa, startTestHub, type TestHub } from '../testing/harness.ts';
import { expireExchanges } from './exchanges.ts';

/**
 * Exchanges and the rest of the return table at the hub, on both adapters: the replacement is held
 * at once and goes to fulfillment when the warehouse's receipt arrives (or at once with advance
 * exchange, by policy or by an agent's choice), an exchange whose return does not arrive in time is
 * canceled with its hold by the hub's pass, a rejected return cancels its exchange; and a return
 * marked in transit (by an agent or its carrier) or canceled (its warehouse told to stop expecting it).
 *
 * Orders ship from a 3PL (TPL) through the API; returns go to the edge warehouse AMS, the only one
 * that accepts returns; replacements are held at TPL, the only one with stock.
 */

let hub: TestHub;
let admin: string;
let clock: number;
const sku = 'SOFA-1';

const credentials = new Map<string, { id: string; secret: string }>();

async function client(body: Record<string, unknown>): Promise<string> {
  const created = await call(hub, 'POST', '/api/v1/clients', { token: admin, body });
  expect(created.status).toBe(201);
  const token = await clientToken(hub, created.body.clientId, created.body.clientSecret);
  credentials.set(token, { id: created.body.clientId, secret: created.body.clientSecret });
  return token;
}

/** A fresh token for the client behind `token` (after the clock moved past its expiry). */
async function renewed(token: string): Promise<string> {
  const known = credentials.get(token);
  if (!known) throw new Error('unknown client');
  return clientToken(hub, known.id, known.secret);
}

/** An order of `quantity` SOFA-1 placed by `token`, paid, and shipped whole by the 3PL. */
async function shippedOrder(token: string, threePl: string, quantity = 2): Promise<{ id: string; total: number }> {
  const placed = await call(hub, 'POST', '/api/v1/orders', {
    token,
    body: {
      customer: { email: 'ada@example.com', name: 'Ada Lovelace' },
      shippingAddress: { line1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' },
      lines: [{ sku, quantity }],
    },
  });
  expect(placed.status).toBe(201);
  const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
    token,
    body: { reference: `psp-${placed.body.id}` },
  });
  expect(paid.status).toBe(200);
  const fulfillmentId = paid.body.fulfillments[0].id;
  await call(hub, 'POST', `/api/v1/fulfillment-orders/${fulfillmentId}/accept`, { token: threePl, body: {} });
  const shipped = await call(hub, 'POST', `/api/v1/fulfillment-orders/${fulfillmentId}/ship`, {
    token: threePl,
    body: { carrier: 'DHL', trackingNumber: 'JD014600003812345678' },
  });
  expect(shipped.status).toBe(200);
  return { id: placed.body.id, total: paid.body.total };
}

const requestReturn = (token: string, orderId: string, lines: unknown[], note?: string) =>
  call(hub, 'POST', `/api/v1/orders/${orderId}/return`, { token, body: { lines, ...(note ? { note } : {}) } });

let hlcCounter = 0;
const header = () => ({
  id: newId(),
  warehouseId: 'AMS',
  hlc: `${String(clock).padStart(13, '0')}-${String(hlcCounter++).padStart(4, '0')}-edge`,
  atMs: clock,
  actor: 'lead',
});
let nextSeq = 1;
async function push(events: Array<StockEventBody | ReturnFactBody>) {
  const numbered = events.map((body) => ({ seq: 0, event: { ...header(), ...body } as UpstreamEvent }));
  const result = await applyPush(hub.storage.db, {
    dialect: hub.storage.dialect,
    warehouseId: 'AMS',
    edgeId: 'edge-ams',
    events: numbered.map((entry, index) => ({ seq: nextSeq + index, event: entry.event })),
    nowMs: clock,
  });
  nextSeq = result.upstreamAck + 1;
  return { result, events: numbered.map((entry) => entry.event) };
}

const exchange = (token: string, orderId: string, body: Record<string, unknown>) =>
  call(hub, 'POST', `/api/v1/orders/${orderId}/exchange`, { token, body });

const oneForOne = {
  returnLines: [{ sku, quantity: 1, reason: 'wrong_size' }],
  newLines: [{ sku, quantity: 1 }],
};

/** TPL's available SOFA-1 as the hub's inventory view shows it. */
async function availableAtTpl(): Promise<number> {
  const stock = await call(hub, 'GET', `/api/v1/inventory/${sku}`, { token: admin });
  return stock.body.warehouses.find((w: { warehouseId: string }) => w.warehouseId === 'TPL').available;
}

async function emittedTypes(prefix: string): Promise<string[]> {
  const rows = await hub.storage.db
    .selectFrom('webhook_events')
    .select('type')
    .where('type', 'like', `${prefix}%`)
    .orderBy('created_at')
    .execute();
  return rows.map((row) => row.type);
}

async function downstream(type: string): Promise<number> {
  const rows = await hub.storage.db
    .selectFrom('downstream_log')
    .select('type')
    .where('channel', '=', 'warehouse:AMS')
    .where('type', '=', type)
    .execute();
  return rows.length;
}

describe.each(['sqlite', 'postgres'] as const)('exchanges and return transitions on %s', (adapter) => {
  let threePl: string;
  let shop: string;
  let otherShop: string;

  beforeEach(async () => {
    clock = Date.parse('2026-12-01T09:00:00Z');
    nextSeq = 1;
    hub = await startTestHub(adapter, { nowMs: () => clock, webhooks: { allowPrivate: true } });
    hub.deps.returns = { ...defaultReturnPolicy, autoAuthorizeValueMax: 1_000_000 };
    admin = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa(sku) })).status).toBe(201);
    await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id: 'TPL', name: 'Partner', kind: '3pl', location: { lat: 52.37, lon: 4.89 } },
    });
    await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id: 'AMS', name: 'Amsterdam', kind: 'warehouse', location: { lat: 52.3, lon: 4.8 } },
    });
    await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/SOFA-1', { token: admin, body: { onHand: 20 } });
    threePl = await client({ name: 'partner', role: '3pl', warehouses: ['TPL'] });
    shop = await client({ name: 'shop', role: 'storefront' });
    otherShop = await client({ name: 'other shop', role: 'storefront' });
    await hub.storage.db
      .insertInto('edge_streams')
      .values({
        warehouse_id: 'AMS',
        edge_id: 'edge-ams',
        epoch: 1,
        applied_seq: 0,
        last_seq: 0,
        connected_at: clock,
        last_seen_at: clock,
        cursors_json: '{}',
        last_applied_at: null,
        last_event_at: null,
      })
      .execute();
  });
  afterEach(() => hub.dispose());

  beforeEach(async () => {
    // Events are recorded for endpoints that subscribe to them.
    const subscribed = await call(hub, 'POST', '/api/v1/webhooks', {
      token: admin,
      body: {
        url: 'http://127.0.0.1:9/hooks',
        events: [
          'return.requested',
          'return.authorized',
          'return.in_transit',
          'return.canceled',
          'exchange.created',
          'exchange.released',
          'exchange.canceled',
        ],
      },
    });
    expect(subscribed.status).toBe(201);
  });

  it('holds the replacement at once and sends it to fulfillment when the return is received', async () => {
    const order = await shippedOrder(shop, threePl, 2);
    const before = await availableAtTpl();
    const created = await exchange(shop, order.id, oneForOne);
    expect(created.status).toBe(201);
    const { exchange: made, return: rma } = created.body;
    expect(made).toMatchObject({ status: 'awaiting_return', advance: false, orderId: order.id, returnId: rma.id });
    expect(rma).toMatchObject({ status: 'authorized', warehouseId: 'AMS', exchangeId: made.id });
    expect(await availableAtTpl()).toBe(before - 1);
    const replacement = await call(hub, 'GET', `/api/v1/orders/${made.replacementOrderId}`, { token: shop });
    expect(replacement.body).toMatchObject({ status: 'pending_payment', lines: [{ sku, quantity: 1 }] });
    // The hold outlives the window: the hub cancels the exchange before it could lapse.
    expect(Date.parse(replacement.body.expiresAt)).toBeGreaterThan(Date.parse(made.dueAt));
    // Paying for it does not jump the queue; choosing advance exchange is an agent's call.
    const paid = await call(hub, 'POST', `/api/v1/orders/${made.replacementOrderId}/payment`, {
      token: shop,
      body: { reference: 'psp-early' },
    });
    expect(paid.status).toBe(409);
    expect(paid.body.error.code).toBe('exchange_awaiting_return');
    expect((await exchange(shop, order.id, { ...oneForOne, advance: true })).status).toBe(403);
    // More than may still be returned: refused, and the hold it took is given back.
    const over = await exchange(shop, order.id, { ...oneForOne, returnLines: [{ sku, quantity: 2, reason: 'other' }] });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('exceeds_returnable');
    expect(await availableAtTpl()).toBe(before - 1);

    const receipt = [
      { type: 'return_restock', sku, quantity: 1, rma: rma.id, condition: 'sellable' },
      { type: 'return_received', returnId: rma.id, lines: [{ sku, quantity: 1, disposition: 'restock' }] },
    ] as Array<StockEventBody | ReturnFactBody>;
    const { result } = await push(receipt);
    expect(result).toMatchObject({ applied: 2, rejected: [] });
    const released = await call(hub, 'GET', `/api/v1/exchanges/${made.id}`, { token: shop });
    expect(released.body.status).toBe('released');
    const shipping = await call(hub, 'GET', `/api/v1/orders/${made.replacementOrderId}`, { token: shop });
    expect(shipping.body.status).toBe('processing');
    expect(shipping.body.fulfillments).toHaveLength(1);
    expect(shipping.body.fulfillments[0].warehouseId).toBe('TPL');
    // Held units became the committed allocation: available did not move again.
    expect(await availableAtTpl()).toBe(before - 1);
    expect(await emittedTypes('exchange.')).toEqual(['exchange.created', 'exchange.released']);
    expect((await call(hub, 'GET', `/api/v1/exchanges/${made.id}`, { token: otherShop })).status).toBe(404);
    // Released like a payment, but nobody paid for it: nothing to refund there.
    const refund = await call(hub, 'POST', `/api/v1/orders/${made.replacementOrderId}/refunds`, {
      token: shop,
      body: { amount: 1, currency: 'EUR', reference: 're_x' },
    });
    expect(refund.status).toBe(409);
    expect(refund.body.error.code).toBe('order_not_paid');
  });

  it('ships the replacement at once under advance exchange: by policy, or by an agent', async () => {
    const order = await shippedOrder(shop, threePl, 2);
    const byAgent = await exchange(admin, order.id, { ...oneForOne, advance: true });
    expect(byAgent.status).toBe(201);
    expect(byAgent.body.exchange).toMatchObject({ status: 'released', advance: true });
    const first = await call(hub, 'GET', `/api/v1/orders/${byAgent.body.exchange.replacementOrderId}`, {
      token: admin,
    });
    expect(first.body.status).toBe('processing');
    hub.deps.returns = { ...hub.deps.returns, advanceExchange: true };
    clock += 1_000;
    const byPolicy = await exchange(shop, order.id, oneForOne);
    expect(byPolicy.body.exchange).toMatchObject({ status: 'released', advance: true });
    // The return still comes back as usual; its receipt changes nothing for a released exchange.
    const rma = byPolicy.body.return;
    const { result } = await push([
      { type: 'return_restock', sku, quantity: 1, rma: rma.id, condition: 'sellable' },
      { type: 'return_received', returnId: rma.id, lines: [{ sku, quantity: 1, disposition: 'restock' }] },
    ] as Array<StockEventBody | ReturnFactBody>);
    expect(result.rejected).toEqual([]);
    expect((await call(hub, 'GET', `/api/v1/returns/${rma.id}`, { token: shop })).body.status).toBe('closed');
    expect(await emittedTypes('exchange.')).toEqual([
      'exchange.created',
      'exchange.released',
      'exchange.created',
      'exchange.released',
    ]);
  });

  it('cancels an exchange whose return did not arrive in time: hold released, warehouse told', async () => {
    const order = await shippedOrder(shop, threePl, 2);
    const before = await availableAtTpl();
    const made = (await exchange(shop, order.id, oneForOne)).body.exchange;
    expect(await expireExchanges(hub.storage.db, hub.storage.dialect, clock)).toBe(0);
    clock = Date.parse(made.dueAt);
    // A month later the first endpoint may have been disabled for failing: one that listens now.
    admin = await adminToken(hub);
    await call(hub, 'POST', '/api/v1/webhooks', {
      token: admin,
      body: { url: 'http://127.0.0.1:9/later', events: ['exchange.canceled'] },
    });
    expect(await expireExchanges(hub.storage.db, hub.storage.dialect, clock)).toBe(1);
    expect(await expireExchanges(hub.storage.db, hub.storage.dialect, clock)).toBe(0);
    shop = await renewed(shop);
    expect((await call(hub, 'GET', `/api/v1/exchanges/${made.id}`, { token: shop })).body.status).toBe('canceled');
    expect((await call(hub, 'GET', `/api/v1/returns/${made.returnId}`, { token: shop })).body.status).toBe('canceled');
    const replacement = await call(hub, 'GET', `/api/v1/orders/${made.replacementOrderId}`, { token: shop });
    expect(replacement.body.status).toBe('canceled');
    const hold = await hub.storage.db
      .selectFrom('holds')
      .select('status')
      .where('id', '=', replacement.body.holdId)
      .executeTakeFirstOrThrow();
    expect(hold.status).toBe('released');
    expect(await availableAtTpl()).toBe(before);
    expect(await downstream('return.canceled')).toBe(1);
    expect(await emittedTypes('exchange.canceled')).toHaveLength(1);
  });

  it('cancels the exchange with its return when an agent rejects the return', async () => {
    hub.deps.returns = { ...hub.deps.returns, autoAuthorizeValueMax: 0 };
    const order = await shippedOrder(shop, threePl, 2);
    const before = await availableAtTpl();
    const made = (await exchange(shop, order.id, oneForOne)).body;
    expect(made.return.status).toBe('requested');
    const rejected = await call(hub, 'POST', `/api/v1/returns/${made.return.id}/reject`, {
      token: admin,
      body: { reason: 'worn' },
    });
    expect(rejected.body.status).toBe('rejected');
    expect((await call(hub, 'GET', `/api/v1/exchanges/${made.exchange.id}`, { token: shop })).body.status).toBe(
      'canceled',
    );
    expect(await availableAtTpl()).toBe(before);
    // Nothing was authorized, so the warehouse was never told to expect it, nor to stop.
    expect(await downstream('return.canceled')).toBe(0);
  });

  it('marks a return in transit (an agent, or its own carrier) and cancels one not yet on its way', async () => {
    const order = await shippedOrder(shop, threePl, 2);
    const dhl = await client({ name: 'dhl returns', role: 'carrier', carrier: 'DHL' });
    const first = (await requestReturn(shop, order.id, [{ sku, quantity: 1, reason: 'changed_mind' }])).body;
    const path = `/api/v1/returns/${first.id}/in-transit`;
    const tracking = { carrier: 'DHL', trackingNumber: 'JD014600003812349999' };
    expect((await call(hub, 'POST', path, { token: shop, body: tracking })).status).toBe(403);
    const otherCarrier = await call(hub, 'POST', path, { token: dhl, body: { ...tracking, carrier: 'UPS' } });
    expect(otherCarrier.status).toBe(403);
    expect((await call(hub, 'POST', path, { token: dhl, body: { carrier: 'DHL' } })).status).toBe(400);
    const moving = await call(hub, 'POST', path, { token: dhl, body: tracking });
    expect(moving.status).toBe(200);
    expect(moving.body).toMatchObject({
      status: 'in_transit',
      carrier: 'DHL',
      trackingNumber: tracking.trackingNumber,
    });
    const again = await call(hub, 'POST', path, { token: admin, body: {} });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'transition_not_allowed', details: { status: 'in_transit' } });
    const late = await call(hub, 'POST', `/api/v1/returns/${first.id}/cancel`, {
      token: shop,
      body: { reason: 'kept it' },
    });
    expect(late.status).toBe(409);

    clock += 1_000;
    const second = (await requestReturn(shop, order.id, [{ sku, quantity: 1, reason: 'changed_mind' }])).body;
    const cancelPath = `/api/v1/returns/${second.id}/cancel`;
    expect((await call(hub, 'POST', cancelPath, { token: otherShop, body: { reason: 'x' } })).status).toBe(404);
    expect((await call(hub, 'POST', cancelPath, { token: shop, body: {} })).status).toBe(400);
    const canceled = await call(hub, 'POST', cancelPath, { token: shop, body: { reason: 'kept it' } });
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ status: 'canceled', decisionNote: 'kept it' });
    expect((await call(hub, 'POST', cancelPath, { token: admin, body: { reason: 'twice' } })).status).toBe(409);
    expect(await downstream('return.canceled')).toBe(1);
    expect(await emittedTypes('return.')).toEqual([
      'return.requested',
      'return.authorized',
      'return.in_transit',
      'return.requested',
      'return.authorized',
      'return.canceled',
    ]);
    // A canceled return frees its units to be asked for again.
    clock += 1_000;
    expect((await requestReturn(shop, order.id, [{ sku, quantity: 1, reason: 'wrong_size' }])).status).toBe(201);
  });
});
