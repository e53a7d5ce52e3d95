import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type AdapterName, type TestHub, adapters, adminToken, call, startTestHub } from '../testing/harness.ts';
import { TestReceiver } from '../testing/webhook-receiver.ts';
import { emitWebhookEvent } from './emit.ts';
import type { WebhookSettings } from './settings.ts';

/**
 * What the delivery worker promises, each on a hub of its own with the clocks the scenario needs: a
 * receiver's Retry-After is waited for, a hanging endpoint delays no other, an endpoint failing past
 * the threshold is disabled, and the SSRF guard refuses internal addresses when the endpoint is saved
 * and again at every attempt.
 */
const directories: string[] = [];
const hubs: TestHub[] = [];
const receivers: TestReceiver[] = [];

async function hubOn(adapter: AdapterName, webhooks: Partial<WebhookSettings>, nowMs?: () => number): Promise<TestHub> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-webhooks-'));
  directories.push(directory);
  const hub = await startTestHub(adapter, {
    webhooks,
    sqliteFile: path.join(directory, 'hub.db'),
    ...(nowMs ? { nowMs } : {}),
  });
  hubs.push(hub);
  return hub;
}
async function receiver(): Promise<TestReceiver> {
  const started = await new TestReceiver().start();
  receivers.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((entry) => entry.close()));
  await Promise.all(hubs.splice(0).map((hub) => hub.dispose()));
});
afterAll(() => {
  for (const directory of directories) fs.rmSync(directory, { recursive: true, force: true });
});

