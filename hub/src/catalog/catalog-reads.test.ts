import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminToken, call, sofa, startSecondInstance, startTestHub, type TestHub } from '../testing/harness.ts';

/** Catalog reads: conditional GETs (ETag → 304), cache headers, the read cache and the filters. */
let hub: TestHub;
let token: string;

const boucleSofa = {
  ...sofa('SOFA-BOUCLE'),
  name: 'Bergen sofa',
  material: 'linen',
  basePrice: 99_900,
  configurableOptions: [
    {
      name: 'fabric',
      type: 'choice',
      choices: [
        { value: 'linen', priceDelta: 0 },
        { value: 'boucle', priceDelta: 15_000 },
      ],
    },
  ],
};

describe.each(['sqlite', 'postgres'] as const)('catalog reads on %s', (adapter) => {
  beforeEach(async () => {
    hub = await startTestHub(adapter);
    token = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/products', { token, body: sofa('SOFA-OSLO') })).status).toBe(201);
    expect((await call(hub, 'POST', '/api/v1/products', { token, body: boucleSofa })).status).toBe(201);
  });
  afterEach(() => hub.dispose());

  const names = async (query: string) => {
    const answer = await call(hub, 'GET', `/api/v1/products?${query}`, { token });
    expect(answer.status).toBe(200);
    return (answer.body.items as Array<{ name: string }>).map((item) => item.name).sort();
  };

  it('answers 304 to a repeated product read with its ETag, and 200 with the new one after a write', async () => {
    const first = await call(hub, 'GET', '/api/v1/products?category=sofa', { token });
    const listed = first.body.items.find((item: { name: string }) => item.name.startsWith('Oslo'));
    const read = await call(hub, 'GET', `/api/v1/products/${listed.id}`, { token });
    const etag = read.headers.get('etag') as string;
    expect(etag).toBe('"1"');
    expect(read.headers.get('cache-control')).toBe('private, no-cache');
    expect(read.headers.get('vary')).toBe('Authorization');
    const again = await call(hub, 'GET', `/api/v1/products/${listed.id}`, {
      token,
      headers: { 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.body).toBeUndefined();

    const listEtag = first.headers.get('etag') as string;
    expect(listEtag).toMatch(/^W\/"/);
    const listAgain = await call(hub, 'GET', '/api/v1/products?category=sofa', {
      token,
      headers: { 'if-none-match': listEtag },
    });
    expect(listAgain.status).toBe(304);

    const { id: _id, version: _version, createdAt: _c, updatedAt: _u, archived: _a, ...fields } = read.body;
    const updated = await call(hub, 'PUT', `/api/v1/products/${listed.id}`, {
      token,
      headers: { 'if-match': etag },
      body: { ...fields, basePrice: 119_900 },
    });
    expect(updated.status).toBe(200);
    const fresh = await call(hub, 'GET', `/api/v1/products/${listed.id}`, {
      token,
      headers: { 'if-none-match': etag },
    });
    expect(fresh.status).toBe(200);
    expect(fresh.body.basePrice).toBe(119_900);
    expect(fresh.headers.get('etag')).toBe('"2"');
    const listFresh = await call(hub, 'GET', '/api/v1/products?category=sofa', {
      token,
      headers: { 'if-none-match': listEtag },
    });
    expect(listFresh.status).toBe(200);
    expect(listFresh.headers.get('etag')).not.toBe(listEtag);
  });

  it('filters by variant option, configurable choice, price, material and stock at a warehouse', async () => {
    expect(await names('option.color=sand')).toEqual(['Bergen sofa', 'Oslo 3-seat sofa']);
    expect(await names('option.fabric=boucle')).toEqual(['Bergen sofa']);
    expect(await names('option.color=sand&option.fabric=boucle')).toEqual(['Bergen sofa']);
    expect(await names('option.fabric=tweed')).toEqual([]);
    expect(await names('minPrice=100000')).toEqual(['Oslo 3-seat sofa']);
    expect(await names('maxPrice=100000')).toEqual(['Bergen sofa']);
    expect(await names('material=LINEN')).toEqual(['Bergen sofa']);
    expect(await names('q=bergen')).toEqual(['Bergen sofa']);

    await call(hub, 'POST', '/api/v1/warehouses', {
      token,
      body: { id: 'AMS', name: 'AMS', kind: '3pl', location: { lat: 52.37, lon: 4.89 } },
    });
    expect(await names('inStockAt=AMS')).toEqual([]);
    await call(hub, 'PUT', '/api/v1/warehouses/AMS/inventory/SOFA-BOUCLE-SAND', { token, body: { onHand: 2 } });
    expect(await names('inStockAt=AMS')).toEqual(['Bergen sofa']);
  });

  it('searches name and description by word prefixes, and follows renames', async () => {
    expect(await names('q=berg')).toEqual(['Bergen sofa']);
    expect(await names('q=SOF')).toEqual(['Bergen sofa', 'Oslo 3-seat sofa']);
    // Every word must match (AND), each as a prefix; the description counts.
    expect(await names('q=oslo%20sofa')).toEqual(['Oslo 3-seat sofa']);
    expect(await names('q=deep%20wool')).toEqual(['Bergen sofa', 'Oslo 3-seat sofa']);
    expect(await names('q=oslo%20bergen')).toEqual([]);
    // Hyphens and punctuation separate words and never reach a query language.
    expect(await names('q=3-seat')).toEqual(['Oslo 3-seat sofa']);
    expect(await names('q=%22sofa%22%20OR%20*')).toEqual([]);
    expect(await names('q=%22%3A*%26')).toEqual([]);
    // Not a substring search: a word's middle finds nothing.
    expect(await names('q=erge')).toEqual([]);

    const listed = await call(hub, 'GET', '/api/v1/products?q=bergen', { token });
    const bergen = listed.body.items[0];
    const { id, version: _v, createdAt: _c, updatedAt: _u, archived: _a, ...fields } = bergen;
    const renamed = await call(hub, 'PUT', `/api/v1/products/${id}`, {
      token,
      headers: { 'if-match': `"${bergen.version}"` },
      body: { ...fields, name: 'Tromsø sofa', description: 'Low and wide, in bouclé' },
    });
    expect(renamed.status).toBe(200);
    expect(await names('q=bergen')).toEqual([]);
    expect(await names('q=troms%C3%B8')).toEqual(['Tromsø sofa']);
    expect(await names('q=wide')).toEqual(['Tromsø sofa']);
    expect(await names('q=deep')).toEqual(['Oslo 3-seat sofa']);
    expect(await names('q=boucl%C3%A9')).toEqual(['Tromsø sofa']);
    // SQLite's tokenizer folds accents; PostgreSQL's `simple` configuration keeps them (docs/catalog.md).
    expect(await names('q=boucle')).toEqual(adapter === 'sqlite' ? ['Tromsø sofa'] : []);
  });

  it('refuses a filter it does not know with 400 naming it', async () => {
    const refused = await call(hub, 'GET', '/api/v1/products?colour=sand', { token });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body.error.details)).toContain('colour');
    const tooMany = Array.from({ length: 6 }, (_, i) => `option.o${i}=x`).join('&');
    expect((await call(hub, 'GET', `/api/v1/products?${tooMany}`, { token })).status).toBe(400);
  });
});

describe('the catalog read cache across PostgreSQL instances', () => {
  it('makes the next read after a write on one instance fresh on the other', async () => {
    const first = await startTestHub('postgres');
    const second = await startSecondInstance(first);
    try {
      const token = await adminToken(first);
      const created = await call(first, 'POST', '/api/v1/products', { token, body: sofa('SOFA-TWO') });
      const path = `/api/v1/products/${created.body.id}`;
      const cached = await call(second, 'GET', path, { token });
      expect(cached.headers.get('etag')).toBe('"1"');
      const { id: _id, version: _v, createdAt: _c, updatedAt: _u, archived: _a, ...fields } = cached.body;
      const updated = await call(first, 'PUT', path, {
        token,
        headers: { 'if-match': '"1"' },
        body: { ...fields, name: 'Oslo, renamed' },
      });
      expect(updated.status).toBe(200);
      // The NOTIFY reaches the second instance after the write commits: wait for it, not for a time.
      let answer = await call(second, 'GET', path, { token, headers: { 'if-none-match': '"1"' } });
      for (let attempt = 0; answer.status === 304 && attempt < 200; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        answer = await call(second, 'GET', path, { token, headers: { 'if-none-match': '"1"' } });
      }
      expect(answer.status).toBe(200);
      expect(answer.body.name).toBe('Oslo, renamed');
    } finally {
      await second.close();
      await first.dispose();
    }
  });
});
