import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { type EdgeProcess, bootstrapStaff, runEdgeVerify } from '../support/edge-process.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { requestJson, signIn } from '../support/http.ts';
import { hubStorageAdapters } from '../support/postgres.ts';
import { cancelOrder, payOrder, placeOrder, readOrder, storefrontToken } from '../support/storefront.ts';
import { type TcpProxy, startTcpProxy } from '../support/tcp-proxy.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { edgeSyncStatus, prepareHub, startEdge, startHub, waitForDrain } from '../sync/world.ts';
import {
  type Body,
  edgeStock,
  expect201,
  fulfill,
  hubPartition,
  parcel,
  pickPackShip,
  receive,
  waitForEdgeFulfillment,
  waitForHubOnHand,
  waitForOrderStatus,
  waitForPickListEntry,
  waitTimeoutMs,
} from './world.ts';

/**
 * Pick, pack and ship end to end: a real hub process and a real enrolled edge process, spoken to
 * over HTTP as the storefront and warehouse staff would, syncing over the real socket. Each
 * scenario uses its own SKU, so they share one hub and edge without seeing each other's stock.
 * The edge reaches the hub through a test proxy, so a scenario can take the link down (held: new
 * connections wait, so the edge's reconnect backoff does not grow while the scenario works).
 *
 * a. the happy path: the hub's order reaches `shipped`, both sides' counts are exact;
 * b. a cancel the edge accepts: picked units go back on a shelf, the commitment is released;
 * c. a cancel the edge refuses because it shipped: physical fact wins, the order asks for a return;
 * e. refusals at the edge change nothing;
 * d. the whole flow with the hub down (SIGKILLed) and the edge SIGKILLed once mid-way: once the
 *    link is back, the order ships exactly once.
 * Last, the stopped edge's database passes `verify` (facts counted in the stream).
 */

const skus = {
  happy: 'FF-HAPPY',
  cancel: 'FF-CANCEL',
  refused: 'FF-REFUSED',
  offline: 'FF-OFFLINE',
  bad: 'FF-BAD',
  other: 'FF-OTHER',
};

const adapters = hubStorageAdapters('fulfillment_flow');

