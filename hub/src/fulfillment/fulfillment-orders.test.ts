import { type StockEvent, newId } from '@dovetail/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { vaultOf } from '../db/personal-data.ts';
import { applyPush } from '../sync/apply-push.ts';
import { type Call, type TestHub, adminToken, call, clientToken, startTestHub } from '../testing/harness.ts';

/**
 * 3PL warehouses fulfil orders through the API (the Shopify fulfillment-service model), on both
 * adapters, through the app as their clients call it: list and read their fulfillment orders, accept,
 * ship (whole or in parts), reject (re-routed or backordered), answer cancel requests; 409 where the
 * shared tables forbid the step, 404 for another 3PL, Idempotency-Key replayed.
 *
 * TPL1 and TPL2 are 3PLs near Paris, each with its own client; W1 is an edge warehouse in Amsterdam
 * whose stock arrives by push as its edge would send it. Orders ship to Paris, so TPL1 is nearest.
 */
let hub: TestHub;
let admin: string;
let partner: string;
let partnerId: string;
let otherPartner: string;
let otherPartnerId: string;
let support: string;
let clock: number;

const customer = { email: 'linus@example.com', name: 'Linus Berg', phone: '+33 1 42 68 53 00' };
const shippingAddress = {
  line1: '12 rue de Rivoli',
  city: 'Paris',
  postalCode: '75004',
  country: 'FR',
  location: { lat: 48.85, lon: 2.35 },
};
const shipment = { carrier: 'ups', trackingNumber: '1Z999AA10123456784' };

