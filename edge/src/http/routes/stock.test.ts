import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestEdge, startTestEdge, stopTestEdge } from '../../test-support/node.ts';

let edge: TestEdge;
let token: string;

beforeEach(async () => {
  edge = await startTestEdge();
  token = await edge.login();
});
afterEach(() => stopTestEdge(edge));

type Json = Record<string, any>;
const scan = async (action: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await edge.call('POST', `/api/v1/stock/${action}`, { token, body, headers });
  return { status: response.status, body: (await response.json()) as Json, headers: response.headers };
};
const get = async (url: string) => {
  const response = await edge.call('GET', url, { token });
  return { status: response.status, body: (await response.json()) as Json };
};
const ledgerCount = () => (edge.db.prepare('SELECT count(*) AS n FROM ledger').get() as { n: number }).n;

describe('POST /api/v1/stock/receive', () => {
  it('records the receipt and answers 201 with the event and all its quantities', async () => {
    const { status, body } = await scan('receive', {
      sku: 'SOFA-OSLO-3S-GREY',
      quantity: 10,
      bin: 'A-01',
      lot: 'FAB-2026-11',
      reference: 'PO-77',
    });
    expect(status).toBe(201);
    expect(body.event).toMatchObject({
      type: 'receive',
      sku: 'SOFA-OSLO-3S-GREY',
      quantity: 10,
      warehouseId: 'W1',
      actor: 'lead',
    });
    expect(body.stock).toMatchObject({
      sku: 'SOFA-OSLO-3S-GREY',
      warehouseId: 'W1',
      onHand: 10,
      committed: 0,
      reserved: 0,
      available: 10,
      damaged: 0,
      qualityControl: 0,
      safetyStock: 0,
      incoming: 0,
      edgeQuota: 0,
      bins: [{ bin: 'A-01', quantity: 10 }],
      lots: [{ lot: 'FAB-2026-11', quantity: 10 }],
    });
  });

  it('accepts a SKU the catalog does not know yet and marks it unverified', async () => {
    const { body } = await scan('receive', { sku: 'NEW-SKU-1', quantity: 1 });
    expect(body.stock.verified).toBe(false);
    const history = await get('/api/v1/stock/NEW-SKU-1/history');
    expect(history.body.items[0].unverified).toBe(true);
  });

  it('marks a SKU the catalog replica lists as verified', async () => {
    edge.db
      .prepare(
        "INSERT INTO catalog_variant (sku, product_id, name, options) VALUES ('BED-LINNEA-160', 'p1', 'Linnea bed', '{}')",
      )
      .run();
    const { body } = await scan('receive', { sku: 'BED-LINNEA-160', quantity: 2 });
    expect(body.stock.verified).toBe(true);
  });

  it('tracks serial numbers, one per unit', async () => {
    const { status, body } = await scan('receive', { sku: 'SOFA-MTO', quantity: 2, serials: ['SN-1', 'SN-2'] });
    expect(status).toBe(201);
    expect(body.stock.serials).toEqual(['SN-1', 'SN-2']);
    const again = await scan('receive', { sku: 'SOFA-MTO', quantity: 1, serials: ['SN-2'] });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('serial_already_in_stock');
    const mismatch = await scan('receive', { sku: 'SOFA-MTO', quantity: 3, serials: ['SN-3'] });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.error.code).toBe('serial_count_mismatch');
  });

  it.each([
    [{ sku: 'A', quantity: -3 }, 'quantity'],
    [{ sku: 'A', quantity: 0 }, 'quantity'],
    [{ sku: 'A', quantity: 1.5 }, 'quantity'],
    [{ sku: 'A', quantity: 10_000_001 }, 'quantity'],
    [{ sku: 'has space', quantity: 1 }, 'sku'],
    [{ quantity: 1 }, 'sku'],
    [{ sku: 'A', quantity: 1, onHand: 999 }, 'onHand'],
    [{ sku: 'A', quantity: 2, serials: ['X', 'X'] }, 'serials'],
  ])('refuses %j with 400 naming %s, and stores nothing', async (input, field) => {
    const { status, body } = await scan('receive', input);
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_input');
    expect(body.error.details.issues.map((issue: Json) => issue.path)).toContain(field);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts/);
    expect(ledgerCount()).toBe(0);
  });

  it('refuses broken JSON (400), another content type (415) and an oversized body (413)', async () => {
    expect((await scan('receive', '{"sku":')).status).toBe(400);
    const text = await edge.call('POST', '/api/v1/stock/receive', {
      token,
      headers: { 'content-type': 'text/plain' },
      body: 'sku=A',
    });
    expect(text.status).toBe(415);
    const huge = await scan('receive', { sku: 'A', quantity: 1, note: 'x'.repeat(70_000) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
    expect(ledgerCount()).toBe(0);
  });
});

