import {
  type ReturnFactBody,
  type StockEventBody,
  type UpstreamEvent,
  defaultReturnPolicy,
  newId,
} from '@dovetail/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPush } from '../sync/apply-push.ts';
import { type TestHub, adminToken, call, clientToken, sofa, startTestHub } from '../testing/harness.ts';

/**
 * Returns and refunds at the hub, on both adapters: what may be returned (shipped, not already being
 * returned, within the window), authorization by policy or by an agent, rejection, the warehouse's
 * receipt arriving as a fact in its upstream stream (exactly once), refunds ≤ paid and idempotent by
 * reference, and another storefront seeing none of it.
 *
 * Orders ship from a 3PL (TPL) through the API; returns go to the edge warehouse AMS, the only one
 * that accepts returns.
 */

let hub: TestHub;
let admin: string;
let clock: number;
const dayMs = 86_400_000;
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

describe.each(['sqlite', 'postgres'] as const)('returns and refunds on %s', (adapter) => {
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

  it('returns only what shipped and is not already being returned, authorized by policy', async () => {
    const order = await shippedOrder(shop, threePl, 2);
    const first = await requestReturn(shop, order.id, [{ sku, quantity: 1, reason: 'changed_mind' }]);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'authorized', warehouseId: 'AMS', orderId: order.id });
    expect(first.body.lines).toEqual([
      { sku, quantity: 1, reason: 'changed_mind', unitPrice: 129_900, restocked: 0, damaged: 0, missing: 0 },
    ]);
    expect((await call(hub, 'GET', `/api/v1/orders/${order.id}`, { token: shop })).body.status).toBe(
      'return_requested',
    );
    const over = await requestReturn(shop, order.id, [{ sku, quantity: 2, reason: 'changed_mind' }]);
    expect(over.status).toBe(409);
    expect(over.body.error).toMatchObject({ code: 'exceeds_returnable', details: { sku, returnable: 1 } });
    expect(over.body.error.message).toContain(sku);
    const unknown = await requestReturn(shop, order.id, [{ sku: 'SOFA-1-SAND', quantity: 1, reason: 'other' }]);
    expect(unknown.status).toBe(409);
    // The authorized return is on its warehouse's channel.
    const log = await hub.storage.db
      .selectFrom('downstream_log')
      .select(['type'])
      .where('channel', '=', 'warehouse:AMS')
      .where('type', '=', 'return.authorized')
      .execute();
    expect(log).toHaveLength(1);
  });

  it('refuses a return after the window, counted from shipment when nothing was delivered', async () => {
    const order = await shippedOrder(shop, threePl, 1);
    clock += 31 * dayMs;
    shop = await renewed(shop);
    const late = await requestReturn(shop, order.id, [{ sku, quantity: 1, reason: 'changed_mind' }]);
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('return_window_closed');
    hub.deps.returns = { ...hub.deps.returns, windowDays: 60 };
    expect((await requestReturn(shop, order.id, [{ sku, quantity: 1, reason: 'changed_mind' }])).status).toBe(201);
  });

  it('leaves a return for an agent when policy does not authorize it; the agent authorizes or rejects', async () => {
    const order = await shippedOrder(shop, threePl, 2);
    const pending = await requestReturn(shop, order.id, [{ sku, quantity: 1, reason: 'other' }], 'the colour');
    expect(pending.body).toMatchObject({ status: 'requested', note: 'the colour' });
    hub.deps.returns = { ...hub.deps.returns, autoAuthorizeValueMax: 1_000 };
    clock += 1_000;
    const costly = await requestReturn(shop, order.id, [{ sku, quantity: 1, reason: 'changed_mind' }]);
    expect(costly.body.status).toBe('requested');
    expect(
      (await call(hub, 'POST', `/api/v1/returns/${pending.body.id}/authorize`, { token: shop, body: {} })).status,
    ).toBe(403);
    const authorized = await call(hub, 'POST', `/api/v1/returns/${pending.body.id}/authorize`, {
      token: admin,
      body: {},
    });
    expect(authorized.status).toBe(200);
    expect(authorized.body.status).toBe('authorized');
    const rejected = await call(hub, 'POST', `/api/v1/returns/${costly.body.id}/reject`, {
      token: admin,
      body: { reason: 'outside policy' },
    });
    expect(rejected.body).toMatchObject({ status: 'rejected', decisionNote: 'outside policy' });
    const again = await call(hub, 'POST', `/api/v1/returns/${pending.body.id}/reject`, {
      token: admin,
      body: { reason: 'too late' },
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'transition_not_allowed', details: { status: 'authorized' } });
    // A rejected return frees its units to be asked for again.
    clock += 1_000;
    expect((await requestReturn(shop, order.id, [{ sku, quantity: 1, reason: 'wrong_size' }])).status).toBe(201);
    const listed = await call(hub, 'GET', `/api/v1/returns?orderId=${order.id}`, { token: shop });
    expect(listed.body.items.map((item: { status: string }) => item.status)).toEqual([
      'requested',
      'rejected',
      'authorized',
    ]);
    const page = await call(hub, 'GET', `/api/v1/returns?orderId=${order.id}&limit=2`, { token: shop });
    const next = await call(hub, 'GET', `/api/v1/returns?orderId=${order.id}&cursor=${page.body.nextCursor}`, {
      token: shop,
    });
    expect(next.body.items.map((item: { id: string }) => item.id)).toEqual([pending.body.id]);
  });

  it('applies the warehouse receipt once: restocked and damaged on hand, the return closed, the order returned', async () => {
    const order = await shippedOrder(shop, threePl, 2);
    await call(hub, 'POST', '/api/v1/webhooks', {
      token: admin,
      body: { url: 'http://127.0.0.1:9/hooks', events: ['return.received', 'return.closed'] },
    });
    const rma = (await requestReturn(shop, order.id, [{ sku, quantity: 2, reason: 'defective' }])).body;
    const receipt = [
      { type: 'return_restock', sku, quantity: 1, rma: rma.id, condition: 'sellable', bin: 'R-01' },
      { type: 'return_restock', sku, quantity: 1, rma: rma.id, condition: 'damaged' },
      {
        type: 'return_received',
        returnId: rma.id,
        lines: [
          { sku, quantity: 1, disposition: 'restock' },
          { sku, quantity: 1, disposition: 'damaged' },
        ],
      },
    ] as Array<StockEventBody | ReturnFactBody>;
    const { result, events } = await push(receipt);
    expect(result).toMatchObject({ upstreamAck: 3, applied: 3, rejected: [] });
    // The same events again (a lost ack): duplicates, nothing applied twice.
    const replay = await applyPush(hub.storage.db, {
      dialect: hub.storage.dialect,
      warehouseId: 'AMS',
      edgeId: 'edge-ams',
      events: events.map((event, index) => ({ seq: index + 1, event })),
      nowMs: clock,
    });
    expect(replay).toMatchObject({ upstreamAck: 3, duplicates: 3, applied: 0 });
    const view = (await call(hub, 'GET', `/api/v1/returns/${rma.id}`, { token: shop })).body;
    expect(view).toMatchObject({ status: 'closed' });
    expect(view.lines[0]).toMatchObject({ restocked: 1, damaged: 1, missing: 0 });
    const stock = await call(hub, 'GET', '/api/v1/inventory/SOFA-1', { token: admin });
    const ams = stock.body.warehouses.find((w: { warehouseId: string }) => w.warehouseId === 'AMS');
    expect(ams).toMatchObject({ onHand: 2, damaged: 1, available: 1 });
    expect((await call(hub, 'GET', `/api/v1/orders/${order.id}`, { token: shop })).body.status).toBe('returned');
    const emitted = await hub.storage.db
      .selectFrom('webhook_events')
      .select(['type', 'body'])
      .where('type', 'in', ['return.received', 'return.closed'])
      .orderBy('created_at')
      .execute();
    expect(emitted.map((row) => row.type).sort()).toEqual(['return.closed', 'return.received']);
    const received = JSON.parse(emitted.find((row) => row.type === 'return.received')?.body ?? '{}');
    expect(received.data).toMatchObject({ receivedAmount: 259_800, currency: 'EUR', amount: 259_800 });
    // More than authorized is refused durably, and changes nothing.
    const over = await push([
      { type: 'return_received', returnId: rma.id, lines: [{ sku, quantity: 1, disposition: 'missing' }] },
    ]);
    expect(over.result.rejected[0]?.reason).toBe('return_state_conflict');
  });

  it('records refunds up to what was paid, once per reference', async () => {
    const order = await shippedOrder(shop, threePl, 1);
    const body = { amount: 100_000, currency: 'EUR', reference: 're_1' };
    const first = await call(hub, 'POST', `/api/v1/orders/${order.id}/refunds`, { token: shop, body });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ amount: 100_000, refundedTotal: 100_000, paid: order.total });
    const repeat = await call(hub, 'POST', `/api/v1/orders/${order.id}/refunds`, { token: shop, body });
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(first.body.id);
    const reused = await call(hub, 'POST', `/api/v1/orders/${order.id}/refunds`, {
      token: shop,
      body: { ...body, amount: 1 },
    });
    expect(reused.body.error.code).toBe('refund_reference_reused');
    const over = await call(hub, 'POST', `/api/v1/orders/${order.id}/refunds`, {
      token: shop,
      body: { amount: order.total - 100_000 + 1, currency: 'EUR', reference: 're_2' },
    });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('refund_exceeds_payment');
    const rest = await call(hub, 'POST', `/api/v1/orders/${order.id}/refunds`, {
      token: shop,
      body: { amount: order.total - 100_000, currency: 'EUR', reference: 're_2' },
    });
    expect(rest.body.refundedTotal).toBe(order.total);
    const wrongCurrency = await call(hub, 'POST', `/api/v1/orders/${order.id}/refunds`, {
      token: shop,
      body: { amount: 1, currency: 'USD', reference: 're_3' },
    });
    expect(wrongCurrency.status).toBe(422);
  });

  it('shows another storefront nothing: its calls are 404', async () => {
    const order = await shippedOrder(shop, threePl, 1);
    const rma = (await requestReturn(shop, order.id, [{ sku, quantity: 1, reason: 'changed_mind' }])).body;
    expect((await requestReturn(otherShop, order.id, [{ sku, quantity: 1, reason: 'changed_mind' }])).status).toBe(404);
    expect((await call(hub, 'GET', `/api/v1/returns/${rma.id}`, { token: otherShop })).status).toBe(404);
    expect((await call(hub, 'GET', '/api/v1/returns', { token: otherShop })).body.items).toEqual([]);
    const refund = await call(hub, 'POST', `/api/v1/orders/${order.id}/refunds`, {
      token: otherShop,
      body: { amount: 1, currency: 'EUR', reference: 'x' },
    });
    expect(refund.status).toBe(404);
  });
});
