import { type StockEventBody, newId } from '@dovetail/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDownstream } from '../downstream/outbox.ts';
import { applyPush } from '../sync/apply-push.ts';
import { type TestHub, adminToken, call, sofa, startTestHub } from '../testing/harness.ts';
import { rebalanceQuotas } from './service.ts';

/**
 * In-store quotas on both adapters: granted rights leave online availability at once, the edge's
 * events (driven here through `applyPush`, as its pushes arrive) settle them, and the rebalancer
 * follows the admin's policy.
 */
let hub: TestHub;
let token: string;
let clock: number;
let seq: number;
const edgeId = 'edge-incarnation-1';

async function push(body: StockEventBody) {
  seq += 1;
  const event = { ...body, id: newId(), warehouseId: 'STORE', hlc: `${clock}-0000-edge`, atMs: clock, actor: 'anna' };
  return applyPush(hub.storage.db, {
    dialect: hub.storage.dialect,
    warehouseId: 'STORE',
    edgeId,
    events: [{ seq, event } as never],
    nowMs: clock,
  });
}

const partition = async () =>
  hub.storage.db
    .selectFrom('stock_partitions')
    .selectAll()
    .where('warehouse_id', '=', 'STORE')
    .where('sku', '=', 'SOFA-1')
    .executeTakeFirstOrThrow();
const available = async () => (await call(hub, 'GET', '/api/v1/inventory/SOFA-1', { token })).body.available as number;
const channel = async () => readDownstream(hub.storage.db, 'warehouse:STORE', 0, 100);

