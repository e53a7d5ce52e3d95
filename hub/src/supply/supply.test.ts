import { newId, type StockEventBody, type UpstreamEvent, supplyReference } from '@dovetail/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPush } from '../sync/apply-push.ts';
import { adminToken, call, clientToken, startTestHub, type TestHub } from '../testing/harness.ts';

/**
 * Pre-orders and made-to-order (docs/catalog.md), on both adapters: a purchase order raises
 * `incoming`; a hold takes the shelf first and the rest from incoming up to the SKU's pre-order cap;
 * the order waits, and a receipt against the purchase order (a `receive` pushed on the edge's stream
 * whose reference names it) makes its units committed and opens the fulfillment order. A
 * made-to-order line becomes a production request, allocated when the finished units are received.
 */

let hub: TestHub;
let token: string;
let clock: number;
let nextSeq: number;
let edgeId: string;

const day = 86_400_000;
const customer = { email: 'ines@example.com', name: 'Inès Laurent' };
const shippingAddress = { line1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' };
const chair = {
  name: 'Oslo chair',
  category: 'chair',
  basePrice: 20_000,
  currency: 'EUR',
  variants: [{ sku: 'CHAIR-PRE', options: { model: 'chair' }, preorderCap: 4 }],
};
const sofa = {
  name: 'Oslo sofa',
  category: 'sofa',
  basePrice: 100_000,
  currency: 'EUR',
  configurableOptions: [
    {
      name: 'fabric',
      type: 'choice',
      choices: [
        { value: 'linen', priceDelta: 0 },
        { value: 'boucle', priceDelta: 15_000, leadTimeDays: 7 },
      ],
    },
  ],
  variants: [
    {
      sku: 'SOFA-MTO',
      options: { model: 'sofa' },
      fulfillment: 'made_to_order',
      leadTimeDays: 21,
      productionWarehouseId: 'W1',
    },
  ],
};

async function push(events: StockEventBody[]) {
  const result = await applyPush(hub.storage.db, {
    dialect: hub.storage.dialect,
    warehouseId: 'W1',
    edgeId,
    events: events.map((body, index) => ({
      seq: nextSeq + index,
      event: {
        id: newId(),
        warehouseId: 'W1',
        hlc: `${String(clock).padStart(13, '0')}-${String(nextSeq + index).padStart(4, '0')}-edge`,
        atMs: clock,
        actor: 'lead',
        ...body,
      } as UpstreamEvent,
    })),
    nowMs: clock,
  });
  expect(result.rejected).toEqual([]);
  nextSeq = result.upstreamAck + 1;
}

/** What the edge pushes as it picks, packs and ships a whole fulfillment order of one line. */
const shipAll = (fulfillmentId: string, sku: string, quantity: number) =>
  push([
    { type: 'pick', sku, quantity, fulfillmentId },
    {
      type: 'fulfillment_packed',
      fulfillmentId,
      packages: [{ weightGrams: 30_000, lengthMm: 2_000, widthMm: 900, heightMm: 800 }],
    } as unknown as StockEventBody,
    { type: 'ship', sku, quantity, fulfillmentId },
    {
      type: 'fulfillment_shipped',
      fulfillmentId,
      shipmentId: newId(),
      carrier: 'DHL',
      trackingNumber: `JD-${fulfillmentId.slice(0, 8)}`,
      lines: [{ sku, quantity }],
    } as unknown as StockEventBody,
  ]);

const partition = async (sku: string) =>
  hub.storage.db
    .selectFrom('stock_partitions')
    .select(['on_hand', 'committed', 'reserved', 'incoming', 'preordered'])
    .where('warehouse_id', '=', 'W1')
    .where('sku', '=', sku)
    .executeTakeFirstOrThrow()
    .then((row) => ({
      onHand: Number(row.on_hand),
      committed: Number(row.committed),
      reserved: Number(row.reserved),
      incoming: Number(row.incoming),
      preordered: Number(row.preordered),
    }));

async function placeAndPay(lines: unknown) {
  const placed = await call(hub, 'POST', '/api/v1/orders', { token, body: { customer, shippingAddress, lines } });
  expect(placed.status, JSON.stringify(placed.body)).toBe(201);
  const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
    token,
    body: { reference: 'psp_1' },
  });
  expect(paid.status, JSON.stringify(paid.body)).toBe(200);
  return paid.body;
}

