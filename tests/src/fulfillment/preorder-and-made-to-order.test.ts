import { TestReceiver } from '@dovetail/hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { bootstrapStaff, type EdgeProcess } from '../support/edge-process.ts';
import { requestJson, signIn } from '../support/http.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { hubStorageAdapters } from '../support/postgres.ts';
import { payOrder, placeOrder, storefrontToken } from '../support/storefront.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { waitUntil } from '../support/wait.ts';
import { prepareHub, startEdge, startHub } from '../sync/world.ts';
import {
  type Body,
  expect201,
  hubPartition,
  pickPackShip,
  receive,
  waitForHubOnHand,
  waitForOrderStatus,
  waitTimeoutMs,
} from './world.ts';

/**
 * Pre-orders and made-to-order end to end, real processes (docs/catalog.md, "Pre-orders and
 * made-to-order"): one order takes a chair with 1 on the shelf and 2 more from a purchase order
 * (its pre-order cap is 5), and a made-to-order sofa. The shelf unit ships at once; the purchase
 * order and the production request reach the warehouse's edge over its channel, staff receive
 * against them there, the receipts reach the hub, which commits the waiting units to the order and
 * sends the edge their fulfillment orders; once they ship, the order is shipped.
 */

const chair = 'PRE-CHAIR';
const sofa = 'MTO-SOFA';
const day = 86_400_000;
const adapters = hubStorageAdapters('preorder_mto');

/** Every active fulfillment order of `orderId` on the edge's pick list, once there are `count`. */
function waitForPickList(edge: EdgeProcess, token: string, orderId: string, count: number): Promise<Body[]> {
  let last: Body;
  return waitUntil(
    `${count} fulfillment orders of ${orderId} on the edge's pick list`,
    async () => {
      const response = await requestJson<Body>(edge.baseUrl, 'GET', '/api/v1/fulfillments?status=active&limit=100', {
        token,
      });
      last = response.body;
      const mine = (response.body.items as Body[]).filter((item) => item.orderId === orderId);
      return mine.length === count ? mine : undefined;
    },
    { timeoutMs: waitTimeoutMs, intervalMs: 100, describe: () => JSON.stringify(last) },
  );
}

/** Waits until the edge lists `path` (`purchase-orders`, `production`) with one open entry; returns it. */
function waitForSupply(edge: EdgeProcess, token: string, path: string): Promise<Body> {
  let last: Body;
  return waitUntil(
    `an open entry at the edge's /${path}`,
    async () => {
      const response = await requestJson<Body>(edge.baseUrl, 'GET', `/api/v1/${path}`, { token });
      last = response.body;
      return (response.body.items as Body[])[0];
    },
    { timeoutMs: waitTimeoutMs, intervalMs: 100, describe: () => JSON.stringify(last) },
  );
}