describe.each(['sqlite', 'postgres'] as const)('in-store quotas on %s', (adapter) => {
  beforeEach(async () => {
    clock = Date.parse('2026-11-23T12:00:00Z');
    seq = 0;
    hub = await startTestHub(adapter, { nowMs: () => clock });
    token = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/products', { token, body: sofa('SOFA-1') })).status).toBe(201);
    await call(hub, 'POST', '/api/v1/warehouses', {
      token,
      body: { id: 'STORE', name: 'Showroom', kind: 'store', location: { lat: 52.37, lon: 4.89 } },
    });
    expect((await call(hub, 'POST', '/api/v1/warehouses/STORE/edges', { token, body: {} })).status).toBe(201);
    await hub.storage.db
      .insertInto('edge_streams')
      .values({
        warehouse_id: 'STORE',
        edge_id: edgeId,
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
    expect((await push({ type: 'receive', sku: 'SOFA-1', quantity: 10 })).applied).toBe(1);
  });
  afterEach(() => hub.dispose());

  it('takes granted rights out of online availability at once, before the edge hears of them', async () => {
    const granted = await call(hub, 'POST', '/api/v1/warehouses/STORE/quotas/grant', {
      token,
      body: { sku: 'SOFA-1', quantity: 3 },
    });
    expect(granted.status).toBe(201);
    expect(granted.body).toMatchObject({ kind: 'grant', quantity: 3, status: 'open' });
    expect(Number((await partition()).edge_quota)).toBe(3);
    expect(await available()).toBe(7);
    const changes = await channel();
    expect(changes.map((change) => [change.kind, change.payload])).toContainEqual([
      'quota.granted',
      { grantId: granted.body.id, sku: 'SOFA-1', quantity: 3 },
    ]);

    // Online can no longer sell them: a hold of 8 fails, 7 succeeds.
    expect(
      (
        await call(hub, 'POST', '/api/v1/inventory/reserve', {
          token,
          body: { lines: [{ sku: 'SOFA-1', quantity: 8 }] },
        })
      ).status,
    ).toBe(409);
    expect(
      (
        await call(hub, 'POST', '/api/v1/inventory/reserve', {
          token,
          body: { lines: [{ sku: 'SOFA-1', quantity: 7 }] },
        })
      ).status,
    ).toBe(201);
    // And nothing more can be granted: rights come only out of what online could sell.
    const refused = await call(hub, 'POST', '/api/v1/warehouses/STORE/quotas/grant', {
      token,
      body: { sku: 'SOFA-1', quantity: 1 },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('insufficient_stock');
  });

  it('settles the grant when the edge records it, and an in-store sale moves on_hand and rights together', async () => {
    const granted = await call(hub, 'POST', '/api/v1/warehouses/STORE/quotas/grant', {
      token,
      body: { sku: 'SOFA-1', quantity: 3 },
    });
    await push({ type: 'quota_grant', sku: 'SOFA-1', quantity: 3, reference: granted.body.id });
    expect(Number((await partition()).edge_quota)).toBe(3);
    const move = await hub.storage.db
      .selectFrom('quota_moves')
      .selectAll()
      .where('id', '=', granted.body.id)
      .executeTakeFirstOrThrow();
    expect(move.status).toBe('answered');

    const before = await available();
    await push({ type: 'instore_sale', sku: 'SOFA-1', quantity: 2 });
    const after = await partition();
    expect([Number(after.on_hand), Number(after.edge_quota)]).toEqual([8, 1]);
    expect(await available()).toBe(before);
  });

  it('rebalances toward the policy: grants up to the target, asks back the excess once, frees it when returned', async () => {
    const set = await call(hub, 'PUT', '/api/v1/warehouses/STORE/quota-policy', {
      token,
      body: { defaultUnits: 2, skus: { 'SOFA-1': 4 } },
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ defaultUnits: 2, skus: { 'SOFA-1': 4 } });
    expect(await rebalanceQuotas(hub.storage.db, hub.storage.dialect, clock)).toEqual({
      granted: 4,
      returnsRequested: 0,
    });
    expect(await rebalanceQuotas(hub.storage.db, hub.storage.dialect, clock)).toEqual({
      granted: 0,
      returnsRequested: 0,
    });
    expect(await available()).toBe(6);
    // The edge applies the grant from its channel and pushes it back as a quota_grant event.
    const grant = (await channel()).find((change) => change.kind === 'quota.granted')?.payload as {
      grantId: string;
      quantity: number;
    };
    await push({ type: 'quota_grant', sku: 'SOFA-1', quantity: grant.quantity, reference: grant.grantId });

    await call(hub, 'PUT', '/api/v1/warehouses/STORE/quota-policy', {
      token,
      body: { defaultUnits: 0, skus: { 'SOFA-1': 1 } },
    });
    const pass = await call(hub, 'POST', '/api/v1/warehouses/STORE/quotas/rebalance', { token, body: {} });
    expect(pass.body).toEqual({ granted: 0, returnsRequested: 3 });
    // Asked once: the next pass waits for the answer instead of asking again.
    expect(await rebalanceQuotas(hub.storage.db, hub.storage.dialect, clock)).toEqual({
      granted: 0,
      returnsRequested: 0,
    });
    const request = (await channel()).find((change) => change.kind === 'quota.return_requested');
    if (!request) throw new Error('no return request on the channel');
    expect(request.payload).toMatchObject({ sku: 'SOFA-1', quantity: 3 });
    const listed = await call(hub, 'GET', '/api/v1/warehouses/STORE/quotas', { token });
    expect(listed.body.items).toEqual([
      { warehouseId: 'STORE', sku: 'SOFA-1', granted: 4, returnRequested: 3, target: 1 },
    ]);

    const { requestId } = request.payload as { requestId: string };
    await push({ type: 'quota_return', sku: 'SOFA-1', quantity: 3, reference: requestId });
    expect(Number((await partition()).edge_quota)).toBe(1);
    expect(await available()).toBe(9);
    expect(await rebalanceQuotas(hub.storage.db, hub.storage.dialect, clock)).toEqual({
      granted: 0,
      returnsRequested: 0,
    });
  });

  it('stops waiting for a return request the edge answered with nothing left', async () => {
    const granted = await call(hub, 'POST', '/api/v1/warehouses/STORE/quotas/grant', {
      token,
      body: { sku: 'SOFA-1', quantity: 2 },
    });
    await push({ type: 'quota_grant', sku: 'SOFA-1', quantity: 2, reference: granted.body.id });
    const asked = await call(hub, 'POST', '/api/v1/warehouses/STORE/quotas/return', {
      token,
      body: { sku: 'SOFA-1', quantity: 2 },
    });
    expect(asked.status).toBe(202);
    await push({ type: 'instore_sale', sku: 'SOFA-1', quantity: 2 });
    expect((await call(hub, 'GET', '/api/v1/warehouses/STORE/quotas', { token })).body.items[0]).toMatchObject({
      granted: 0,
      returnRequested: 2,
    });
    await push({ type: 'quota_return', sku: 'SOFA-1', quantity: 0, reference: asked.body.id });
    expect((await call(hub, 'GET', '/api/v1/warehouses/STORE/quotas', { token })).body.items[0]).toMatchObject({
      granted: 0,
      returnRequested: 0,
    });
    const move = await hub.storage.db
      .selectFrom('quota_moves')
      .selectAll()
      .where('id', '=', asked.body.id)
      .executeTakeFirstOrThrow();
    expect([move.status, Number(move.answered_quantity)]).toEqual(['answered', 0]);
  });

  it('does not ask twice for the same excess when two passes race', async () => {
    const granted = await call(hub, 'POST', '/api/v1/warehouses/STORE/quotas/grant', {
      token,
      body: { sku: 'SOFA-1', quantity: 4 },
    });
    await push({ type: 'quota_grant', sku: 'SOFA-1', quantity: 4, reference: granted.body.id });
    await call(hub, 'PUT', '/api/v1/warehouses/STORE/quota-policy', { token, body: { defaultUnits: 1 } });
    const passes = await Promise.all([1, 2, 3].map(() => rebalanceQuotas(hub.storage.db, hub.storage.dialect, clock)));
    expect(passes.reduce((total, pass) => total + pass.returnsRequested, 0)).toBe(3);
    const requests = (await channel()).filter((change) => change.kind === 'quota.return_requested');
    expect(requests).toHaveLength(1);
  });

  it('grants nothing while online has nothing to spare', async () => {
    expect(
      (
        await call(hub, 'POST', '/api/v1/inventory/reserve', {
          token,
          body: { lines: [{ sku: 'SOFA-1', quantity: 10 }] },
        })
      ).status,
    ).toBe(201);
    await call(hub, 'PUT', '/api/v1/warehouses/STORE/quota-policy', { token, body: { defaultUnits: 5 } });
    expect(await rebalanceQuotas(hub.storage.db, hub.storage.dialect, clock)).toEqual({
      granted: 0,
      returnsRequested: 0,
    });
    expect(Number((await partition()).edge_quota)).toBe(0);
  });

  it('refuses quotas for a warehouse without an edge, bad bodies, and non-admins', async () => {
    await call(hub, 'POST', '/api/v1/warehouses', {
      token,
      body: { id: 'DC', name: 'DC', kind: '3pl', location: { lat: 50, lon: 4 } },
    });
    const noEdge = await call(hub, 'PUT', '/api/v1/warehouses/DC/quota-policy', { token, body: { defaultUnits: 1 } });
    expect(noEdge.status).toBe(422);
    expect(noEdge.body.error.code).toBe('no_edge');
    expect(
      (await call(hub, 'PUT', '/api/v1/warehouses/STORE/quota-policy', { token, body: { defaultUnits: -1 } })).status,
    ).toBe(400);
    expect(
      (
        await call(hub, 'POST', '/api/v1/warehouses/STORE/quotas/grant', {
          token,
          body: { sku: 'SOFA-1', quantity: 0 },
        })
      ).status,
    ).toBe(400);
    expect(
      (await call(hub, 'POST', '/api/v1/warehouses/NOPE/quotas/grant', { token, body: { sku: 'SOFA-1', quantity: 1 } }))
        .status,
    ).toBe(404);
    expect(
      (await call(hub, 'PUT', '/api/v1/warehouses/STORE/quota-policy', { body: { defaultUnits: 1 } })).status,
    ).toBe(401);
    expect(Number((await partition()).edge_quota)).toBe(0);
  });
});
