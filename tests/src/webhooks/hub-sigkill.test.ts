import { TestReceiver } from '@dovetail/hub/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { type HubProcess, hubAdminToken, startHubProcess } from '../support/hub-process.ts';
import { requestJson } from '../support/http.ts';
import { freePort } from '../support/ports.ts';
import { hubStorageAdapters } from '../support/postgres.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';

/**
 * The webhook outbox survives SIGKILL: events are committed while the partner's receiver is down,
 * the hub is killed with -9 before it could deliver them, the receiver comes up, the hub restarts on
 * the same data, and every event arrives with the webhook-id it had before the kill, verified with
 * `standardwebhooks` against the endpoint's secret.
 */
const adapters = hubStorageAdapters('whkill');
const cleanup = new Cleanup();
afterAll(() => cleanup.runAll());

type Deliveries = { items: Array<{ id: string; status: string; attempts: number }> };

describe.each(adapters)('webhooks across a hub SIGKILL on $name', (adapter) => {
  it('delivers events committed before the kill after the restart, with the same webhook-id', async () => {
    await adapter.prepare(cleanup);
    const dataDir = createTempDir('hub-webhooks');
    cleanup.add('remove the data dir', () => removeTempDir(dataDir));
    const env = { ...adapter.env(), HUB_WEBHOOK_ALLOW_PRIVATE: '1', HUB_WEBHOOK_TIMEOUT_MS: '1000' };
    let hub: HubProcess = await startHubProcess({ dataDir, env });
    cleanup.add('kill the hub', () => hub.kill());
    const receiverPort = await freePort();
    const receiver = new TestReceiver();
    cleanup.add('close the receiver', () => receiver.close());

    const token = await hubAdminToken(hub.baseUrl);
    const created = await requestJson<{ id: string; secret: string }>(hub.baseUrl, 'POST', '/api/v1/webhooks', {
      token,
      body: { url: `http://127.0.0.1:${receiverPort}/hook`, events: ['order.created'] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const endpointId = created.body.id;
    receiver.secrets = [created.body.secret];
    // The receiver is down: each ping is committed, its first attempt refused, a retry scheduled.
    const events = 5;
    for (let n = 0; n < events; n++) {
      const ping = await requestJson(hub.baseUrl, 'POST', `/api/v1/webhooks/${endpointId}/test`, { token, body: {} });
      expect(ping.status).toBe(202);
    }
    const before = await requestJson<Deliveries>(hub.baseUrl, 'GET', `/api/v1/webhooks/${endpointId}/deliveries`, {
      token,
    });
    expect(before.body.items).toHaveLength(events);
    expect(before.body.items.every((delivery) => delivery.status === 'pending')).toBe(true);
    const ids = before.body.items.map((delivery) => delivery.id).sort();

    const port = hub.port;
    await hub.kill();
    await receiver.start(receiverPort);
    expect(receiver.received).toHaveLength(0);
    hub = await startHubProcess({ dataDir, port, env });

    // Retries are due 5 s after a failed attempt (a lease taken just before the kill lapses after 11 s).
    await receiver.waitFor((received) => new Set(received.map((entry) => entry.id)).size === events, 60_000);
    expect([...new Set(receiver.received.map((entry) => entry.id))].sort()).toEqual(ids);
    expect(receiver.received.every((entry) => entry.verifiedWith[0] === true && entry.type === 'ping')).toBe(true);

    const exit = await hub.stop(15_000);
    expect(exit, hub.output()).toEqual({ code: 0, signal: null });
  });
});
