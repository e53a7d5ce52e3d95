import { execFileSync } from 'node:child_process';
import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { PROTOCOL_VERSION, limits, newId } from '@dovetail/shared';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { canonicalJson } from '../audit/chain.ts';
import { verifyAuditChain } from '../audit/service.ts';
import { createHub } from '../hub.ts';
import { claimIdempotencyKey, requestFingerprint } from '../idempotency/store.ts';
import {
  type TestHub,
  adapters,
  adminSecret,
  adminToken,
  call,
  clientToken,
  sofa,
  startTestHub,
} from '../testing/harness.ts';

/**
 * The Idempotency-Key, rate limit, audit log and personal-data lines of the security checklist
 * (docs/security-checklist.md), one test per line, against a hub in-process on both adapters where
 * storage is what the line is about.
 */
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const customer = { email: 'Ada.Lovelace@Example.com', name: 'Ada King Lovelace', phone: '+44 20 7946 0321' };
const street = '12 St James Square';
const needles = ['ada.lovelace@example.com', 'Ada King Lovelace', 'King Lovelace', '7946 0321', street, 'James Square'];
const orderBody = {
  customer,
  shippingAddress: { line1: street, city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' },
  lines: [{ sku: 'SOFA-1', quantity: 1 }],
};

async function stocked(hub: TestHub, admin: string): Promise<void> {
  expect((await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') })).status).toBe(201);
  await call(hub, 'POST', '/api/v1/warehouses', {
    token: admin,
    body: { id: 'TPL', name: 'TPL', kind: '3pl', location: { lat: 51.5, lon: -0.1 } },
  });
  await call(hub, 'PUT', '/api/v1/warehouses/TPL/inventory/SOFA-1', { token: admin, body: { onHand: 50 } });
}

describe.each(adapters)('security checklist on %s', (adapter) => {
  it('Idempotency-Key: same key + same body → identical status and body replayed, one effect. Same key + different body → 422. Concurrent duplicate in flight → 409. Missing where required → 400; malformed or > 255 chars → 400. Keys are scoped per client; retention ≥ 24 h then reusable. A request that failed validation is not stored', async () => {
    let clockMs = Date.now();
    const hub = await startTestHub(adapter, { nowMs: () => clockMs });
    cleanups.push(() => hub.dispose());
    let admin = await adminToken(hub);
    await stocked(hub, admin);
    const placeOrder = (key: string | undefined, body: unknown, token = admin) =>
      call(hub, 'POST', '/api/v1/orders', {
        token,
        body,
        headers: key === undefined ? {} : { 'idempotency-key': key },
      });
    const orderCount = async () => (await hub.storage.db.selectFrom('orders').select('id').execute()).length;

    // Replay: same status, same body, same headers that matter; one order, one hold.
    const first = await placeOrder('order-1', orderBody);
    const replay = await placeOrder('order-1', orderBody);
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('location')).toBe(first.headers.get('location'));
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await orderCount()).toBe(1);
    // Same key, another body: 422, nothing created.
    const other = await placeOrder('order-1', { ...orderBody, lines: [{ sku: 'SOFA-1', quantity: 2 }] });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    expect(await orderCount()).toBe(1);
    // In flight: a request holding the key (claimed, not finished) makes a duplicate answer 409…
    const fingerprint = requestFingerprint('POST', '/orders', JSON.stringify(orderBody));
    expect(await claimIdempotencyKey(hub.deps.db, 'client:admin', 'order-2', fingerprint, clockMs)).toEqual({
      kind: 'claimed',
    });
    const duplicate = await placeOrder('order-2', orderBody);
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe('idempotency_key_in_flight');
    // …and duplicates sent at once make one order: each answer is the 201 or a 409 in flight.
    const burst = await Promise.all(Array.from({ length: 6 }, () => placeOrder('order-3', orderBody)));
    expect(burst.every((answer) => answer.status === 201 || answer.status === 409)).toBe(true);
    const created = burst.filter((answer) => answer.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((answer) => answer.body.id)).size).toBe(1);
    expect(await orderCount()).toBe(2);
    // Required: recording a shipment by hand (an admin's correction, no natural key) needs one.
    const missing = await call(hub, 'POST', '/api/v1/shipments', {
      token: admin,
      body: { orderId: first.body.id, carrier: 'DHL', trackingNumber: 'JD0001' },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('idempotency_key_required');
    expect(await hub.storage.db.selectFrom('shipments').select('id').execute()).toEqual([]);
    const recorded = await call(hub, 'POST', '/api/v1/shipments', {
      token: admin,
      headers: { 'idempotency-key': 'shipment-1' },
      body: { orderId: first.body.id, carrier: 'DHL', trackingNumber: 'JD0001' },
    });
    expect(recorded.status).not.toBe(400);
    expect(recorded.body.error?.code).not.toBe('idempotency_key_required');
    // Malformed or too long: 400, nothing created.
    for (const key of ['', 'has space', 'tab\tkey', 'é', 'k'.repeat(limits.idempotencyKeyLengthMax + 1)]) {
      const refused = await placeOrder(key, orderBody);
      expect(refused.status, JSON.stringify(key)).toBe(400);
      expect(refused.body.error.code).toBe('invalid_idempotency_key');
    }
    expect((await placeOrder('k'.repeat(limits.idempotencyKeyLengthMax), orderBody)).status).toBe(201);
    expect(await orderCount()).toBe(3);
    // A request that failed validation is not stored: the key then serves a valid request.
    const invalid = await placeOrder('order-4', { ...orderBody, lines: [] });
    expect(invalid.status).toBe(400);
    const valid = await placeOrder('order-4', orderBody);
    expect(valid.status).toBe(201);
    expect(valid.headers.get('idempotent-replayed')).toBeNull();
    // A business refusal is an outcome: kept and replayed (a duplicate SKU, 409).
    const taken = async () =>
      call(hub, 'POST', '/api/v1/products', {
        token: admin,
        body: sofa('SOFA-1'),
        headers: { 'idempotency-key': 'sku-1' },
      });
    expect((await taken()).status).toBe(409);
    const takenAgain = await taken();
    expect(takenAgain.status).toBe(409);
    expect(takenAgain.headers.get('idempotent-replayed')).toBe('true');
    // Reads ignore the header.
    expect(
      (await call(hub, 'GET', '/api/v1/orders', { token: admin, headers: { 'idempotency-key': 'any' } })).status,
    ).toBe(200);
    // Scoped per client: another client's same key is its own.
    const shop = await call(hub, 'POST', '/api/v1/clients', {
      token: admin,
      body: { name: 'shop', role: 'storefront' },
    });
    const shopToken = await clientToken(hub, shop.body.clientId, shop.body.clientSecret);
    const theirs = await placeOrder('order-1', orderBody, shopToken);
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(first.body.id);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    // Retention: still replayed just before 24 h, reusable after.
    expect(limits.idempotencyRetentionSeconds).toBeGreaterThanOrEqual(24 * 3600);
    clockMs += (limits.idempotencyRetentionSeconds - 60) * 1000;
    admin = await adminToken(hub);
    const late = await placeOrder('order-1', orderBody);
    expect(late.headers.get('idempotent-replayed')).toBe('true');
    expect(late.body.id).toBe(first.body.id);
    clockMs += 120 * 1000;
    admin = await adminToken(hub);
    const reused = await placeOrder('order-1', orderBody);
    expect(reused.status).toBe(201);
    expect(reused.body.id).not.toBe(first.body.id);
    expect(reused.headers.get('idempotent-replayed')).toBeNull();
  });

  it('Audit log: hash chain `h_i = SHA-256(h_{i-1} || entry_i)`; editing, deleting, reordering or inserting any entry → `verify` fails at that index. Audit entries hold ids, never PII', async () => {
    const hub = await startTestHub(adapter);
    cleanups.push(() => hub.dispose());
    const admin = await adminToken(hub);
    await stocked(hub, admin);
    // Privileged actions, refusals and a privacy request naming a customer.
    await call(hub, 'POST', '/api/v1/orders', { token: admin, body: orderBody });
    const staff = await call(hub, 'POST', '/api/v1/staff', {
      token: admin,
      body: { username: 'grace', password: 'correct horse battery', role: 'supervisor', warehouses: ['TPL'] },
    });
    expect(staff.status).toBe(201);
    await call(hub, 'POST', '/api/v1/auth/login', { body: { username: 'grace', password: 'wrong horse battery' } });
    const shop = await call(hub, 'POST', '/api/v1/clients', {
      token: admin,
      body: { name: 'shop', role: 'storefront' },
    });
    const shopToken = await clientToken(hub, shop.body.clientId, shop.body.clientSecret);
    await call(hub, 'POST', '/api/v1/customers/export', { token: shopToken, body: { email: customer.email } });
    await call(hub, 'POST', '/api/v1/customers/export', { token: admin, body: { email: customer.email } });
    await call(hub, 'POST', '/api/v1/keys/rotate', { token: admin, body: {} });
    const rows = await hub.storage.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
    expect(rows.length).toBeGreaterThanOrEqual(6);
    expect(rows.map((row) => row.action)).toEqual(
      expect.arrayContaining(['staff.create', 'auth.sign_in_refused', 'access.denied', 'customer.export']),
    );

    // The chain, recomputed by hand: h_0 = 64 zeros, h_i = SHA-256(h_{i-1} || entry_i), entry_i the
    // row's fields as a JSON array in a fixed order.
    const entry = (row: (typeof rows)[number]) =>
      JSON.stringify([
        Number(row.seq),
        Number(row.at),
        row.actor,
        row.actor_kind,
        row.source,
        row.request_id,
        row.action,
        row.target,
        row.digest,
      ]);
    let previous = '0'.repeat(64);
    for (const row of rows) {
      expect(row.prev_hash).toBe(previous);
      expect(row.hash).toBe(
        createHash('sha256')
          .update(previous + entry(row))
          .digest('hex'),
      );
      previous = row.hash;
    }
    expect(await verifyAuditChain(hub.storage.db)).toMatchObject({ ok: true, rows: rows.length, headHash: previous });

    // Ids, never PII: no e-mail, name, phone, street or password in any row, nor a digest of them.
    const text = JSON.stringify(rows).toLowerCase();
    for (const needle of [...needles, 'correct horse battery', 'wrong horse battery'])
      expect(text).not.toContain(needle.toLowerCase());
    const guessable = [customer.email, customer.email.toLowerCase()].map((email) =>
      createHash('sha256').update(canonicalJson({ email })).digest('hex'),
    );
    for (const row of rows) expect(guessable).not.toContain(row.digest);

    // Each kind of tampering, on a fresh copy of the rows, fails at its index.
    const k = 3;
    const restore = async () => {
      await hub.storage.db.deleteFrom('audit_log').execute();
      for (const row of rows) await hub.storage.db.insertInto('audit_log').values(row).execute();
      expect((await verifyAuditChain(hub.storage.db)).ok).toBe(true);
    };
    const tamperings: Array<[string, () => Promise<unknown>, number]> = [
      [
        'edit',
        () => hub.storage.db.updateTable('audit_log').set({ action: 'client.create' }).where('seq', '=', k).execute(),
        k,
      ],
      ['delete', () => hub.storage.db.deleteFrom('audit_log').where('seq', '=', k).execute(), k],
      [
        'reorder',
        async () => {
          const [a, b] = [rows[k - 1]!, rows[k]!];
          await hub.storage.db
            .deleteFrom('audit_log')
            .where('seq', 'in', [k, k + 1])
            .execute();
          await hub.storage.db
            .insertInto('audit_log')
            .values({ ...b, seq: k })
            .execute();
          await hub.storage.db
            .insertInto('audit_log')
            .values({ ...a, seq: k + 1 })
            .execute();
        },
        k,
      ],
      [
        'insert',
        async () => {
          for (let seq = rows.length; seq >= k; seq--)
            await hub.storage.db
              .updateTable('audit_log')
              .set({ seq: seq + 1 })
              .where('seq', '=', seq)
              .execute();
          const forged = { ...rows[k - 1]!, seq: k, actor: 'intruder', prev_hash: rows[k - 2]!.hash };
          await hub.storage.db
            .insertInto('audit_log')
            .values({
              ...forged,
              hash: createHash('sha256')
                .update(forged.prev_hash + entry(forged))
                .digest('hex'),
            })
            .execute();
        },
        // The inserted row is hashed like a real one; the link after it no longer holds.
        k + 1,
      ],
      [
        'insert unhashed',
        async () => {
          for (let seq = rows.length; seq >= k; seq--)
            await hub.storage.db
              .updateTable('audit_log')
              .set({ seq: seq + 1 })
              .where('seq', '=', seq)
              .execute();
          await hub.storage.db
            .insertInto('audit_log')
            .values({ ...rows[k - 1]!, seq: k, actor: 'intruder' })
            .execute();
        },
        k,
      ],
    ];
    for (const [kind, tamper, brokenSeq] of tamperings) {
      await tamper();
      expect(await verifyAuditChain(hub.storage.db), kind).toMatchObject({ ok: false, brokenSeq });
      await restore();
    }
  });

  it('PII at rest: customer name, e-mail, phone, address encrypted (AES-256-GCM) with a per-customer data key wrapped by a key-encryption key from configuration; each value tagged with its key id. Erasure destroys the data key (crypto-shredding): fields read as redacted, others unaffected, the audit chain still verifies. Dumps hold no plaintext PII', async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'dovetail-pii-'));
    cleanups.push(() => fs.rmSync(directory, { recursive: true, force: true }));
    const kek = randomBytes(32);
    const file = path.join(directory, 'hub.db');
    const hub = await startTestHub(adapter, {
      keyEncryptionKey: kek,
      ...(adapter === 'sqlite' ? { sqliteFile: file } : {}),
    });
    cleanups.push(() => hub.dispose());
    const admin = await adminToken(hub);
    await stocked(hub, admin);
    const placed = await call(hub, 'POST', '/api/v1/orders', {
      token: admin,
      body: { ...orderBody, billingAddress: orderBody.shippingAddress },
    });
    expect(placed.status).toBe(201);
    const otherBody = {
      ...orderBody,
      customer: { email: 'mary.somerville@example.com', name: 'Mary Somerville' },
      shippingAddress: { ...orderBody.shippingAddress, line1: '1 Burntisland Road' },
    };
    const bystander = await call(hub, 'POST', '/api/v1/orders', { token: admin, body: otherBody });
    expect(bystander.status).toBe(201);

    // Each personal value is sealed: pii:v1:<data key id>:<iv>:<ciphertext+tag>, the key id a row of
    // customer_keys whose data key is wrapped by the configured key-encryption key.
    const stored = await hub.storage.db
      .selectFrom('orders')
      .select(['id', 'customer_json', 'shipping_json', 'billing_json', 'customer_email'])
      .where('id', '=', placed.body.id)
      .executeTakeFirstOrThrow();
    const keys = await hub.storage.db.selectFrom('customer_keys').selectAll().execute();
    expect(keys).toHaveLength(2);
    const open = (sealed: string) => {
      const [scheme, version, keyId, iv, body] = sealed.split(':');
      expect([scheme, version]).toEqual(['pii', 'v1']);
      const row = keys.find((candidate) => candidate.id === keyId);
      expect(row, 'the value names its data key').toBeDefined();
      const [kekScheme, kekVersion, wrapIv, wrapped] = row!.data_key.split(':');
      expect([kekScheme, kekVersion]).toEqual(['kek', 'v1']);
      const gcm = (key: Buffer, ivText: string, text: string, aad: string) => {
        const bytes = Buffer.from(text, 'base64url');
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'));
        decipher.setAAD(Buffer.from(aad, 'utf8'));
        decipher.setAuthTag(bytes.subarray(bytes.length - 16));
        return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]);
      };
      const dataKey = gcm(kek, wrapIv!, wrapped!, `customer-key:${keyId}`);
      expect(dataKey).toHaveLength(32);
      expect(() => gcm(randomBytes(32), wrapIv!, wrapped!, `customer-key:${keyId}`)).toThrow();
      return { keyId, value: JSON.parse(gcm(dataKey, iv!, body!, keyId!).toString('utf8')) };
    };
    const sealedCustomer = open(stored.customer_json);
    expect(sealedCustomer.value).toEqual(customer);
    const sealedShipping = open(stored.shipping_json);
    expect(sealedShipping.value).toMatchObject({ line1: street });
    expect(open(stored.billing_json!).keyId).toBe(sealedCustomer.keyId);
    expect(sealedShipping.keyId).toBe(sealedCustomer.keyId);
    expect(stored.customer_email).not.toContain('@');

    // Dumps: the SQLite file by sqlite3's .dump (and its bytes), PostgreSQL by pg_dump.
    const dump = async (): Promise<string> => {
      if (adapter === 'sqlite') {
        hub.storage.sqlite?.pragma('wal_checkpoint(TRUNCATE)');
        const bytes = fs
          .readdirSync(directory)
          .map((name) => fs.readFileSync(path.join(directory, name)).toString('latin1'))
          .join('\n');
        return `${execFileSync('sqlite3', [file, '.dump'], { maxBuffer: 256 * 1024 * 1024 }).toString('utf8')}\n${bytes}`;
      }
      return pgDump();
    };
    // PostgreSQL: every row of every table as text (what a data dump holds), and pg_dump's own dump
    // too when the installed pg_dump can read this server (it refuses a newer major version).
    const pgDump = async (): Promise<string> => {
      const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables
        where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(hub.storage.db);
      expect(tables.rows.length).toBeGreaterThan(30);
      const parts: string[] = [];
      for (const { name } of tables.rows) {
        const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(name)} t`.execute(
          hub.storage.db,
        );
        parts.push(`-- ${name}`, ...rows.rows.map((entry) => entry.row));
      }
      const server = await sql<{ version: string }>`show server_version_num`.execute(hub.storage.db);
      const serverMajor = Math.floor(Number(Object.values(server.rows[0] ?? {})[0]) / 10_000);
      const dumpMajor = Number(/(\d+)\./.exec(execFileSync('pg_dump', ['--version']).toString())?.[1] ?? 0);
      if (dumpMajor >= serverMajor)
        parts.push(
          execFileSync('pg_dump', ['--schema', schema, '--data-only', url], { maxBuffer: 256 * 1024 * 1024 }).toString(
            'utf8',
          ),
        );
      return parts.join('\n');
    };
    const url = process.env['DOVETAIL_TEST_DATABASE_URL'] ?? '';
    const schema =
      adapter === 'postgres'
        ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(hub.storage.db)).rows[0]!.schema
        : '';
    const hits = (text: string) =>
      [...needles, 'mary.somerville', 'Mary Somerville', 'Burntisland'].filter((needle) =>
        text.toLowerCase().includes(needle.toLowerCase()),
      );
    const before = await dump();
    expect(before).toContain('pii:v1:');
    expect(before.length).toBeGreaterThan(2_000);
    expect(hits(before)).toEqual([]);

    // Erasure: the data key is gone; the customer's fields read "erased", the order's other facts and
    // the other customer's order are as they were, and the audit chain still verifies.
    const orderBefore = (await call(hub, 'GET', `/api/v1/orders/${placed.body.id}`, { token: admin })).body;
    const erased = await call(hub, 'POST', '/api/v1/customers/erase', {
      token: admin,
      body: { email: customer.email },
    });
    expect(erased.body).toEqual({ erased: true, orders: 1 });
    expect((await hub.storage.db.selectFrom('customer_keys').select('id').execute()).map((row) => row.id)).toEqual([
      keys.find((row) => row.id !== sealedCustomer.keyId)!.id,
    ]);
    const orderAfter = (await call(hub, 'GET', `/api/v1/orders/${placed.body.id}`, { token: admin })).body;
    expect(orderAfter.customer).toEqual({ email: 'erased', name: 'erased' });
    expect(orderAfter.shippingAddress).toEqual({
      line1: 'erased',
      city: 'erased',
      postalCode: 'erased',
      country: 'GB',
    });
    const facts = ({ id, number, status, lines, total, currency, allocations, holdId }: Record<string, unknown>) => ({
      id,
      number,
      status,
      lines,
      total,
      currency,
      allocations,
      holdId,
    });
    expect(facts(orderAfter)).toEqual(facts(orderBefore));
    const untouched = await call(hub, 'GET', `/api/v1/orders/${bystander.body.id}`, { token: admin });
    expect(untouched.body.customer).toEqual(otherBody.customer);
    expect(untouched.body.shippingAddress.line1).toBe('1 Burntisland Road');
    // The sealed text is still there, but nothing can open it any more.
    const still = await hub.storage.db
      .selectFrom('orders')
      .select('customer_json')
      .where('id', '=', placed.body.id)
      .executeTakeFirstOrThrow();
    expect(
      still.customer_json.startsWith(`pii:v1:${sealedCustomer.keyId}:`) || still.customer_json.includes('erased'),
    ).toBe(true);
    const chain = await verifyAuditChain(hub.storage.db);
    expect(chain).toMatchObject({ ok: true });
    const audit = await hub.storage.db.selectFrom('audit_log').select('action').execute();
    expect(audit.map((row) => row.action)).toContain('customer.erase');
    const after = await dump();
    expect(hits(after)).toEqual([]);
  });
});

describe('security checklist: rate limits', () => {
  it("Rate limits: past quota → 429 with `Retry-After`; `RateLimit-Policy` and `RateLimit` headers; per client, so one 3PL's burst never throttles another or the edges; `/oauth/token` and logins stricter", async () => {
    let clockMs = 1_000_000_000;
    const hub = await createHub({
      storage: { kind: 'sqlite', file: ':memory:' },
      adminSecret,
      nowMs: () => clockMs,
      rateLimit: { perSecond: 1, burst: 3 },
    });
    cleanups.push(() => hub.close());
    const test = hub as unknown as TestHub;
    const token = async (clientId: string, secret: string) =>
      hub.app.request('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
      });
    const admin = ((await (await token('admin', adminSecret)).json()) as { access_token: string }).access_token;
    // Setting up spends the admin's budget; the clock moves on between steps so it refills.
    const step = () => {
      clockMs += 10_000;
    };
    expect(
      (
        await call(test, 'POST', '/api/v1/warehouses', {
          token: admin,
          body: { id: 'W1', name: 'W1', kind: 'warehouse', location: { lat: 0, lon: 0 } },
        })
      ).status,
    ).toBe(201);
    const created: Record<string, { clientId: string; clientSecret: string }> = {};
    for (const name of ['p1', 'p2']) {
      step();
      created[name] = (
        await call(test, 'POST', '/api/v1/clients', { token: admin, body: { name, role: '3pl', warehouses: ['W1'] } })
      ).body;
    }
    step();
    const enrolled = (await call(test, 'POST', '/api/v1/warehouses/W1/edges', { token: admin, body: {} })).body;
    step();
    await call(test, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') });
    step();
    const tokenOf = async (name: string) =>
      ((await (await token(created[name]!.clientId, created[name]!.clientSecret)).json()) as { access_token: string })
        .access_token;
    const p1 = await tokenOf('p1');
    const p2 = await tokenOf('p2');

    // P1's burst: three answers with the budget in the headers, then 429 with Retry-After.
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await call(test, 'GET', '/api/v1/warehouses', { token: p1 }));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(answers.map((answer) => answer.headers.get('ratelimit-policy'))).toEqual(['3;w=3', '3;w=3', '3;w=3']);
    expect(answers.map((answer) => answer.headers.get('ratelimit'))).toEqual([
      'limit=3, remaining=2',
      'limit=3, remaining=1',
      'limit=3, remaining=0',
    ]);
    const refused = await call(test, 'GET', '/api/v1/warehouses', { token: p1 });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('ratelimit')).toMatch(/^limit=3, remaining=0, reset=1$/);
    const viaTrpc = await hub.app.request('/trpc/warehouses.list?input=%7B%7D', {
      headers: { authorization: `Bearer ${p1}` },
    });
    expect(viaTrpc.status).toBe(429);
    expect(viaTrpc.headers.get('retry-after')).toBe('1');

    // Meanwhile P2 and the edge are served: budgets are per client.
    expect((await call(test, 'GET', '/api/v1/warehouses', { token: p2 })).status).toBe(200);
    const edgeAnswer = await token(enrolled.clientId, enrolled.clientSecret);
    expect(edgeAnswer.status).toBe(200);
    const edge = ((await edgeAnswer.json()) as { access_token: string }).access_token;
    const server = serve({ fetch: hub.app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    await hub.startSync(server, { pollIntervalMs: 100 });
    const socket = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/sync`, {
      headers: { authorization: `Bearer ${edge}` },
    });
    const frames: Array<{ type: string }> = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as { type: string }));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.send(
      JSON.stringify({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        warehouseId: 'W1',
        edgeId: '4324181b-6492-4e8d-9cb2-d994c810dd59',
        epoch: 1,
        lastSeq: 0,
        cursors: {},
      }),
    );
    const pushes = 10;
    for (let seq = 1; seq <= pushes; seq++)
      socket.send(
        JSON.stringify({
          type: 'push',
          events: [
            {
              seq,
              event: {
                type: 'receive',
                sku: 'SOFA-1',
                quantity: 1,
                id: newId(),
                warehouseId: 'W1',
                hlc: `${String(Date.now()).padStart(13, '0')}-${String(seq).padStart(4, '0')}-edge`,
                atMs: Date.now(),
                actor: 'lead',
              },
            },
          ],
        }),
      );
    const deadline = Date.now() + 10_000;
    while (
      !frames.some((frame) => frame.type === 'ack' && (frame as { upstreamAck?: number }).upstreamAck === pushes)
    ) {
      if (Date.now() > deadline) throw new Error(`no ack for seq ${pushes}: ${JSON.stringify(frames).slice(0, 400)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    socket.close();
    // P1 is still refused until its bucket refills, then served again.
    expect((await call(test, 'GET', '/api/v1/warehouses', { token: p1 })).status).toBe(429);
    clockMs += 1_000;
    expect((await call(test, 'GET', '/api/v1/warehouses', { token: p1 })).status).toBe(200);

    // Stricter: the token endpoint has its own, smaller budget per client id…
    expect(limits.tokenRequestsBurst).toBeLessThan(limits.clientRequestsBurst);
    step();
    const tokenStatuses: number[] = [];
    for (let i = 0; i <= limits.tokenRequestsBurst; i++)
      tokenStatuses.push((await token(created.p1!.clientId, created.p1!.clientSecret)).status);
    expect(tokenStatuses.slice(0, limits.tokenRequestsBurst).every((status) => status === 200)).toBe(true);
    const tokenRefused = await token(created.p1!.clientId, created.p1!.clientSecret);
    expect(tokenRefused.status).toBe(429);
    expect(Number(tokenRefused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await token(created.p2!.clientId, created.p2!.clientSecret)).status).toBe(200);
    // …and sign-ins slow down after a handful of failures, far below any request budget.
    step();
    await call(test, 'POST', '/api/v1/staff', {
      token: admin,
      body: { username: 'grace', password: 'correct horse battery', role: 'supervisor', warehouses: ['W1'] },
    });
    const logins: number[] = [];
    for (let i = 0; i <= limits.loginFailuresMax; i++)
      logins.push(
        (await call(test, 'POST', '/api/v1/auth/login', { body: { username: 'grace', password: `guess-${i}` } }))
          .status,
      );
    expect(logins.slice(0, limits.loginFailuresMax).every((status) => status === 401)).toBe(true);
    expect(logins.at(-1)).toBe(429);
    expect(limits.loginFailuresMax).toBeLessThan(limits.tokenRequestsBurst);
  });
});
