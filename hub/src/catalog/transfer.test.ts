import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminToken, call, sofa, startTestHub, type TestHub } from '../testing/harness.ts';
import { catalogColumns } from './transfer.ts';

/** Bulk export of the catalog and of stock levels, streamed as CSV or NDJSON, on both adapters. */
let hub: TestHub;
let token: string;

const configurable = {
  ...sofa('SOFA-CONF'),
  name: 'Sofa, "Bergen" — 3 seats',
  description: 'Two lines,\nwith a comma',
  configurableOptions: [
    { name: 'fabric', type: 'choice', choices: [{ value: 'boucle', priceDelta: 15_000, leadTimeDays: 21 }] },
    { name: 'widthCm', type: 'range', min: 160, max: 280, step: 10, pricePerStep: 2_500 },
  ],
};

describe.each(['sqlite', 'postgres'] as const)('catalog export on %s', (adapter) => {
  beforeEach(async () => {
    hub = await startTestHub(adapter);
    token = await adminToken(hub);
    for (const product of [sofa('SOFA-A'), configurable])
      expect((await call(hub, 'POST', '/api/v1/products', { token, body: product })).status).toBe(201);
  });
  afterEach(() => hub.dispose());

  const download = async (path: string) => {
    const response = await hub.app.request(path, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  };

  it('exports one CSV row per variant with every column, quoting what needs it', async () => {
    const csv = await download('/api/v1/catalog/export?format=csv');
    expect(csv.status).toBe(200);
    expect(csv.type).toBe('text/csv; charset=utf-8');
    const rows = parse(csv.text, { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0] as object)).toEqual([...catalogColumns]);
    expect(rows.map((row) => row['sku']).sort()).toEqual(['SOFA-A', 'SOFA-A-SAND', 'SOFA-CONF', 'SOFA-CONF-SAND']);
    const conf = rows.find((row) => row['sku'] === 'SOFA-CONF') as Record<string, string>;
    expect(conf['name']).toBe(configurable.name);
    expect(conf['description']).toBe(configurable.description);
    expect(JSON.parse(conf['configurable_options'] as string)).toEqual(configurable.configurableOptions);
    expect(conf['gtin']).toBe('4006381333931');
  });

  it('exports one product per NDJSON line', async () => {
    const ndjson = await download('/api/v1/catalog/export?format=ndjson');
    expect(ndjson.type).toBe('application/x-ndjson');
    const products = ndjson.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(products.map((product: { name: string }) => product.name).sort()).toEqual(
      [configurable.name, 'Oslo 3-seat sofa'].sort(),
    );
  });

  it('exports stock levels per warehouse and SKU', async () => {
    await call(hub, 'POST', '/api/v1/warehouses', {
      token,
      body: { id: 'AMS', name: 'AMS', kind: '3pl', location: { lat: 52.37, lon: 4.89 } },
    });
    await call(hub, 'PUT', '/api/v1/warehouses/AMS/inventory/SOFA-A', { token, body: { onHand: 7 } });
    const csv = await download('/api/v1/stock/export');
    const rows = parse(csv.text, { columns: true }) as Array<Record<string, string>>;
    expect(rows).toEqual([
      expect.objectContaining({ warehouse_id: 'AMS', sku: 'SOFA-A', on_hand: '7', available: '7' }),
    ]);
  });

  it('refuses an unknown format and a caller without a token', async () => {
    expect((await download('/api/v1/catalog/export?format=xml')).status).toBe(400);
    const anonymous = await hub.app.request('/api/v1/catalog/export');
    expect(anonymous.status).toBe(401);
  });
});
