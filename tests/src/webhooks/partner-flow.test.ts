import { randomBytes } from 'node:crypto';
import { TestReceiver } from '@dovetail/hub/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { type HubProcess, hubAdminToken, startHubProcess } from '../support/hub-process.ts';
import { requestJson } from '../support/http.ts';
import { hubStorageAdapters } from '../support/postgres.ts';
import { clientCredentialsToken } from '../support/storefront.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * A 3PL partner as it integrates: its receiver (a real HTTP server verifying every request with the
 * `standardwebhooks` package) hears `fulfillment_order.requested`, and the partner accepts and ships
 * through the REST API as its own client. On SQLite one hub process; on PostgreSQL two hub processes
 * share the database, the order is paid on one and the partner talks to the other, and no delivery
 * is ever in flight twice at once.
 */
const adapters = hubStorageAdapters('whpartner');
const cleanup = new Cleanup();
afterAll(() => cleanup.runAll());

type Json = any;

describe.each(adapters)('a 3PL partner driven by webhooks on $name', (adapter) => {
  it('receives the fulfillment order signed, accepts and ships it; the order reads shipped', async () => {
    await adapter.prepare(cleanup);
    // Instances sharing one database share its key-encryption key, as docs/operations.md says.
    const env = {
      ...adapter.env(),
      HUB_WEBHOOK_ALLOW_PRIVATE: '1',
      HUB_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    };
    const hubs: HubProcess[] = [];
    const instances = adapter.name === 'postgres' ? 2 : 1;
    for (let n = 0; n < instances; n++) {
      const dataDir = createTempDir(`partner-hub-${n}`);
      cleanup.add('remove the data dir', () => removeTempDir(dataDir));
      const hub = await startHubProcess({ dataDir, env });
      cleanup.add('kill the hub', () => hub.kill());
      hubs.push(hub);
    }
    const [front, back] = [hubs[0]!, hubs.at(-1)!];
    const admin = await hubAdminToken(front.baseUrl);
    const call = (hub: HubProcess, method: string, path: string, token: string, body?: object) =>
      requestJson<Json>(hub.baseUrl, method, path, { token, ...(body === undefined ? {} : { body }) });

    expect(
      (
        await call(front, 'POST', '/api/v1/products', admin, {
          name: 'Mora table',
          category: 'table',
          basePrice: 59_900,
          currency: 'EUR',
          variants: [{ sku: 'TABLE-MORA-200', options: { length: '200' } }],
        })
      ).status,
    ).toBe(201);
    for (const id of ['TPL1', 'TPL2']) {
      const created = await call(front, 'POST', '/api/v1/warehouses', admin, {
        id,
        name: `Partner ${id}`,
        kind: '3pl',
        location: { lat: 48.85, lon: 2.35 },
      });
      expect(created.status).toBe(201);
    }
    const partnerClient = await call(front, 'POST', '/api/v1/clients', admin, {
      name: 'partner one',
      role: '3pl',
      warehouses: ['TPL1'],
    });
    const otherClient = await call(front, 'POST', '/api/v1/clients', admin, {
      name: 'partner two',
      role: '3pl',
      warehouses: ['TPL2'],
    });
    const partner = await clientCredentialsToken(
      back.baseUrl,
      partnerClient.body.clientId,
      partnerClient.body.clientSecret,
    );
    const other = await clientCredentialsToken(back.baseUrl, otherClient.body.clientId, otherClient.body.clientSecret);
    expect(
      (await call(back, 'PUT', '/api/v1/warehouses/TPL1/inventory/TABLE-MORA-200', partner, { onHand: 4 })).status,
    ).toBe(200);

    const receiver = await new TestReceiver().start();
    cleanup.add('close the receiver', () => receiver.close());
    const endpoint = await call(back, 'POST', '/api/v1/webhooks', partner, {
      url: receiver.url(),
      events: ['fulfillment_order.requested', 'shipment.created'],
    });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    expect(endpoint.body.secret).toMatch(/^whsec_/);
    receiver.secrets = [endpoint.body.secret];
    // The other partner sees neither the endpoint nor, later, the fulfillment order.
    expect((await call(back, 'GET', `/api/v1/webhooks/${endpoint.body.id}`, other)).status).toBe(404);

    const placed = await call(front, 'POST', '/api/v1/orders', admin, {
      lines: [{ sku: 'TABLE-MORA-200', quantity: 1 }],
      customer: { email: 'linus@example.com', name: 'Linus Berg' },
      shippingAddress: { line1: '12 rue de Rivoli', city: 'Paris', postalCode: '75004', country: 'FR' },
    });
    expect(placed.status).toBe(201);
    expect(
      (await call(front, 'POST', `/api/v1/orders/${placed.body.id}/payment`, admin, { reference: 'p1' })).status,
    ).toBe(200);

    await receiver.waitFor(
      (received) => received.some((entry) => entry.type === 'fulfillment_order.requested'),
      30_000,
    );
    const requested = receiver.received.find((entry) => entry.type === 'fulfillment_order.requested')!;
    expect(requested.verifiedWith).toEqual([true]);
    expect(requested.data).toMatchObject({ orderId: placed.body.id, warehouseId: 'TPL1', reason: 'payment' });
    const fulfillmentOrderId = requested.data.id as string;
    expect((await call(back, 'GET', `/api/v1/fulfillment-orders/${fulfillmentOrderId}`, other)).status).toBe(404);
    expect(
      (await call(back, 'POST', `/api/v1/fulfillment-orders/${fulfillmentOrderId}/accept`, other, {})).status,
    ).toBe(404);

    const accepted = await call(back, 'POST', `/api/v1/fulfillment-orders/${fulfillmentOrderId}/accept`, partner, {});
    expect(accepted.status).toBe(200);
    const shipped = await call(back, 'POST', `/api/v1/fulfillment-orders/${fulfillmentOrderId}/ship`, partner, {
      carrier: 'UPS',
      trackingNumber: '1Z999AA10123456784',
    });
    expect(shipped.status).toBe(200);
    const order = await waitUntil(
      'the order shipped',
      async () => {
        const read = await call(front, 'GET', `/api/v1/orders/${placed.body.id}`, admin);
        return read.body.status === 'shipped' ? read.body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(order.shipments).toMatchObject([{ carrier: 'UPS', trackingNumber: '1Z999AA10123456784' }]);
    await receiver.waitFor((received) => received.some((entry) => entry.type === 'shipment.created'), 30_000);

    // Every event reached the partner once, verified, and no delivery was ever sent twice at once.
    expect(receiver.received.every((entry) => entry.verifiedWith[0] === true)).toBe(true);
    const ids = receiver.received.map((entry) => entry.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(receiver.maxInFlightPerId).toBe(1);
    for (const hub of hubs) expect(await hub.stop(15_000), hub.output()).toEqual({ code: 0, signal: null });
  });
});
