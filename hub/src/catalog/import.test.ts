import { stringify } from 'csv-stringify/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDownstream } from '../downstream/outbox.ts';
import { adminToken, call, sofa, startSecondInstance, startTestHub, type TestHub } from '../testing/harness.ts';
import { catalogColumns } from './transfer.ts';

/** Bulk import of catalog CSV on both adapters: row-level report, all-or-nothing or valid rows, idempotent by SKU. */
let hub: TestHub;
let token: string;

const auth = () => ({ authorization: `Bearer ${token}` });
const exportCsv = async () => (await hub.app.request('/api/v1/catalog/export?format=csv', { headers: auth() })).text();
const importCsv = async (csv: string, query = '') => {
  const response = await hub.app.request(`/api/v1/catalog/import${query}`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': 'text/csv' },
    body: csv,
  });
  return { status: response.status, body: (await response.json()) as any };
};
const productCount = async () =>
  (await call(hub, 'GET', '/api/v1/products?includeArchived=true&limit=100', { token })).body.items.length;

function row(fields: Partial<Record<(typeof catalogColumns)[number], string>>) {
  return catalogColumns.map((column) => fields[column] ?? '');
}
const base = { category: 'chair', base_price: '19900', currency: 'EUR', variant_options: '{}' };
const csvOf = (rows: string[][]) => stringify([[...catalogColumns], ...rows]);

