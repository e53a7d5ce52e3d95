import { type FulfillmentFactBody, type StockEventBody, type UpstreamEvent, newId } from '@dovetail/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type PushResult, StreamSuperseded, applyPush } from '../sync/apply-push.ts';
import { type TestHub, adminToken, call, startTestHub } from '../testing/harness.ts';

/**
 * The hub's side of fulfillment facts, driven through `applyPush` exactly as a sync
 * session calls it, on both adapters: each fact applied once however often it arrives, refused
 * durably when it names a fulfillment order its warehouse was never sent (or one already closed),
 * and the order moved by the shared transition table as each warehouse reports.
 *
 * Stock reaches the hub the way it does in production: `receive` events pushed by each warehouse's
 * edge stream. W1 holds SOFA-A, W2 holds SOFA-B, so an order of both is split across the two.
 */

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
const product = {
  name: 'Oslo 3-seat sofa',
  category: 'sofa',
  basePrice: 129_900,
  currency: 'EUR',
  variants: [
    { sku: 'SOFA-A', options: { color: 'grey' } },
    { sku: 'SOFA-B', options: { color: 'sand' } },
  ],
};

/** Each warehouse's edge stream: its incarnation and the next seq it will push. */
const streams = new Map<string, { edgeId: string; nextSeq: number }>();

async function openStream(warehouseId: string, edgeId = newId()): Promise<void> {
  const values = { edge_id: edgeId, epoch: 1, applied_seq: 0, last_seq: 0, connected_at: clock, last_seen_at: clock };
  const existing = await hub.storage.db
    .selectFrom('edge_streams')
    .select('warehouse_id')
    .where('warehouse_id', '=', warehouseId)
    .executeTakeFirst();
  // What the sync session does on `hello` from a new incarnation: the stream restarts where its outbox starts.
  if (existing)
    await hub.storage.db.updateTable('edge_streams').set(values).where('warehouse_id', '=', warehouseId).execute();
  else {
    await hub.storage.db
      .insertInto('edge_streams')
      .values({ warehouse_id: warehouseId, cursors_json: '{}', last_applied_at: null, last_event_at: null, ...values })
      .execute();
  }
  streams.set(warehouseId, { edgeId, nextSeq: 1 });
}

/** Pushes `events` on a warehouse's stream, numbered from its next seq (or from `fromSeq`). */
async function push(
  warehouseId: string,
  events: UpstreamEvent[],
  options: { fromSeq?: number; edgeId?: string } = {},
): Promise<PushResult> {
  const stream = streams.get(warehouseId);
  if (!stream) throw new Error(`no stream for ${warehouseId}`);
  const fromSeq = options.fromSeq ?? stream.nextSeq;
  const result = await applyPush(hub.storage.db, {
    dialect: hub.storage.dialect,
    warehouseId,
    edgeId: options.edgeId ?? stream.edgeId,
    events: events.map((event, index) => ({ seq: fromSeq + index, event })),
    nowMs: clock,
  });
  stream.nextSeq = Math.max(stream.nextSeq, result.upstreamAck + 1);
  return result;
}

let hlcCounter = 0;
const header = (warehouseId: string) => ({
  id: newId(),
  warehouseId,
  hlc: `${String(clock).padStart(13, '0')}-${String(hlcCounter++).padStart(4, '0')}-edge`,
  atMs: clock,
  actor: 'lead',
});
const stockEvent = (warehouseId: string, body: StockEventBody): UpstreamEvent =>
  ({ ...header(warehouseId), ...body }) as UpstreamEvent;
const fact = (warehouseId: string, body: FulfillmentFactBody): UpstreamEvent =>
  ({ ...header(warehouseId), ...body }) as UpstreamEvent;
const parcel = { weightGrams: 48_000, lengthMm: 2_300, widthMm: 1_000, heightMm: 900 };
const packed = (warehouseId: string, fulfillmentId: string) =>
  fact(warehouseId, { type: 'fulfillment_packed', fulfillmentId, packages: [parcel] });
const shipped = (warehouseId: string, fulfillmentId: string, sku: string, quantity: number) =>
  fact(warehouseId, {
    type: 'fulfillment_shipped',
    fulfillmentId,
    shipmentId: newId(),
    carrier: 'DHL Freight',
    trackingNumber: `JD-${fulfillmentId.slice(0, 8)}`,
    lines: [{ sku, quantity }],
  });
