import { afterAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { type HubProcess, hubAdminToken, startHubProcess } from '../support/hub-process.ts';
import { type JsonResponse, requestJson } from '../support/http.ts';
import { hubStorageAdapters } from '../support/postgres.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';

/**
 * The hub as a real process on each adapter: a token, products created and updated with ETags,
 * SIGKILL, restart, and everything acknowledged before the kill reads back; then a SIGTERM stops
 * it cleanly. PostgreSQL is the server the test run provides.
 */
const adapters = hubStorageAdapters('xp');

const cleanup = new Cleanup();
afterAll(() => cleanup.runAll());

type Json = Record<string, unknown>;
const api = (
  hub: HubProcess,
  method: string,
  path: string,
  options: { token: string; body?: object; ifMatch?: string },
) =>
  requestJson<Json>(hub.baseUrl, method, path, {
    token: options.token,
    body: options.body,
    headers: options.ifMatch ? { 'if-match': options.ifMatch } : {},
  });
const etag = (response: JsonResponse<Json>) => response.headers.get('etag') ?? undefined;

describe.each(adapters)('hub process on $name', (adapter) => {
  it('keeps products and their versions across SIGKILL and restart, and stops cleanly on SIGTERM', async () => {
    await adapter.prepare(cleanup);
    const dataDir = createTempDir('hub-xp');
    cleanup.add('remove the data dir', () => removeTempDir(dataDir));
    let hub = await startHubProcess({ dataDir, env: adapter.env() });
    cleanup.add('kill the hub', () => hub.kill());

    const first = await hubAdminToken(hub.baseUrl);
    const products: Array<{ id: string }> = [];
    for (let index = 0; index < 5; index++) {
      const created = await api(hub, 'POST', '/api/v1/products', {
        token: first,
        body: {
          name: `Process sofa ${index}`,
          category: 'sofa',
          basePrice: 100_000 + index,
          currency: 'EUR',
          variants: [{ sku: `XP-${adapter.name}-${index}`, options: { color: 'grey' } }],
        },
      });
      expect(created.status).toBe(201);
      products.push({ id: created.body['id'] as string });
    }
    // Update the first three: each needs the ETag it read; a stale one is refused.
    for (const [index, product] of products.slice(0, 3).entries()) {
      const read = await api(hub, 'GET', `/api/v1/products/${product.id}`, { token: first });
      const updated = await api(hub, 'PUT', `/api/v1/products/${product.id}`, {
        token: first,
        ifMatch: etag(read),
        body: {
          name: `Process sofa ${index} v2`,
          category: 'sofa',
          material: 'linen',
          basePrice: 90_000,
          currency: 'EUR',
        },
      });
      expect(updated.status).toBe(200);
      expect(etag(updated)).toBe('"2"');
      const stale = await api(hub, 'PUT', `/api/v1/products/${product.id}`, {
        token: first,
        ifMatch: etag(read),
        body: { name: 'lost update', category: 'sofa', basePrice: 1, currency: 'EUR' },
      });
      expect(stale.status).toBe(412);
    }

    const port = hub.port;
    await hub.kill();
    hub = await startHubProcess({ dataDir, port, env: adapter.env() });

    // Signing keys persisted: the token minted before the crash still verifies.
    const list = await api(hub, 'GET', '/api/v1/products?category=sofa&limit=500', { token: first });
    expect(list.status).toBe(200);
    const second = await hubAdminToken(hub.baseUrl);
    for (const [index, product] of products.entries()) {
      const read = await api(hub, 'GET', `/api/v1/products/${product.id}`, { token: second });
      expect(read.status).toBe(200);
      expect(etag(read)).toBe(`"${index < 3 ? 2 : 1}"`);
      expect(read.body['name']).toBe(index < 3 ? `Process sofa ${index} v2` : `Process sofa ${index}`);
    }
    const next = await api(hub, 'PUT', `/api/v1/products/${products[0]?.id}`, {
      token: second,
      ifMatch: '"2"',
      body: { name: 'Process sofa 0 v3', category: 'sofa', basePrice: 80_000, currency: 'EUR' },
    });
    expect(next.status).toBe(200);
    expect(etag(next)).toBe('"3"');

    const exit = await hub.stop(15_000);
    expect(exit, hub.output()).toEqual({ code: 0, signal: null });
  });
});
