import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { type EdgeProcess, bootstrapStaff, runEdgeVerify } from '../support/edge-process.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { requestJson, signIn } from '../support/http.ts';
import { hubStorageAdapters } from '../support/postgres.ts';
import { storefrontToken } from '../support/storefront.ts';
import { type TcpProxy, startTcpProxy } from '../support/tcp-proxy.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { edgeSyncStatus, prepareHub, startEdge, startHub, waitForDrain, warehouseId } from '../sync/world.ts';
import { type Body, edgeStock, hubPartition, receive, waitForHubOnHand, waitTimeoutMs } from '../fulfillment/world.ts';
import {
  expectStatus,
  instoreSale,
  ledgerEvents,
  quotaMove,
  rebalance,
  reserve,
  setQuotaPolicy,
  waitForEdgeStock,
  waitForHubPartition,
} from './world.ts';

/**
 * In-store quotas (docs/architecture.md, "Quantities"; docs/decisions/0002-escrow-quotas.md) across a real hub process and a real enrolled edge
 * process, the edge reaching the hub through a test proxy so the link can be cut. Each scenario has
 * its own SKU; the warehouse's one policy names every SKU's target (default 0), and the hub's own
 * rebalancer runs every 5 s beside the explicit rebalance calls, so every figure is read as a state
 * both passes agree on, never as "what this call did".
 *
 * a. a policy and a rebalance: the edge holds exactly the target, online availability fell by it;
 * b. offline, the edge sells exactly its quota and refuses the next sale; online holds meanwhile can
 *    take every other unit but never a granted one; after the heal both sides agree exactly;
 * c. a lower target: the edge gives the excess back; a return asked for more than the edge holds
 *    returns what is left, and the rebalancer grants nothing while it is pending;
 * d. the edge SIGKILLed with a grant in flight and right after applying one: each grant once.
 * Last, the stopped edge's database passes `verify`.
 */

const skus = { policy: 'QT-POLICY', offline: 'QT-OFFLINE', lower: 'QT-LOWER', crash: 'QT-CRASH' };

const adapters = hubStorageAdapters('instore_quota');

