import { type FulfillmentFact, type StockEvent, newId } from '@dovetail/shared';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMigrator, migrateToLatest } from '../db/migrations.ts';
import type { Database } from '../database.ts';
import { readDownstream } from '../downstream/outbox.ts';
import { applyPush } from '../sync/apply-push.ts';
import { type TestHub, adminToken, call, clientToken, sofa, startTestHub } from '../testing/harness.ts';
import { commitIfAvailable } from './shortage.ts';

/**
 * Shortage on both adapters, driven as a real edge would: stock events and
 * fulfillment facts pushed through `applyPush`; orders placed and paid through the API.
 */
let hub: TestHub;
let token: string;
let clock: number;
const seqs = new Map<string, number>();

const sku = 'SOFA-1';
const customer = { email: 'ines@example.com', name: 'Inès Laurent' };
const shippingAddress = {
  line1: 'Keizersgracht 1',
  city: 'Amsterdam',
  postalCode: '1015 CJ',
  country: 'NL',
  location: { lat: 52.37, lon: 4.89 },
};

type Body = Record<string, unknown> & { type: string };
type Entry = { seq: number; event: StockEvent | FulfillmentFact };

/** One batch as the warehouse's edge would push it: consecutive seqs, fresh event ids. */
function batch(warehouseId: string, bodies: Body[]): Entry[] {
  return bodies.map((body) => {
    const seq = (seqs.get(warehouseId) ?? 0) + 1;
    seqs.set(warehouseId, seq);
    const event = {
      ...body,
      id: newId(),
      warehouseId,
      hlc: `${String(clock).padStart(13, '0')}-0000-edge`,
      atMs: clock,
      actor: 'lead',
    };
    return { seq, event: event as StockEvent | FulfillmentFact };
  });
}

const send = (warehouseId: string, events: Entry[]) =>
  applyPush(hub.storage.db, {
    dialect: hub.storage.dialect,
    warehouseId,
    edgeId: `edge-${warehouseId}`,
    events,
    nowMs: clock,
  });
const push = (warehouseId: string, bodies: Body[]) => send(warehouseId, batch(warehouseId, bodies));

async function warehouse(id: string, lat: number, lon: number, onHand: number): Promise<void> {
  expect(
    (
      await call(hub, 'POST', '/api/v1/warehouses', {
        token,
        body: { id, name: id, kind: 'warehouse', location: { lat, lon } },
      })
    ).status,
  ).toBe(201);
  // What a hello writes: the edge's upstream stream, so its pushes apply.
  await hub.storage.db
    .insertInto('edge_streams')
    .values({
      warehouse_id: id,
      edge_id: `edge-${id}`,
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
  if (onHand > 0) expect((await push(id, [{ type: 'receive', sku, quantity: onHand }])).rejected).toEqual([]);
}

async function paidOrder(quantity: number): Promise<{ id: string; number: string; fulfillmentId: string }> {
  const placed = await call(hub, 'POST', '/api/v1/orders', {
    token,
    body: { customer, shippingAddress, lines: [{ sku, quantity }] },
  });
  expect(placed.status).toBe(201);
  clock += 1_000;
  const paid = await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
    token,
    body: { reference: `psp-${placed.body.number}` },
  });
  expect(paid.status).toBe(200);
  return { id: paid.body.id, number: paid.body.number, fulfillmentId: paid.body.fulfillments[0].id };
}

const partition = async (warehouseId: string) =>
  (await call(hub, 'GET', `/api/v1/inventory/${sku}`, { token })).body.warehouses.find(
    (row: { warehouseId: string }) => row.warehouseId === warehouseId,
  );
const getOrder = async (id: string) => (await call(hub, 'GET', `/api/v1/orders/${id}`, { token })).body;
/** A warehouse channel's changes of one type as the edge receives them (sealed personal fields opened). */
const channel = async (warehouseId: string, type: string) =>
  (await readDownstream(hub.storage.db, `warehouse:${warehouseId}`, 0, 1_000))
    .filter((change) => change.kind === type)
    .map(
      (change) =>
        change.payload as {
          fulfillmentId: string;
          requestId: string;
          orderNumber?: string;
          lines: Array<{ sku: string; quantity: number }>;
        },
    );
