import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { type HubProcess, createHubProducts, hubAdminToken } from '../support/hub-process.ts';
import { requestJson } from '../support/http.ts';
import { hubStorageAdapters } from '../support/postgres.ts';
import {
  clientCredentialsToken,
  payOrder,
  placeOrder,
  readOrder,
  storefrontToken,
  testShippingAddress,
} from '../support/storefront.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { startHub } from '../sync/world.ts';
import type { Body } from './world.ts';

/**
 * A 3PL warehouse fulfils an order through the hub's REST API, across a real hub process (SQLite and
 * PostgreSQL): an admin creates the 3PL warehouse and its API client, the 3PL writes its stock, the
 * storefront places and pays an order, and the 3PL lists the fulfillment order, accepts it and ships
 * it, retrying the ship with the same Idempotency-Key as a client would after a lost answer. The
 * order reads `shipped` with the 3PL's tracking number, the stock left the 3PL's partition once, and
 * another 3PL's client sees none of it.
 */

const sku = 'TPL-MORA-200';
const adapters = hubStorageAdapters('third_party_flow');

async function expectStatus(what: string, expected: number, response: Promise<{ status: number; body: Body }>) {
  const { status, body } = await response;
  if (status !== expected) throw new Error(`${what} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

describe.each(adapters)('a 3PL fulfils an order through the REST API across a real hub ($name)', (adapter) => {
  const cleanup = new Cleanup();
  let hub: HubProcess;
  let admin = '';
  let storefront = '';
  let partner = '';
  let otherPartner = '';

  const api = (method: string, path: string, token: string, body?: object, headers?: Record<string, string>) =>
    requestJson<Body>(hub.baseUrl, method, `/api/v1${path}`, {
      token,
      ...(body ? { body } : {}),
      ...(headers ? { headers } : {}),
    });

  /** Creates 3PL warehouse `id` (near the customer) and an API client scoped to it → its token. */
  const thirdParty = async (id: string) => {
    await expectStatus(
      `warehouse ${id}`,
      201,
      api('POST', '/warehouses', admin, {
        id,
        name: `Partner ${id}`,
        kind: '3pl',
        location: testShippingAddress.location,
      }),
    );
    const client = await expectStatus(
      `client for ${id}`,
      201,
      api('POST', '/clients', admin, { name: `partner-${id}`, role: '3pl', warehouses: [id] }),
    );
    return clientCredentialsToken(hub.baseUrl, client.clientId, client.clientSecret);
  };

  beforeAll(async () => {
    await adapter.prepare(cleanup);
    const dataDir = createTempDir('third-party-hub');
    cleanup.add('remove temp dir', () => removeTempDir(dataDir));
    hub = await startHub(cleanup, { dataDir, env: adapter.env() });
    admin = await hubAdminToken(hub.baseUrl);
    await createHubProducts(hub.baseUrl, admin, [sku]);
    storefront = await storefrontToken(hub.baseUrl, admin);
    partner = await thirdParty('TPL1');
    otherPartner = await thirdParty('TPL2');
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('lists, accepts and ships the paid order; the order reads shipped with the tracking number', async () => {
    await expectStatus('3PL stock', 200, api('PUT', `/warehouses/TPL1/inventory/${sku}`, partner, { onHand: 4 }));
    const placed = await placeOrder(hub.baseUrl, storefront, [{ sku, quantity: 3 }]);
    const paid = await payOrder(hub.baseUrl, storefront, placed.id);
    expect(paid.status).toBe('processing');
    expect(paid.fulfillments).toEqual([expect.objectContaining({ warehouseId: 'TPL1', status: 'requested' })]);

    const listed = await expectStatus('list', 200, api('GET', '/fulfillment-orders?status=requested', partner));
    expect(listed.items).toEqual([
      expect.objectContaining({
        orderId: placed.id,
        orderNumber: placed.number,
        warehouseId: 'TPL1',
        status: 'requested',
        lines: [{ sku, quantity: 3, shipped: 0, toShip: 3 }],
        shipTo: expect.objectContaining({ address: testShippingAddress }),
      }),
    ]);
    const fulfillmentId = listed.items[0].id as string;
    expect((await expectStatus('other list', 200, api('GET', '/fulfillment-orders', otherPartner))).items).toEqual([]);
    expect((await api('GET', `/fulfillment-orders/${fulfillmentId}`, otherPartner)).status).toBe(404);
    expect((await api('POST', `/fulfillment-orders/${fulfillmentId}/accept`, otherPartner, {})).status).toBe(404);

    const accepted = await expectStatus(
      'accept',
      200,
      api('POST', `/fulfillment-orders/${fulfillmentId}/accept`, partner, {}),
    );
    expect(accepted.status).toBe('accepted');
    const key = `ship-${randomUUID()}`;
    const shipment = { carrier: 'ups', trackingNumber: '1Z999AA10123456784' };
    const shipped = await api('POST', `/fulfillment-orders/${fulfillmentId}/ship`, partner, shipment, {
      'idempotency-key': key,
    });
    expect(shipped.status, JSON.stringify(shipped.body)).toBe(200);
    expect(shipped.body).toMatchObject({ status: 'shipped', lines: [{ sku, quantity: 3, shipped: 3, toShip: 0 }] });
    // The answer was lost: the client sends the same request again and gets the same answer, nothing twice.
    const retried = await api('POST', `/fulfillment-orders/${fulfillmentId}/ship`, partner, shipment, {
      'idempotency-key': key,
    });
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body).toEqual(shipped.body);

    const order = await readOrder(hub.baseUrl, storefront, placed.id);
    expect(order.status).toBe('shipped');
    expect(order.shipments).toEqual([
      expect.objectContaining({
        fulfillmentId,
        warehouseId: 'TPL1',
        carrier: 'ups',
        trackingNumber: shipment.trackingNumber,
      }),
    ]);
    const stock = await expectStatus('inventory', 200, api('GET', `/inventory/${sku}`, admin));
    expect(stock.warehouses).toEqual([
      expect.objectContaining({ warehouseId: 'TPL1', onHand: 1, committed: 0, reserved: 0, available: 1 }),
    ]);
    const again = await api('POST', `/fulfillment-orders/${fulfillmentId}/ship`, partner, shipment);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'transition_not_allowed', details: { status: 'shipped' } });
  });
});