describe.each(adapters)('in-store quotas across a real hub and edge ($name)', (adapter) => {
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
  /** The warehouse's policy as the scenarios set it, SKU by SKU (one policy per warehouse). */
  const targets: Record<string, number> = {};

  const startOurEdge = async () => {
    edge = await startEdge(cleanup, { dataDir: edgeDir, hub: { url: proxy.url, ...credentials } });
    staff = await signIn(edge.baseUrl, bootstrapStaff);
  };
  const stock = async (sku: string, quantity: number) => {
    await receive(edge, staff, sku, quantity);
    return waitForHubOnHand(hub.baseUrl, admin, sku, quantity);
  };
  const target = (sku: string, units: number) => {
    targets[sku] = units;
    return setQuotaPolicy(hub.baseUrl, admin, warehouseId, { defaultUnits: 0, skus: { ...targets } });
  };
  const hubAt = (sku: string) => hubPartition(hub.baseUrl, admin, sku);
  const waitHub = (sku: string, what: string, accept: (partition: Body) => boolean) =>
    waitForHubPartition(hub.baseUrl, admin, sku, warehouseId, what, accept);
  const waitEdge = (sku: string, what: string, accept: (stock: Body) => boolean) =>
    waitForEdgeStock(edge, staff, sku, what, accept);

  beforeAll(async () => {
    await adapter.prepare(cleanup);
    hubDir = createTempDir('quota-hub');
    edgeDir = createTempDir('quota-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    hub = await startHub(cleanup, { dataDir: hubDir, env: adapter.env() });
    const prepared = await prepareHub(hub.baseUrl, Object.values(skus));
    admin = prepared.admin;
    credentials = prepared.credentials;
    storefront = await storefrontToken(hub.baseUrl, admin);
    proxy = await startTcpProxy({ port: hub.port });
    cleanup.add('close proxy', () => proxy.close());
    await startOurEdge();
  });

  // A failed scenario must not leave the link cut under the next one.
  afterEach(() => proxy?.heal());

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('a. a policy and a rebalance give the edge exactly the target, taken out of online availability at grant time', async () => {
    const sku = skus.policy;
    const before = await stock(sku, 10);
    expect(before).toMatchObject({ onHand: 10, edgeQuota: 0, available: 10 });

    await target(sku, 4);
    // Three passes at once (and the hub's own every 5 s): the target is granted once, not per pass.
    await Promise.all([
      rebalance(hub.baseUrl, admin, warehouseId),
      rebalance(hub.baseUrl, admin, warehouseId),
      rebalance(hub.baseUrl, admin, warehouseId),
    ]);
    // The hub removed the units from online sale when it granted, before the edge heard of it.
    expect(await hubAt(sku)).toMatchObject({ onHand: 10, edgeQuota: 4, available: 6 });
    const atEdge = await waitEdge(sku, 'edgeQuota 4', (view) => view.edgeQuota === 4);
    expect(atEdge).toMatchObject({ onHand: 10, edgeQuota: 4 });
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    // The edge's answer settles the grant without moving the hub's count again.
    expect(await hubAt(sku)).toMatchObject({ onHand: 10, edgeQuota: 4, available: 6 });
    expect((await ledgerEvents(edge, staff, sku, 'quota_grant')).map((event) => event.quantity)).toEqual([4]);
    const quotas = await expectStatus(
      'quotas',
      200,
      requestJson<Body>(hub.baseUrl, 'GET', `/api/v1/warehouses/${warehouseId}/quotas`, { token: admin }),
    );
    expect(quotas.items).toContainEqual({ warehouseId, sku, granted: 4, returnRequested: 0, target: 4 });
  });

  it('b. offline, the edge sells exactly its quota, online holds never take a granted unit, and both sides agree after the heal', async () => {
    const sku = skus.offline;
    await stock(sku, 10);
    await target(sku, 4);
    await rebalance(hub.baseUrl, admin, warehouseId);
    await waitEdge(sku, 'edgeQuota 4', (view) => view.edgeQuota === 4);
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    expect(await hubAt(sku)).toMatchObject({ onHand: 10, edgeQuota: 4, reserved: 0, available: 6 });

    proxy.cut({ hold: true });
    // In store, with the link down: one, then three more; the quota is spent.
    expect((await instoreSale(edge, staff, sku, 1)).status).toBe(201);
    expect((await instoreSale(edge, staff, sku, 3)).status).toBe(201);
    const spent = await edgeStock(edge, staff, sku);
    expect(spent).toMatchObject({ onHand: 6, edgeQuota: 0 });
    const outboxBefore = await edgeSyncStatus(edge, staff);
    expect(outboxBefore.connected).toBe(false);
    const refused = await instoreSale(edge, staff, sku, 1);
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'quota_exhausted' });
    // The refusal changed nothing: same stock, nothing queued upstream.
    expect(await edgeStock(edge, staff, sku)).toEqual(spent);
    const outboxAfter = await edgeSyncStatus(edge, staff);
    expect({ lastSeq: outboxAfter.upstreamLastSeq, pending: outboxAfter.pendingUpstream }).toEqual({
      lastSeq: outboxBefore.upstreamLastSeq,
      pending: outboxBefore.pendingUpstream,
    });

    // Meanwhile online: every unit not granted can be held, and not one more.
    const held = await expectStatus(
      'hold of all available',
      201,
      reserve(hub.baseUrl, storefront, sku, 6, warehouseId),
    );
    const hubBefore = await hubAt(sku);
    expect(hubBefore).toMatchObject({ onHand: 10, edgeQuota: 4, reserved: 6, available: 0 });
    const tooMany = await reserve(hub.baseUrl, storefront, sku, 1, warehouseId);
    expect(tooMany.status, JSON.stringify(tooMany.body)).toBe(409);
    expect(tooMany.body.error).toMatchObject({ code: 'insufficient_stock' });
    expect(await hubAt(sku)).toEqual(hubBefore);

    proxy.heal();
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    // The sales arrive: on hand fell by what was sold, the rights by the same, available did not move.
    const healed = await waitHub(sku, 'the sales applied', (partition) => partition.onHand === 6);
    expect(healed).toMatchObject({ onHand: 6, edgeQuota: 0, reserved: 6, available: 0 });
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 6, edgeQuota: 0 });
    expect((await ledgerEvents(edge, staff, sku, 'instore_sale')).map((event) => event.quantity)).toEqual([1, 3]);

    // With the target set to 0 (nothing to refill), the holds go: online has exactly the 6 it had before the sales.
    await target(sku, 0);
    await expectStatus(
      'release',
      200,
      requestJson<Body>(hub.baseUrl, 'POST', '/api/v1/inventory/release', {
        token: storefront,
        body: { holdId: held.id },
      }),
    );
    expect(await hubAt(sku)).toMatchObject({ onHand: 6, edgeQuota: 0, reserved: 0, available: 6 });
  });

  it('c. a lower target takes the excess back, and a return asked for more than the edge holds returns what is left', async () => {
    const sku = skus.lower;
    await stock(sku, 10);
    await target(sku, 5);
    await rebalance(hub.baseUrl, admin, warehouseId);
    await waitEdge(sku, 'edgeQuota 5', (view) => view.edgeQuota === 5);
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    expect(await hubAt(sku)).toMatchObject({ onHand: 10, edgeQuota: 5, available: 5 });

    await target(sku, 2);
    await rebalance(hub.baseUrl, admin, warehouseId);
    await waitEdge(sku, 'edgeQuota 2', (view) => view.edgeQuota === 2);
    const lowered = await waitHub(sku, 'the return of 3 applied', (partition) => partition.edgeQuota === 2);
    expect(lowered).toMatchObject({ onHand: 10, edgeQuota: 2, available: 8 });
    expect((await ledgerEvents(edge, staff, sku, 'quota_return')).map((event) => event.quantity)).toEqual([3]);

    // Offline, one of the two left is sold; the hub asks back 10 it cannot know are not there.
    await target(sku, 0);
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    proxy.cut({ hold: true });
    expect((await instoreSale(edge, staff, sku, 1)).status).toBe(201);
    await expectStatus('return request', 202, quotaMove(hub.baseUrl, admin, warehouseId, 'return', sku, 10));
    // While that request is pending, a rebalance toward target 0 grants nothing (the request asks
    // for more than is out: the rights out stay 2, never below 0, so nothing looks missing).
    const pass = await rebalance(hub.baseUrl, admin, warehouseId);
    expect(pass.granted).toBe(0);
    expect(await hubAt(sku)).toMatchObject({ onHand: 10, edgeQuota: 2, available: 8 });

    proxy.heal();
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    // The edge returned the one it had left; the sale took the other. Available rose by the one returned.
    const settled = await waitHub(
      sku,
      'the sale and the return applied',
      (partition) => partition.onHand === 9 && partition.edgeQuota === 0,
    );
    expect(settled).toMatchObject({ onHand: 9, edgeQuota: 0, available: 9 });
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 9, edgeQuota: 0 });
    expect((await ledgerEvents(edge, staff, sku, 'quota_return')).map((event) => event.quantity)).toEqual([3, 1]);
  });

  it('d. the edge SIGKILLed with a grant in flight, and again right after applying one: each grant is applied once', async () => {
    const sku = skus.crash;
    await stock(sku, 10);
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });

    // In flight: granted at the hub while the link is held, the edge killed before it hears.
    proxy.cut({ hold: true });
    await target(sku, 3);
    await rebalance(hub.baseUrl, admin, warehouseId);
    expect(await hubAt(sku)).toMatchObject({ onHand: 10, edgeQuota: 3, available: 7 });
    await edge.kill();
    expect((await edge.exited).signal).toBe('SIGKILL');
    await startOurEdge();
    expect(await edgeStock(edge, staff, sku)).toMatchObject({ onHand: 10, edgeQuota: 0 });
    proxy.heal();
    await waitEdge(sku, 'edgeQuota 3', (view) => view.edgeQuota === 3);

    // Applied: killed the moment the edge shows it (its cursor must have been stored with it).
    await target(sku, 5);
    await rebalance(hub.baseUrl, admin, warehouseId);
    await waitEdge(sku, 'edgeQuota 5', (view) => view.edgeQuota === 5);
    await edge.kill();
    expect((await edge.exited).signal).toBe('SIGKILL');
    await startOurEdge();
    // A barrier: one more grant, behind the killed one on the same ordered channel. Once the edge
    // shows it, a redelivered 2 would have been applied before it: the figure must be 6, not 8.
    await target(sku, 6);
    await rebalance(hub.baseUrl, admin, warehouseId);
    const after = await waitEdge(sku, 'the barrier grant applied', (view) => view.edgeQuota >= 6);
    expect(after).toMatchObject({ onHand: 10, edgeQuota: 6 });
    await waitForDrain(edge, staff, { timeoutMs: waitTimeoutMs });
    expect(await hubAt(sku)).toMatchObject({ onHand: 10, edgeQuota: 6, available: 4 });
    expect((await ledgerEvents(edge, staff, sku, 'quota_grant')).map((event) => event.quantity)).toEqual([3, 2, 1]);
  });

  it('leaves an edge database that verify accepts once the edge is stopped', async () => {
    expect((await edge.stop()).code).toBe(0);
    const run = await runEdgeVerify(edge.dataDir);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.report, run.stdout + run.stderr).toMatchObject({ ok: true, mismatches: [], upstream: { problems: [] } });
  });
});
