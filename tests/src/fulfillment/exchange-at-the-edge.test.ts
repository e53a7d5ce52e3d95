import { TestReceiver } from '@dovetail/hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { bootstrapStaff, type EdgeProcess } from '../support/edge-process.ts';
import { requestJson, signIn } from '../support/http.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { hubStorageAdapters } from '../support/postgres.ts';
import { payOrder, placeOrder, readOrder, storefrontToken } from '../support/storefront.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { waitUntil } from '../support/wait.ts';
import { prepareHub, startEdge, startHub } from '../sync/world.ts';
import {
  type Body,
  hubPartition,
  pickPackShip,
  receive,
  receiveReturn,
  waitForExpectedReturn,
  waitForHubOnHand,
  waitForOrderStatus,
  waitForPickListEntry,
  waitTimeoutMs,
} from './world.ts';

/**
 * An exchange end to end, real processes: an order ships from the edge; the storefront asks to
 * exchange one unit. The replacement's unit is held at the hub at once (available drops, nothing
 * reaches the warehouse's pick list, paying for it is refused); staff receive the returned unit at
 * the edge; the receipt reaches the hub, which releases the replacement to the same edge, where it is
 * picked, packed and shipped. The storefront's endpoint hears exchange.created then exchange.released.
 */

const sku = 'EXCH-CHAIR';
const adapters = hubStorageAdapters('exchange_at_edge');

describe.each(adapters)('an exchange shipped after its return is received at the edge ($name)', (adapter) => {
  const cleanup = new Cleanup();
  let hub: HubProcess;
  let edge: EdgeProcess;
  let admin = '';
  let storefront = '';
  let staff = '';
  const receiver = new TestReceiver();

  beforeAll(async () => {
    await adapter.prepare(cleanup);
    const hubDir = createTempDir('exchange-hub');
    const edgeDir = createTempDir('exchange-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    hub = await startHub(cleanup, {
      dataDir: hubDir,
      env: { ...adapter.env(), HUB_WEBHOOK_ALLOW_PRIVATE: '1', HUB_WEBHOOK_TIMEOUT_MS: '2000' },
    });
    const prepared = await prepareHub(hub.baseUrl, [sku]);
    admin = prepared.admin;
    storefront = await storefrontToken(hub.baseUrl, admin);
    edge = await startEdge(cleanup, { dataDir: edgeDir, hub: { url: hub.baseUrl, ...prepared.credentials } });
    staff = await signIn(edge.baseUrl, bootstrapStaff);
    await receiver.start();
    cleanup.add('close the receiver', () => receiver.close());
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('holds the replacement at creation and ships it once the return is received', async () => {
    const endpoint = await requestJson<Body>(hub.baseUrl, 'POST', '/api/v1/webhooks', {
      token: admin,
      body: { url: receiver.url(), events: ['exchange.created', 'exchange.released', 'exchange.canceled'] },
    });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    receiver.secrets = [endpoint.body.secret];

    await receive(edge, staff, sku, 3);
    await waitForHubOnHand(hub.baseUrl, admin, sku, 3);
    const placed = await placeOrder(hub.baseUrl, storefront, [{ sku, quantity: 1 }]);
    await payOrder(hub.baseUrl, storefront, placed.id);
    const entry = await waitForPickListEntry(edge, staff, placed.id);
    await pickPackShip(edge, staff, entry.id, [{ sku, quantity: 1 }], { carrier: 'DHL', trackingNumber: 'EXC-0001' });
    await waitForOrderStatus(hub.baseUrl, storefront, placed.id, 'shipped');
    expect(await hubPartition(hub.baseUrl, admin, sku)).toMatchObject({ onHand: 2, available: 2 });

    const created = await requestJson<Body>(hub.baseUrl, 'POST', `/api/v1/orders/${placed.id}/exchange`, {
      token: storefront,
      body: { returnLines: [{ sku, quantity: 1, reason: 'wrong_size' }], newLines: [{ sku, quantity: 1 }] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const exchange = created.body.exchange;
    let rma = created.body.return;
    expect(exchange).toMatchObject({ status: 'awaiting_return', advance: false });
    if (rma.status === 'requested') {
      // Worth more than policy authorizes alone: an agent does.
      const authorized = await requestJson<Body>(hub.baseUrl, 'POST', `/api/v1/returns/${rma.id}/authorize`, {
        token: admin,
        body: {},
      });
      expect(authorized.status).toBe(200);
      rma = authorized.body;
    }
    expect(rma).toMatchObject({ status: 'authorized', warehouseId: 'W1', exchangeId: exchange.id });
    // Held at once: available drops by the replacement's unit; nothing is sent to the warehouse yet.
    expect(await hubPartition(hub.baseUrl, admin, sku)).toMatchObject({ onHand: 2, available: 1 });
    expect((await readOrder(hub.baseUrl, storefront, exchange.replacementOrderId)).status).toBe('pending_payment');
    const early = await requestJson<Body>(
      hub.baseUrl,
      'POST',
      `/api/v1/orders/${exchange.replacementOrderId}/payment`,
      {
        token: storefront,
        body: { reference: 'psp-early' },
      },
    );
    expect(early.status).toBe(409);

    await waitForExpectedReturn(edge, staff, rma.id);
    const active = await requestJson<Body>(edge.baseUrl, 'GET', '/api/v1/fulfillments?status=active&limit=100', {
      token: staff,
    });
    expect((active.body.items as Body[]).some((item) => item.orderId === exchange.replacementOrderId)).toBe(false);
    await receiveReturn(edge, staff, rma.id, [{ sku, quantity: 1, disposition: 'restock', bin: 'R-01' }]);

    const replacement = await waitForPickListEntry(edge, staff, exchange.replacementOrderId);
    await pickPackShip(edge, staff, replacement.id, [{ sku, quantity: 1 }], {
      carrier: 'DHL',
      trackingNumber: 'EXC-0002',
    });
    await waitForOrderStatus(hub.baseUrl, storefront, exchange.replacementOrderId, 'shipped');
    const released = await requestJson<Body>(hub.baseUrl, 'GET', `/api/v1/exchanges/${exchange.id}`, {
      token: storefront,
    });
    expect(released.body.status).toBe('released');
    // 3 received, 1 shipped, 1 came back, 1 replacement shipped: 2 on hand, none held.
    await waitUntil(
      'the hub to count the returned unit and the replacement shipped',
      async () => {
        const partition = await hubPartition(hub.baseUrl, admin, sku);
        return partition.onHand === 2 && partition.available === 2 ? partition : undefined;
      },
      { timeoutMs: waitTimeoutMs, intervalMs: 100 },
    );
    await receiver.waitFor((all) => all.some((hook) => hook.type === 'exchange.released'), waitTimeoutMs);
    expect(receiver.received.map((hook) => hook.type)).toEqual(['exchange.created', 'exchange.released']);
  }, 180_000);
});