describe.each(['sqlite', 'postgres'] as const)('catalog import on %s', (adapter) => {
  beforeEach(async () => {
    hub = await startTestHub(adapter);
    token = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/products', { token, body: sofa('SOFA-A') })).status).toBe(201);
  });
  afterEach(() => hub.dispose());

  it('re-imports its own export unchanged, and the export after it is byte for byte the same', async () => {
    const before = await exportCsv();
    const imported = await importCsv(before);
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({ rows: 2, products: 1, created: 0, updated: 0, unchanged: 1, errors: [] });
    expect(await exportCsv()).toBe(before);
  });

  it('creates products from rows, one product per run of rows, and is idempotent by SKU', async () => {
    const rowsNamed = (stool: string) => [
      row({ ...base, name: 'Lund chair', sku: 'CHAIR-LUND-OAK', variant_options: '{"wood":"oak"}' }),
      row({
        ...base,
        name: 'Lund chair',
        sku: 'CHAIR-LUND-ASH',
        variant_options: '{"wood":"ash"}',
        variant_price: '21900',
      }),
      row({ ...base, name: stool, sku: 'STOOL-BO', gtin: '4006381333931' }),
    ];
    const csv = csvOf(rowsNamed('Bo stool'));
    const first = await importCsv(csv);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ rows: 3, products: 2, created: 2, updated: 0, unchanged: 0 });
    // One catalog change per written product, after the one POST /products wrote: seqs gap-free.
    const changes = await readDownstream(hub.storage.db, 'catalog', 0, 100);
    expect(changes.map((change) => change.seq)).toEqual([1, 2, 3]);
    expect(changes.slice(1).map((change) => change.kind)).toEqual(['product.upserted', 'product.upserted']);
    expect(await productCount()).toBe(3);
    const again = await importCsv(csv);
    expect(again.body).toMatchObject({ created: 0, updated: 0, unchanged: 2 });
    const changed = await importCsv(csvOf(rowsNamed('Bo stool, tall')));
    expect(changed.body).toMatchObject({ created: 0, updated: 1, unchanged: 1 });
    expect(await productCount()).toBe(3);
    const listed = await call(hub, 'GET', '/api/v1/products?q=tall', { token });
    expect(listed.body.items.map((item: { name: string }) => item.name)).toEqual(['Bo stool, tall']);
  });

  it('reports every bad row by line; all-or-nothing writes nothing, mode=valid writes the rest', async () => {
    const csv = csvOf([
      row({ ...base, name: 'Good chair', sku: 'CHAIR-GOOD' }),
      row({ ...base, name: 'Bad barcode', sku: 'CHAIR-GTIN', gtin: '4006381333932' }),
      row({ ...base, name: 'Bad category', category: 'throne', sku: 'CHAIR-CAT' }),
      row({ ...base, name: 'Bad price', base_price: '12.50', sku: 'CHAIR-PRICE' }),
    ]);
    const refused = await importCsv(csv);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('import_invalid');
    expect(refused.body.error.details.errors).toEqual([
      expect.objectContaining({ line: 3, sku: 'CHAIR-GTIN', field: 'gtin' }),
      expect.objectContaining({ line: 4, sku: 'CHAIR-CAT', field: 'category' }),
      expect.objectContaining({ line: 5, sku: 'CHAIR-PRICE', field: 'base_price' }),
    ]);
    expect(await productCount()).toBe(1);

    const partial = await importCsv(csv, '?mode=valid');
    expect(partial.status).toBe(200);
    expect(partial.body).toMatchObject({ created: 1, rejected: 3 });
    expect(partial.body.errors).toHaveLength(3);
    expect(await productCount()).toBe(2);
  });

  it('refuses a SKU that belongs to another product, and a file with unknown columns', async () => {
    const taken = await importCsv(csvOf([row({ ...base, product_id: 'other-product', name: 'Thief', sku: 'SOFA-A' })]));
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('sku_taken');
    const columns = await importCsv('sku,colour\nX,red\n');
    expect(columns.status).toBe(400);
    expect(columns.body.error.code).toBe('invalid_csv');
  });

  it('runs a large import as a job whose progress and report GET /jobs/{id} shows', async () => {
    const rows = Array.from({ length: 150 }, (_, n) => row({ ...base, name: `Chair ${n}`, sku: `CHAIR-${n}` }));
    const started = await importCsv(csvOf(rows), '?async=true');
    expect(started.status).toBe(202);
    let job = started.body;
    for (let attempt = 0; job.status === 'running' && attempt < 2_000; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      job = await (await hub.app.request(`/api/v1/jobs/${job.id}`, { headers: auth() })).json();
    }
    expect(job).toMatchObject({ status: 'succeeded', done: 150, total: 150, result: { created: 150 } });
    expect((await hub.app.request('/api/v1/jobs/nope', { headers: auth() })).status).toBe(404);
  });

  it('shows a job whose instance stopped as interrupted once its heartbeat is stale', async () => {
    const startedAt = Date.now() - 10 * 60_000;
    // What a hub that crashed mid-import leaves: its job row, running, last heard of long ago.
    await hub.storage.db
      .insertInto('jobs')
      .values({
        id: 'job-of-a-dead-instance',
        kind: 'catalog.import',
        status: 'running',
        done: 40,
        total: 150,
        result_json: null,
        error_json: null,
        created_by: 'admin',
        created_at: startedAt,
        updated_at: startedAt + 1_000,
        finished_at: null,
      })
      .execute();
    const answer = await hub.app.request('/api/v1/jobs/job-of-a-dead-instance', { headers: auth() });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({
      status: 'failed',
      done: 40,
      total: 150,
      error: { code: 'interrupted', message: expect.stringContaining('import the file again') },
    });
  });
});

describe('catalog import jobs across PostgreSQL instances', () => {
  it('follows a job started on one instance from another', async () => {
    const first = await startTestHub('postgres');
    const second = await startSecondInstance(first);
    try {
      hub = first;
      token = await adminToken(first);
      const rows = Array.from({ length: 120 }, (_, n) => row({ ...base, name: `Stool ${n}`, sku: `STOOL-${n}` }));
      const started = await importCsv(csvOf(rows), '?async=true');
      expect(started.status).toBe(202);
      const follow = async () =>
        (await second.app.request(`/api/v1/jobs/${started.body.id}`, { headers: auth() })).json() as Promise<any>;
      let job = await follow();
      for (let attempt = 0; job.status === 'running' && attempt < 2_000; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        job = await follow();
      }
      expect(job).toMatchObject({ status: 'succeeded', done: 120, total: 120, result: { created: 120 } });
    } finally {
      await second.close();
      await first.dispose();
    }
  });
});