describe('the other scan actions', () => {
  beforeEach(async () => {
    await scan('receive', { sku: 'CHAIR-1', quantity: 10, bin: 'A-01' });
  });

  it('counts as a delta against on hand at count time', async () => {
    const { status, body } = await scan('count', { sku: 'CHAIR-1', countedQuantity: 7 });
    expect(status).toBe(201);
    expect(body.event).toMatchObject({ type: 'count', countedQuantity: 7, delta: -3 });
    expect(body.stock.onHand).toBe(7);
    const inBin = await scan('count', { sku: 'CHAIR-1', countedQuantity: 9, bin: 'B-02' });
    expect(inBin.body.event.delta).toBe(9);
    expect(inBin.body.stock.onHand).toBe(16);
  });

  it('moves units between bins without changing on hand', async () => {
    const { body } = await scan('move', { sku: 'CHAIR-1', quantity: 4, fromBin: 'A-01', toBin: 'C-03' });
    expect(body.stock.onHand).toBe(10);
    expect(body.stock.bins).toEqual([
      { bin: 'A-01', quantity: 6 },
      { bin: 'C-03', quantity: 4 },
    ]);
    const tooMany = await scan('move', { sku: 'CHAIR-1', quantity: 7, fromBin: 'A-01', toBin: 'C-03' });
    expect(tooMany.status).toBe(409);
    expect(tooMany.body.error.code).toBe('insufficient_in_bin');
  });

  it('marks damage, which leaves on hand but not available', async () => {
    const { body } = await scan('damage', { sku: 'CHAIR-1', quantity: 2, note: 'forklift' });
    expect(body.stock).toMatchObject({ onHand: 10, damaged: 2, available: 8 });
  });

  it('sends and receives transfers, and never lets on hand go negative', async () => {
    const out = await scan('transfer-out', { sku: 'CHAIR-1', quantity: 4, transferId: 'TR-1', toWarehouseId: 'W2' });
    expect(out.body.stock.onHand).toBe(6);
    const tooMany = await scan('transfer-out', {
      sku: 'CHAIR-1',
      quantity: 7,
      transferId: 'TR-2',
      toWarehouseId: 'W2',
    });
    expect(tooMany.status).toBe(409);
    expect(tooMany.body.error.code).toBe('insufficient_sellable');
    expect(tooMany.body.error.details.stock.onHand).toBe(6);
    const back = await scan('transfer-in', { sku: 'CHAIR-1', quantity: 1, transferId: 'TR-9', fromWarehouseId: 'W3' });
    expect(back.body.stock.onHand).toBe(7);
  });

  it('refuses an adjustment that would take on hand below zero, changing nothing', async () => {
    const before = ledgerCount();
    const { status, body } = await scan('adjust', { sku: 'CHAIR-1', delta: -11, reason: 'lost' });
    expect(status).toBe(409);
    expect(body.error.code).toBe('insufficient_on_hand');
    expect(ledgerCount()).toBe(before);
    expect((await get('/api/v1/stock/CHAIR-1')).body.onHand).toBe(10);
  });

  it('sells in store only out of the escrow quota', async () => {
    const { status, body } = await scan('instore-sale', { sku: 'CHAIR-1', quantity: 1 });
    expect(status).toBe(409);
    expect(body.error.code).toBe('quota_exhausted');
  });

  it('lets a supervisor adjust but not warehouse staff', async () => {
    expect((await scan('adjust', { sku: 'CHAIR-1', delta: 2, reason: 'found' })).status).toBe(201);
    await edge.call('POST', '/api/v1/staff', {
      token,
      body: { username: 'picker', password: 'picker-password-1', role: 'warehouse_staff' },
    });
    const staffToken = await edge.login('picker', 'picker-password-1');
    const denied = await edge.call('POST', '/api/v1/stock/adjust', {
      token: staffToken,
      body: { sku: 'CHAIR-1', delta: 2, reason: 'found' },
    });
    expect(denied.status).toBe(403);
    const allowed = await edge.call('POST', '/api/v1/stock/receive', {
      token: staffToken,
      body: { sku: 'CHAIR-1', quantity: 1 },
    });
    expect(allowed.status).toBe(201);
  });
});

