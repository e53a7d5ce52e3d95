import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestHub, adminToken, call, sofa, startTestHub } from '../testing/harness.ts';

/** Orders over holds on both adapters: placing, paying (hold → committed), cancelling, expiring. */
let hub: TestHub;
let token: string;
let clock: number;

const customer = { email: 'ines@example.com', name: 'Inès Laurent' };
const shippingAddress = {
  line1: 'Keizersgracht 1',
  city: 'Amsterdam',
  postalCode: '1015 CJ',
  country: 'NL',
  location: { lat: 52.37, lon: 4.89 },
};
const order = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  call(hub, 'POST', '/api/v1/orders', { token, body: { customer, shippingAddress, ...body }, headers });
const inventory = async (sku: string) => (await call(hub, 'GET', `/api/v1/inventory/${sku}`, { token })).body;

async function warehouse(id: string, lat: number, lon: number, stock: Record<string, number>): Promise<void> {
  await call(hub, 'POST', '/api/v1/warehouses', { token, body: { id, name: id, kind: '3pl', location: { lat, lon } } });
  for (const [sku, onHand] of Object.entries(stock)) {
    expect(
      (await call(hub, 'PUT', `/api/v1/warehouses/${id}/inventory/${sku}`, { token, body: { onHand } })).status,
    ).toBe(200);
  }
}