describe.each(adapters)('pick, pack and ship across a real hub and edge ($name)', (adapter) => {
  const cleanup = new Cleanup();
  let hubDir = '';
  let edgeDir = '';
  let hub: HubProcess;
  let edge: EdgeProcess;
  let proxy: TcpProxy;
  let admin = '';
  let storefront = '';
  let staff = '';
  let credentials: { clientId: string; clientSecret: string };

  const startOurHub = async (port?: number) => startHub(cleanup, { dataDir: hubDir, port, env: adapter.env() });
  const startOurEdge = async (port?: number) => {
    edge = await startEdge(cleanup, { dataDir: edgeDir, port, hub: { url: proxy.url, ...credentials } });
    staff = await signIn(edge.baseUrl, bootstrapStaff);
  };
  /** Receives `quantity` at the edge and waits until the hub's replica shows it. */
  const stock = async (sku: string, quantity: number) => {
    await receive(edge, staff, sku, quantity);
    return waitForHubOnHand(hub.baseUrl, admin, sku, quantity);
  };
  /** A storefront order of `quantity` × `sku`, paid; resolves once the edge's pick list has it. */
  const paidOrder = async (sku: string, quantity: number) => {
    const placed = await placeOrder(hub.baseUrl, storefront, [{ sku, quantity }]);
    expect(placed.status).toBe('pending_payment');
    const paid = await payOrder(hub.baseUrl, storefront, placed.id);
    expect(paid.status).toBe('processing');
    const entry = await waitForPickListEntry(edge, staff, placed.id);
    expect(entry.id).toBe(paid.fulfillments[0].id);
    return { order: paid, fulfillmentId: entry.id as string, entry };
  };

  beforeAll(async () => {
    await adapter.prepare(cleanup);
    hubDir = createTempDir('fulfillment-hub');
    edgeDir = createTempDir('fulfillment-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    hub = await startOurHub();
    const prepared = await prepareHub(hub.baseUrl, Object.values(skus));
    admin = prepared.admin;
    credentials = prepared.credentials;
    storefront = await storefrontToken(hub.baseUrl, admin);
    proxy = await startTcpProxy({ port: hub.port });
    cleanup.add('close proxy', () => proxy.close());
    await startOurEdge();
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('a. ships an order end to end: the hub order reaches shipped with exact counts on both sides', async () => {
    const sku = skus.happy;
    await stock(sku, 5);
    const { order, fulfillmentId, entry } = await paidOrder(sku, 2);
    expect(entry).toMatchObject({
      status: 'open',
      cancelRequested: false,
      orderNumber: order.number,
      lines: [{ sku, quantity: 2, picked: 0 }],
    });
    expect(await hubPartition(hub.baseUrl, admin, sku)).toMatchObject({
      onHand: 5,
      committed: 2,
      reserved: 0,
      available: 3,
    });

    const key = `pick-${randomUUID()}`;
    const picked = await fulfill(edge, staff, fulfillmentId, 'pick', { sku, quantity: 2, bin: 'A-01' }, key);
    expect(picked.status, JSON.stringify(picked.body)).toBe(201);
    expect(picked.body.fulfillment).toMatchObject({ status: 'picking', lines: [{ sku, quantity: 2, picked: 2 }] });
    // The scanner retries after a lost answer: the same answer again, nothing picked twice.
    const retried = await fulfill(edge, staff, fulfillmentId, 'pick', { sku, quantity: 2, bin: 'A-01' }, key);
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body).toEqual(picked.body);
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 5, picked: 2 });

    await expect201('pack', fulfill(edge, staff, fulfillmentId, 'pack', { packages: [parcel] }));
    const packed = await waitForOrderStatus(hub.baseUrl, storefront, order.id, 'packed');
    expect(packed.fulfillments).toEqual([
      { id: fulfillmentId, warehouseId: 'W1', status: 'packed', cancelState: null, packages: [parcel] },
    ]);
    const shipped = await expect201(
      'ship',
      fulfill(edge, staff, fulfillmentId, 'ship', { carrier: 'DHL Freight', trackingNumber: 'JD0142-HAPPY' }),
    );
    expect(shipped.fulfillment).toMatchObject({
      status: 'shipped',
      shipment: { carrier: 'DHL Freight', trackingNumber: 'JD0142-HAPPY' },
    });

    const final = await waitForOrderStatus(hub.baseUrl, storefront, order.id, 'shipped');
    expect(final.history.map((entry: Body) => [entry.event, entry.to])).toEqual([
      ['order_created', 'pending_payment'],
      ['payment_confirmed', 'processing'],
      ['all_packed', 'packed'],
      ['all_shipped', 'shipped'],
    ]);
    expect(final.shipments).toEqual([
      expect.objectContaining({
        id: shipped.fulfillment.shipment.shipmentId,
        fulfillmentId,
        warehouseId: 'W1',
        carrier: 'DHL Freight',
        trackingNumber: 'JD0142-HAPPY',
        status: 'in_transit',
      }),
    ]);
    expect(final.allocations).toEqual([expect.objectContaining({ sku, quantity: 2, status: 'shipped' })]);
    expect(final.fulfillments).toMatchObject([{ id: fulfillmentId, status: 'shipped' }]);
    expect(await hubPartition(hub.baseUrl, admin, sku)).toMatchObject({
      onHand: 3,
      committed: 0,
      reserved: 0,
      picked: 0,
      available: 3,
    });
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 3, picked: 0, committed: 0 });
    await waitForPickListEntry(edge, staff, order.id, 'shipped');
  });

  it('b. cancels a paid order the edge has started picking: the unit goes back on a shelf, the commitment is released', async () => {
    const sku = skus.cancel;
    const before = await stock(sku, 3);
    const { order, fulfillmentId } = await paidOrder(sku, 2);
    await expect201('pick', fulfill(edge, staff, fulfillmentId, 'pick', { sku, quantity: 1 }));
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 3, picked: 1 });

    const requested = await cancelOrder(hub.baseUrl, storefront, order.id);
    expect(requested.status).toBe('cancel_requested');
    expect(requested.fulfillments).toMatchObject([{ id: fulfillmentId, cancelState: 'requested' }]);
    const canceled = await waitForOrderStatus(hub.baseUrl, storefront, order.id, 'canceled');
    expect(canceled.history.map((entry: Body) => [entry.event, entry.to]).slice(-2)).toEqual([
      ['cancel_requested', 'cancel_requested'],
      ['cancel_accepted', 'canceled'],
    ]);
    expect(canceled.fulfillments).toMatchObject([{ id: fulfillmentId, status: 'canceled', cancelState: 'accepted' }]);
    expect(canceled.allocations).toEqual([expect.objectContaining({ sku, quantity: 2, status: 'released' })]);
    expect(canceled.shipments).toEqual([]);

    expect(await waitForEdgeFulfillment(edge, staff, fulfillmentId, 'canceled')).toMatchObject({
      cancelRequested: true,
      lines: [{ sku, quantity: 2, picked: 1 }],
    });
    const atEdge = await edgeStock(edge, staff, sku);
    expect(atEdge).toMatchObject({ onHand: 3, picked: 0, committed: 0 });
    expect(atEdge.bins.reduce((sum: number, bin: Body) => sum + bin.quantity, 0)).toBe(3);
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    expect(await hubPartition(hub.baseUrl, admin, sku)).toMatchObject({
      onHand: 3,
      committed: 0,
      reserved: 0,
      picked: 0,
      available: before.available,
    });
  });

  it('c. refuses a cancel once the edge has shipped: the order ends return_requested, the shipment stands', async () => {
    const sku = skus.refused;
    await stock(sku, 2);
    const { order, fulfillmentId } = await paidOrder(sku, 1);
    await expect201('pick', fulfill(edge, staff, fulfillmentId, 'pick', { sku, quantity: 1 }));
    await expect201('pack', fulfill(edge, staff, fulfillmentId, 'pack', { packages: [parcel] }));
    await waitForOrderStatus(hub.baseUrl, storefront, order.id, 'packed');

    // The parcel leaves while the hub has not heard yet (link held), and the customer cancels meanwhile.
    proxy.cut({ hold: true });
    await expect201(
      'ship',
      fulfill(edge, staff, fulfillmentId, 'ship', { carrier: 'PostNL', trackingNumber: '3SREFUSED01' }),
    );
    const requested = await cancelOrder(hub.baseUrl, storefront, order.id);
    expect(requested.status).toBe('cancel_requested');
    proxy.heal();

    const final = await waitForOrderStatus(hub.baseUrl, storefront, order.id, 'return_requested');
    expect(final.history).toContainEqual(
      expect.objectContaining({ event: 'cancel_rejected_shipped', from: 'cancel_requested', to: 'return_requested' }),
    );
    expect(final.fulfillments).toMatchObject([{ id: fulfillmentId, status: 'shipped', cancelState: 'refused' }]);
    expect(final.shipments).toEqual([expect.objectContaining({ carrier: 'PostNL', trackingNumber: '3SREFUSED01' })]);
    expect(await waitForEdgeFulfillment(edge, staff, fulfillmentId, 'shipped')).toMatchObject({
      cancelRequested: true,
    });
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    expect(await hubPartition(hub.baseUrl, admin, sku)).toMatchObject({
      onHand: 1,
      committed: 0,
      picked: 0,
      available: 1,
    });
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 1, picked: 0 });
  });

  it('e. refuses bad staff actions at the edge with the stable codes, and each refusal changes nothing', async () => {
    const sku = skus.bad;
    await stock(sku, 2);
    await stock(skus.other, 1);
    const { fulfillmentId } = await paidOrder(sku, 2);
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    const snapshot = async () => ({
      stock: await edgeStock(edge, staff, sku),
      other: await edgeStock(edge, staff, skus.other),
      fulfillment: (
        await requestJson<Body>(edge.baseUrl, 'GET', `/api/v1/fulfillments/${fulfillmentId}`, { token: staff })
      ).body,
      outbox: await edgeSyncStatus(edge, staff).then((status) => ({
        lastSeq: status.upstreamLastSeq,
        pending: status.pendingUpstream,
      })),
    });
    const before = await snapshot();

    const refusals: Array<[string, () => Promise<{ status: number; body: Body }>, number, string]> = [
      [
        'a SKU not on the order',
        () => fulfill(edge, staff, fulfillmentId, 'pick', { sku: skus.other, quantity: 1 }),
        409,
        'sku_not_in_fulfillment',
      ],
      ['more than ordered', () => fulfill(edge, staff, fulfillmentId, 'pick', { sku, quantity: 3 }), 409, 'over_pick'],
      [
        'packing before everything is picked',
        () => fulfill(edge, staff, fulfillmentId, 'pack', { packages: [parcel] }),
        409,
        'not_fully_picked',
      ],
      [
        'shipping before packing',
        () => fulfill(edge, staff, fulfillmentId, 'ship', { carrier: 'DHL', trackingNumber: 'EARLY1' }),
        409,
        'not_packed',
      ],
      [
        'an unknown fulfillment order',
        () => fulfill(edge, staff, randomUUID(), 'pick', { sku, quantity: 1 }),
        404,
        'unknown_fulfillment',
      ],
      [
        'an unknown order on the read path',
        () => requestJson<Body>(edge.baseUrl, 'GET', `/api/v1/fulfillments/${randomUUID()}`, { token: staff }),
        404,
        'unknown_fulfillment',
      ],
      [
        'a body that breaks the schema',
        () => fulfill(edge, staff, fulfillmentId, 'pick', { sku, quantity: 0, colour: 'red' }),
        400,
        'invalid_input',
      ],
      ['no parcels', () => fulfill(edge, staff, fulfillmentId, 'pack', { packages: [] }), 400, 'invalid_input'],
      [
        'a tracking number with spaces',
        () => fulfill(edge, staff, fulfillmentId, 'ship', { carrier: 'DHL', trackingNumber: 'A B' }),
        400,
        'invalid_input',
      ],
      ['a body that is not JSON', () => fulfill(edge, staff, fulfillmentId, 'pick', '{"sku": '), 400, 'invalid_json'],
    ];
    for (const [what, send, status, code] of refusals) {
      const response = await send();
      expect(response.status, `${what}: ${JSON.stringify(response.body)}`).toBe(status);
      expect(response.body.error, what).toMatchObject({ code, message: expect.any(String) });
    }
    // Schema failures name the fields, in the one error shape.
    const invalid = await fulfill(edge, staff, fulfillmentId, 'pick', { sku, quantity: 0, colour: 'red' });
    expect(invalid.body).toEqual({
      error: { code: 'invalid_input', message: expect.any(String), details: { issues: expect.any(Array) } },
    });
    expect(JSON.stringify(invalid.body.error.details)).toContain('quantity');

    expect(await snapshot()).toEqual(before);
    expect(before.fulfillment).toMatchObject({ status: 'open', lines: [{ sku, quantity: 2, picked: 0 }] });
    expect(before.stock).toMatchObject({ onHand: 2, picked: 0, committed: 2 });
  });

  it('d. picks, packs and ships with the hub down (and the edge SIGKILLed mid-way); the order ships once the hub is back', async () => {
    const sku = skus.offline;
    await stock(sku, 2);
    const { order, fulfillmentId } = await paidOrder(sku, 2);
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });

    proxy.cut({ hold: true });
    await hub.kill();
    await expect201(
      'pick 1',
      fulfill(edge, staff, fulfillmentId, 'pick', { sku, quantity: 1 }, `offline-${randomUUID()}`),
    );
    // A power cut at the warehouse: the acknowledged pick survives it.
    await edge.kill();
    expect((await edge.exited).signal).toBe('SIGKILL');
    await startOurEdge(edge.port);
    expect(
      (await requestJson<Body>(edge.baseUrl, 'GET', `/api/v1/fulfillments/${fulfillmentId}`, { token: staff })).body,
    ).toMatchObject({
      status: 'picking',
      lines: [{ sku, quantity: 2, picked: 1 }],
    });
    await pickPackShip(edge, staff, fulfillmentId, [{ sku, quantity: 1 }], {
      carrier: 'DB Schenker',
      trackingNumber: 'OFFLINE-0001',
    });
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 0, picked: 0 });
    const queued = await edgeSyncStatus(edge, staff);
    expect(queued.connected).toBe(false);
    // pick, pick, packed, ship (one per pick) ×2, shipped
    expect(queued.pendingUpstream).toBe(6);

    hub = await startOurHub(hub.port);
    proxy.heal();
    const final = await waitForOrderStatus(hub.baseUrl, storefront, order.id, 'shipped');
    const drained = await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    expect(drained).toMatchObject({ pendingUpstream: 0, rejected: 0 });
    const after = await readOrder(hub.baseUrl, storefront, order.id);
    expect(after.shipments).toEqual([
      expect.objectContaining({ carrier: 'DB Schenker', trackingNumber: 'OFFLINE-0001' }),
    ]);
    expect(after.history.filter((entry: Body) => entry.event === 'all_shipped')).toHaveLength(1);
    expect(after.history.filter((entry: Body) => entry.event === 'all_packed')).toHaveLength(1);
    expect(final.status).toBe('shipped');
    expect(await hubPartition(hub.baseUrl, admin, sku)).toMatchObject({
      onHand: 0,
      committed: 0,
      reserved: 0,
      picked: 0,
      available: 0,
    });
  }, 120_000);

  it('leaves an edge database that verify accepts once the edge is stopped', async () => {
    expect((await edge.stop()).code).toBe(0);
    const run = await runEdgeVerify(edge.dataDir);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.report, run.stdout + run.stderr).toMatchObject({ ok: true, mismatches: [], upstream: { problems: [] } });
  });
});
