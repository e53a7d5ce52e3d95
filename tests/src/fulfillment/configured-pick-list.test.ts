import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { bootstrapStaff, type EdgeProcess } from '../support/edge-process.ts';
import { requestJson, signIn } from '../support/http.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { enrollHubEdge, hubAdminToken } from '../support/hub-process.ts';
import { payOrder, placeOrder, storefrontToken } from '../support/storefront.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { startEdge, startHub, warehouseId } from '../sync/world.ts';
import { type Body, expect201, receive, waitForHubOnHand, waitForPickListEntry } from './world.ts';

/**
 * A configured sofa from the storefront to the warehouse floor, across a real hub process and a real
 * enrolled edge process: the buyer's fabric and width are priced on the order and reach the edge's
 * pick list through the warehouse's downstream channel (docs/catalog.md).
 */
describe('a configured sofa on the edge pick list', () => {
  const cleanup = new Cleanup();
  let hub: HubProcess;
  let edge: EdgeProcess;
  let admin = '';
  let storefront = '';
  let staff = '';

  beforeAll(async () => {
    const hubDir = createTempDir('configured-hub');
    const edgeDir = createTempDir('configured-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    hub = await startHub(cleanup, { dataDir: hubDir });
    admin = await hubAdminToken(hub.baseUrl);
    await expect201(
      'configurable sofa',
      requestJson<Body>(hub.baseUrl, 'POST', '/api/v1/products', {
        token: admin,
        body: {
          name: 'Oslo sofa',
          category: 'sofa',
          basePrice: 129_900,
          currency: 'EUR',
          variants: [{ sku: 'CONF-OSLO', options: { color: 'sand' } }],
          configurableOptions: [
            {
              name: 'fabric',
              type: 'choice',
              choices: [
                { value: 'linen', priceDelta: 0 },
                { value: 'boucle', priceDelta: 15_000 },
              ],
            },
            { name: 'widthCm', type: 'range', min: 160, max: 280, step: 10, pricePerStep: 2_500, default: 200 },
          ],
        },
      }),
    );
    const credentials = await enrollHubEdge(hub.baseUrl, admin, warehouseId);
    storefront = await storefrontToken(hub.baseUrl, admin);
    edge = await startEdge(cleanup, { dataDir: edgeDir, hub: { url: hub.baseUrl, ...credentials } });
    staff = await signIn(edge.baseUrl, bootstrapStaff);
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('prices the configuration on the order and shows it on the pick list', async () => {
    await receive(edge, staff, 'CONF-OSLO', 2);
    await waitForHubOnHand(hub.baseUrl, admin, 'CONF-OSLO', 2);
    const configuration = { fabric: 'boucle', widthCm: 240 };
    const lines = [{ sku: 'CONF-OSLO', quantity: 1, configuration }];
    const placed = await placeOrder(hub.baseUrl, storefront, lines);
    expect(placed).toMatchObject({ total: 164_900, lines: [{ sku: 'CONF-OSLO', unitPrice: 164_900, configuration }] });
    await payOrder(hub.baseUrl, storefront, placed.id);
    const entry = await waitForPickListEntry(edge, staff, placed.id);
    expect(entry.lines).toEqual([expect.objectContaining({ sku: 'CONF-OSLO', quantity: 1, picked: 0, configuration })]);
    const view = await requestJson<Body>(edge.baseUrl, 'GET', `/api/v1/fulfillments/${entry.id}`, { token: staff });
    expect(view.body.lines).toEqual([{ sku: 'CONF-OSLO', quantity: 1, picked: 0, configuration }]);
  });
});