describe.each(['sqlite', 'postgres'] as const)('orders on %s', (adapter) => {
  beforeEach(async () => {
    clock = Date.parse('2026-11-23T12:00:00Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    token = await adminToken(hub);
    const product = {
      ...sofa('SOFA-1'),
      basePrice: 129_900,
      variants: [
        { sku: 'SOFA-1', options: { color: 'grey' } },
        { sku: 'SOFA-2', options: { color: 'sand' }, price: 139_900 },
      ],
    };
    expect((await call(hub, 'POST', '/api/v1/products', { token, body: product })).status).toBe(201);
    await warehouse('AMS', 52.37, 4.89, { 'SOFA-1': 3, 'SOFA-2': 1 });
    await warehouse('PAR', 48.86, 2.35, { 'SOFA-1': 10 });
  });
  afterEach(() => hub.dispose());

  it('places an order from lines: held at the nearest warehouse holding every line, priced from the catalog', async () => {
    const placed = await order({
      lines: [
        { sku: 'SOFA-1', quantity: 2 },
        { sku: 'SOFA-2', quantity: 1 },
      ],
    });
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({
      status: 'pending_payment',
      number: expect.stringMatching(/^DT-/),
      currency: 'EUR',
      total: 2 * 129_900 + 139_900,
      lines: [
        { sku: 'SOFA-1', quantity: 2, unitPrice: 129_900 },
        { sku: 'SOFA-2', quantity: 1, unitPrice: 139_900 },
      ],
      history: [{ event: 'order_created', from: null, to: 'pending_payment' }],
    });
    const hold = await call(hub, 'GET', `/api/v1/inventory/holds/${placed.body.holdId}`, { token });
    expect(hold.body.lines.map((line: { warehouseId: string }) => line.warehouseId)).toEqual(['AMS', 'AMS']);
    expect((await inventory('SOFA-1')).reserved).toBe(2);
  });

  it('turns the hold into allocations on payment and opens each warehouse its fulfillment order', async () => {
    const placed = await order({ lines: [{ sku: 'SOFA-1', quantity: 2 }] });
    const before = await inventory('SOFA-1');
    const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
      token,
      body: { reference: 'psp_123' },
    });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({
      status: 'processing',
      paymentReference: 'psp_123',
      allocations: [{ warehouseId: 'AMS', sku: 'SOFA-1', quantity: 2, status: 'committed' }],
    });
    expect(paid.body.fulfillments).toEqual([
      { id: paid.body.allocations[0].fulfillmentId, warehouseId: 'AMS', status: 'requested', cancelState: null },
    ]);
    const after = await inventory('SOFA-1');
    expect({ reserved: after.reserved, committed: after.committed, available: after.available }).toEqual({
      reserved: 0,
      committed: 2,
      available: before.available,
    });
    // AMS is a 3PL: no edge reads a channel for it, so nothing is appended there; its client lists
    // the fulfillment order through the API instead (fulfillment/fulfillment-orders.test.ts).
    const log = await hub.storage.db
      .selectFrom('downstream_log')
      .selectAll()
      .where('channel', '=', 'warehouse:AMS')
      .where('type', '=', 'fulfillment.requested')
      .execute();
    expect(log).toHaveLength(0);
    const listed = await call(hub, 'GET', '/api/v1/fulfillment-orders?warehouseId=AMS', { token });
    expect(listed.body.items).toEqual([
      expect.objectContaining({
        id: paid.body.fulfillments[0].id,
        orderNumber: placed.body.number,
        lines: [{ sku: 'SOFA-1', quantity: 2, shipped: 0, toShip: 2 }],
      }),
    ]);
    const again = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
      token,
      body: { reference: 'psp_123' },
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'transition_not_allowed', details: { status: 'processing' } });
  });

  it("expires an unpaid order with its hold, at the hold's expiry, and refuses its payment", async () => {
    const placed = await order({ lines: [{ sku: 'SOFA-1', quantity: 3 }] });
    clock = Date.parse(placed.body.expiresAt);
    const read = await call(hub, 'GET', `/api/v1/orders/${placed.body.id}`, { token });
    expect(read.body.status).toBe('expired');
    expect((await inventory('SOFA-1')).reserved).toBe(0);
    const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
      token,
      body: { reference: 'late' },
    });
    expect(paid.status).toBe(409);
    expect(paid.body.error.details.status).toBe('expired');
  });

  it('cancels an unpaid order at once and gives its hold back', async () => {
    const placed = await order({ lines: [{ sku: 'SOFA-1', quantity: 3 }] });
    const canceled = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/cancel`, {
      token,
      body: { reason: 'changed my mind' },
    });
    expect(canceled.body.status).toBe('canceled');
    expect((await inventory('SOFA-1')).reserved).toBe(0);
  });

  it('asks the warehouses to cancel a paid order (cancel_requested), keeping the commitment until they answer', async () => {
    const placed = await order({ lines: [{ sku: 'SOFA-1', quantity: 1 }] });
    await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, { token, body: { reference: 'psp_9' } });
    const requested = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/cancel`, { token, body: {} });
    expect(requested.body.status).toBe('cancel_requested');
    expect(requested.body.fulfillments[0]).toMatchObject({ status: 'requested', cancelState: 'requested' });
    expect((await inventory('SOFA-1')).committed).toBe(1);
    // AMS is a 3PL: it reads the request on its fulfillment order, not on a channel nobody reads.
    const log = await hub.storage.db
      .selectFrom('downstream_log')
      .select('type')
      .where('channel', '=', 'warehouse:AMS')
      .execute();
    expect(log.map((row) => row.type)).not.toContain('fulfillment.cancel_requested');
    const read = await call(hub, 'GET', `/api/v1/fulfillment-orders/${requested.body.fulfillments[0].id}`, { token });
    expect(read.body).toMatchObject({ status: 'requested', cancelState: 'requested' });
  });

  it('places an order over an existing hold once; a second order over it is refused', async () => {
    const hold = await call(hub, 'POST', '/api/v1/inventory/reserve', {
      token,
      body: { lines: [{ sku: 'SOFA-1', quantity: 1 }] },
    });
    const first = await order({ holdId: hold.body.id });
    expect(first.status).toBe(201);
    const second = await order({ holdId: hold.body.id });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('hold_not_active');
  });

  it('replays a create with the same Idempotency-Key rather than ordering twice', async () => {
    const first = await order({ lines: [{ sku: 'SOFA-1', quantity: 1 }] }, { 'idempotency-key': 'checkout-77' });
    const second = await order({ lines: [{ sku: 'SOFA-1', quantity: 1 }] }, { 'idempotency-key': 'checkout-77' });
    expect(second.body.id).toBe(first.body.id);
    expect((await inventory('SOFA-1')).reserved).toBe(1);
  });

  it('changes whitelisted fields while the status allows, and refuses the address once packing could start', async () => {
    const placed = await order({ lines: [{ sku: 'SOFA-1', quantity: 1 }] });
    const moved = { ...shippingAddress, line1: 'Prinsengracht 2' };
    const patched = await call(hub, 'PATCH', `/api/v1/orders/${placed.body.id}`, {
      token,
      body: { shippingAddress: moved, customer: { phone: '+31 20 555 0199' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      shippingAddress: { line1: 'Prinsengracht 2' },
      customer: { email: customer.email, name: customer.name, phone: '+31 20 555 0199' },
    });
    expect(
      (await call(hub, 'PATCH', `/api/v1/orders/${placed.body.id}`, { token, body: { status: 'shipped' } })).status,
    ).toBe(400);
    expect((await call(hub, 'PATCH', `/api/v1/orders/${placed.body.id}`, { token, body: {} })).status).toBe(400);
    await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, { token, body: { reference: 'psp_2' } });
    expect((await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/cancel`, { token, body: {} })).body.status).toBe(
      'cancel_requested',
    );
    const late = await call(hub, 'PATCH', `/api/v1/orders/${placed.body.id}`, {
      token,
      body: { shippingAddress: shippingAddress },
    });
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: 'field_not_editable', details: { field: 'shippingAddress' } });
  });

  it('lets staff set only the statuses the hub owns, by the transition table', async () => {
    const placed = await order({ lines: [{ sku: 'SOFA-1', quantity: 1 }] });
    const early = await call(hub, 'PUT', `/api/v1/orders/${placed.body.id}/status`, {
      token,
      body: { status: 'delivered' },
    });
    expect(early.status).toBe(409);
    expect(early.body.error.details.status).toBe('pending_payment');
    expect(
      (await call(hub, 'PUT', `/api/v1/orders/${placed.body.id}/status`, { token, body: { status: 'shipped' } }))
        .status,
    ).toBe(400);
    await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, { token, body: { reference: 'psp_3' } });
    // Delivered and returns follow shipping: a processing order cannot be marked by hand.
    const notShipped = await call(hub, 'PUT', `/api/v1/orders/${placed.body.id}/status`, {
      token,
      body: { status: 'delivered' },
    });
    expect(notShipped.status).toBe(409);
    expect(notShipped.body.error.details.status).toBe('processing');
    // The edge's shipped fact (what a real edge reports) stands in as a direct status change here.
    await hub.storage.db.updateTable('orders').set({ status: 'shipped' }).where('id', '=', placed.body.id).execute();
    const delivered = await call(hub, 'PUT', `/api/v1/orders/${placed.body.id}/status`, {
      token,
      body: { status: 'delivered' },
    });
    expect(delivered.body.status).toBe('delivered');
    const requested = await call(hub, 'PUT', `/api/v1/orders/${placed.body.id}/status`, {
      token,
      body: { status: 'return_requested', reason: 'wrong colour' },
    });
    expect(requested.body.status).toBe('return_requested');
    const returned = await call(hub, 'PUT', `/api/v1/orders/${placed.body.id}/status`, {
      token,
      body: { status: 'returned' },
    });
    expect(returned.body.status).toBe('returned');
    expect(returned.body.history.slice(-3)).toMatchObject([
      { event: 'delivered', from: 'shipped', to: 'delivered' },
      { event: 'return_requested', from: 'delivered', to: 'return_requested', note: 'wrong colour' },
      { event: 'return_received', from: 'return_requested', to: 'returned' },
    ]);
  });

  it('refuses bad orders with 400 naming the field, and an order nobody can fill with 409, holding nothing', async () => {
    const both = await order({
      lines: [{ sku: 'SOFA-1', quantity: 1 }],
      holdId: '01a20801-d2b8-7013-bcc7-d483033a94ba',
    });
    expect(both.status).toBe(400);
    const badCountry = await call(hub, 'POST', '/api/v1/orders', {
      token,
      body: {
        customer,
        shippingAddress: { ...shippingAddress, country: 'XX' },
        lines: [{ sku: 'SOFA-1', quantity: 1 }],
      },
    });
    expect(badCountry.status).toBe(400);
    expect(JSON.stringify(badCountry.body.error.details)).toContain('country');
    const tooMany = await order({ lines: [{ sku: 'SOFA-1', quantity: 14 }] });
    expect(tooMany.status).toBe(409);
    expect(tooMany.body.error.code).toBe('insufficient_stock');
    expect((await inventory('SOFA-1')).reserved).toBe(0);
    expect((await call(hub, 'GET', '/api/v1/orders/01a20801-d2b8-7013-bcc7-d483033a94ba', { token })).status).toBe(404);
  });
});