/** The stock events an edge records around a shipped fact: the pick, then the ship that takes the units off on_hand. */
const pickAndShip = (warehouseId: string, fulfillmentId: string, sku: string, quantity: number) => [
  stockEvent(warehouseId, { type: 'pick', sku, quantity, fulfillmentId }),
  stockEvent(warehouseId, { type: 'ship', sku, quantity, fulfillmentId }),
];

async function paidOrder(lines: Array<{ sku: string; quantity: number }>) {
  const placed = await call(hub, 'POST', '/api/v1/orders', { token, body: { customer, shippingAddress, lines } });
  expect(placed.status, JSON.stringify(placed.body)).toBe(201);
  const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
    token,
    body: { reference: 'psp_1' },
  });
  expect(paid.status, JSON.stringify(paid.body)).toBe(200);
  const fulfillmentAt = (warehouseId: string): string => {
    const found = paid.body.fulfillments.find((entry: { warehouseId: string }) => entry.warehouseId === warehouseId);
    if (!found) throw new Error(`no fulfillment order at ${warehouseId}: ${JSON.stringify(paid.body.fulfillments)}`);
    return found.id;
  };
  return { id: paid.body.id as string, fulfillmentAt };
}

const readOrder = async (id: string) => {
  const response = await call(hub, 'GET', `/api/v1/orders/${id}`, { token });
  expect(response.status).toBe(200);
  return response.body;
};
const partition = async (warehouseId: string, sku: string) => {
  const response = await call(hub, 'GET', `/api/v1/inventory/${sku}`, { token });
  expect(response.status).toBe(200);
  return response.body.warehouses.find((entry: { warehouseId: string }) => entry.warehouseId === warehouseId);
};
const cancel = async (id: string) => {
  const response = await call(hub, 'POST', `/api/v1/orders/${id}/cancel`, {
    token,
    body: { reason: 'customer changed their mind' },
  });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  expect(response.body.status).toBe('cancel_requested');
};
const statusPath = (order: { history: Array<{ to: string }> }) =>
  order.history.map((entry) => entry.to).filter((status, index, all) => index === 0 || status !== all[index - 1]);
const count = async (
  table: 'edge_facts' | 'shipments' | 'sync_rejections',
  column: 'fulfillment_id' | 'event_id',
  value: string,
) => (await hub.storage.db.selectFrom(table).select(column).where(column, '=', value).execute()).length;