describe.each(['sqlite', 'postgres'] as const)('supply on %s', (adapter) => {
  beforeEach(async () => {
    clock = Date.parse('2026-03-01T10:00:00Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    token = await adminToken(hub);
    await call(hub, 'POST', '/api/v1/warehouses', {
      token,
      body: { id: 'W1', name: 'W1', kind: 'warehouse', location: { lat: 52.37, lon: 4.89 } },
    });
    for (const product of [chair, sofa])
      expect((await call(hub, 'POST', '/api/v1/products', { token, body: product })).status).toBe(201);
    edgeId = newId();
    nextSeq = 1;
    await hub.storage.db
      .insertInto('edge_streams')
      .values({
        warehouse_id: 'W1',
        edge_id: edgeId,
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
    await push([{ type: 'receive', sku: 'CHAIR-PRE', quantity: 2 }]);
  });
  afterEach(async () => {
    await hub.dispose();
  });

  it('pre-orders against a purchase order up to the cap, then ships them once received', async () => {
    const expectedAt = new Date(clock + 10 * day).toISOString();
    const po = await call(hub, 'POST', '/api/v1/purchase-orders', {
      token,
      body: { warehouseId: 'W1', supplier: 'Fabrika', expectedAt, lines: [{ sku: 'CHAIR-PRE', quantity: 10 }] },
    });
    expect(po.status, JSON.stringify(po.body)).toBe(201);
    expect(po.body).toMatchObject({ status: 'open', lines: [{ sku: 'CHAIR-PRE', quantity: 10, received: 0 }] });
    expect(await partition('CHAIR-PRE')).toMatchObject({ onHand: 2, incoming: 10, preordered: 0 });

    // 2 on the shelf + at most 4 of the incoming 10: 7 is refused, 5 is 2 held and 3 pre-ordered.
    const tooMany = await call(hub, 'POST', '/api/v1/inventory/reserve', {
      token,
      body: { lines: [{ sku: 'CHAIR-PRE', quantity: 7 }] },
    });
    expect(tooMany.status).toBe(409);
    expect(tooMany.body.error).toMatchObject({ code: 'insufficient_stock', details: { available: 6 } });
    expect(await partition('CHAIR-PRE')).toMatchObject({ reserved: 0, preordered: 0 });

    const order = await placeAndPay([{ sku: 'CHAIR-PRE', quantity: 5 }]);
    expect(order.status).toBe('processing');
    expect(order.lines).toMatchObject([{ sku: 'CHAIR-PRE', quantity: 5 }]);
    expect(order.allocations).toMatchObject([{ sku: 'CHAIR-PRE', quantity: 2, status: 'committed' }]);
    expect(order.supply.promises).toMatchObject([
      { kind: 'preorder', sku: 'CHAIR-PRE', quantity: 3, remaining: 3, status: 'waiting', expectedAt },
    ]);
    expect(order.expectedShipAt).toBe(expectedAt);
    expect(await partition('CHAIR-PRE')).toMatchObject({ committed: 2, reserved: 0, preordered: 3 });

    // Cancelling the purchase order would leave pre-orders without supply.
    const refused = await call(hub, 'POST', `/api/v1/purchase-orders/${po.body.id}/cancel`, { token });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('preorders_depend_on_it');

    // The first shipment (the shelf part) does not make the order shipped: 3 units still wait.
    const first = order.fulfillments[0].id as string;
    await shipAll(first, 'CHAIR-PRE', 2);
    expect((await call(hub, 'GET', `/api/v1/orders/${order.id}`, { token })).body.status).toBe('partially_shipped');

    // The edge receives 4 against the purchase order: 3 go to the order, 1 is ordinary stock.
    clock += 9 * day;
    token = await adminToken(hub);
    await push([
      { type: 'receive', sku: 'CHAIR-PRE', quantity: 4, reference: supplyReference('purchase_order', po.body.id) },
    ]);
    expect(await partition('CHAIR-PRE')).toMatchObject({ onHand: 4, incoming: 6, preordered: 0, committed: 3 });
    const received = await call(hub, 'GET', `/api/v1/purchase-orders/${po.body.id}`, { token });
    expect(received.status, JSON.stringify(received.body)).toBe(200);
    expect(received.body.lines).toMatchObject([{ received: 4 }]);
    const waiting = (await call(hub, 'GET', `/api/v1/orders/${order.id}`, { token })).body;
    expect(waiting.supply.promises).toMatchObject([{ remaining: 0, status: 'supplied' }]);
    expect(waiting.expectedShipAt).toBeUndefined();
    const second = waiting.fulfillments.find((entry: { id: string }) => entry.id !== first);
    expect(waiting.allocations).toContainEqual(
      expect.objectContaining({ sku: 'CHAIR-PRE', quantity: 3, status: 'committed', fulfillmentId: second.id }),
    );
    await shipAll(second.id, 'CHAIR-PRE', 3);
    expect((await call(hub, 'GET', `/api/v1/orders/${order.id}`, { token })).body.status).toBe('shipped');
    expect(await partition('CHAIR-PRE')).toMatchObject({ onHand: 1, committed: 0, preordered: 0 });
  });

  it('lists purchase orders newest first a page at a time, and refuses a cursor it did not give', async () => {
    const created: string[] = [];
    for (const quantity of [1, 2, 3]) {
      const po = await call(hub, 'POST', '/api/v1/purchase-orders', {
        token,
        body: {
          warehouseId: 'W1',
          expectedAt: new Date(clock + 5 * day).toISOString(),
          lines: [{ sku: 'CHAIR-PRE', quantity }],
        },
      });
      expect(po.status).toBe(201);
      created.push(po.body.id);
      clock += 1_000;
    }
    const first = await call(hub, 'GET', '/api/v1/purchase-orders?limit=2', { token });
    expect(first.body.items.map((po: { id: string }) => po.id)).toEqual([created[2], created[1]]);
    const second = await call(hub, 'GET', `/api/v1/purchase-orders?limit=2&cursor=${first.body.nextCursor}`, { token });
    expect(second.body.items.map((po: { id: string }) => po.id)).toEqual([created[0]]);
    expect(second.body.nextCursor).toBeNull();
    const bad = await call(hub, 'GET', '/api/v1/purchase-orders?cursor=bm90LWEtY3Vyc29y', { token });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_input');
  });

  it('gives pre-ordered units back when the hold is released or the paid order canceled', async () => {
    await call(hub, 'POST', '/api/v1/purchase-orders', {
      token,
      body: {
        warehouseId: 'W1',
        expectedAt: new Date(clock + 5 * day).toISOString(),
        lines: [{ sku: 'CHAIR-PRE', quantity: 3 }],
      },
    });
    const hold = await call(hub, 'POST', '/api/v1/inventory/reserve', {
      token,
      body: { lines: [{ sku: 'CHAIR-PRE', quantity: 4 }] },
    });
    expect(hold.status, JSON.stringify(hold.body)).toBe(201);
    expect(hold.body.promises).toMatchObject([{ kind: 'preorder', quantity: 2 }]);
    expect(await partition('CHAIR-PRE')).toMatchObject({ reserved: 2, preordered: 2 });
    await call(hub, 'POST', '/api/v1/inventory/release', { token, body: { holdId: hold.body.id } });
    expect(await partition('CHAIR-PRE')).toMatchObject({ reserved: 0, preordered: 0 });

    const order = await placeAndPay([{ sku: 'CHAIR-PRE', quantity: 3 }]);
    expect(await partition('CHAIR-PRE')).toMatchObject({ committed: 2, preordered: 1 });
    const canceled = await call(hub, 'POST', `/api/v1/orders/${order.id}/cancel`, { token, body: { reason: 'no' } });
    expect(canceled.status).toBe(200);
    expect(await partition('CHAIR-PRE')).toMatchObject({ preordered: 0 });
  });

  it('turns pre-ordered units received before payment into held ones, and refuses paying a released hold', async () => {
    const po = await call(hub, 'POST', '/api/v1/purchase-orders', {
      token,
      body: {
        warehouseId: 'W1',
        expectedAt: new Date(clock + 3 * day).toISOString(),
        lines: [{ sku: 'CHAIR-PRE', quantity: 4 }],
      },
    });
    const placed = await call(hub, 'POST', '/api/v1/orders', {
      token,
      body: { customer, shippingAddress, lines: [{ sku: 'CHAIR-PRE', quantity: 4 }] },
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expect(await partition('CHAIR-PRE')).toMatchObject({ reserved: 2, preordered: 2 });
    await push([
      { type: 'receive', sku: 'CHAIR-PRE', quantity: 1, reference: supplyReference('purchase_order', po.body.id) },
    ]);
    expect(await partition('CHAIR-PRE')).toMatchObject({ onHand: 3, incoming: 3, reserved: 3, preordered: 1 });
    const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
      token,
      body: { reference: 'psp_2' },
    });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    // The shelf unit and the one received are one line of one fulfillment order.
    expect(paid.body.allocations).toMatchObject([{ sku: 'CHAIR-PRE', quantity: 3, status: 'committed' }]);
    expect(paid.body.supply.promises).toMatchObject([{ quantity: 2, remaining: 1, status: 'waiting' }]);

    const again = await call(hub, 'POST', '/api/v1/orders', {
      token,
      body: { customer, shippingAddress, lines: [{ sku: 'CHAIR-PRE', quantity: 1 }] },
    });
    expect(again.body.supply.promises).toMatchObject([{ kind: 'preorder', quantity: 1, status: 'held' }]);
    await call(hub, 'POST', '/api/v1/inventory/release', { token, body: { holdId: again.body.holdId } });
    const refused = await call(hub, 'POST', `/api/v1/orders/${again.body.id}/payment`, {
      token,
      body: { reference: 'psp_3' },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('hold_expired');
    expect(await partition('CHAIR-PRE')).toMatchObject({ preordered: 1 });
  });

  it("counts pre-ordered units in the client's hold cap", async () => {
    await call(hub, 'POST', '/api/v1/purchase-orders', {
      token,
      body: {
        warehouseId: 'W1',
        expectedAt: new Date(clock + 3 * day).toISOString(),
        lines: [{ sku: 'CHAIR-PRE', quantity: 4 }],
      },
    });
    const created = await call(hub, 'POST', '/api/v1/clients', {
      token,
      body: { name: 'shop', role: 'storefront', holdUnitsPerSkuMax: 3 },
    });
    expect(created.status).toBe(201);
    const shop = await clientToken(hub, created.body.clientId, created.body.clientSecret);
    const reserve = (quantity: number) =>
      call(hub, 'POST', '/api/v1/inventory/reserve', {
        token: shop,
        body: { lines: [{ sku: 'CHAIR-PRE', quantity }] },
      });
    const tooMany = await reserve(4);
    expect(tooMany.status).toBe(409);
    expect(tooMany.body.error).toMatchObject({ code: 'hold_cap_exceeded', details: { cap: 3, held: 0, requested: 4 } });
    // 2 on the shelf and 1 pre-ordered: 3 held; one more is past the cap.
    expect((await reserve(3)).status).toBe(201);
    const more = await reserve(1);
    expect(more.status).toBe(409);
    expect(more.body.error).toMatchObject({ code: 'hold_cap_exceeded', details: { held: 3 } });
    expect(await partition('CHAIR-PRE')).toMatchObject({ reserved: 2, preordered: 1 });
  });

  it('keeps the supply fields of variants through a CSV export and import', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const csv = await (await hub.app.request('/api/v1/catalog/export?format=csv', { headers: auth })).text();
    const imported = await hub.app.request('/api/v1/catalog/import', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/csv' },
      body: csv.replace('Oslo chair', 'Oslo dining chair'),
    });
    expect(imported.status).toBe(200);
    expect(await imported.json()).toMatchObject({ updated: 1, unchanged: 1, errors: [] });
    const listed = await call(hub, 'GET', '/api/v1/products?limit=10', { token });
    const variants = (listed.body.items as Array<{ variants: unknown[] }>).flatMap((product) => product.variants);
    expect(variants).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ sku: 'CHAIR-PRE', preorderCap: 4 }),
        expect.objectContaining({
          sku: 'SOFA-MTO',
          fulfillment: 'made_to_order',
          leadTimeDays: 21,
          productionWarehouseId: 'W1',
        }),
      ]),
    );
  });

  it('makes a made-to-order line: a production request, allocated and shipped once the units are received', async () => {
    const order = await placeAndPay([{ sku: 'SOFA-MTO', quantity: 1, configuration: { fabric: 'boucle' } }]);
    expect(order.allocations).toEqual([]);
    expect(order.fulfillments).toEqual([]);
    // 21 days of the variant + 7 of the boucle fabric.
    expect(order.expectedShipAt).toBe(new Date(clock + 28 * day).toISOString());
    const production = await call(hub, 'GET', '/api/v1/production?status=requested', { token });
    expect(production.status).toBe(200);
    expect(production.body.items).toMatchObject([
      {
        orderId: order.id,
        warehouseId: 'W1',
        sku: 'SOFA-MTO',
        quantity: 1,
        received: 0,
        status: 'requested',
        configuration: { fabric: 'boucle' },
        leadTimeDays: 28,
      },
    ]);
    const requested = await hub.storage.db
      .selectFrom('downstream_log')
      .select(['type', 'payload'])
      .where('channel', '=', 'warehouse:W1')
      .where('type', '=', 'production.requested')
      .execute();
    expect(requested).toHaveLength(1);

    const id = production.body.items[0].id as string;
    clock += 20 * day;
    token = await adminToken(hub);
    await push([{ type: 'receive', sku: 'SOFA-MTO', quantity: 1, reference: supplyReference('production', id) }]);
    expect((await call(hub, 'GET', '/api/v1/production?status=completed', { token })).body.items).toHaveLength(1);
    const ready = (await call(hub, 'GET', `/api/v1/orders/${order.id}`, { token })).body;
    expect(ready.allocations).toMatchObject([{ sku: 'SOFA-MTO', quantity: 1, status: 'committed' }]);
    expect(ready.fulfillments).toHaveLength(1);
    expect(await partition('SOFA-MTO')).toMatchObject({ onHand: 1, committed: 1 });
    const fulfillmentId = ready.fulfillments[0].id as string;
    await shipAll(fulfillmentId, 'SOFA-MTO', 1);
    expect((await call(hub, 'GET', `/api/v1/orders/${order.id}`, { token })).body.status).toBe('shipped');
  });
});
