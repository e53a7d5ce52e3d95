import { limits } from '@dovetail/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDownstream } from '../downstream/outbox.ts';
import { createMetricsApp } from './observability.ts';
import { type TestHub, adapters, adminToken, call, clientToken, sofa, startTestHub } from '../testing/harness.ts';

/**
 * The hub's REST contract, run once per storage adapter: SQLite, and PostgreSQL (the real server
 * the test run provides), each in its own fresh database or schema.
 */
describe.each(adapters)('hub API on %s', (adapter) => {
  let hub: TestHub;
  let admin: string;

  beforeAll(async () => {
    hub = await startTestHub(adapter);
    admin = await adminToken(hub);
  }, 60_000);
  afterAll(async () => {
    await hub?.dispose();
  });

  describe('products', () => {
    it('creates a product: 201 with id, version 1, ETag and Location', async () => {
      const created = await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('CREATE-1') });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'Oslo 3-seat sofa',
        category: 'sofa',
        version: 1,
        archived: false,
        basePrice: 129_900,
      });
      expect(created.body.variants.map((variant: { sku: string }) => variant.sku)).toEqual([
        'CREATE-1',
        'CREATE-1-SAND',
      ]);
      expect(created.headers.get('etag')).toBe('"1"');
      expect(created.headers.get('location')).toBe(`/api/v1/products/${created.body.id}`);
      const read = await call(hub, 'GET', `/api/v1/products/${created.body.id}`, { token: admin });
      expect(read.status).toBe(200);
      expect(read.body).toEqual(created.body);
      expect(read.headers.get('etag')).toBe('"1"');
    });

    it('refuses a SKU that another product already has: 409 sku_taken', async () => {
      await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('TAKEN-1') });
      const again = await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('TAKEN-1') });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('sku_taken');
    });

    it('refuses unknown fields, naming them: 400', async () => {
      const response = await call(hub, 'POST', '/api/v1/products', {
        token: admin,
        body: { ...sofa('STRICT-1'), costPrice: 10 },
      });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalid_input');
      expect(response.body.error.details.issues.map((issue: { path: string }) => issue.path)).toContain('costPrice');
    });

    it('names the bad field for invalid values: 400', async () => {
      const bad = { ...sofa('BAD-1'), basePrice: -5, variants: [{ sku: 'BAD-1', options: {}, gtin: '4006381333932' }] };
      const response = await call(hub, 'POST', '/api/v1/products', { token: admin, body: bad });
      expect(response.status).toBe(400);
      const paths = response.body.error.details.issues.map((issue: { path: string }) => issue.path);
      expect(paths).toContain('basePrice');
      expect(paths).toContain('variants.0.gtin');
      expect(JSON.stringify(response.body)).not.toContain('stack');
    });

    it('refuses a body that is not JSON: 415 for the wrong content type, 400 for broken JSON', async () => {
      const wrongType = await call(hub, 'POST', '/api/v1/products', {
        token: admin,
        rawBody: 'name=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(wrongType.status).toBe(415);
      expect(wrongType.body.error.code).toBe('unsupported_media_type');
      const broken = await call(hub, 'POST', '/api/v1/products', {
        token: admin,
        rawBody: '{"name":',
        headers: { 'content-type': 'application/json' },
      });
      expect(broken.status).toBe(400);
      expect(broken.body.error.code).toBe('invalid_json');
    });

    it('updates with If-Match: current ETag 200, stale 412, missing 428, unknown product 404', async () => {
      const created = await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('ETAG-1') });
      const id = created.body.id as string;
      const etag = created.headers.get('etag')!;
      const change = { name: 'Oslo', category: 'sofa', material: 'linen', basePrice: 119_900, currency: 'EUR' };
      const updated = await call(hub, 'PUT', `/api/v1/products/${id}`, {
        token: admin,
        body: change,
        headers: { 'if-match': etag },
      });
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ version: 2, material: 'linen', basePrice: 119_900 });
      expect(updated.body.variants).toHaveLength(2);
      expect(updated.headers.get('etag')).toBe('"2"');
      const stale = await call(hub, 'PUT', `/api/v1/products/${id}`, {
        token: admin,
        body: change,
        headers: { 'if-match': etag },
      });
      expect(stale.status).toBe(412);
      expect(stale.body.error).toMatchObject({ code: 'version_mismatch', details: { currentVersion: 2 } });
      const missing = await call(hub, 'PUT', `/api/v1/products/${id}`, { token: admin, body: change });
      expect(missing.status).toBe(428);
      const unknown = await call(hub, 'PUT', '/api/v1/products/nope', {
        token: admin,
        body: change,
        headers: { 'if-match': '"1"' },
      });
      expect(unknown.status).toBe(404);
      const after = await call(hub, 'GET', `/api/v1/products/${id}`, { token: admin });
      expect(after.body.version).toBe(2);
    });

    it('archives instead of deleting: archived products leave the listing, DELETE is 405', async () => {
      const created = await call(hub, 'POST', '/api/v1/products', {
        token: admin,
        body: { ...sofa('ARCH-1'), name: 'Archivable chest', category: 'storage' },
      });
      const id = created.body.id as string;
      const { variants: _variants, options: _options, ...fields } = sofa('ARCH-1');
      const archived = await call(hub, 'PUT', `/api/v1/products/${id}`, {
        token: admin,
        body: { ...fields, name: 'Archivable chest', category: 'storage', archived: true },
        headers: { 'if-match': '"1"' },
      });
      expect(archived.status).toBe(200);
      expect(archived.body.archived).toBe(true);
      const listed = await call(hub, 'GET', '/api/v1/products?category=storage', { token: admin });
      expect(listed.body.items.map((item: { id: string }) => item.id)).not.toContain(id);
      const withArchived = await call(hub, 'GET', '/api/v1/products?category=storage&includeArchived=true', {
        token: admin,
      });
      expect(withArchived.body.items.map((item: { id: string }) => item.id)).toContain(id);
      const deleted = await call(hub, 'DELETE', `/api/v1/products/${id}`, { token: admin });
      expect(deleted.status).toBe(405);
      expect(deleted.headers.get('allow')).toContain('PUT');
      expect((await call(hub, 'GET', `/api/v1/products/${id}`, { token: admin })).status).toBe(200);
    });

    it('filters by category, material, text and price range', async () => {
      const base = { currency: 'EUR', basePrice: 50_000 };
      await call(hub, 'POST', '/api/v1/products', {
        token: admin,
        body: {
          ...base,
          name: 'Linnea bed',
          category: 'bed',
          material: 'Oak',
          variants: [{ sku: 'F-BED-1', options: { width: '160' } }],
        },
      });
      await call(hub, 'POST', '/api/v1/products', {
        token: admin,
        body: {
          ...base,
          name: 'Tove bed 100%',
          category: 'bed',
          material: 'pine',
          basePrice: 20_000,
          variants: [{ sku: 'F-BED-2', options: {} }],
        },
      });
      await call(hub, 'POST', '/api/v1/products', {
        token: admin,
        body: {
          ...base,
          name: 'Aalto table',
          category: 'table',
          material: 'oak',
          description: 'Seats a linnea-sized family',
          variants: [{ sku: 'F-TAB-1', options: {} }],
        },
      });
      const names = async (query: string) =>
        ((await call(hub, 'GET', `/api/v1/products?${query}`, { token: admin })).body.items as Array<{ name: string }>)
          .map((item) => item.name)
          .sort();
      expect(await names('category=bed')).toEqual(['Linnea bed', 'Tove bed 100%']);
      expect(await names('material=oak')).toEqual(['Aalto table', 'Linnea bed']);
      expect(await names('q=LINNEA')).toEqual(['Aalto table', 'Linnea bed']);
      expect(await names('q=100%25')).toEqual(['Tove bed 100%']);
      expect(await names('q=_')).toEqual([]);
      expect(await names('category=bed&minPrice=30000')).toEqual(['Linnea bed']);
      expect(await names('category=bed&maxPrice=30000')).toEqual(['Tove bed 100%']);
      expect(await names('category=chair')).toEqual([]);
    });

    it('pages with a cursor through every product exactly once', async () => {
      for (let index = 0; index < 7; index++) {
        await call(hub, 'POST', '/api/v1/products', {
          token: admin,
          body: {
            name: `Page chair ${index}`,
            category: 'chair',
            basePrice: 1_000 + index,
            currency: 'EUR',
            variants: [{ sku: `PAGE-${index}`, options: {} }],
          },
        });
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `category=chair&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = await call(hub, 'GET', `/api/v1/products?${query}`, { token: admin });
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(3);
        seen.push(...page.body.items.map((item: { name: string }) => item.name));
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual(Array.from({ length: 7 }, (_, index) => `Page chair ${index}`));
    });

    it('bounds the page size and refuses bad query parameters: 400 naming the field', async () => {
      const tooMany = await call(hub, 'GET', `/api/v1/products?limit=${limits.pageSizeMax + 1}`, { token: admin });
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.error.details.issues[0].path).toBe('limit');
      const huge = await call(hub, 'GET', '/api/v1/products?limit=100000', { token: admin });
      expect(huge.status).toBe(400);
      const unknownParameter = await call(hub, 'GET', '/api/v1/products?colour=red', { token: admin });
      expect(unknownParameter.status).toBe(400);
      const badCategory = await call(hub, 'GET', '/api/v1/products?category=spaceship', { token: admin });
      expect(badCategory.status).toBe(400);
      expect(badCategory.body.error.details.issues[0].path).toBe('category');
      const badCursor = await call(hub, 'GET', '/api/v1/products?cursor=%2A%2A', { token: admin });
      expect(badCursor.status).toBe(400);
      const inverted = await call(hub, 'GET', '/api/v1/products?minPrice=10&maxPrice=5', { token: admin });
      expect(inverted.status).toBe(400);
    });

    it('appends every catalog change to the catalog downstream log with gap-free seqs', async () => {
      const before = await readDownstream(hub.deps.db, 'catalog', 0, 10_000);
      const created = await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('LOG-1') });
      await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('LOG-1') }); // 409: appends nothing
      const { variants: _variants, ...fields } = sofa('LOG-1');
      await call(hub, 'PUT', `/api/v1/products/${created.body.id}`, {
        token: admin,
        body: fields,
        headers: { 'if-match': '"1"' },
      });
      const log = await readDownstream(hub.deps.db, 'catalog', 0, 10_000);
      expect(log.map((event) => event.seq)).toEqual(Array.from({ length: log.length }, (_, index) => index + 1));
      const mine = log.slice(before.length);
      expect(mine.map((event) => event.kind)).toEqual(['product.upserted', 'product.upserted']);
      expect(mine.map((event) => (event.payload as { version: number }).version)).toEqual([1, 2]);
    });

    it('keeps versions consistent under concurrent updates: exactly one writer wins per version', async () => {
      const created = await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('RACE-1') });
      const { variants: _variants, ...fields } = sofa('RACE-1');
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, index) =>
          call(hub, 'PUT', `/api/v1/products/${created.body.id}`, {
            token: admin,
            body: { ...fields, basePrice: index },
            headers: { 'if-match': '"1"' },
          }),
        ),
      );
      expect(results.filter((result) => result.status === 200)).toHaveLength(1);
      expect(results.filter((result) => result.status === 412)).toHaveLength(5);
    });
  });

  it('turns racing creates of the same SKU or warehouse into one 201 and 409s, never a 500', async () => {
    const products = await Promise.all(
      Array.from({ length: 5 }, () => call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('RACE-SKU') })),
    );
    expect(products.map((response) => response.status).sort()).toEqual([201, 409, 409, 409, 409]);
    const warehouses = await Promise.all(
      Array.from({ length: 4 }, () =>
        call(hub, 'POST', '/api/v1/warehouses', {
          token: admin,
          body: { id: 'RACE', name: 'Race', kind: '3pl', location: { lat: 0, lon: 0 } },
        }),
      ),
    );
    expect(warehouses.map((response) => response.status).sort()).toEqual([201, 409, 409, 409]);
    const stock = await Promise.all(
      Array.from({ length: 4 }, (_, index) =>
        call(hub, 'PUT', '/api/v1/warehouses/RACE/inventory/RACE-SKU', { token: admin, body: { onHand: index } }),
      ),
    );
    expect(stock.map((response) => response.status)).toEqual([200, 200, 200, 200]);
  });

  describe('warehouses, edges and stock', () => {
    beforeAll(async () => {
      for (const [id, kind] of [
        ['AMS', 'warehouse'],
        ['TPL', '3pl'],
        ['DROP', 'dropshipper'],
      ] as const) {
        const response = await call(hub, 'POST', '/api/v1/warehouses', {
          token: admin,
          body: {
            id,
            name: `Warehouse ${id}`,
            kind,
            location: { lat: 52.37, lon: 4.89 },
            ...(kind === '3pl' ? { capacity: 5000, contact: 'ops@tpl.example' } : {}),
          },
        });
        expect(response.status).toBe(201);
      }
      await call(hub, 'POST', '/api/v1/products', {
        token: admin,
        body: {
          ...sofa('STOCK-1'),
          variants: [
            { sku: 'STOCK-1', options: {} },
            { sku: 'STOCK-2', options: {} },
          ],
        },
      });
    });

    it('lists and reads warehouses; a duplicate id is 409; bad input names the field', async () => {
      const list = await call(hub, 'GET', '/api/v1/warehouses', { token: admin });
      expect(list.body.items.map((warehouse: { id: string }) => warehouse.id)).toEqual(['AMS', 'DROP', 'RACE', 'TPL']);
      const one = await call(hub, 'GET', '/api/v1/warehouses/TPL', { token: admin });
      expect(one.body).toMatchObject({ id: 'TPL', kind: '3pl', hasEdge: false, capacity: 5000 });
      const duplicate = await call(hub, 'POST', '/api/v1/warehouses', {
        token: admin,
        body: { id: 'AMS', name: 'x', kind: 'store', location: { lat: 0, lon: 0 } },
      });
      expect(duplicate.status).toBe(409);
      const bad = await call(hub, 'POST', '/api/v1/warehouses', {
        token: admin,
        body: { id: 'X1', name: 'x', kind: 'shed', location: { lat: 91, lon: 0 } },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.issues.map((issue: { path: string }) => issue.path).sort()).toEqual([
        'kind',
        'location.lat',
      ]);
      expect((await call(hub, 'GET', '/api/v1/warehouses/NOPE', { token: admin })).status).toBe(404);
    });

    it('enrolls an edge once per call: secret shown once, re-enrolling bumps the epoch and fences the old secret', async () => {
      const first = await call(hub, 'POST', '/api/v1/warehouses/AMS/edges', { token: admin, body: {} });
      expect(first.status).toBe(201);
      expect(first.headers.get('cache-control')).toBe('no-store');
      expect(first.body).toMatchObject({ clientId: 'edge-AMS', warehouseId: 'AMS', epoch: 1 });
      const edgeToken = await clientToken(hub, first.body.clientId, first.body.clientSecret);
      const claims = JSON.parse(Buffer.from(edgeToken.split('.')[1]!, 'base64url').toString());
      expect(claims).toMatchObject({ role: 'edge', wh: ['AMS'], epoch: 1, scope: 'sync.connect' });
      const second = await call(hub, 'POST', '/api/v1/warehouses/AMS/edges', { token: admin, body: {} });
      expect(second.body.epoch).toBe(2);
      await expect(clientToken(hub, first.body.clientId, first.body.clientSecret)).rejects.toThrow(/401/);
      await clientToken(hub, second.body.clientId, second.body.clientSecret);
      const listed = await call(hub, 'GET', '/api/v1/clients', { token: admin });
      expect(JSON.stringify(listed.body)).not.toContain(second.body.clientSecret);
      const noEdge = await call(hub, 'POST', '/api/v1/warehouses/TPL/edges', { token: admin, body: {} });
      expect(noEdge.status).toBe(409);
      expect(noEdge.body.error.code).toBe('no_edge_for_kind');
    });

    it('writes stock of a 3PL or dropshipper through the API; an edge-owned warehouse is 409 owner_is_edge', async () => {
      const created = await call(hub, 'POST', '/api/v1/warehouses/TPL/inventory/STOCK-1', {
        token: admin,
        body: { onHand: 40, damaged: 2, safetyStock: 3 },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        sku: 'STOCK-1',
        warehouseId: 'TPL',
        onHand: 40,
        damaged: 2,
        safetyStock: 3,
        available: 35,
      });
      const again = await call(hub, 'POST', '/api/v1/warehouses/TPL/inventory/STOCK-1', {
        token: admin,
        body: { onHand: 1 },
      });
      expect(again.status).toBe(409);
      const replaced = await call(hub, 'PUT', '/api/v1/warehouses/DROP/inventory/STOCK-1', {
        token: admin,
        body: { onHand: 10 },
      });
      expect(replaced.status).toBe(200);
      expect(replaced.body.available).toBe(10);
      const edgeOwned = await call(hub, 'PUT', '/api/v1/warehouses/AMS/inventory/STOCK-1', {
        token: admin,
        body: { onHand: 10 },
      });
      expect(edgeOwned.status).toBe(409);
      expect(edgeOwned.body.error.code).toBe('owner_is_edge');
      const unknownSku = await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/NOT-IN-CATALOG', {
        token: admin,
        body: { onHand: 1 },
      });
      expect(unknownSku.status).toBe(422);
      const impossible = await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/STOCK-2', {
        token: admin,
        body: { onHand: 1, damaged: 2 },
      });
      expect(impossible.status).toBe(422);
      const negative = await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/STOCK-2', {
        token: admin,
        body: { onHand: -1 },
      });
      expect(negative.status).toBe(400);
      expect(negative.body.error.details.issues[0].path).toBe('onHand');
    });

    it('answers the stock view per SKU with all quantities summed over warehouses', async () => {
      await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/STOCK-2', {
        token: admin,
        body: { onHand: 5, qualityControl: 1, incoming: 7 },
      });
      const one = await call(hub, 'GET', '/api/v1/inventory/STOCK-1', { token: admin });
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({
        sku: 'STOCK-1',
        onHand: 50,
        damaged: 2,
        safetyStock: 3,
        available: 45,
        committed: 0,
        reserved: 0,
      });
      expect(
        one.body.warehouses.map((partition: { warehouseId: string; onHand: number }) => [
          partition.warehouseId,
          partition.onHand,
        ]),
      ).toEqual([
        ['DROP', 10],
        ['TPL', 40],
      ]);
      const list = await call(hub, 'GET', '/api/v1/inventory?sku=STOCK-', { token: admin });
      expect(list.body.items.map((item: { sku: string; available: number }) => [item.sku, item.available])).toEqual([
        ['STOCK-1', 45],
        ['STOCK-2', 4],
      ]);
      expect((await call(hub, 'GET', '/api/v1/inventory?sku=stock-', { token: admin })).body.items).toEqual([]);
      expect(
        (await call(hub, 'GET', '/api/v1/inventory?sku=STOCK-2', { token: admin })).body.items.map(
          (item: { sku: string }) => item.sku,
        ),
      ).toEqual(['STOCK-2']);
      const byWarehouse = await call(hub, 'GET', '/api/v1/inventory?warehouseId=DROP', { token: admin });
      expect(byWarehouse.body.items).toHaveLength(1);
      expect(byWarehouse.body.items[0].onHand).toBe(10);
      const paged = await call(hub, 'GET', '/api/v1/inventory?limit=1', { token: admin });
      expect(paged.body.items).toHaveLength(1);
      expect(paged.body.nextCursor).toEqual(expect.any(String));
      const warehouse = await call(hub, 'GET', '/api/v1/warehouses/TPL/inventory', { token: admin });
      expect(warehouse.body.items.map((item: { sku: string }) => item.sku)).toEqual(['STOCK-1', 'STOCK-2']);
    });

    it('answers zeros for a catalog SKU no warehouse stocks, 404 for a SKU nobody knows, 400 for a malformed one', async () => {
      await call(hub, 'POST', '/api/v1/products', {
        token: admin,
        body: { ...sofa('ZERO-1'), variants: [{ sku: 'ZERO-1', options: {} }] },
      });
      const zero = await call(hub, 'GET', '/api/v1/inventory/ZERO-1', { token: admin });
      expect(zero.status).toBe(200);
      expect(zero.body).toMatchObject({ sku: 'ZERO-1', onHand: 0, available: 0, warehouses: [] });
      expect((await call(hub, 'GET', '/api/v1/inventory/NOBODY-KNOWS', { token: admin })).status).toBe(404);
      expect((await call(hub, 'GET', '/api/v1/inventory/%20bad%20sku', { token: admin })).status).toBe(400);
    });

    it('deletes API-owned stock; unknown partitions are 404', async () => {
      const deleted = await call(hub, 'DELETE', '/api/v1/warehouses/DROP/inventory/STOCK-1', { token: admin });
      expect(deleted.status).toBe(200);
      expect((await call(hub, 'DELETE', '/api/v1/warehouses/DROP/inventory/STOCK-1', { token: admin })).status).toBe(
        404,
      );
      expect(
        (await call(hub, 'DELETE', '/api/v1/warehouses/AMS/inventory/STOCK-1', { token: admin })).body.error.code,
      ).toBe('owner_is_edge');
    });

    it('shows a 3PL client only its own warehouses and refuses writes elsewhere', async () => {
      const client = await call(hub, 'POST', '/api/v1/clients', {
        token: admin,
        body: { name: 'Acme 3PL', role: '3pl', warehouses: ['TPL'] },
      });
      expect(client.status).toBe(201);
      const token = await clientToken(hub, client.body.clientId, client.body.clientSecret);
      const warehouses = await call(hub, 'GET', '/api/v1/warehouses', { token });
      expect(warehouses.body.items.map((warehouse: { id: string }) => warehouse.id)).toEqual(['TPL']);
      const view = await call(hub, 'GET', '/api/v1/inventory/STOCK-1', { token });
      expect(view.body.warehouses.map((partition: { warehouseId: string }) => partition.warehouseId)).toEqual(['TPL']);
      expect(
        (await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/STOCK-1', { token, body: { onHand: 41 } })).status,
      ).toBe(200);
      const elsewhere = await call(hub, 'PUT', '/api/v1/warehouses/DROP/inventory/STOCK-1', {
        token,
        body: { onHand: 41 },
      });
      expect(elsewhere.status).toBe(403);
      expect((await call(hub, 'GET', '/api/v1/warehouses/DROP/inventory', { token })).status).toBe(403);
      expect((await call(hub, 'GET', '/api/v1/warehouses/DROP', { token })).status).toBe(403);
    });
  });

  describe('identity', () => {
    it('creates API clients with a secret shown once, and revocation stops their tokens', async () => {
      const created = await call(hub, 'POST', '/api/v1/clients', {
        token: admin,
        body: { name: 'Storefront', role: 'storefront' },
      });
      expect(created.status).toBe(201);
      expect(created.headers.get('cache-control')).toBe('no-store');
      const token = await clientToken(hub, created.body.clientId, created.body.clientSecret);
      expect((await call(hub, 'GET', '/api/v1/products', { token })).status).toBe(200);
      const revoked = await call(hub, 'POST', `/api/v1/clients/${created.body.clientId}/revoke`, {
        token: admin,
        body: {},
      });
      expect(revoked.status).toBe(200);
      expect(revoked.body.revoked).toBe(true);
      expect((await call(hub, 'GET', '/api/v1/products', { token })).status).toBe(401);
      await expect(clientToken(hub, created.body.clientId, created.body.clientSecret)).rejects.toThrow(/401/);
      const edgeRole = await call(hub, 'POST', '/api/v1/clients', { token: admin, body: { name: 'x', role: 'edge' } });
      expect(edgeRole.status).toBe(400);
    });

    it('publishes the signing keys by kid and keeps verifying old tokens across a rotation', async () => {
      const before = await call(hub, 'GET', '/.well-known/jwks.json');
      expect(before.body.keys[0]).toMatchObject({
        kty: 'EC',
        crv: 'P-256',
        alg: 'ES256',
        use: 'sig',
        kid: expect.any(String),
      });
      expect(before.body.keys[0]).not.toHaveProperty('d');
      const old = await adminToken(hub);
      // A JSON body that is not an object is refused, changing nothing; no body at all is fine.
      for (const rawBody of ['null', '5', '[]', '"x"']) {
        const refused = await call(hub, 'POST', '/api/v1/keys/rotate', {
          token: admin,
          rawBody,
          headers: { 'content-type': 'application/json' },
        });
        expect(refused.status, rawBody).toBe(400);
        expect(refused.body.error.code).toBe('invalid_input');
      }
      expect((await call(hub, 'GET', '/.well-known/jwks.json')).body.keys).toHaveLength(before.body.keys.length);
      const rotated = await call(hub, 'POST', '/api/v1/keys/rotate', { token: admin });
      expect(rotated.status).toBe(200);
      const after = await call(hub, 'GET', '/.well-known/jwks.json');
      expect(after.body.keys.map((key: { kid: string }) => key.kid)).toEqual([
        rotated.body.kid,
        before.body.keys[0].kid,
      ]);
      const fresh = await adminToken(hub);
      expect(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid).toBe(rotated.body.kid);
      expect((await call(hub, 'GET', '/api/v1/products', { token: old })).status).toBe(200);
      expect((await call(hub, 'GET', '/api/v1/products', { token: fresh })).status).toBe(200);
    });

    it('signs staff in with a password, locks out after repeated failures, and disabling stops their tokens', async () => {
      const created = await call(hub, 'POST', '/api/v1/staff', {
        token: admin,
        body: { username: 'ana', password: 'correct-horse-battery', role: 'supervisor', warehouses: ['AMS'] },
      });
      expect(created.status).toBe(201);
      expect(created.body).not.toHaveProperty('password');
      const login = await call(hub, 'POST', '/api/v1/auth/login', {
        body: { username: 'ana', password: 'correct-horse-battery' },
      });
      expect(login.status).toBe(200);
      expect(login.headers.get('cache-control')).toBe('no-store');
      const token = login.body.token as string;
      expect(
        (await call(hub, 'GET', '/api/v1/warehouses', { token })).body.items.map(
          (warehouse: { id: string }) => warehouse.id,
        ),
      ).toEqual(['AMS']);
      const floor = await call(hub, 'POST', '/api/v1/staff', {
        token,
        body: { username: 'bo', password: 'another-password', role: 'warehouse_staff', warehouses: ['AMS'] },
      });
      expect(floor.status).toBe(201);
      const wider = await call(hub, 'POST', '/api/v1/staff', {
        token,
        body: { username: 'cy', password: 'another-password', role: 'supervisor', warehouses: ['AMS'] },
      });
      expect(wider.status).toBe(403);
      for (let attempt = 0; attempt < limits.loginFailuresMax; attempt++) {
        expect(
          (await call(hub, 'POST', '/api/v1/auth/login', { body: { username: 'bo', password: 'wrong-password' } }))
            .status,
        ).toBe(401);
      }
      const locked = await call(hub, 'POST', '/api/v1/auth/login', {
        body: { username: 'bo', password: 'another-password' },
      });
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      const disabled = await call(hub, 'POST', `/api/v1/staff/${created.body.id}/disable`, { token: admin, body: {} });
      expect(disabled.body.disabled).toBe(true);
      expect((await call(hub, 'GET', '/api/v1/warehouses', { token })).status).toBe(401);
      expect(
        (
          await call(hub, 'POST', '/api/v1/auth/login', {
            body: { username: 'ana', password: 'correct-horse-battery' },
          })
        ).status,
      ).toBe(401);
      const unknownWarehouse = await call(hub, 'POST', '/api/v1/staff', {
        token: admin,
        body: { username: 'dee', password: 'another-password', role: 'warehouse_staff', warehouses: ['NOWHERE'] },
      });
      expect(unknownWarehouse.status).toBe(422);
    });

    it("replicates a warehouse's config and staff roster to its downstream channel, hashes only", async () => {
      const log = await readDownstream(hub.deps.db, 'warehouse:AMS', 0, 1_000);
      expect(log.map((event) => event.seq)).toEqual(Array.from({ length: log.length }, (_, index) => index + 1));
      expect(log[0]).toMatchObject({ kind: 'warehouse.upserted', payload: { id: 'AMS', kind: 'warehouse' } });
      const roster = log.filter((event) => event.kind.startsWith('staff.'));
      expect(roster.map((event) => [event.kind, (event.payload as { username: string }).username])).toEqual([
        ['staff.upserted', 'ana'],
        ['staff.upserted', 'bo'],
        ['staff.disabled', 'ana'],
      ]);
      expect((roster[0]!.payload as { passwordHash: string }).passwordHash).toMatch(/^scrypt\$/);
      expect(JSON.stringify(roster)).not.toContain('correct-horse-battery');
    });
  });

  describe('operations and the document', () => {
    it('answers /healthz, /readyz, /docs, and metrics on the metrics app only', async () => {
      expect((await call(hub, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
      const ready = await call(hub, 'GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe('ready');
      // Metrics are served on their own listener, never on the API port (docs/operations.md).
      expect((await call(hub, 'GET', '/metrics')).status).toBe(404);
      const metrics = await (await createMetricsApp(hub.metrics).request('/metrics')).text();
      expect(metrics).toContain('dovetail_hub_http_requests_total');
      expect(metrics).toContain('route="/api/v1/products/{id}"');
      expect(metrics).toMatch(/^dovetail_hub_webhook_endpoints_failing 0$/m);
      const docs = await hub.app.request('/docs');
      expect(docs.headers.get('content-type')).toContain('text/html');
      // Swagger UI from this hub's own node_modules: no CDN, no inline script, no framing.
      const page = await docs.text();
      expect(page).toContain('/docs/swagger-ui-bundle.js');
      expect(page).not.toMatch(/https?:\/\//);
      expect(docs.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
      expect(docs.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
      const bundle = await hub.app.request('/docs/swagger-ui-bundle.js');
      expect(bundle.status).toBe(200);
      expect(bundle.headers.get('content-type')).toContain('javascript');
      expect((await bundle.text()).length).toBeGreaterThan(100_000);
      expect((await hub.app.request('/docs/init.js')).status).toBe(200);
      expect((await hub.app.request('/docs/package.json')).status).toBe(404);
      expect((await call(hub, 'POST', '/healthz')).status).toBe(405);
      expect((await call(hub, 'GET', '/nowhere')).body.error.code).toBe('not_found');
    });

    it('answers /readyz 503 when the database is unreachable', async () => {
      const closing = await startTestHub(adapter);
      await closing.storage.close();
      const response = await call(closing, 'GET', '/readyz');
      expect(response.status).toBe(503);
      expect(response.body.status).toBe('database_unreachable');
      await closing.dispose().catch(() => {});
    });
  });
});
