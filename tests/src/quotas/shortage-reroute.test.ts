import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { type EdgeProcess, bootstrapStaff } from '../support/edge-process.ts';
import { type HubProcess, createHubProducts, enrollHubEdge, hubAdminToken } from '../support/hub-process.ts';
import { requestJson, signIn } from '../support/http.ts';
import { hubStorageAdapters } from '../support/postgres.ts';
import {
  type HubOrder,
  payOrder,
  readOrder,
  storefrontToken,
  testCustomer,
  testShippingAddress,
} from '../support/storefront.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { waitUntil } from '../support/wait.ts';
import { startEdge, startHub, waitForDrain } from '../sync/world.ts';
import {
  type Body,
  edgeStock,
  expect201,
  fulfill,
  receive,
  waitForEdgeFulfillment,
  waitForPickListEntry,
  waitTimeoutMs,
} from '../fulfillment/world.ts';
import { expectStatus, hubPartitionAt, reserve, waitForHubPartition } from './world.ts';

/**
 * Physical loss (docs/architecture.md, "Quantities") across a real hub process and a real edge process: warehouse AMS runs an
 * enrolled edge, PAR is a 3PL whose stock the admin writes through the hub's API. Damage at the AMS
 * edge leaves `committed` above what is sellable there; the hub asks the edge to release the newest
 * allocation, the edge answers with what it has not picked, and the hub re-routes those units to PAR
 * (a new fulfillment order there) or, when nothing was released, moves nothing. Either way the
 * `inventory.shortage` event is listed.
 *
 * a. nothing picked: both units released and re-routed to PAR, committed moved with them;
 * b. the newest order already picked: released 0, nothing moves, the shortage is still on record.
 */

const amsterdam = 'AMS';
const paris = 'PAR';
const skus = { moved: 'SR-MOVED', picked: 'SR-PICKED' };

const adapters = hubStorageAdapters('shortage_reroute');