async function createWarehouse(id: string, kind: '3pl' | 'warehouse', lat: number, lon: number) {
  const created = await call(hub, 'POST', '/api/v1/warehouses', {
    token: admin,
    body: { id, name: id, kind, location: { lat, lon } },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}

async function createClient(
  role: '3pl' | 'customer_service',
  warehouses?: string[],
): Promise<{ id: string; token: string }> {
  const created = await call(hub, 'POST', '/api/v1/clients', {
    token: admin,
    body: { name: `${role}-${warehouses?.join('-') ?? 'all'}`, role, ...(warehouses ? { warehouses } : {}) },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { id: created.body.clientId, token: await clientToken(hub, created.body.clientId, created.body.clientSecret) };
}

/**
 * A webhook endpoint of `ownerClientId` subscribed to `types`, written as registration would store it
 * (its URL is one delivery refuses at once: these tests read what was emitted, not what was sent).
 */
async function subscribe(ownerClientId: string, ownerRole: string, types: string[]): Promise<string> {
  const id = `ep_${newId().replaceAll('-', '')}`;
  await hub.storage.db
    .insertInto('webhook_endpoints')
    .values({
      id,
      owner_client_id: ownerClientId,
      owner_role: ownerRole,
      url: 'http://127.0.0.1:9/hook',
      description: null,
      secret: 'whsec_dGVzdC1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==',
      created_at: clock,
      updated_at: clock,
    })
    .execute();
  await hub.storage.db
    .insertInto('webhook_subscriptions')
    .values(types.map((type) => ({ endpoint_id: id, event_type: type })))
    .execute();
  return id;
}

/** What was emitted for an endpoint: each event's body (its sealed personal fields opened, as sent), oldest first. */
const received = async (endpointId: string) => {
  const rows = await hub.storage.db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
    .select('e.body')
    .where('d.endpoint_id', '=', endpointId)
    .orderBy('e.id')
    .execute();
  const vault = vaultOf(hub.storage.db);
  return Promise.all(
    rows.map(
      async (row) =>
        (await vault.openDeep(hub.storage.db, JSON.parse(row.body))) as { type: string; data: Record<string, unknown> },
    ),
  );
};

/** W1's edge stream receives `quantity` units, as its edge would push them. */
async function edgeReceives(sku: string, quantity: number) {
  const seq = Number(
    (
      await hub.storage.db
        .selectFrom('edge_streams')
        .select('applied_seq')
        .where('warehouse_id', '=', 'W1')
        .executeTakeFirst()
    )?.applied_seq ?? 0,
  );
  const event = {
    type: 'receive',
    sku,
    quantity,
    id: newId(),
    warehouseId: 'W1',
    hlc: `${String(clock).padStart(13, '0')}-0000-edge`,
    atMs: clock,
    actor: 'lead',
  } as StockEvent;
  const result = await applyPush(hub.storage.db, {
    dialect: hub.storage.dialect,
    warehouseId: 'W1',
    edgeId: 'edge-W1',
    events: [{ seq: seq + 1, event }],
    nowMs: clock,
  });
  expect(result.rejected).toEqual([]);
}

async function stockAtPartner(sku: string, onHand: number) {
  const written = await call(hub, 'PUT', `/api/v1/warehouses/TPL1/inventory/${sku}`, {
    token: partner,
    body: { onHand },
  });
  expect(written.status, JSON.stringify(written.body)).toBe(200);
}

/** An order of `lines`, placed and paid by the admin; its one fulfillment order is TPL1's. */
async function paidOrder(lines: Array<{ sku: string; quantity: number }>) {
  const placed = await call(hub, 'POST', '/api/v1/orders', {
    token: admin,
    body: { customer, shippingAddress, lines },
  });
  expect(placed.status, JSON.stringify(placed.body)).toBe(201);
  clock += 1_000;
  const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
    token: admin,
    body: { reference: 'psp_1' },
  });
  expect(paid.status, JSON.stringify(paid.body)).toBe(200);
  expect(paid.body.fulfillments).toHaveLength(1);
  expect(paid.body.fulfillments[0].warehouseId).toBe('TPL1');
  return {
    id: paid.body.id as string,
    number: paid.body.number as string,
    fulfillmentId: paid.body.fulfillments[0].id,
  };
}

const act = (token: string, id: string, action: string, body: unknown = {}, headers: Record<string, string> = {}) =>
  call(hub, 'POST', `/api/v1/fulfillment-orders/${id}/${action}`, { token, body, headers });
const ok = async (response: Promise<Call>) => {
  const answered = await response;
  expect(answered.status, JSON.stringify(answered.body)).toBe(200);
  return answered.body;
};
const readOrder = async (id: string) => ok(call(hub, 'GET', `/api/v1/orders/${id}`, { token: admin }));
const readFulfillment = async (id: string) =>
  ok(call(hub, 'GET', `/api/v1/fulfillment-orders/${id}`, { token: admin }));
const partition = async (warehouseId: string, sku: string) =>
  (await ok(call(hub, 'GET', `/api/v1/inventory/${sku}`, { token: admin }))).warehouses.find(
    (row: { warehouseId: string }) => row.warehouseId === warehouseId,
  );
const cancelOrder = async (id: string) => {
  const canceled = await ok(
    call(hub, 'POST', `/api/v1/orders/${id}/cancel`, { token: admin, body: { reason: 'changed my mind' } }),
  );
  return canceled;
};
const expectRefused = (response: Call, code: string, details?: Record<string, unknown>) => {
  expect(response.status, JSON.stringify(response.body)).toBe(409);
  expect(response.body.error.code).toBe(code);
  if (details) expect(response.body.error.details).toMatchObject(details);
};

describe.each(['sqlite', 'postgres'] as const)('3PL fulfillment orders through the API on %s', (adapter) => {
  beforeEach(async () => {
    clock = Date.parse('2026-11-23T12:00:00Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    admin = await adminToken(hub);
    const product = {
      name: 'Mora table',
      category: 'table',
      basePrice: 59_900,
      currency: 'EUR',
      variants: [
        { sku: 'TABLE-A', options: { length: '200' } },
        { sku: 'TABLE-B', options: { length: '240' } },
      ],
    };
    expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: product })).status).toBe(201);
    await createWarehouse('TPL1', '3pl', 48.85, 2.35);
    await createWarehouse('TPL2', '3pl', 45.76, 4.84);
    await createWarehouse('W1', 'warehouse', 52.37, 4.89);
    await hub.storage.db
      .insertInto('edge_streams')
      .values({
        warehouse_id: 'W1',
        edge_id: 'edge-W1',
        epoch: 1,
        applied_seq: 0,
        last_seq: 0,
        cursors_json: '{}',
        connected_at: clock,
        last_seen_at: clock,
        last_applied_at: null,
        last_event_at: null,
      })
      .execute();
    ({ id: partnerId, token: partner } = await createClient('3pl', ['TPL1']));
    ({ id: otherPartnerId, token: otherPartner } = await createClient('3pl', ['TPL2']));
    support = (await createClient('customer_service')).token;
    await stockAtPartner('TABLE-A', 5);
    await stockAtPartner('TABLE-B', 2);
  });
  afterEach(() => hub.dispose());

  it("lists a paid order's fulfillment order to its 3PL (lines, number, ship-to, no e-mail) and sends nothing to a channel", async () => {
    const order = await paidOrder([{ sku: 'TABLE-A', quantity: 2 }]);
    const listed = await ok(call(hub, 'GET', '/api/v1/fulfillment-orders', { token: partner }));
    expect(listed).toEqual({
      items: [
        {
          id: order.fulfillmentId,
          orderId: order.id,
          orderNumber: order.number,
          warehouseId: 'TPL1',
          status: 'requested',
          cancelState: null,
          lines: [{ sku: 'TABLE-A', quantity: 2, shipped: 0, toShip: 2 }],
          shipTo: { name: customer.name, phone: customer.phone, address: shippingAddress },
          shipments: [],
          createdAt: new Date(clock).toISOString(),
        },
      ],
      nextCursor: null,
    });
    expect(JSON.stringify(listed)).not.toContain(customer.email);
    expect(JSON.stringify(listed)).not.toContain('59900');
    const filtered = await ok(call(hub, 'GET', '/api/v1/fulfillment-orders?status=accepted', { token: partner }));
    expect(filtered.items).toEqual([]);
    expect(await readFulfillment(order.fulfillmentId)).toEqual(listed.items[0]);
    // Customer service reads every warehouse's, and may not act.
    expect(
      (await ok(call(hub, 'GET', `/api/v1/fulfillment-orders/${order.fulfillmentId}`, { token: support }))).id,
    ).toBe(order.fulfillmentId);
    expect((await act(support, order.fulfillmentId, 'accept')).status).toBe(403);
    const log = await hub.storage.db
      .selectFrom('downstream_log')
      .select('type')
      .where('channel', '=', 'warehouse:TPL1')
      .execute();
    expect(log.map((row) => row.type)).not.toContain('fulfillment.requested');
  });

  it('gives another 3PL nothing: absent from its list, 404 on read and on every action, nothing changes', async () => {
    const order = await paidOrder([{ sku: 'TABLE-A', quantity: 2 }]);
    expect((await ok(call(hub, 'GET', '/api/v1/fulfillment-orders', { token: otherPartner }))).items).toEqual([]);
    expect(
      (await call(hub, 'GET', '/api/v1/fulfillment-orders?warehouseId=TPL1', { token: otherPartner })).status,
    ).toBe(403);
    const read = await call(hub, 'GET', `/api/v1/fulfillment-orders/${order.fulfillmentId}`, { token: otherPartner });
    expect(read.status).toBe(404);
    const missing = await call(hub, 'GET', `/api/v1/fulfillment-orders/${newId()}`, { token: otherPartner });
    expect(missing.body).toEqual(read.body);
    for (const [action, body] of [
      ['accept', {}],
      ['reject', { reason: 'not ours' }],
      ['ship', shipment],
      ['cancel-accept', {}],
      ['cancel-refuse', { reason: 'shipped' }],
    ] as const) {
      const answered = await act(otherPartner, order.fulfillmentId, action, body);
      expect(answered.status, action).toBe(404);
      expect(answered.body.error.code).toBe('not_found');
    }
    expect(await readFulfillment(order.fulfillmentId)).toMatchObject({ status: 'requested', cancelState: null });
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ onHand: 5, committed: 2 });
  });

  it('accepts and ships in full: the stock leaves the partition and the order reads shipped with the tracking number', async () => {
    const order = await paidOrder([
      { sku: 'TABLE-A', quantity: 2 },
      { sku: 'TABLE-B', quantity: 1 },
    ]);
    expect(await ok(act(partner, order.fulfillmentId, 'accept'))).toMatchObject({ status: 'accepted' });
    expect((await readOrder(order.id)).status).toBe('processing');
    const shipped = await ok(act(partner, order.fulfillmentId, 'ship', shipment));
    expect(shipped).toMatchObject({
      status: 'shipped',
      lines: [
        { sku: 'TABLE-A', quantity: 2, shipped: 2, toShip: 0 },
        { sku: 'TABLE-B', quantity: 1, shipped: 1, toShip: 0 },
      ],
      shipments: [
        {
          ...shipment,
          status: 'in_transit',
          lines: [
            { sku: 'TABLE-A', quantity: 2 },
            { sku: 'TABLE-B', quantity: 1 },
          ],
        },
      ],
    });
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ onHand: 3, committed: 0, available: 3 });
    expect(await partition('TPL1', 'TABLE-B')).toMatchObject({ onHand: 1, committed: 0, available: 1 });
    const final = await readOrder(order.id);
    expect(final.status).toBe('shipped');
    expect(final.shipments).toEqual([
      expect.objectContaining({ fulfillmentId: order.fulfillmentId, warehouseId: 'TPL1', ...shipment }),
    ]);
    expect(final.allocations.map((row: { status: string }) => row.status)).toEqual(['shipped', 'shipped']);
    expect(final.history.map((entry: { event: string }) => entry.event)).toEqual([
      'order_created',
      'payment_confirmed',
      'fulfillment_accepted',
      'all_shipped',
    ]);
  });

  it('ships in parts: partially_shipped with the rest still committed, then shipped when the rest leaves', async () => {
    const order = await paidOrder([
      { sku: 'TABLE-A', quantity: 3 },
      { sku: 'TABLE-B', quantity: 1 },
    ]);
    await ok(act(partner, order.fulfillmentId, 'accept'));
    const first = await ok(
      act(partner, order.fulfillmentId, 'ship', { ...shipment, lines: [{ sku: 'TABLE-A', quantity: 1 }] }),
    );
    expect(first).toMatchObject({
      status: 'partially_shipped',
      lines: [
        { sku: 'TABLE-A', quantity: 3, shipped: 1, toShip: 2 },
        { sku: 'TABLE-B', quantity: 1, shipped: 0, toShip: 1 },
      ],
    });
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ onHand: 4, committed: 2, available: 2 });
    expect((await readOrder(order.id)).status).toBe('partially_shipped');

    // More than is left, or a SKU that is not on it: refused, nothing moves.
    expectRefused(
      await act(partner, order.fulfillmentId, 'ship', { ...shipment, lines: [{ sku: 'TABLE-A', quantity: 3 }] }),
      'over_ship',
    );
    expect(
      (await act(partner, order.fulfillmentId, 'ship', { ...shipment, lines: [{ sku: 'NOPE-1', quantity: 1 }] })).body
        .error.code,
    ).toBe('sku_not_in_fulfillment');
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ onHand: 4, committed: 2 });

    const rest = await ok(
      act(partner, order.fulfillmentId, 'ship', { carrier: 'dhl', trackingNumber: 'JD0146000038' }),
    );
    expect(rest).toMatchObject({
      status: 'shipped',
      lines: [
        { sku: 'TABLE-A', quantity: 3, shipped: 3, toShip: 0 },
        { sku: 'TABLE-B', quantity: 1, shipped: 1, toShip: 0 },
      ],
    });
    expect(rest.shipments.map((entry: { lines: unknown }) => entry.lines)).toEqual([
      [{ sku: 'TABLE-A', quantity: 1 }],
      [
        { sku: 'TABLE-A', quantity: 2 },
        { sku: 'TABLE-B', quantity: 1 },
      ],
    ]);
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ onHand: 2, committed: 0, available: 2 });
    expect(await partition('TPL1', 'TABLE-B')).toMatchObject({ onHand: 1, committed: 0 });
    const final = await readOrder(order.id);
    expect(final.status).toBe('shipped');
    expect(final.shipments.map((entry: { trackingNumber: string }) => entry.trackingNumber)).toEqual([
      shipment.trackingNumber,
      'JD0146000038',
    ]);
    expectRefused(await act(partner, order.fulfillmentId, 'ship', shipment), 'transition_not_allowed', {
      status: 'shipped',
    });
  });

  it('rejects: the units are re-routed to an edge warehouse that has them, as a new fulfillment order on its channel', async () => {
    await edgeReceives('TABLE-A', 4);
    const order = await paidOrder([{ sku: 'TABLE-A', quantity: 2 }]);
    const rejected = await ok(act(partner, order.fulfillmentId, 'reject', { reason: 'forklift broken' }));
    expect(rejected).toMatchObject({
      status: 'rejected',
      lines: [{ sku: 'TABLE-A', quantity: 2, shipped: 0, toShip: 0 }],
    });
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ onHand: 5, committed: 0, available: 5 });
    expect(await partition('W1', 'TABLE-A')).toMatchObject({ onHand: 4, committed: 2, available: 2 });
    const read = await readOrder(order.id);
    expect(read.status).toBe('processing');
    const atW1 = read.fulfillments.find((entry: { warehouseId: string }) => entry.warehouseId === 'W1');
    expect(read.fulfillments).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: order.fulfillmentId, status: 'rejected' }),
        expect.objectContaining({ warehouseId: 'W1', status: 'requested' }),
      ]),
    );
    expect(read.allocations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ warehouseId: 'TPL1', quantity: 2, status: 'rerouted' }),
        expect.objectContaining({ warehouseId: 'W1', quantity: 2, status: 'committed', fulfillmentId: atW1.id }),
      ]),
    );
    expect(read.history.at(-1)).toMatchObject({ event: 'fulfillment_rejected', from: 'processing', to: 'processing' });
    expect(read.history.at(-1).note).toContain('forklift broken');
    const log = await hub.storage.db
      .selectFrom('downstream_log')
      .select('payload')
      .where('channel', '=', 'warehouse:W1')
      .where('type', '=', 'fulfillment.requested')
      .execute();
    expect(log.map((row) => JSON.parse(row.payload))).toEqual([
      expect.objectContaining({
        fulfillmentId: atW1.id,
        orderNumber: order.number,
        lines: [{ sku: 'TABLE-A', quantity: 2 }],
      }),
    ]);
    // The edge owns W1's fulfillment order: the API does not act on it.
    expectRefused(await act(admin, atW1.id, 'accept'), 'owner_is_edge');
    expectRefused(await act(partner, order.fulfillmentId, 'accept'), 'transition_not_allowed', { status: 'rejected' });
  });

  it('rejects with nowhere to go: the units are backordered, and a later cancel needs nobody to answer', async () => {
    const order = await paidOrder([{ sku: 'TABLE-A', quantity: 5 }]);
    await ok(act(partner, order.fulfillmentId, 'reject', { reason: 'damaged in storage' }));
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ onHand: 5, committed: 0 });
    const read = await readOrder(order.id);
    expect(read.status).toBe('processing');
    expect(read.allocations).toEqual([
      expect.objectContaining({ warehouseId: 'TPL1', quantity: 5, status: 'backordered' }),
    ]);
    const canceled = await cancelOrder(order.id);
    expect(canceled.status).toBe('canceled');
    expect(canceled.allocations).toEqual([expect.objectContaining({ status: 'released' })]);
    expect(canceled.fulfillments).toEqual([expect.objectContaining({ status: 'rejected', cancelState: null })]);
  });

  it('rejects while a cancel is requested: the units are released, not re-routed, and the order cancels', async () => {
    await edgeReceives('TABLE-A', 4);
    const order = await paidOrder([{ sku: 'TABLE-A', quantity: 2 }]);
    await cancelOrder(order.id);
    expect(await ok(act(partner, order.fulfillmentId, 'reject', { reason: 'order canceled anyway' }))).toMatchObject({
      status: 'rejected',
      cancelState: 'accepted',
    });
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ onHand: 5, committed: 0 });
    expect(await partition('W1', 'TABLE-A')).toMatchObject({ onHand: 4, committed: 0 });
    const read = await readOrder(order.id);
    expect(read.status).toBe('canceled');
    expect(read.fulfillments).toHaveLength(1);
    expect(read.allocations).toEqual([expect.objectContaining({ status: 'released' })]);
  });

  it('accepts a cancel request: the commitment is released and the order reads canceled', async () => {
    const order = await paidOrder([{ sku: 'TABLE-A', quantity: 2 }]);
    await ok(act(partner, order.fulfillmentId, 'accept'));
    expect((await cancelOrder(order.id)).status).toBe('cancel_requested');
    const asked = await ok(call(hub, 'GET', '/api/v1/fulfillment-orders?cancelState=requested', { token: partner }));
    expect(asked.items.map((item: { id: string }) => item.id)).toEqual([order.fulfillmentId]);
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ committed: 2 });
    const answered = await ok(act(partner, order.fulfillmentId, 'cancel-accept'));
    expect(answered).toMatchObject({ status: 'canceled', cancelState: 'accepted', lines: [{ toShip: 0 }] });
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ onHand: 5, committed: 0, available: 5 });
    const read = await readOrder(order.id);
    expect(read.status).toBe('canceled');
    expect(read.allocations).toEqual([expect.objectContaining({ status: 'released' })]);
    expectRefused(await act(partner, order.fulfillmentId, 'cancel-accept'), 'transition_not_allowed', {
      status: 'canceled',
      cancelState: 'accepted',
    });
    expectRefused(await act(partner, order.fulfillmentId, 'ship', shipment), 'transition_not_allowed');
  });

  it('refuses a cancel request after shipping: physical fact wins and the order asks for a return', async () => {
    const order = await paidOrder([{ sku: 'TABLE-A', quantity: 1 }]);
    await ok(act(partner, order.fulfillmentId, 'accept'));
    await ok(act(partner, order.fulfillmentId, 'ship', shipment));
    // A second order is canceled while the 3PL has it, and the 3PL ships before it reads the request.
    const placedAgain = await paidOrder([{ sku: 'TABLE-A', quantity: 1 }]);
    await ok(act(partner, placedAgain.fulfillmentId, 'accept'));
    expect((await cancelOrder(placedAgain.id)).status).toBe('cancel_requested');
    await ok(act(partner, placedAgain.fulfillmentId, 'ship', shipment));
    expect((await readOrder(placedAgain.id)).status).toBe('cancel_requested');
    // Goods left: accepting the cancel is no longer possible, only refusing it.
    expectRefused(await act(partner, placedAgain.fulfillmentId, 'cancel-accept'), 'transition_not_allowed', {
      status: 'shipped',
      cancelState: 'requested',
    });
    const refused = await ok(
      act(partner, placedAgain.fulfillmentId, 'cancel-refuse', { reason: 'left on the truck at 9:00' }),
    );
    expect(refused).toMatchObject({ status: 'shipped', cancelState: 'refused' });
    const read = await readOrder(placedAgain.id);
    expect(read.status).toBe('return_requested');
    expect(read.history.at(-1)).toMatchObject({
      event: 'cancel_rejected_shipped',
      from: 'cancel_requested',
      to: 'return_requested',
    });
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ onHand: 3, committed: 0 });
    // The first order shipped without any cancel: refusing a request nobody made is refused.
    expectRefused(await act(partner, order.fulfillmentId, 'cancel-refuse', { reason: 'x' }), 'transition_not_allowed', {
      status: 'shipped',
      cancelState: null,
    });
  });

  it('answers 409 transition_not_allowed with the current status where the table forbids the step, and changes nothing', async () => {
    const order = await paidOrder([{ sku: 'TABLE-A', quantity: 2 }]);
    expectRefused(await act(partner, order.fulfillmentId, 'ship', shipment), 'transition_not_allowed', {
      status: 'requested',
    });
    expectRefused(await act(partner, order.fulfillmentId, 'cancel-accept'), 'transition_not_allowed', {
      status: 'requested',
      cancelState: null,
    });
    await ok(act(partner, order.fulfillmentId, 'accept'));
    expectRefused(await act(partner, order.fulfillmentId, 'accept'), 'transition_not_allowed', { status: 'accepted' });
    expectRefused(await act(partner, order.fulfillmentId, 'reject', { reason: 'too late' }), 'transition_not_allowed', {
      status: 'accepted',
    });
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ onHand: 5, committed: 2 });
    const read = await readOrder(order.id);
    expect(read.status).toBe('processing');
    expect(read.shipments).toEqual([]);
    // Bad input is a 400 naming the field, and changes nothing either.
    const bad = await act(partner, order.fulfillmentId, 'ship', { carrier: 'ups', trackingNumber: 'has space' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues).toEqual([expect.objectContaining({ path: 'trackingNumber' })]);
    expect((await act(partner, order.fulfillmentId, 'ship', { ...shipment, status: 'shipped' })).status).toBe(400);
    expect((await readFulfillment(order.fulfillmentId)).status).toBe('accepted');
  });

  it('refuses to ship units the hub does not have on hand at the 3PL (correct the stock first), changing nothing', async () => {
    const order = await paidOrder([{ sku: 'TABLE-A', quantity: 2 }]);
    await ok(act(partner, order.fulfillmentId, 'accept'));
    await stockAtPartner('TABLE-A', 1);
    expectRefused(await act(partner, order.fulfillmentId, 'ship', shipment), 'insufficient_on_hand', {
      sku: 'TABLE-A',
      onHand: 1,
      quantity: 2,
    });
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ onHand: 1, committed: 2 });
    expect((await readFulfillment(order.fulfillmentId)).status).toBe('accepted');
  });

  it('replays an action sent again with the same Idempotency-Key: one shipment, one stock movement', async () => {
    const order = await paidOrder([{ sku: 'TABLE-A', quantity: 2 }]);
    const accepted = await act(partner, order.fulfillmentId, 'accept', {}, { 'idempotency-key': 'accept-1' });
    const acceptedAgain = await act(partner, order.fulfillmentId, 'accept', {}, { 'idempotency-key': 'accept-1' });
    expect(acceptedAgain.status).toBe(200);
    expect(acceptedAgain.headers.get('idempotent-replayed')).toBe('true');
    expect(acceptedAgain.body).toEqual(accepted.body);

    const first = await act(partner, order.fulfillmentId, 'ship', shipment, { 'idempotency-key': 'ship-1' });
    expect(first.status).toBe(200);
    const again = await act(partner, order.fulfillmentId, 'ship', shipment, { 'idempotency-key': 'ship-1' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const reused = await act(
      partner,
      order.fulfillmentId,
      'ship',
      { ...shipment, trackingNumber: 'OTHER-1' },
      {
        'idempotency-key': 'ship-1',
      },
    );
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
    expect((await readOrder(order.id)).shipments).toHaveLength(1);
    expect(await partition('TPL1', 'TABLE-A')).toMatchObject({ onHand: 3, committed: 0 });
  });

  it('announces the request, the cancel request, the shipment and the shipped order as webhook events, each to whom it concerns', async () => {
    const fulfillmentTypes = ['fulfillment_order.requested', 'fulfillment_order.cancel_requested', 'shipment.created'];
    const ours = await subscribe(partnerId, '3pl', fulfillmentTypes);
    const theirs = await subscribe(otherPartnerId, '3pl', fulfillmentTypes);
    const operations = await subscribe('admin', 'admin', ['order.shipped']);
    const order = await paidOrder([{ sku: 'TABLE-A', quantity: 2 }]);
    await ok(act(partner, order.fulfillmentId, 'accept'));
    await ok(act(partner, order.fulfillmentId, 'ship', { ...shipment, lines: [{ sku: 'TABLE-A', quantity: 1 }] }));
    await ok(act(partner, order.fulfillmentId, 'ship', shipment));
    const canceled = await paidOrder([{ sku: 'TABLE-B', quantity: 1 }]);
    await cancelOrder(canceled.id);

    const events = await received(ours);
    expect(events.map((event) => event.type)).toEqual([
      'fulfillment_order.requested',
      'shipment.created',
      'shipment.created',
      'fulfillment_order.requested',
      'fulfillment_order.cancel_requested',
    ]);
    expect(events[0]?.data).toEqual({
      id: order.fulfillmentId,
      orderId: order.id,
      orderNumber: order.number,
      warehouseId: 'TPL1',
      lines: [{ sku: 'TABLE-A', quantity: 2 }],
      shippingAddress,
      reason: 'payment',
      requestedAt: expect.any(String),
    });
    expect(events[1]?.data).toMatchObject({
      orderNumber: order.number,
      fulfillmentOrderId: order.fulfillmentId,
      warehouseId: 'TPL1',
      trackingNumber: shipment.trackingNumber,
      lines: [{ sku: 'TABLE-A', quantity: 1 }],
    });
    expect(events[4]?.data).toMatchObject({ id: canceled.fulfillmentId, orderNumber: canceled.number });
    expect(await received(theirs)).toEqual([]);
    // The order is announced shipped once, when its last units left, with both shipments.
    const shipped = await received(operations);
    expect(shipped.map((event) => event.type)).toEqual(['order.shipped']);
    expect(shipped[0]?.data).toMatchObject({
      id: order.id,
      status: 'shipped',
      previousStatus: 'partially_shipped',
      lines: [{ sku: 'TABLE-A', quantity: 2 }],
    });
    expect(shipped[0]?.data.shipments).toHaveLength(2);
  });

  it('pages the list by cursor, oldest first, and refuses a bad cursor or page size', async () => {
    const orders = [];
    for (let index = 0; index < 3; index++) orders.push(await paidOrder([{ sku: 'TABLE-A', quantity: 1 }]));
    const first = await ok(call(hub, 'GET', '/api/v1/fulfillment-orders?limit=2', { token: partner }));
    expect(first.items.map((item: { id: string }) => item.id)).toEqual(
      orders.slice(0, 2).map((order) => order.fulfillmentId),
    );
    const second = await ok(
      call(hub, 'GET', `/api/v1/fulfillment-orders?limit=2&cursor=${encodeURIComponent(first.nextCursor)}`, {
        token: partner,
      }),
    );
    expect(second).toEqual({ items: [expect.objectContaining({ id: orders[2]?.fulfillmentId })], nextCursor: null });
    expect((await call(hub, 'GET', '/api/v1/fulfillment-orders?cursor=%2A%2A%2A', { token: partner })).status).toBe(
      400,
    );
    expect((await call(hub, 'GET', '/api/v1/fulfillment-orders?limit=100000', { token: partner })).status).toBe(400);
  });
});
