import { TestReceiver } from '@dovetail/hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { type EdgeProcess, bootstrapStaff, runEdgeVerify } from '../support/edge-process.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { requestJson, signIn } from '../support/http.ts';
import { hubStorageAdapters } from '../support/postgres.ts';
import { payOrder, placeOrder, storefrontToken } from '../support/storefront.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { waitUntil } from '../support/wait.ts';
import { edgeSyncStatus, prepareHub, startEdge, startHub, waitForDrain } from '../sync/world.ts';
import {
  type Body,
  edgeStock,
  hubPartition,
  pickPackShip,
  receive,
  waitForHubOnHand,
  waitForOrderStatus,
  waitForPickListEntry,
  waitTimeoutMs,
} from './world.ts';

/**
 * A return received at the warehouse with the hub down: a real hub and a real enrolled edge. An
 * order ships from the edge; the storefront asks for a return, which policy authorizes and the hub
 * sends down the warehouse's channel; the hub is SIGKILLed; staff receive one unit restocked and one
 * damaged; the hub comes back. Then the return is closed at the hub, its replica of the partition
 * matches the edge's (on hand and damaged), available counts the restocked unit only, and the
 * storefront's endpoint received `return.received` with what to refund.
 */

const sku = 'RMA-SOFA';
const adapters = hubStorageAdapters('returns_at_edge');

describe.each(adapters)('a return received at the edge while the hub is down ($name)', (adapter) => {
  const cleanup = new Cleanup();
  let hubDir = '';
  let edgeDir = '';
  let hub: HubProcess;
  let edge: EdgeProcess;
  let admin = '';
  let storefront = '';
  let staff = '';
  const receiver = new TestReceiver();
  const env = () => ({ ...adapter.env(), HUB_WEBHOOK_ALLOW_PRIVATE: '1', HUB_WEBHOOK_TIMEOUT_MS: '2000' });

  beforeAll(async () => {
    await adapter.prepare(cleanup);
    hubDir = createTempDir('returns-hub');
    edgeDir = createTempDir('returns-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    hub = await startHub(cleanup, { dataDir: hubDir, env: env() });
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

  it('closes the return at the hub with the edge’s counts once the hub is back, and announces it', async () => {
    const endpoint = await requestJson<Body>(hub.baseUrl, 'POST', '/api/v1/webhooks', {
      token: admin,
      body: { url: receiver.url(), events: ['return.received', 'return.closed'] },
    });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    receiver.secrets = [endpoint.body.secret];

    await receive(edge, staff, sku, 5);
    await waitForHubOnHand(hub.baseUrl, admin, sku, 5);
    const placed = await placeOrder(hub.baseUrl, storefront, [{ sku, quantity: 2 }]);
    await payOrder(hub.baseUrl, storefront, placed.id);
    const entry = await waitForPickListEntry(edge, staff, placed.id);
    await pickPackShip(edge, staff, entry.id, [{ sku, quantity: 2 }], { carrier: 'DHL', trackingNumber: 'RMA-0001' });
    await waitForOrderStatus(hub.baseUrl, storefront, placed.id, 'shipped');
    expect(await hubPartition(hub.baseUrl, admin, sku)).toMatchObject({ onHand: 3, committed: 0 });

    const requested = await requestJson<Body>(hub.baseUrl, 'POST', `/api/v1/orders/${placed.id}/return`, {
      token: storefront,
      body: { lines: [{ sku, quantity: 2, reason: 'changed_mind' }] },
    });
    expect(requested.status, JSON.stringify(requested.body)).toBe(201);
    let rma = requested.body;
    if (rma.status === 'requested') {
      const authorized = await requestJson<Body>(hub.baseUrl, 'POST', `/api/v1/returns/${rma.id}/authorize`, {
        token: admin,
        body: {},
      });
      expect(authorized.status).toBe(200);
      rma = authorized.body;
    }
    expect(rma).toMatchObject({ status: 'authorized', warehouseId: 'W1' });
    const over = await requestJson<Body>(hub.baseUrl, 'POST', `/api/v1/orders/${placed.id}/return`, {
      token: storefront,
      body: { lines: [{ sku, quantity: 1, reason: 'changed_mind' }] },
    });
    expect(over.status).toBe(409);

    await waitUntil(
      `return ${rma.id} expected at the edge`,
      async () => {
        const listed = await requestJson<Body>(edge.baseUrl, 'GET', '/api/v1/returns?status=expected', {
          token: staff,
        });
        return (listed.body.items as Body[]).some((item) => item.id === rma.id) || undefined;
      },
      { timeoutMs: waitTimeoutMs, intervalMs: 100 },
    );

    await hub.kill();
    const receipt = {
      lines: [
        { sku, quantity: 1, disposition: 'restock', bin: 'R-01' },
        { sku, quantity: 1, disposition: 'damaged' },
      ],
    };
    const received = await requestJson<Body>(edge.baseUrl, 'POST', `/api/v1/returns/${rma.id}/receive`, {
      token: staff,
      body: receipt,
      headers: { 'idempotency-key': `rma-${rma.id}` },
    });
    expect(received.status, JSON.stringify(received.body)).toBe(201);
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 5, damaged: 1, available: 4 });
    const queued = await edgeSyncStatus(edge, staff);
    expect(queued.connected).toBe(false);
    expect(queued.pendingUpstream).toBe(3); // two return_restock events, then the return_received fact

    hub = await startHub(cleanup, { dataDir: hubDir, port: hub.port, env: env() });
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    const closed = await waitUntil(
      `return ${rma.id} closed at the hub`,
      async () => {
        const view = await requestJson<Body>(hub.baseUrl, 'GET', `/api/v1/returns/${rma.id}`, { token: admin });
        return view.body.status === 'closed' ? view.body : undefined;
      },
      { timeoutMs: waitTimeoutMs, intervalMs: 100 },
    );
    expect(closed.lines).toEqual([expect.objectContaining({ sku, quantity: 2, restocked: 1, damaged: 1, missing: 0 })]);
    expect(await hubPartition(hub.baseUrl, admin, sku)).toMatchObject({ onHand: 5, damaged: 1, available: 4 });
    await waitForOrderStatus(hub.baseUrl, storefront, placed.id, 'returned');
    await receiver.waitFor((all) => all.some((hook) => hook.type === 'return.received'), waitTimeoutMs);
    const hook = receiver.received.find((entry) => entry.type === 'return.received');
    expect(hook?.data).toMatchObject({ id: rma.id, status: 'closed', currency: 'EUR' });
    expect(hook?.data.receivedAmount).toBe(2 * hook?.data.lines[0].unitPrice);
    expect(receiver.received.filter((entry) => entry.type === 'return.received')).toHaveLength(1);
  }, 180_000);

  it('leaves an edge database that verify accepts once the edge is stopped', async () => {
    expect((await edge.stop()).code).toBe(0);
    const run = await runEdgeVerify(edge.dataDir);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.report, run.stdout + run.stderr).toMatchObject({ ok: true, mismatches: [] });
  });
});