const shortages = async () =>
  (await hub.storage.db.selectFrom('inventory_events').selectAll().orderBy('id').execute()).map((row) =>
    JSON.parse(row.payload_json),
  );
const released = (fulfillmentId: string, requestId: string, quantity: number): Body => ({
  type: 'fulfillment_released',
  fulfillmentId,
  requestId,
  lines: [{ sku, quantity }],
});

describe.each(['sqlite', 'postgres'] as const)('shortage on %s', (adapter) => {
  beforeEach(async () => {
    clock = Date.parse('2026-11-23T12:00:00Z');
    seqs.clear();
    hub = await startTestHub(adapter, { nowMs: () => clock });
    token = await adminToken(hub);
    expect(
      (
        await call(hub, 'POST', '/api/v1/products', {
          token,
          body: { ...sofa(sku), variants: [{ sku, options: { color: 'grey' } }] },
        })
      ).status,
    ).toBe(201);
  });
  afterEach(() => hub.dispose());

  it('asks the newest order to release when damage leaves committed above sellable, and re-routes the released units to a warehouse with stock', async () => {
    await warehouse('AMS', 52.37, 4.89, 3);
    await warehouse('PAR', 48.86, 2.35, 2);
    const older = await paidOrder(1);
    const newer = await paidOrder(2);
    expect(await partition('AMS')).toMatchObject({ onHand: 3, committed: 3, available: 0 });

    const damage = batch('AMS', [{ type: 'damage', sku, quantity: 2 }]);
    expect((await send('AMS', damage)).rejected).toEqual([]);

    const asks = await channel('AMS', 'fulfillment.release_requested');
    expect(asks).toEqual([
      { fulfillmentId: newer.fulfillmentId, requestId: expect.any(String), lines: [{ sku, quantity: 2 }] },
    ]);
    const [shortage] = await shortages();
    expect(shortage).toMatchObject({
      type: 'inventory.shortage',
      warehouseId: 'AMS',
      sku,
      onHand: 3,
      damaged: 2,
      sellable: 1,
      committed: 3,
      shortfall: 2,
      requested: 2,
      unresolved: 0,
      releaseRequests: [
        {
          requestId: asks[0]?.requestId,
          fulfillmentId: newer.fulfillmentId,
          orderId: newer.id,
          orderNumber: newer.number,
          quantity: 2,
        },
      ],
    });

    // The same push again (the ack was lost) and another movement at the partition ask nothing more.
    expect(await send('AMS', damage)).toMatchObject({ duplicates: 1, applied: 0 });
    await push('AMS', [{ type: 'move', sku, quantity: 1, fromBin: 'UNASSIGNED', toBin: 'A-01' }]);
    expect(await channel('AMS', 'fulfillment.release_requested')).toHaveLength(1);
    expect(await shortages()).toHaveLength(1);

    // The edge released both units (none picked): they are committed at PAR, which had them available.
    expect((await push('AMS', [released(newer.fulfillmentId, asks[0]?.requestId as string, 2)])).rejected).toEqual([]);
    expect(await partition('AMS')).toMatchObject({ onHand: 3, damaged: 2, committed: 1, available: 0 });
    expect(await partition('PAR')).toMatchObject({ onHand: 2, committed: 2, available: 0 });
    const moved = await getOrder(newer.id);
    const rerouted = moved.fulfillments.find((f: { warehouseId: string }) => f.warehouseId === 'PAR');
    expect(moved.status).toBe('processing');
    expect(moved.allocations).toEqual([
      {
        id: expect.any(String),
        warehouseId: 'AMS',
        sku,
        quantity: 2,
        status: 'rerouted',
        fulfillmentId: newer.fulfillmentId,
      },
      { id: expect.any(String), warehouseId: 'PAR', sku, quantity: 2, status: 'committed', fulfillmentId: rerouted.id },
    ]);
    expect(moved.fulfillments).toEqual(
      expect.arrayContaining([
        { id: newer.fulfillmentId, warehouseId: 'AMS', status: 'canceled', cancelState: null },
        { id: rerouted.id, warehouseId: 'PAR', status: 'requested', cancelState: null },
      ]),
    );
    expect(moved.history.at(-1)).toMatchObject({
      event: 'fulfillment_released',
      from: 'processing',
      to: 'processing',
      note: expect.stringContaining('2 re-routed to PAR'),
    });
    expect(await channel('PAR', 'fulfillment.requested')).toEqual([
      {
        fulfillmentId: rerouted.id,
        orderId: newer.id,
        orderNumber: newer.number,
        lines: [{ sku, quantity: 2 }],
        shipTo: { name: customer.name, address: shippingAddress },
      },
    ]);
    // The older order keeps its unit at AMS; the answer cannot be applied twice.
    expect((await getOrder(older.id)).allocations).toMatchObject([
      { warehouseId: 'AMS', quantity: 1, status: 'committed' },
    ]);
    const again = await push('AMS', [released(newer.fulfillmentId, asks[0]?.requestId as string, 2)]);
    expect(again.rejected).toMatchObject([{ reason: 'fulfillment_state_conflict' }]);
    expect(await partition('PAR')).toMatchObject({ committed: 2, available: 0 });
  });

  it('re-routes only what another warehouse has available (held units stay held) and backorders the rest', async () => {
    await warehouse('AMS', 52.37, 4.89, 3);
    await warehouse('PAR', 48.86, 2.35, 2);
    const order = await paidOrder(3);
    const hold = await call(hub, 'POST', '/api/v1/inventory/reserve', {
      token,
      body: { warehouseId: 'PAR', lines: [{ sku, quantity: 1 }] },
    });
    expect(hold.status).toBe(201);
    await push('AMS', [{ type: 'count', sku, countedQuantity: 0, delta: -3 }]);
    const [ask] = await channel('AMS', 'fulfillment.release_requested');
    expect(ask?.lines).toEqual([{ sku, quantity: 3 }]);

    expect((await push('AMS', [released(order.fulfillmentId, ask?.requestId as string, 3)])).rejected).toEqual([]);
    expect(await partition('PAR')).toMatchObject({ committed: 1, reserved: 1, available: 0 });
    expect(await partition('AMS')).toMatchObject({ onHand: 0, committed: 0 });
    const view = await getOrder(order.id);
    expect(
      view.allocations
        .map((a: { warehouseId: string; quantity: number; status: string }) => [a.warehouseId, a.quantity, a.status])
        .sort(),
    ).toEqual([
      ['AMS', 1, 'rerouted'],
      ['AMS', 2, 'backordered'],
      ['PAR', 1, 'committed'],
    ]);
    expect(view.history.at(-1).note).toContain('2 backordered');
  });

  it('cancels a paid order whose every unit is backordered at once: no warehouse is left to ask', async () => {
    await warehouse('AMS', 52.37, 4.89, 2);
    const order = await paidOrder(2);
    await push('AMS', [{ type: 'count', sku, countedQuantity: 0, delta: -2 }]);
    const [ask] = await channel('AMS', 'fulfillment.release_requested');
    await push('AMS', [released(order.fulfillmentId, ask?.requestId as string, 2)]);
    expect((await getOrder(order.id)).allocations).toMatchObject([
      { warehouseId: 'AMS', quantity: 2, status: 'backordered' },
    ]);
    const canceled = await call(hub, 'POST', `/api/v1/orders/${order.id}/cancel`, {
      token,
      body: { reason: 'customer gave up waiting' },
    });
    expect(canceled.status).toBe(200);
    expect(canceled.body.status).toBe('canceled');
    expect(canceled.body.allocations).toMatchObject([{ warehouseId: 'AMS', quantity: 2, status: 'released' }]);
    expect(canceled.body.history.slice(-2).map((h: { event: string }) => h.event)).toEqual([
      'cancel_requested',
      'cancel_accepted',
    ]);
    expect(await channel('AMS', 'fulfillment.cancel_requested')).toEqual([]);
    expect(await partition('AMS')).toMatchObject({ committed: 0 });
  });

  it('backorders the released units when no warehouse has any, and the order is never all shipped while they wait', async () => {
    await warehouse('AMS', 52.37, 4.89, 2);
    const order = await paidOrder(2);
    await push('AMS', [{ type: 'damage', sku, quantity: 1 }]);
    const [ask] = await channel('AMS', 'fulfillment.release_requested');
    expect(ask?.lines).toEqual([{ sku, quantity: 1 }]);
    await push('AMS', [released(order.fulfillmentId, ask?.requestId as string, 1)]);
    expect(await partition('AMS')).toMatchObject({ onHand: 2, damaged: 1, committed: 1 });
    const view = await getOrder(order.id);
    expect(view.allocations).toMatchObject([
      { warehouseId: 'AMS', quantity: 1, status: 'committed', fulfillmentId: order.fulfillmentId },
      { warehouseId: 'AMS', quantity: 1, status: 'backordered', fulfillmentId: order.fulfillmentId },
    ]);
    expect(view.fulfillments).toMatchObject([{ id: order.fulfillmentId, status: 'requested' }]);
    await push('AMS', [
      {
        type: 'fulfillment_packed',
        fulfillmentId: order.fulfillmentId,
        packages: [{ weightGrams: 40_000, lengthMm: 2_200, widthMm: 950, heightMm: 820 }],
      },
    ]);
    expect((await getOrder(order.id)).status).toBe('partially_packed');
  });

  it('moves nothing when the edge answers that it released nothing (already picked), and does not ask that order again', async () => {
    await warehouse('AMS', 52.37, 4.89, 2);
    await warehouse('PAR', 48.86, 2.35, 5);
    const order = await paidOrder(2);
    await push('AMS', [{ type: 'damage', sku, quantity: 2 }]);
    const [ask] = await channel('AMS', 'fulfillment.release_requested');
    expect((await push('AMS', [released(order.fulfillmentId, ask?.requestId as string, 0)])).rejected).toEqual([]);
    expect(await partition('AMS')).toMatchObject({ committed: 2 });
    expect(await partition('PAR')).toMatchObject({ committed: 0, available: 5 });
    const view = await getOrder(order.id);
    expect(view.allocations).toMatchObject([{ warehouseId: 'AMS', quantity: 2, status: 'committed' }]);
    expect(view.history.at(-1)).toMatchObject({
      event: 'fulfillment_released',
      note: expect.stringContaining('nothing moves'),
    });
    expect(await channel('PAR', 'fulfillment.requested')).toEqual([]);
    // The shortage stays on record; a later movement neither asks the picked order again nor repeats the same report.
    await push('AMS', [{ type: 'move', sku, quantity: 1, fromBin: 'UNASSIGNED', toBin: 'A-01' }]);
    expect(await channel('AMS', 'fulfillment.release_requested')).toHaveLength(1);
    expect(await shortages()).toMatchObject([
      { shortfall: 2, requested: 2 },
      { shortfall: 2, requested: 0, unresolved: 2 },
    ]);
    await push('AMS', [{ type: 'move', sku, quantity: 1, fromBin: 'A-01', toBin: 'UNASSIGNED' }]);
    expect(await shortages()).toHaveLength(2);
  });

  it('does not re-route units released while the order is being canceled: they are released, and the order cancels once nothing waits', async () => {
    await warehouse('AMS', 52.37, 4.89, 2);
    await warehouse('PAR', 48.86, 2.35, 5);
    const order = await paidOrder(2);
    await push('AMS', [{ type: 'damage', sku, quantity: 2 }]);
    expect((await call(hub, 'POST', `/api/v1/orders/${order.id}/cancel`, { token, body: {} })).body.status).toBe(
      'cancel_requested',
    );
    // The edge answers the release first (it came first on the channel); its copy is then canceled, so the cancel request needs no answer.
    const [ask] = await channel('AMS', 'fulfillment.release_requested');
    expect((await push('AMS', [released(order.fulfillmentId, ask?.requestId as string, 2)])).rejected).toEqual([]);
    const view = await getOrder(order.id);
    expect(view).toMatchObject({
      status: 'canceled',
      allocations: [{ warehouseId: 'AMS', quantity: 2, status: 'released' }],
      fulfillments: [{ status: 'canceled', cancelState: 'accepted' }],
    });
    expect(await partition('AMS')).toMatchObject({ committed: 0 });
    expect(await partition('PAR')).toMatchObject({ committed: 0, available: 5 });
  });

  it('lists inventory.shortage events, filtered and paged, and a scoped principal sees only its warehouses', async () => {
    await warehouse('AMS', 52.37, 4.89, 1);
    await warehouse('PAR', 48.86, 2.35, 1);
    await paidOrder(1);
    await push('AMS', [{ type: 'damage', sku, quantity: 1 }]);
    await call(hub, 'POST', '/api/v1/orders', {
      token,
      body: { customer, shippingAddress, lines: [{ sku, quantity: 1 }] },
    }).then((placed) =>
      call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, { token, body: { reference: 'psp-par' } }),
    );
    await push('PAR', [{ type: 'damage', sku, quantity: 1 }]);

    const all = await call(hub, 'GET', '/api/v1/inventory-events', { token });
    expect(all.status).toBe(200);
    expect(all.body.items.map((item: { warehouseId: string }) => item.warehouseId)).toEqual(['AMS', 'PAR']);
    expect(all.body.items[0]).toMatchObject({
      type: 'inventory.shortage',
      sku,
      payload: { type: 'inventory.shortage', warehouseId: 'AMS', shortfall: 1, committed: 1, onHand: 1 },
    });
    const first = await call(hub, 'GET', '/api/v1/inventory-events?type=inventory.shortage&limit=1', { token });
    expect(first.body.items).toHaveLength(1);
    const second = await call(hub, 'GET', `/api/v1/inventory-events?limit=1&cursor=${first.body.nextCursor}`, {
      token,
    });
    expect(second.body).toMatchObject({ items: [{ warehouseId: 'PAR' }], nextCursor: null });
    expect((await call(hub, 'GET', '/api/v1/inventory-events?warehouseId=PAR', { token })).body.items).toHaveLength(1);
    expect((await call(hub, 'GET', '/api/v1/inventory-events?type=inventory.restocked', { token })).status).toBe(400);

    const client = await call(hub, 'POST', '/api/v1/clients', {
      token,
      body: { name: 'Paris 3PL', role: '3pl', warehouses: ['PAR'] },
    });
    const scoped = await clientToken(hub, client.body.clientId, client.body.clientSecret);
    const seen = await call(hub, 'GET', '/api/v1/inventory-events', { token: scoped });
    expect(seen.body.items.map((item: { warehouseId: string }) => item.warehouseId)).toEqual(['PAR']);
    expect((await call(hub, 'GET', '/api/v1/inventory-events?warehouseId=AMS', { token: scoped })).status).toBe(403);
  });

  it('commits re-routed units only where the same statement proves them available, never taking a partition below zero', async () => {
    await warehouse('PAR', 48.86, 2.35, 2);
    await call(hub, 'POST', '/api/v1/inventory/reserve', {
      token,
      body: { warehouseId: 'PAR', lines: [{ sku, quantity: 1 }] },
    });
    const take = (quantity: number) =>
      hub.storage.db.transaction().execute((trx) => commitIfAvailable(trx, 'PAR', sku, quantity, clock));
    expect(await take(2)).toBe(false);
    expect(await partition('PAR')).toMatchObject({ committed: 0, available: 1 });
    expect(await take(1)).toBe(true);
    expect(await take(1)).toBe(false);
    expect(await partition('PAR')).toMatchObject({ committed: 1, reserved: 1, available: 0 });
  });
});