describe('Idempotency-Key', () => {
  it('replays the stored response for the same key and body, with one effect', async () => {
    const first = await scan('receive', { sku: 'LAMP-1', quantity: 3 }, { 'idempotency-key': 'scan-0001' });
    const second = await scan('receive', { sku: 'LAMP-1', quantity: 3 }, { 'idempotency-key': 'scan-0001' });
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect((await get('/api/v1/stock/LAMP-1')).body.onHand).toBe(3);
  });

  it('answers 422 when the key is reused with another body', async () => {
    await scan('receive', { sku: 'LAMP-1', quantity: 3 }, { 'idempotency-key': 'scan-0002' });
    const reused = await scan('receive', { sku: 'LAMP-1', quantity: 4 }, { 'idempotency-key': 'scan-0002' });
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
    expect((await get('/api/v1/stock/LAMP-1')).body.onHand).toBe(3);
  });

  it('gives concurrent duplicates one effect', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        scan('receive', { sku: 'LAMP-2', quantity: 1 }, { 'idempotency-key': 'burst-1' }),
      ),
    );
    expect(new Set(results.map((result) => result.body.event.id)).size).toBe(1);
    expect((await get('/api/v1/stock/LAMP-2')).body.onHand).toBe(1);
  });

  it('refuses a malformed or oversized key', async () => {
    expect((await scan('receive', { sku: 'A', quantity: 1 }, { 'idempotency-key': 'x'.repeat(256) })).status).toBe(400);
    expect((await scan('receive', { sku: 'A', quantity: 1 }, { 'idempotency-key': 'has space' })).status).toBe(400);
    expect(ledgerCount()).toBe(0);
  });
});

describe('reading stock', () => {
  beforeEach(async () => {
    for (const [sku, quantity, bin] of [
      ['BED-1', 2, 'A-01'],
      ['BED-2', 3, 'B-01'],
      ['CHAIR-1', 4, 'A-01'],
      ['CHAIR-2', 5, 'A-01'],
      ['TABLE-1', 1, 'C-01'],
    ] as const) {
      await scan('receive', { sku, quantity, bin });
    }
    await scan('transfer-out', { sku: 'TABLE-1', quantity: 1, transferId: 'T', toWarehouseId: 'W2' });
  });

  it('pages through every partition with a cursor, in SKU order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: Json } = await get(`/api/v1/stock?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((item: Json) => item.sku));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['BED-1', 'BED-2', 'CHAIR-1', 'CHAIR-2', 'TABLE-1']);
  });

  it('filters by SKU prefix, bin, stock level and verification', async () => {
    const skus = async (query: string) =>
      (await get(`/api/v1/stock?${query}`)).body.items.map((item: Json) => item.sku);
    expect(await skus('sku=CHAIR')).toEqual(['CHAIR-1', 'CHAIR-2']);
    expect(await skus('bin=A-01')).toEqual(['BED-1', 'CHAIR-1', 'CHAIR-2']);
    expect(await skus('inStock=false')).toEqual(['TABLE-1']);
    expect(await skus('unverified=false')).toEqual([]);
    expect((await skus('unverified=true')).length).toBe(5);
  });

  it('bounds the page size and refuses unknown or malformed parameters', async () => {
    expect((await get('/api/v1/stock?limit=100000')).status).toBe(400);
    expect((await get('/api/v1/stock?limit=0')).status).toBe(400);
    expect((await get('/api/v1/stock?cursor=not-a-cursor')).status).toBe(400);
    const unknown = await get('/api/v1/stock?warehouse=W2');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.issues[0].path).toBe('warehouse');
  });

  it('answers 404 for a SKU never seen here, and 400 for an invalid one', async () => {
    expect((await get('/api/v1/stock/NOPE-1')).status).toBe(404);
    expect((await get('/api/v1/stock/bad%20sku')).status).toBe(400);
  });

  it('returns the ledger newest first, paged, and oldest first on request', async () => {
    await scan('receive', { sku: 'BED-1', quantity: 1 });
    await scan('damage', { sku: 'BED-1', quantity: 1 });
    const first = await get('/api/v1/stock/BED-1/history?limit=2');
    expect(first.body.items.map((item: Json) => item.event.type)).toEqual(['damage', 'receive']);
    const second = await get(`/api/v1/stock/BED-1/history?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((item: Json) => item.event.quantity)).toEqual([2]);
    expect(second.body.nextCursor).toBeNull();
    const ascending = await get('/api/v1/stock/BED-1/history?order=asc');
    expect(ascending.body.items.map((item: Json) => item.event.type)).toEqual(['receive', 'receive', 'damage']);
  });
});

describe('GET /api/v1/sync/status', () => {
  it('counts the outbox as pending upstream while no hub is connected', async () => {
    await scan('receive', { sku: 'A', quantity: 1 });
    await scan('receive', { sku: 'B', quantity: 1 });
    await scan('adjust', { sku: 'A', delta: -5, reason: 'lost' }); // refused: not queued
    const { body } = await get('/api/v1/sync/status');
    expect(body).toMatchObject({
      connected: false,
      pendingUpstream: 2,
      upstreamAck: 0,
      upstreamLastSeq: 2,
      warehouseId: 'W1',
    });
  });
});