async function endpoint(hub: TestHub, token: string, url: string, events: string[]) {
  const created = await call(hub, 'POST', '/api/v1/webhooks', { token, body: { url, events } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as { id: string; secret: string };
}

function lowStock(hub: TestHub, n = 0) {
  return emitWebhookEvent(hub.storage.db, {
    type: 'inventory.low',
    data: { warehouseId: 'W1', sku: `SKU-${n}`, available: 0, safetyStock: 1, occurredAt: new Date().toISOString() },
    warehouseId: 'W1',
    nowMs: Date.now(),
  });
}

async function deliveriesOf(hub: TestHub, token: string, endpointId: string) {
  const listed = await call(hub, 'GET', `/api/v1/webhooks/${endpointId}/deliveries?limit=500`, { token });
  expect(listed.status).toBe(200);
  return listed.body.items as Array<{
    id: string;
    status: string;
    attempts: number;
    attemptLog: Array<{ statusCode: number | null; error: string | null }>;
  }>;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(adapters)('webhook delivery on %s', (adapter) => {
  it("waits for a receiver's Retry-After before the next attempt, even when the schedule says sooner", async () => {
    const hub = await hubOn(adapter, { allowPrivate: true, retryScheduleMs: [0, 50, 50, 50], pollIntervalMs: 20 });
    const admin = await adminToken(hub);
    const target = await receiver();
    const created = await endpoint(hub, admin, target.url(), ['inventory.low']);
    target.secrets = [created.secret];
    target.answer = (_request, nth) => (nth === 0 ? { status: 503, headers: { 'retry-after': '2' } } : { status: 200 });
    await lowStock(hub);
    await target.waitFor((received) => received.length === 2);
    const [first, second] = target.received;
    expect(second?.id).toBe(first?.id);
    expect(second?.verifiedWith).toEqual([true]);
    expect((second?.receivedAtMs ?? 0) - (first?.receivedAtMs ?? 0)).toBeGreaterThanOrEqual(2_000);
  });

  it('a hanging endpoint does not delay deliveries to another endpoint', async () => {
    // The attempt timeout is long on purpose: the fast endpoint must be served while the slow one hangs.
    const hub = await hubOn(adapter, { allowPrivate: true, attemptTimeoutMs: 60_000, pollIntervalMs: 20 });
    const admin = await adminToken(hub);
    const hanging = await receiver();
    const fast = await receiver();
    hanging.answer = () => ({ status: 200, hang: true });
    const slowEndpoint = await endpoint(hub, admin, hanging.url(), ['inventory.low']);
    const fastEndpoint = await endpoint(hub, admin, fast.url(), ['inventory.low']);
    fast.secrets = [fastEndpoint.secret];
    // More events than an instance sends at once overall: the hanging endpoint must not take every slot.
    const events = 150;
    for (let n = 0; n < events; n++) await lowStock(hub, n);
    await fast.waitFor((received) => new Set(received.map((entry) => entry.id)).size === events, 30_000);
    expect(fast.received.every((entry) => entry.verifiedWith[0])).toBe(true);
    // The hanging endpoint holds only its own slots: a bounded number in flight, none answered yet.
    expect(hanging.received.length).toBeGreaterThan(0);
    expect(hanging.received.length).toBeLessThan(events);
    const slow = await deliveriesOf(hub, admin, slowEndpoint.id);
    expect(slow.every((delivery) => delivery.status === 'pending' && delivery.attempts === 0)).toBe(true);
  });

  it('disables an endpoint whose every attempt failed for longer than the threshold, and tells admin endpoints', async () => {
    const hub = await hubOn(adapter, {
      allowPrivate: true,
      retryScheduleMs: [0, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100],
      disableAfterMs: 400,
      pollIntervalMs: 20,
    });
    const admin = await adminToken(hub);
    const failing = await receiver();
    const ops = await receiver();
    failing.answer = () => ({ status: 500 });
    const watcher = await endpoint(hub, admin, ops.url(), ['endpoint.disabled']);
    ops.secrets = [watcher.secret];
    const created = await endpoint(hub, admin, failing.url(), ['inventory.low']);
    await lowStock(hub);
    await ops.waitFor((received) => received.length === 1);
    expect(ops.received[0]?.verifiedWith).toEqual([true]);
    expect(ops.received[0]?.data).toMatchObject({ endpointId: created.id, reason: 'failing' });
    const failingSince = Date.parse(ops.received[0]?.data.failingSince);
    const disabledAt = Date.parse(ops.received[0]?.data.disabledAt);
    expect(disabledAt - failingSince).toBeGreaterThanOrEqual(400);
    const shown = await call(hub, 'GET', `/api/v1/webhooks/${created.id}`, { token: admin });
    expect(shown.body).toMatchObject({ enabled: false, disabledReason: 'failing' });
    // Disabled: the delivery waits (pending), nothing more is sent.
    const sent = failing.received.length;
    await lowStock(hub, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(failing.received.length).toBe(sent);
  });

  it('gives up on a delivery once the retry schedule is exhausted (failed, with every attempt listed)', async () => {
    const hub = await hubOn(adapter, { allowPrivate: true, retryScheduleMs: [0, 50, 50], pollIntervalMs: 20 });
    const admin = await adminToken(hub);
    const failing = await receiver();
    failing.answer = () => ({ status: 502 });
    const created = await endpoint(hub, admin, failing.url(), ['inventory.low']);
    await lowStock(hub);
    await until(
      async () => (await deliveriesOf(hub, admin, created.id))[0]?.status === 'failed',
      'the delivery fails after three attempts',
    );
    const [delivery] = await deliveriesOf(hub, admin, created.id);
    expect(delivery?.attempts).toBe(3);
    expect(delivery?.attemptLog.map((attempt) => attempt.statusCode)).toEqual([502, 502, 502]);
    expect(new Set(failing.received.map((entry) => entry.id))).toEqual(new Set([delivery?.id]));
  });

  it('prunes finished deliveries, their attempts and their events once the retention period has passed', async () => {
    // The hub's clock runs with the wall clock, plus however far the test moves it on.
    let ahead = 0;
    const hub = await hubOn(adapter, { allowPrivate: true, pollIntervalMs: 20 }, () => Date.now() + ahead);
    const admin = await adminToken(hub);
    const target = await receiver();
    const created = await endpoint(hub, admin, target.url(), ['inventory.low']);
    await lowStock(hub);
    await until(
      async () => (await deliveriesOf(hub, admin, created.id))[0]?.status === 'succeeded',
      'the delivery succeeds',
    );
    const count = async (table: 'webhook_deliveries' | 'webhook_attempts' | 'webhook_events') =>
      Number(
        (
          await hub.storage.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await count('webhook_deliveries')).toBe(1);
    ahead += 29 * 24 * 3_600_000;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await count('webhook_deliveries')).toBe(1);
    ahead += 2 * 24 * 3_600_000;
    await until(async () => (await count('webhook_deliveries')) === 0, 'the finished delivery is pruned');
    expect(await count('webhook_attempts')).toBe(0);
    expect(await count('webhook_events')).toBe(0);
    expect(await count('webhook_endpoints' as 'webhook_events')).toBe(1);
  });
});
