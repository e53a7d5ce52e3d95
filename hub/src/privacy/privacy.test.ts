import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newId } from '@dovetail/shared';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { vaultOf } from '../db/personal-data.ts';
import { appendDownstream, readDownstream } from '../downstream/outbox.ts';
import { insertGeneratedOrders } from '../testing/generated-orders.ts';
import { adapters, adminToken, call, clientToken, sofa, startTestHub, type TestHub } from '../testing/harness.ts';
import { eraseExpiredPersonalData } from './service.ts';

/**
 * Personal data at rest and privacy requests (docs/operations.md, "Personal data"): a customer's
 * e-mail, name, phone and address are nowhere in the database in plain text (the SQLite file and
 * its WAL read as bytes; every text column of every PostgreSQL table scanned), orders are still
 * found by e-mail, and erasure leaves the order with its lines reading "erased".
 */
const email = 'Grace.Hopper.Privacy@Example.com';
const name = 'Grace Brewster Hopper';
const phone = '+1 212 555 0199';
const street = '17 Cobble Hill Lane';
const needles = [email.toLowerCase(), 'grace.hopper.privacy', name, 'Brewster', '555 0199', street, 'Cobble Hill'];

let hub: TestHub | undefined;
let directory: string | undefined;

afterEach(async () => {
  await hub?.dispose();
  hub = undefined;
  if (directory) fs.rmSync(directory, { recursive: true, force: true });
  directory = undefined;
});

async function start(adapter: (typeof adapters)[number], options: { nowMs?: () => number } = {}) {
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-privacy-'));
  hub = await startTestHub(adapter, {
    keyEncryptionKey: randomBytes(32),
    ...(adapter === 'sqlite' ? { sqliteFile: path.join(directory, 'hub.db') } : {}),
    ...options,
  });
  const token = await adminToken(hub);
  expect((await call(hub, 'POST', '/api/v1/products', { token, body: sofa('SOFA-P') })).status).toBe(201);
  await call(hub, 'POST', '/api/v1/warehouses', {
    token,
    body: { id: 'AMS', name: 'AMS', kind: '3pl', location: { lat: 52.37, lon: 4.89 } },
  });
  await call(hub, 'PUT', '/api/v1/warehouses/AMS/inventory/SOFA-P', { token, body: { onHand: 5 } });
  return { hub, token };
}

async function placePaid(h: TestHub, token: string, pay = true): Promise<string> {
  const placed = await call(h, 'POST', '/api/v1/orders', {
    token,
    body: {
      customer: { email, name, phone },
      shippingAddress: { line1: street, city: 'New York', postalCode: '11201', country: 'US' },
      billingAddress: { line1: street, city: 'New York', postalCode: '11201', country: 'US' },
      lines: [{ sku: 'SOFA-P', quantity: 1 }],
    },
  });
  expect(placed.status, JSON.stringify(placed.body)).toBe(201);
  if (!pay) return placed.body.id as string;
  const paid = await call(h, 'POST', `/api/v1/orders/${placed.body.id}/payment`, { token, body: { reference: 'p1' } });
  expect(paid.status).toBe(200);
  return placed.body.id as string;
}