describe.each(adapters)('a pre-order and a made-to-order line shipped through the edge ($name)', (adapter) => {
  const cleanup = new Cleanup();
  let hub: HubProcess;
  let edge: EdgeProcess;
  let admin = '';
  let storefront = '';
  let staff = '';
  const receiver = new TestReceiver();

  beforeAll(async () => {
    await adapter.prepare(cleanup);
    const hubDir = createTempDir('supply-hub');
    const edgeDir = createTempDir('supply-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    hub = await startHub(cleanup, {
      dataDir: hubDir,
      env: { ...adapter.env(), HUB_WEBHOOK_ALLOW_PRIVATE: '1', HUB_WEBHOOK_TIMEOUT_MS: '2000' },
    });
    const prepared = await prepareHub(hub.baseUrl, []);
    admin = prepared.admin;
    for (const product of [
      {
        name: 'Lund chair',
        category: 'chair',
        basePrice: 24_900,
        currency: 'EUR',
        variants: [{ sku: chair, options: {}, preorderCap: 5 }],
      },
      {
        name: 'Bergen sofa',
        category: 'sofa',
        basePrice: 189_900,
        currency: 'EUR',
        variants: [
          { sku: sofa, options: {}, fulfillment: 'made_to_order', leadTimeDays: 14, productionWarehouseId: 'W1' },
        ],
      },
    ])
      await expect201(
        `product ${product.name}`,
        requestJson<Body>(hub.baseUrl, 'POST', '/api/v1/products', { token: admin, body: product }),
      );
    storefront = await storefrontToken(hub.baseUrl, admin);
    edge = await startEdge(cleanup, { dataDir: edgeDir, hub: { url: hub.baseUrl, ...prepared.credentials } });
    staff = await signIn(edge.baseUrl, bootstrapStaff);
    await receiver.start();
    cleanup.add('close the receiver', () => receiver.close());
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('ships the shelf unit at once and the rest once received at the edge', async () => {
    const endpoint = await requestJson<Body>(hub.baseUrl, 'POST', '/api/v1/webhooks', {
      token: admin,
      body: { url: receiver.url(), events: ['production.requested'] },
    });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    receiver.secrets = [endpoint.body.secret];

    await receive(edge, staff, chair, 1);
    await waitForHubOnHand(hub.baseUrl, admin, chair, 1);
    const expectedAt = new Date(Date.now() + 7 * day).toISOString();
    const po = await expect201(
      'purchase order',
      requestJson<Body>(hub.baseUrl, 'POST', '/api/v1/purchase-orders', {
        token: admin,
        body: { warehouseId: 'W1', supplier: 'Lund Works', expectedAt, lines: [{ sku: chair, quantity: 4 }] },
      }),
    );
    expect(await hubPartition(hub.baseUrl, admin, chair)).toMatchObject({ onHand: 1, incoming: 4 });

    const startedMs = Date.now();
    const placed = await placeOrder(hub.baseUrl, storefront, [
      { sku: chair, quantity: 3 },
      { sku: sofa, quantity: 1 },
    ]);
    const paid = await payOrder(hub.baseUrl, storefront, placed.id);
    expect(paid.status).toBe('processing');
    expect(paid.supply.promises).toEqual([
      expect.objectContaining({ kind: 'preorder', sku: chair, quantity: 2, status: 'waiting', expectedAt }),
      expect.objectContaining({ kind: 'production', sku: sofa, quantity: 1, status: 'waiting' }),
    ]);
    // The later of the two: the sofa, 14 days from the order.
    const shipBy = Date.parse(paid.expectedShipAt);
    expect(shipBy).toBeGreaterThanOrEqual(startedMs + 14 * day);
    expect(shipBy).toBeLessThanOrEqual(Date.now() + 14 * day);

    // The shelf unit goes out now; the order is only partially shipped.
    const [first] = await waitForPickList(edge, staff, placed.id, 1);
    expect(first.lines).toMatchObject([{ sku: chair, quantity: 1 }]);
    await pickPackShip(edge, staff, first.id, [{ sku: chair, quantity: 1 }], {
      carrier: 'DHL',
      trackingNumber: 'SUP-0001',
    });
    await waitForOrderStatus(hub.baseUrl, storefront, placed.id, 'partially_shipped');

    // The purchase order and the production request reached the edge; staff receive against them.
    const expected = await waitForSupply(edge, staff, 'purchase-orders');
    expect(expected).toMatchObject({ id: po.id, status: 'open', lines: [{ sku: chair, quantity: 4, received: 0 }] });
    const production = await waitForSupply(edge, staff, 'production');
    expect(production).toMatchObject({ orderId: placed.id, lines: [{ sku: sofa, quantity: 1, received: 0 }] });
    await receiver.waitFor((all) => all.some((hook) => hook.type === 'production.requested'), waitTimeoutMs);
    expect(receiver.received[0]?.data).toMatchObject({ id: production.id, sku: sofa, quantity: 1, warehouseId: 'W1' });

    const over = await requestJson<Body>(edge.baseUrl, 'POST', `/api/v1/purchase-orders/${po.id}/receive`, {
      token: staff,
      body: { sku: chair, quantity: 5 },
    });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('over_receipt');
    await expect201(
      'receive against the purchase order',
      requestJson<Body>(edge.baseUrl, 'POST', `/api/v1/purchase-orders/${po.id}/receive`, {
        token: staff,
        body: { sku: chair, quantity: 4, bin: 'A-02' },
      }),
    );
    await expect201(
      'receive the finished sofa',
      requestJson<Body>(edge.baseUrl, 'POST', `/api/v1/production/${production.id}/receive`, {
        token: staff,
        body: { sku: sofa, quantity: 1, bin: 'B-01' },
      }),
    );

    // The receipts reach the hub: the waiting units are committed and sent back as fulfillment orders.
    const rest = await waitForPickList(edge, staff, placed.id, 2);
    for (const [index, entry] of rest.entries())
      await pickPackShip(edge, staff, entry.id, entry.lines, { carrier: 'DHL', trackingNumber: `SUP-01${index}` });
    const shipped = await waitForOrderStatus(hub.baseUrl, storefront, placed.id, 'shipped');
    expect(shipped.expectedShipAt).toBeUndefined();
    expect(shipped.supply.promises.map((promise: Body) => promise.status)).toEqual(['supplied', 'supplied']);
    const received = await requestJson<Body>(hub.baseUrl, 'GET', `/api/v1/purchase-orders/${po.id}`, { token: admin });
    expect(received.body).toMatchObject({ status: 'received', lines: [{ sku: chair, quantity: 4, received: 4 }] });
    await waitUntil(
      'the hub to count what shipped',
      async () => {
        const partition = await hubPartition(hub.baseUrl, admin, chair);
        return partition.onHand === 2 && partition.incoming === 0 && partition.committed === 0 ? partition : undefined;
      },
      { timeoutMs: waitTimeoutMs, intervalMs: 100 },
    );
    expect(await hubPartition(hub.baseUrl, admin, sofa)).toMatchObject({ onHand: 0, committed: 0 });
  }, 180_000);
});