describe.each(['sqlite', 'postgres'] as const)('fulfillment facts pushed by edges on %s', (adapter) => {
  beforeEach(async () => {
    clock = Date.parse('2026-11-23T12:00:00Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    token = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/products', { token, body: product })).status).toBe(201);
    for (const [id, lat, lon] of [
      ['W1', 52.37, 4.89],
      ['W2', 48.86, 2.35],
    ] as const) {
      expect(
        (
          await call(hub, 'POST', '/api/v1/warehouses', {
            token,
            body: { id, name: id, kind: 'warehouse', location: { lat, lon } },
          })
        ).status,
      ).toBe(201);
      await openStream(id);
    }
    expect((await push('W1', [stockEvent('W1', { type: 'receive', sku: 'SOFA-A', quantity: 5 })])).applied).toBe(1);
    expect((await push('W2', [stockEvent('W2', { type: 'receive', sku: 'SOFA-B', quantity: 5 })])).applied).toBe(1);
  });
  afterEach(() => hub.dispose());

  it('applies a fact once: pushed again with the same seq, or replayed under new seqs by a new incarnation', async () => {
    const order = await paidOrder([{ sku: 'SOFA-A', quantity: 2 }]);
    const fulfillmentId = order.fulfillmentAt('W1');
    const packFact = packed('W1', fulfillmentId);
    const seqOfPack = streams.get('W1')?.nextSeq as number;
    expect(await push('W1', [packFact])).toMatchObject({
      applied: 1,
      duplicates: 0,
      rejected: [],
      upstreamAck: seqOfPack,
    });
    // The ack was lost: the edge pushes the same seq again.
    expect(await push('W1', [packFact], { fromSeq: seqOfPack })).toMatchObject({
      applied: 0,
      duplicates: 1,
      rejected: [],
      upstreamAck: seqOfPack,
    });
    expect((await readOrder(order.id)).status).toBe('packed');

    const shipEvents = [...pickAndShip('W1', fulfillmentId, 'SOFA-A', 2), shipped('W1', fulfillmentId, 'SOFA-A', 2)];
    expect(await push('W1', shipEvents)).toMatchObject({ applied: 3, duplicates: 0, rejected: [] });
    expect(await partition('W1', 'SOFA-A')).toMatchObject({ onHand: 3, committed: 0, picked: 0, available: 3 });

    // A restored backup speaks as a new incarnation and replays everything under new seqs: ids decide.
    await openStream('W1');
    expect(await push('W1', [packFact, ...shipEvents])).toMatchObject({
      applied: 0,
      duplicates: 4,
      rejected: [],
      upstreamAck: 4,
    });
    // The old incarnation's socket is stale now.
    await expect(push('W1', [packed('W1', fulfillmentId)], { edgeId: newId() })).rejects.toBeInstanceOf(
      StreamSuperseded,
    );

    const final = await readOrder(order.id);
    expect(final.status).toBe('shipped');
    expect(final.history.map((entry: { event: string }) => entry.event)).toEqual([
      'order_created',
      'payment_confirmed',
      'all_packed',
      'all_shipped',
    ]);
    expect(final.shipments).toHaveLength(1);
    expect(final.allocations).toEqual([
      expect.objectContaining({ warehouseId: 'W1', sku: 'SOFA-A', quantity: 2, status: 'shipped' }),
    ]);
    expect(await count('edge_facts', 'fulfillment_id', fulfillmentId)).toBe(2);
    expect(await partition('W1', 'SOFA-A')).toMatchObject({ onHand: 3, committed: 0, picked: 0, available: 3 });
  });

  it("refuses a fact about an unknown fulfillment order or another warehouse's, durably, and the stream moves on", async () => {
    const order = await paidOrder([{ sku: 'SOFA-A', quantity: 1 }]);
    const theirs = order.fulfillmentAt('W1');
    const wrongWarehouse = packed('W2', theirs);
    const unknown = shipped('W2', newId(), 'SOFA-B', 1);
    const receiveAfter = stockEvent('W2', { type: 'receive', sku: 'SOFA-B', quantity: 1 });
    const result = await push('W2', [wrongWarehouse, unknown, receiveAfter]);
    expect(result).toMatchObject({ applied: 1, duplicates: 0, gap: false, upstreamAck: 4 });
    expect(result.rejected).toEqual([
      { seq: 2, reason: 'unknown_fulfillment', message: expect.stringContaining(theirs) },
      { seq: 3, reason: 'unknown_fulfillment', message: expect.any(String) },
    ]);
    const stored = await hub.storage.db
      .selectFrom('sync_rejections')
      .selectAll()
      .where('warehouse_id', '=', 'W2')
      .orderBy('edge_seq')
      .execute();
    expect(stored.map((row) => [Number(row.edge_seq), row.event_id, row.reason])).toEqual([
      [2, wrongWarehouse.id, 'unknown_fulfillment'],
      [3, unknown.id, 'unknown_fulfillment'],
    ]);
    expect(await partition('W2', 'SOFA-B')).toMatchObject({ onHand: 6 });

    // W1's fulfillment order is untouched; nothing was recorded as applied.
    const untouched = await readOrder(order.id);
    expect(untouched.status).toBe('processing');
    expect(untouched.fulfillments).toEqual([{ id: theirs, warehouseId: 'W1', status: 'requested', cancelState: null }]);
    expect(untouched.shipments).toEqual([]);
    expect(await count('edge_facts', 'fulfillment_id', theirs)).toBe(0);
    expect(await partition('W1', 'SOFA-A')).toMatchObject({ committed: 1 });

    // Replayed (same seqs, or a new incarnation's), a refusal stays one refusal.
    expect(await push('W2', [wrongWarehouse, unknown], { fromSeq: 2 })).toMatchObject({
      applied: 0,
      duplicates: 2,
      rejected: [],
    });
    await openStream('W2');
    expect(await push('W2', [wrongWarehouse, unknown])).toMatchObject({
      applied: 0,
      duplicates: 2,
      rejected: [],
      upstreamAck: 2,
    });
    expect(await count('sync_rejections', 'event_id', wrongWarehouse.id)).toBe(1);
  });

  it('moves a split order processing → partially_packed → partially_shipped → shipped as each warehouse reports', async () => {
    const order = await paidOrder([
      { sku: 'SOFA-A', quantity: 1 },
      { sku: 'SOFA-B', quantity: 2 },
    ]);
    const atW1 = order.fulfillmentAt('W1');
    const atW2 = order.fulfillmentAt('W2');
    expect((await readOrder(order.id)).allocations).toEqual([
      expect.objectContaining({
        warehouseId: 'W1',
        sku: 'SOFA-A',
        quantity: 1,
        status: 'committed',
        fulfillmentId: atW1,
      }),
      expect.objectContaining({
        warehouseId: 'W2',
        sku: 'SOFA-B',
        quantity: 2,
        status: 'committed',
        fulfillmentId: atW2,
      }),
    ]);

    await push('W1', [packed('W1', atW1)]);
    expect((await readOrder(order.id)).status).toBe('partially_packed');
    await push('W1', [...pickAndShip('W1', atW1, 'SOFA-A', 1), shipped('W1', atW1, 'SOFA-A', 1)]);
    let read = await readOrder(order.id);
    expect(read.status).toBe('partially_shipped');
    expect(read.fulfillments.map((entry: { status: string }) => entry.status)).toEqual(['shipped', 'requested']);
    expect(await partition('W1', 'SOFA-A')).toMatchObject({ onHand: 4, committed: 0 });
    expect(await partition('W2', 'SOFA-B')).toMatchObject({ onHand: 5, committed: 2 });

    // W2 packing now does not move the order back: it stays partially_shipped.
    await push('W2', [packed('W2', atW2)]);
    expect((await readOrder(order.id)).status).toBe('partially_shipped');
    const result = await push('W2', [...pickAndShip('W2', atW2, 'SOFA-B', 2), shipped('W2', atW2, 'SOFA-B', 2)]);
    expect(result).toMatchObject({ applied: 3, rejected: [] });

    read = await readOrder(order.id);
    expect(read.status).toBe('shipped');
    expect(statusPath(read)).toEqual([
      'pending_payment',
      'processing',
      'partially_packed',
      'partially_shipped',
      'shipped',
    ]);
    expect(read.history.map((entry: { event: string }) => entry.event).slice(2)).toEqual([
      'some_packed',
      'some_shipped',
      'all_packed',
      'all_shipped',
    ]);
    expect(read.shipments.map((entry: { warehouseId: string }) => entry.warehouseId).sort()).toEqual(['W1', 'W2']);
    expect(read.allocations.map((entry: { status: string }) => entry.status)).toEqual(['shipped', 'shipped']);
    expect(await partition('W2', 'SOFA-B')).toMatchObject({ onHand: 3, committed: 0, available: 3 });
  });

  it.each([
    ['the accepting warehouse answers first', 'canceled first'],
    ['the refusing warehouse answers first', 'refused first'],
  ] as const)(
    'ends a split order return_requested when one warehouse cancels and the other had shipped (%s), releasing only the canceled units',
    async (_, first) => {
      const order = await paidOrder([
        { sku: 'SOFA-A', quantity: 1 },
        { sku: 'SOFA-B', quantity: 2 },
      ]);
      const atW1 = order.fulfillmentAt('W1');
      const atW2 = order.fulfillmentAt('W2');
      await cancel(order.id);
      const acceptAtW1 = () =>
        push('W1', [
          fact('W1', { type: 'fulfillment_canceled', fulfillmentId: atW1, lines: [{ sku: 'SOFA-A', quantity: 1 }] }),
        ]);
      // W2 had shipped before it read the request: the ship, then its refusal, in its stream.
      const refuseAtW2 = () =>
        push('W2', [
          packed('W2', atW2),
          ...pickAndShip('W2', atW2, 'SOFA-B', 2),
          shipped('W2', atW2, 'SOFA-B', 2),
          fact('W2', { type: 'fulfillment_cancel_refused', fulfillmentId: atW2, reason: 'shipped' }),
        ]);

      if (first === 'canceled first') {
        expect((await acceptAtW1()).rejected).toEqual([]);
        const waiting = await readOrder(order.id);
        expect(waiting.status).toBe('cancel_requested');
        // Only W1's commitment is released; W2 has not answered and keeps its units committed.
        expect(await partition('W1', 'SOFA-A')).toMatchObject({ onHand: 5, committed: 0, available: 5 });
        expect(await partition('W2', 'SOFA-B')).toMatchObject({ onHand: 5, committed: 2, available: 3 });
        expect((await refuseAtW2()).rejected).toEqual([]);
      } else {
        expect((await refuseAtW2()).rejected).toEqual([]);
        expect((await readOrder(order.id)).status).toBe('return_requested');
        // The refusal and W2's shipment leave W1's commitment alone until W1 answers.
        expect(await partition('W1', 'SOFA-A')).toMatchObject({ onHand: 5, committed: 1, available: 4 });
        expect((await acceptAtW1()).rejected).toEqual([]);
      }

      const final = await readOrder(order.id);
      expect(final.status).toBe('return_requested');
      expect(final.history).toContainEqual(
        expect.objectContaining({ event: 'cancel_rejected_shipped', from: 'cancel_requested', to: 'return_requested' }),
      );
      expect(final.fulfillments).toEqual([
        expect.objectContaining({ id: atW1, status: 'canceled', cancelState: 'accepted' }),
        expect.objectContaining({ id: atW2, status: 'shipped', cancelState: 'refused' }),
      ]);
      expect(final.allocations).toEqual([
        expect.objectContaining({ warehouseId: 'W1', sku: 'SOFA-A', quantity: 1, status: 'released' }),
        expect.objectContaining({ warehouseId: 'W2', sku: 'SOFA-B', quantity: 2, status: 'shipped' }),
      ]);
      expect(final.shipments).toEqual([expect.objectContaining({ warehouseId: 'W2', fulfillmentId: atW2 })]);
      expect(await partition('W1', 'SOFA-A')).toMatchObject({ onHand: 5, committed: 0, available: 5 });
      expect(await partition('W2', 'SOFA-B')).toMatchObject({ onHand: 3, committed: 0, available: 3 });
    },
  );

  it('refuses a shipped (or packed) fact for a fulfillment order already canceled: fulfillment_state_conflict, nothing moves', async () => {
    const order = await paidOrder([{ sku: 'SOFA-A', quantity: 2 }]);
    const fulfillmentId = order.fulfillmentAt('W1');
    await cancel(order.id);
    await push('W1', [
      fact('W1', { type: 'fulfillment_canceled', fulfillmentId, lines: [{ sku: 'SOFA-A', quantity: 2 }] }),
    ]);
    expect((await readOrder(order.id)).status).toBe('canceled');
    expect(await partition('W1', 'SOFA-A')).toMatchObject({ committed: 0, available: 5 });

    const firstLateSeq = streams.get('W1')?.nextSeq as number;
    const late = await push('W1', [shipped('W1', fulfillmentId, 'SOFA-A', 2), packed('W1', fulfillmentId)]);
    // Refused durably: the stream still advances past both.
    expect(late).toMatchObject({ applied: 0, duplicates: 0, gap: false, upstreamAck: firstLateSeq + 1 });
    expect(late.rejected.map((rejection) => rejection.reason)).toEqual([
      'fulfillment_state_conflict',
      'fulfillment_state_conflict',
    ]);

    const final = await readOrder(order.id);
    expect(final.status).toBe('canceled');
    expect(final.shipments).toEqual([]);
    expect(final.fulfillments).toEqual([
      expect.objectContaining({ id: fulfillmentId, status: 'canceled', cancelState: 'accepted' }),
    ]);
    expect(final.allocations).toEqual([expect.objectContaining({ status: 'released' })]);
    expect(await count('shipments', 'fulfillment_id', fulfillmentId)).toBe(0);
    // Released once: committed did not go below zero.
    expect(await partition('W1', 'SOFA-A')).toMatchObject({ onHand: 5, committed: 0, available: 5 });
  });
});