describe('0008_shortage', () => {
  it('keeps the allocations written before it, each under its old key as id, paid when its fulfillment order was created', async () => {
    const database = new BetterSqlite3(':memory:');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
    try {
      expect((await createMigrator(db as Kysely<unknown>).migrateTo('0007_fulfillment_facts')).error).toBeUndefined();
      // The parents are beside the point here: only the rows 0008 copies.
      database.pragma('foreign_keys = OFF');
      await sql`insert into fulfillments (id, order_id, warehouse_id, status, created_at) values ('F1', 'O1', 'AMS', 'requested', 1700)`.execute(
        db,
      );
      await sql`insert into allocations (order_id, fulfillment_id, warehouse_id, sku, quantity, status) values ('O1', 'F1', 'AMS', 'SOFA-1', 2, 'committed')`.execute(
        db,
      );
      await migrateToLatest(db as Kysely<unknown>);
      expect(await db.selectFrom('allocations').selectAll().execute()).toEqual([
        {
          id: 'O1:AMS:SOFA-1',
          order_id: 'O1',
          fulfillment_id: 'F1',
          warehouse_id: 'AMS',
          sku: 'SOFA-1',
          quantity: 2,
          status: 'committed',
          paid_at: 1700,
          shipping: 0,
        },
      ]);
    } finally {
      await db.destroy();
    }
  });
});
