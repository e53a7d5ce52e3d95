import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestEdge, stopTestEdge, type TestEdge } from '../../test-support/node.ts';

let edge: TestEdge;
let token: string;
beforeEach(async () => {
  edge = await startTestEdge();
  token = await edge.login();
  const insert = edge.db.prepare(
    'INSERT INTO catalog_variant (sku, product_id, name, gtin, options, archived) VALUES (?, ?, ?, ?, ?, 0)',
  );
  insert.run('OSLO-GREY', 'P-1', 'Oslo sofa', '5901234123457', JSON.stringify({ color: 'grey' }));
  insert.run('OSLO-SAND', 'P-1', 'Oslo sofa', null, JSON.stringify({ color: 'sand', size: '3-seat' }));
});
afterEach(() => stopTestEdge(edge));

type Json = Record<string, any>;

describe('GET /api/v1/catalog', () => {
  it('names SKUs as staff call them and leaves out unknown ones', async () => {
    const response = await edge.call('GET', '/api/v1/catalog?sku=OSLO-GREY&sku=OSLO-SAND&sku=GHOST', { token });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Json).items).toEqual([
      { sku: 'OSLO-GREY', gtin: '5901234123457', label: 'Oslo sofa grey', archived: false },
      { sku: 'OSLO-SAND', gtin: null, label: 'Oslo sofa sand 3-seat', archived: false },
    ]);
  });

  it('refuses no SKU or a malformed one with 400', async () => {
    expect((await edge.call('GET', '/api/v1/catalog', { token })).status).toBe(400);
    expect((await edge.call('GET', '/api/v1/catalog?sku=%20bad', { token })).status).toBe(400);
  });
});

describe('GET /api/v1/catalog/lookup', () => {
  it('finds a product by SKU and by its GTIN in any length', async () => {
    const bySku = await edge.call('GET', '/api/v1/catalog/lookup?code=OSLO-GREY', { token });
    expect(((await bySku.json()) as Json).label).toBe('Oslo sofa grey');
    for (const code of ['5901234123457', '05901234123457']) {
      const byGtin = await edge.call('GET', `/api/v1/catalog/lookup?code=${code}`, { token });
      expect(byGtin.status, code).toBe(200);
      expect(((await byGtin.json()) as Json).sku).toBe('OSLO-GREY');
    }
  });

  it('answers 404 unknown_code for a code no product carries', async () => {
    const response = await edge.call('GET', '/api/v1/catalog/lookup?code=4006381333931', { token });
    expect(response.status).toBe(404);
    expect(((await response.json()) as Json).error.code).toBe('unknown_code');
  });

  it('needs a session', async () => {
    expect((await edge.call('GET', '/api/v1/catalog/lookup?code=OSLO-GREY')).status).toBe(401);
  });
});