describe.each(adapters)('a shortage at an edge re-routes across a real hub and edge ($name)', (adapter) => {
  const cleanup = new Cleanup();
  let hub: HubProcess;
  let edge: EdgeProcess;
  let admin = '';
  let storefront = '';
  let staff = '';

  const hubAt = (sku: string, warehouseId: string) => hubPartitionAt(hub.baseUrl, admin, sku, warehouseId);
  /** Stock at the AMS edge (a scan) and at PAR (the admin's write), both seen by the hub. */
  const stock = async (sku: string, atAmsterdam: number, atParis: number) => {
    await receive(edge, staff, sku, atAmsterdam);
    await waitForHubPartition(
      hub.baseUrl,
      admin,
      sku,
      amsterdam,
      `${atAmsterdam} on hand`,
      (partition) => partition.onHand === atAmsterdam,
    );
    await expectStatus(
      'PAR stock',
      200,
      requestJson<Body>(hub.baseUrl, 'PUT', `/api/v1/warehouses/${paris}/inventory/${sku}`, {
        token: admin,
        body: { onHand: atParis },
      }),
    );
    expect(await hubAt(sku, paris)).toMatchObject({ onHand: atParis, committed: 0, available: atParis });
  };
  /** A storefront order held and committed at AMS, paid; resolves once the AMS edge's pick list has it. */
  const paidOrderAtAmsterdam = async (sku: string, quantity: number) => {
    const hold = await expectStatus('hold at AMS', 201, reserve(hub.baseUrl, storefront, sku, quantity, amsterdam));
    const placed = await expectStatus(
      'order',
      201,
      requestJson<HubOrder>(hub.baseUrl, 'POST', '/api/v1/orders', {
        token: storefront,
        body: { holdId: hold.id, customer: testCustomer, shippingAddress: testShippingAddress },
      }),
    );
    const paid = await payOrder(hub.baseUrl, storefront, placed.id);
    expect(paid).toMatchObject({
      status: 'processing',
      fulfillments: [{ warehouseId: amsterdam, status: 'requested' }],
    });
    const entry = await waitForPickListEntry(edge, staff, placed.id);
    expect(entry.id).toBe(paid.fulfillments[0].id);
    return { order: paid, fulfillmentId: entry.id as string };
  };
  const shortageEvents = async (sku: string): Promise<Body[]> => {
    const page = await expectStatus(
      'inventory events',
      200,
      requestJson<Body>(hub.baseUrl, 'GET', '/api/v1/inventory-events?type=inventory.shortage&limit=100', {
        token: admin,
      }),
    );
    return (page.items as Body[]).filter((event) => event.sku === sku);
  };
  const waitForHistory = (orderId: string, event: string): Promise<HubOrder> => {
    let last: HubOrder;
    return waitUntil(
      `order ${orderId} to record ${event}`,
      async () => {
        last = await readOrder(hub.baseUrl, admin, orderId);
        return (last.history as Body[]).some((entry) => entry.event === event) ? last : undefined;
      },
      {
        timeoutMs: waitTimeoutMs,
        intervalMs: 100,
        describe: () => JSON.stringify({ history: last?.history, allocations: last?.allocations }),
      },
    );
  };
  const damage = (sku: string, quantity: number) =>
    expect201(
      `damage ${quantity} × ${sku}`,
      requestJson<Body>(edge.baseUrl, 'POST', '/api/v1/stock/damage', { token: staff, body: { sku, quantity } }),
    );

  beforeAll(async () => {
    await adapter.prepare(cleanup);
    const hubDir = createTempDir('shortage-hub');
    const edgeDir = createTempDir('shortage-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    hub = await startHub(cleanup, { dataDir: hubDir, env: adapter.env() });
    admin = await hubAdminToken(hub.baseUrl);
    await createHubProducts(hub.baseUrl, admin, Object.values(skus));
    const credentials = await enrollHubEdge(hub.baseUrl, admin, amsterdam);
    await expectStatus(
      'PAR warehouse',
      201,
      requestJson<Body>(hub.baseUrl, 'POST', '/api/v1/warehouses', {
        token: admin,
        body: { id: paris, name: 'Paris 3PL', kind: '3pl', location: { lat: 48.86, lon: 2.35 } },
      }),
    );
    storefront = await storefrontToken(hub.baseUrl, admin);
    edge = await startEdge(cleanup, {
      warehouseId: amsterdam,
      dataDir: edgeDir,
      hub: { url: hub.baseUrl, ...credentials },
    });
    staff = await signIn(edge.baseUrl, bootstrapStaff);
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('a. damage of unpicked committed units: the edge releases them and the hub re-routes them to PAR', async () => {
    const sku = skus.moved;
    await stock(sku, 2, 5);
    const { order, fulfillmentId } = await paidOrderAtAmsterdam(sku, 2);
    expect(await hubAt(sku, amsterdam)).toMatchObject({ onHand: 2, committed: 2, available: 0 });
    expect(await shortageEvents(sku)).toEqual([]);

    await damage(sku, 2);
    const rerouted = await waitForHistory(order.id, 'fulfillment_released');
    const parisFulfillment = (rerouted.fulfillments as Body[]).find((entry) => entry.warehouseId === paris);
    expect(parisFulfillment, JSON.stringify(rerouted.fulfillments)).toMatchObject({ status: 'requested' });
    expect(rerouted.status).toBe('processing');
    expect(rerouted.fulfillments).toEqual([
      expect.objectContaining({ id: fulfillmentId, warehouseId: amsterdam, status: 'canceled' }),
      expect.objectContaining({ id: parisFulfillment.id, warehouseId: paris, status: 'requested' }),
    ]);
    const allocations = (rerouted.allocations as Body[])
      .map((entry) => [entry.warehouseId, entry.quantity, entry.status])
      .sort();
    expect(allocations).toEqual([
      [amsterdam, 2, 'rerouted'],
      [paris, 2, 'committed'],
    ]);
    // Committed moved with the units: none left at AMS (2 on hand, both damaged), 2 more at PAR.
    expect(await hubAt(sku, amsterdam)).toMatchObject({ onHand: 2, damaged: 2, committed: 0, available: 0 });
    expect(await hubAt(sku, paris)).toMatchObject({ onHand: 5, committed: 2, available: 3 });
    // The edge released what it had not picked: its copy is canceled with nothing left to pick.
    expect(await waitForEdgeFulfillment(edge, staff, fulfillmentId, 'canceled')).toMatchObject({
      lines: [{ sku, quantity: 0, picked: 0 }],
    });
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 2, damaged: 2, committed: 0 });

    const events = await shortageEvents(sku);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'inventory.shortage',
      warehouseId: amsterdam,
      sku,
      payload: {
        onHand: 2,
        damaged: 2,
        sellable: 0,
        committed: 2,
        excess: 2,
        shortfall: 2,
        requested: 2,
        unresolved: 0,
        releaseRequests: [{ fulfillmentId, orderId: order.id, quantity: 2 }],
      },
    });
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    expect(await shortageEvents(sku)).toHaveLength(1);
  });

  it('b. damage when the newest order was already picked: the edge releases none, nothing moves, the shortage is on record', async () => {
    const sku = skus.picked;
    await stock(sku, 3, 5);
    const older = await paidOrderAtAmsterdam(sku, 1);
    const newer = await paidOrderAtAmsterdam(sku, 2);
    await expect201('pick', fulfill(edge, staff, newer.fulfillmentId, 'pick', { sku, quantity: 2 }));
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    expect(await hubAt(sku, amsterdam)).toMatchObject({ onHand: 3, picked: 2, committed: 3, available: 0 });

    // The one unit left on a shelf is damaged: 3 committed, 2 sellable. The newest order is asked.
    await damage(sku, 1);
    const answered = await waitForHistory(newer.order.id, 'fulfillment_released');
    expect((answered.history as Body[]).find((entry) => entry.event === 'fulfillment_released').note).toContain(
      'released none',
    );
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });

    // Nothing moved: both orders keep their AMS fulfillment and allocations; PAR has nothing committed.
    for (const [placed, quantity] of [
      [newer, 2],
      [older, 1],
    ] as const) {
      const now = await readOrder(hub.baseUrl, admin, placed.order.id);
      expect(now.status).toBe('processing');
      expect(now.fulfillments).toEqual([
        expect.objectContaining({ id: placed.fulfillmentId, warehouseId: amsterdam, status: 'requested' }),
      ]);
      expect(now.allocations).toEqual([
        expect.objectContaining({ warehouseId: amsterdam, sku, quantity, status: 'committed' }),
      ]);
    }
    expect(await hubAt(sku, amsterdam)).toMatchObject({ onHand: 3, damaged: 1, picked: 2, committed: 3 });
    expect(await hubAt(sku, paris)).toMatchObject({ onHand: 5, committed: 0, available: 5 });
    expect(await waitForEdgeFulfillment(edge, staff, newer.fulfillmentId, 'picking')).toMatchObject({
      lines: [{ sku, quantity: 2, picked: 2 }],
    });
    expect(await waitForEdgeFulfillment(edge, staff, older.fulfillmentId, 'open')).toMatchObject({
      lines: [{ sku, quantity: 1, picked: 0 }],
    });

    const events = await shortageEvents(sku);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      warehouseId: amsterdam,
      payload: {
        onHand: 3,
        damaged: 1,
        sellable: 2,
        committed: 3,
        excess: 1,
        shortfall: 1,
        requested: 1,
        releaseRequests: [{ fulfillmentId: newer.fulfillmentId, quantity: 1 }],
      },
    });
  });
});
