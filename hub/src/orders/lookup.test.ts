import { formatOrderNumber } from '@dovetail/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGeneratedOrders, newestFirst } from '../testing/generated-orders.ts';
import { type TestHub, adminToken, call, clientToken, sofa, startTestHub } from '../testing/harness.ts';

/** Order lookup for customer service: `GET /orders` filters and pages; `GET /orders/{number}`. */
let hub: TestHub;
let token: string;
let clock: number;

const shippingAddress = { line1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' };

async function storefront(name: string): Promise<string> {
  const created = await call(hub, 'POST', '/api/v1/clients', { token, body: { name, role: 'storefront' } });
  expect(created.status).toBe(201);
  return clientToken(hub, created.body.clientId, created.body.clientSecret);
}

async function place(as: string, email: string, sku: string, quantity = 1) {
  const placed = await call(hub, 'POST', '/api/v1/orders', {
    token: as,
    body: { customer: { email, name: 'Ada Lovelace' }, shippingAddress, lines: [{ sku, quantity }] },
  });
  expect(placed.status).toBe(201);
  clock += 1_000;
  return placed.body as { id: string; number: string };
}

const list = async (query: string, as = token) => call(hub, 'GET', `/api/v1/orders${query}`, { token: as });

/** Every page of a list, following nextCursor. */
async function walk(query: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page++) {
    const separator = query ? '&' : '?';
    const response = await list(`${query}${separator}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(response.status).toBe(200);
    ids.push(...response.body.items.map((item: { id: string }) => item.id));
    cursor = response.body.nextCursor;
    if (!cursor) return ids;
  }
  throw new Error('the list never ended');
}

describe.each(['sqlite', 'postgres'] as const)('order lookup on %s', (adapter) => {
  beforeEach(async () => {
    clock = Date.parse('2026-11-23T12:00:00Z');
    hub = await startTestHub(adapter, { nowMs: () => clock });
    token = await adminToken(hub);
    expect((await call(hub, 'POST', '/api/v1/products', { token, body: sofa('SOFA-1') })).status).toBe(201);
    for (const [id, lat, lon] of [
      ['AMS', 52.37, 4.89],
      ['PAR', 48.86, 2.35],
    ] as const) {
      await call(hub, 'POST', '/api/v1/warehouses', {
        token,
        body: { id, name: id, kind: '3pl', location: { lat, lon } },
      });
    }
    await call(hub, 'PUT', '/api/v1/warehouses/AMS/inventory/SOFA-1', { token, body: { onHand: 5 } });
    await call(hub, 'PUT', '/api/v1/warehouses/PAR/inventory/SOFA-1-SAND', { token, body: { onHand: 5 } });
  });
  afterEach(() => hub.dispose());

  it('filters by status, e-mail (any case), warehouse and creation time, newest first', async () => {
    const a = await place(token, 'Ines@Example.com', 'SOFA-1');
    const b = await place(token, 'ines@example.com', 'SOFA-1-SAND');
    const c = await place(token, 'other@example.com', 'SOFA-1');
    expect(
      (await call(hub, 'POST', `/api/v1/orders/${b.id}/payment`, { token, body: { reference: 'p1' } })).status,
    ).toBe(200);
    const ids = async (query: string) => (await list(query)).body.items.map((item: { id: string }) => item.id);
    expect(await ids('')).toEqual([c.id, b.id, a.id]);
    expect(await ids('?email=%20INES@example.COM')).toEqual([b.id, a.id]);
    expect(await ids('?status=processing')).toEqual([b.id]);
    expect(await ids('?status=pending_payment')).toEqual([c.id, a.id]);
    expect(await ids('?warehouseId=PAR')).toEqual([b.id]);
    const from = new Date(Date.parse('2026-11-23T12:00:01Z')).toISOString();
    const to = new Date(Date.parse('2026-11-23T12:00:02Z')).toISOString();
    expect(await ids(`?createdFrom=${from}&createdTo=${to}`)).toEqual([b.id]);
    const summary = (await list('?email=other@example.com')).body.items[0];
    expect(summary).toMatchObject({
      id: c.id,
      number: c.number,
      status: 'pending_payment',
      customer: { email: 'other@example.com', name: 'Ada Lovelace' },
      currency: 'EUR',
      itemCount: 1,
      warehouses: [],
    });
    expect((await list('?warehouseId=PAR')).body.items[0]).toMatchObject({ warehouses: ['PAR'], status: 'processing' });
  });

  it('reads expired orders as expired: pending_payment past their hold, by the same clock as one order', async () => {
    const a = await place(token, 'late@example.com', 'SOFA-1');
    const order = (await call(hub, 'GET', `/api/v1/orders/${a.id}`, { token })).body;
    clock = Date.parse(order.expiresAt);
    expect((await list('?status=expired')).body.items.map((item: { id: string }) => item.id)).toEqual([a.id]);
    expect((await list('?status=pending_payment')).body.items).toEqual([]);
    expect((await list('?email=late@example.com')).body.items[0].status).toBe('expired');
  });

  it('shows a storefront only the orders it placed, in the list and by number', async () => {
    const shopA = await storefront('shop-a');
    const shopB = await storefront('shop-b');
    const mine = await place(shopA, 'ada@example.com', 'SOFA-1');
    const theirs = await place(shopB, 'ada@example.com', 'SOFA-1');
    expect((await list('', shopA)).body.items.map((item: { id: string }) => item.id)).toEqual([mine.id]);
    expect((await list('?email=ada@example.com', shopB)).body.items.map((item: { id: string }) => item.id)).toEqual([
      theirs.id,
    ]);
    expect((await call(hub, 'GET', `/api/v1/orders/${theirs.number}`, { token: shopA })).status).toBe(404);
    expect((await call(hub, 'GET', `/api/v1/orders/${mine.number}`, { token: shopA })).body.id).toBe(mine.id);
    expect((await list('')).body.items).toHaveLength(2); // admins see every order
  });

  it('finds an order by its number as people type it, and answers 404 for a wrong one', async () => {
    const placed = await place(token, 'ada@example.com', 'SOFA-1');
    for (const typed of [placed.number, placed.number.toLowerCase(), placed.number.replaceAll('-', '')]) {
      const read = await call(hub, 'GET', `/api/v1/orders/${typed}`, { token });
      expect(read.status).toBe(200);
      expect(read.body.id).toBe(placed.id);
    }
    const unknown = await call(hub, 'GET', `/api/v1/orders/${formatOrderNumber(999)}`, { token });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    const mistyped = placed.number.slice(0, -1) + (placed.number.endsWith('0') ? '1' : '0');
    expect((await call(hub, 'GET', `/api/v1/orders/${mistyped}`, { token })).status).toBe(404);
  });

  it('refuses bad filters with a 400 naming the field, and a forged cursor', async () => {
    const bad = await list('?status=lost&limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues.map((issue: { path: string }) => issue.path).sort()).toEqual([
      'limit',
      'status',
    ]);
    expect((await list('?createdFrom=yesterday')).status).toBe(400);
    const forged = await list(`?cursor=${Buffer.from('not-a-key').toString('base64url')}`);
    expect(forged.status).toBe(400);
    expect(forged.body.error.code).toBe('invalid_cursor');
  });

  it('pages through 100,000 generated orders with filters: every match once, in order, none other', async () => {
    const base = Date.parse('2026-01-01T00:00:00Z');
    const orders = await insertGeneratedOrders(hub.storage.db, 100_000, base);
    const shipped = orders.filter((order) => order.status === 'shipped');
    expect(await walk('?status=shipped', 500)).toEqual(newestFirst(shipped));
    const berDelivered = orders.filter((order) => order.warehouseId === 'BER' && order.status === 'delivered');
    expect(await walk('?warehouseId=BER&status=delivered', 500)).toEqual(newestFirst(berDelivered));
    const someone = orders.filter((order) => order.email === 'customer42@example.com');
    expect(await walk('?email=Customer42@example.com', 7)).toEqual(newestFirst(someone));
    const from = base + 1_000 * 60_000;
    const to = base + 2_000 * 60_000;
    const window = orders.filter((order) => order.createdAtMs >= from && order.createdAtMs < to);
    const range = `?createdFrom=${new Date(from).toISOString()}&createdTo=${new Date(to).toISOString()}`;
    expect(await walk(range, 50)).toEqual(newestFirst(window));
  }, 240_000);
});