/** Every needle found in plain text in the hub's storage: the SQLite files as bytes, or every PostgreSQL text column. */
async function plainTextHits(h: TestHub): Promise<string[]> {
  const hits: string[] = [];
  if (h.adapter === 'sqlite') {
    h.storage.sqlite?.pragma('wal_checkpoint(PASSIVE)');
    const dir = directory as string;
    for (const file of fs.readdirSync(dir)) {
      const bytes = fs.readFileSync(path.join(dir, file)).toString('latin1').toLowerCase();
      for (const needle of needles) if (bytes.includes(needle.toLowerCase())) hits.push(`${file}: ${needle}`);
    }
    return hits;
  }
  const columns = await sql<{ table_name: string; column_name: string }>`
    select c.table_name, c.column_name from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema = current_schema() and t.table_type = 'BASE TABLE'
      and c.data_type in ('text', 'character varying', 'json', 'jsonb')`.execute(h.storage.db);
  expect(columns.rows.length).toBeGreaterThan(50);
  for (const { table_name, column_name } of columns.rows) {
    for (const needle of needles) {
      const found = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table_name)}
        where lower(${sql.ref(column_name)}::text) like ${`%${needle.toLowerCase()}%`}`.execute(h.storage.db);
      if (Number(found.rows[0]?.n) > 0) hits.push(`${table_name}.${column_name}: ${needle}`);
    }
  }
  return hits;
}

describe.each(adapters)('personal data on %s', (adapter) => {
  it('stores no e-mail, name, phone or street in plain text, and still finds and shows the order', async () => {
    const { hub: h, token } = await start(adapter);
    const id = await placePaid(h, token);
    // The plain-text search must be able to fail: the needle is there before encryption is asked for.
    const shown = await call(h, 'GET', `/api/v1/orders/${id}`, { token });
    expect(shown.body.customer).toEqual({ email, name, phone });
    expect(shown.body.shippingAddress.line1).toBe(street);
    expect(await plainTextHits(h)).toEqual([]);
    const found = await call(h, 'GET', `/api/v1/orders?email=${encodeURIComponent(` ${email.toUpperCase()} `)}`, {
      token,
    });
    expect(found.status).toBe(200);
    expect(found.body.items.map((item: { id: string }) => item.id)).toEqual([id]);
    expect(found.body.items[0].customer).toEqual({ email, name });
    const rows = await h.storage.db.selectFrom('orders').select(['customer_json', 'customer_email']).execute();
    expect(rows[0]?.customer_json.startsWith('pii:v1:')).toBe(true);
    expect(rows[0]?.customer_email).not.toContain('@');
  });

  it('exports everything about the customer, then erases it: the order stays with its lines and reads "erased"', async () => {
    const { hub: h, token } = await start(adapter);
    const id = await placePaid(h, token);
    const care = await call(h, 'POST', '/api/v1/clients', {
      token,
      body: { name: 'care desk', role: 'customer_service' },
    });
    const careToken = await clientToken(h, care.body.clientId, care.body.clientSecret);
    const shop = await call(h, 'POST', '/api/v1/clients', { token, body: { name: 'shop', role: 'storefront' } });
    const shopToken = await clientToken(h, shop.body.clientId, shop.body.clientSecret);
    const body = { email: email.toLowerCase() };
    expect((await call(h, 'POST', '/api/v1/customers/export', { token: shopToken, body })).status).toBe(403);
    expect((await call(h, 'POST', '/api/v1/customers/export', { token, body: { email: 'nope' } })).status).toBe(400);

    const exported = await call(h, 'POST', '/api/v1/customers/export', { token: careToken, body });
    expect(exported.status, JSON.stringify(exported.body)).toBe(200);
    expect(exported.body.orders.map((order: { id: string }) => order.id)).toEqual([id]);
    expect(exported.body.orders[0].customer).toEqual({ email, name, phone });
    expect(exported.body.notifications.length).toBeGreaterThan(0);
    expect(exported.body.notifications[0].recipient.toLowerCase()).toBe(email.toLowerCase());

    const erased = await call(h, 'POST', '/api/v1/customers/erase', { token: careToken, body });
    expect(erased.status, JSON.stringify(erased.body)).toBe(200);
    expect(erased.body).toEqual({ erased: true, orders: 1 });

    const order = await call(h, 'GET', `/api/v1/orders/${id}`, { token });
    expect(order.status).toBe(200);
    expect(order.body.customer).toEqual({ email: 'erased', name: 'erased' });
    // The destination country stays (a fulfillment still routes and validates by it); the rest is gone.
    expect(order.body.shippingAddress).toEqual({
      line1: 'erased',
      city: 'erased',
      postalCode: 'erased',
      country: 'US',
    });
    expect(order.body.billingAddress).toEqual({ line1: 'erased', city: 'erased', postalCode: 'erased', country: 'US' });
    expect(order.body.lines).toEqual([expect.objectContaining({ sku: 'SOFA-P', quantity: 1 })]);
    expect(order.body.total).toBeGreaterThan(0);
    const text = JSON.stringify(order.body).toLowerCase();
    for (const needle of needles) expect(text).not.toContain(needle.toLowerCase());

    const found = await call(h, 'GET', `/api/v1/orders?email=${encodeURIComponent(email)}`, { token });
    expect(found.body.items).toEqual([]);
    const again = await call(h, 'POST', '/api/v1/customers/export', { token, body });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({
      email: email.toLowerCase(),
      orders: [],
      returns: [],
      notifications: [],
      truncated: false,
    });
    const fulfillments = await call(h, 'GET', '/api/v1/fulfillment-orders', { token });
    expect(fulfillments.body.items[0].shipTo.name).toBe('erased');
    expect(await h.storage.db.selectFrom('customer_keys').selectAll().execute()).toEqual([]);
    expect(await plainTextHits(h)).toEqual([]);
    // Idempotent: nothing left to erase.
    const twice = await call(h, 'POST', '/api/v1/customers/erase', { token, body });
    expect(twice.body).toEqual({ erased: false, orders: 0 });
  });

  it('retention erases the personal data of orders closed longer than the setting, not of open ones', async () => {
    let clock = Date.parse('2026-03-01T12:00:00Z');
    const { hub: h, token } = await start(adapter, { nowMs: () => clock });
    const closed = await placePaid(h, token, false);
    const canceled = await call(h, 'POST', `/api/v1/orders/${closed}/cancel`, { token, body: {} });
    expect(canceled.body.status).toBe('canceled');
    const open = await placePaid(h, token);
    clock += 31 * 86_400_000;
    expect(await eraseExpiredPersonalData(h.storage.db, 30, clock)).toBe(1);
    const later = await adminToken(h); // a month on, the first token has long expired
    expect((await call(h, 'GET', `/api/v1/orders/${closed}`, { token: later })).body.customer.name).toBe('erased');
    expect((await call(h, 'GET', `/api/v1/orders/${open}`, { token: later })).body.customer.name).toBe(name);
    expect(await eraseExpiredPersonalData(h.storage.db, 30, clock)).toBe(0);
  });
});

describe.each(adapters)('the edge feed on %s', (adapter) => {
  it('sends shipTo opened, and an erased customer\'s as "erased" with its country, still a valid change', async () => {
    const { hub: h } = await start(adapter);
    const orderId = newId();
    await h.storage.db.transaction().execute((trx) =>
      appendDownstream(
        trx,
        'warehouse:W9',
        'fulfillment.requested',
        {
          fulfillmentId: newId(),
          orderId,
          orderNumber: 'DT-0000-001Y',
          lines: [{ sku: 'SOFA-P', quantity: 1 }],
          shipTo: { name, address: { line1: street, city: 'New York', postalCode: '11201', country: 'US' } },
        },
        Date.now(),
        { email },
      ),
    );
    const stored = await h.storage.db.selectFrom('downstream_log').select('payload').execute();
    expect(stored[0]?.payload).not.toContain(street);
    const before = await readDownstream(h.storage.db, 'warehouse:W9', 0, 10);
    expect(before[0]?.payload).toMatchObject({ orderId, shipTo: { name, address: { line1: street } } });
    await vaultOf(h.storage.db).erase(h.storage.db, email);
    const after = await readDownstream(h.storage.db, 'warehouse:W9', 0, 10);
    expect(after[0]?.payload).toMatchObject({
      orderId,
      shipTo: { name: 'erased', address: { line1: 'erased', city: 'erased', postalCode: 'erased', country: 'US' } },
    });
  });
});

describe('rows written before encryption', () => {
  it('are sealed at the next start and still found by e-mail', async () => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-privacy-'));
    const file = path.join(directory, 'hub.db');
    const kek = randomBytes(32);
    hub = await startTestHub('sqlite', { sqliteFile: file, keyEncryptionKey: kek });
    await insertGeneratedOrders(hub.storage.db, 3);
    await hub.storage.db.updateTable('orders').set({ customer_email: 'customer1@example.com' }).execute();
    await hub.dispose();
    hub = await startTestHub('sqlite', { sqliteFile: file, keyEncryptionKey: kek });
    const rows = await hub.storage.db.selectFrom('orders').select(['customer_json', 'customer_email']).execute();
    expect(rows.every((row) => row.customer_json.startsWith('pii:v1:') && !row.customer_email?.includes('@'))).toBe(
      true,
    );
    const token = await adminToken(hub);
    const found = await call(hub, 'GET', '/api/v1/orders?email=customer1@example.com', { token });
    expect(found.body.items.map((item: { customer: { email: string } }) => item.customer.email)).toEqual([
      'customer1@example.com',
    ]);
  });
});
