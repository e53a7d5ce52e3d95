import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Hub, createHub } from '../hub.ts';
import { adminSecret, adminToken, call, sofa } from '../testing/harness.ts';
import { reserveHold } from './service.ts';
import { SqliteHoldWriter } from './sqlite-writer.ts';

/**
 * The SQLite group-commit writer on a real file (WAL, synchronous=FULL): a batch shares one
 * transaction, each hold has its own savepoint, and raw statements never run inside a Kysely
 * transaction on the shared connection.
 */
let directory: string;
let hub: Hub;
let token: string;
let clock: number;
let batches: Array<{ size: number; taken: number }>;
let writer: SqliteHoldWriter;

const file = () => join(directory, 'hub.db');
const hold = (sku: string, quantity: number) =>
  reserveHold(
    hub.storage.db,
    'sqlite',
    { lines: [{ sku, quantity }], ttlSeconds: 600 },
    { clientId: 'admin', nowMs: clock },
  );
const settle = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: { kind?: string; code?: string; message: string }) => ({ ok: false as const, error }),
  );
const partition = (sku: string) =>
  hub.storage.db
    .selectFrom('stock_partitions')
    .select(['reserved', 'committed'])
    .where('sku', '=', sku)
    .executeTakeFirstOrThrow();

async function open(): Promise<void> {
  hub = await createHub({ storage: { kind: 'sqlite', file: file() }, adminSecret, nowMs: () => clock });
  token = await adminToken(hub);
  // A writer of our own that reports its batches; it replaces the hub's for this database.
  batches = [];
  writer = new SqliteHoldWriter(hub.storage.db, hub.storage.sqlite as NonNullable<Hub['storage']['sqlite']>, {
    observe: (batch) => batches.push({ size: batch.size, taken: batch.taken }),
  }).start();
}

async function stock(sku: string, onHand: number): Promise<void> {
  expect(
    (await call(hub, 'PUT', `/api/v1/warehouses/TPL-1/inventory/${sku}`, { token, body: { onHand } })).status,
  ).toBe(200);
}

beforeEach(async () => {
  clock = Date.parse('2026-11-23T12:00:00Z');
  directory = mkdtempSync(join(tmpdir(), 'dovetail-hold-writer-'));
  await open();
  for (const sku of ['SOFA-1', 'BED-1', 'CURSED-1'])
    expect((await call(hub, 'POST', '/api/v1/products', { token, body: sofa(sku) })).status).toBe(201);
  await call(hub, 'POST', '/api/v1/warehouses', {
    token,
    body: { id: 'TPL-1', name: '3PL', kind: '3pl', location: { lat: 51.9, lon: 4.5 } },
  });
  await stock('SOFA-1', 10);
  await stock('BED-1', 10);
  await stock('CURSED-1', 10);
});
afterEach(async () => {
  await writer.close();
  await hub.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('SqliteHoldWriter (group commit of checkout holds)', () => {
  it('takes holds submitted in one turn in one transaction, each answered after the commit', async () => {
    const results = await Promise.all(Array.from({ length: 40 }, () => settle(hold('SOFA-1', 1))));
    expect(results.filter((result) => result.ok)).toHaveLength(10);
    expect(results.filter((result) => !result.ok).map((result) => !result.ok && result.error.code)).toEqual(
      Array(30).fill('insufficient_stock'),
    );
    expect(batches).toEqual([{ size: 40, taken: 10 }]);
    expect(Number((await partition('SOFA-1')).reserved)).toBe(10);
  });

  it('rolls back a refused hold alone: the others in its batch commit', async () => {
    const [first, refused, unknown, other] = await Promise.all([
      settle(hold('SOFA-1', 4)),
      settle(hold('SOFA-1', 7)),
      settle(hold('NOPE-1', 1)),
      settle(hold('BED-1', 2)),
    ]);
    expect(first.ok && other.ok).toBe(true);
    expect(!refused.ok && refused.error).toMatchObject({
      kind: 'conflict',
      code: 'insufficient_stock',
      details: { sku: 'SOFA-1', quantity: 7, available: 6 },
    });
    expect(!unknown.ok && unknown.error).toMatchObject({ kind: 'not_found', code: 'unknown_sku' });
    expect(batches).toEqual([{ size: 4, taken: 2 }]);
    expect([Number((await partition('SOFA-1')).reserved), Number((await partition('BED-1')).reserved)]).toEqual([4, 2]);
    expect(
      await hub.storage.db.selectFrom('holds').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow(),
    ).toEqual({ n: 2 });
  });

  it('rolls back a hold whose statement throws alone, and answers it with the error', async () => {
    await sql`CREATE TRIGGER cursed BEFORE INSERT ON hold_lines WHEN NEW.sku = 'CURSED-1' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`.execute(
      hub.storage.db,
    );
    const [before, cursed, after] = await Promise.all([
      settle(hold('SOFA-1', 1)),
      settle(hold('CURSED-1', 1)),
      settle(hold('BED-1', 1)),
    ]);
    expect(before.ok && after.ok).toBe(true);
    expect(!cursed.ok && cursed.error.message).toMatch(/disk on fire/);
    expect(batches).toEqual([{ size: 3, taken: 2 }]);
    // Its hold row and its counter bump went with its savepoint.
    expect(Number((await partition('CURSED-1')).reserved)).toBe(0);
    expect(
      await hub.storage.db.selectFrom('holds').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow(),
    ).toEqual({ n: 2 });
  });

  it('fails the whole batch, answering nobody with success, when an error ends the transaction; the next batch works', async () => {
    await sql`CREATE TRIGGER doomed BEFORE INSERT ON hold_lines WHEN NEW.sku = 'CURSED-1' BEGIN SELECT RAISE(ROLLBACK, 'transaction lost'); END`.execute(
      hub.storage.db,
    );
    const results = await Promise.all([
      settle(hold('SOFA-1', 1)),
      settle(hold('CURSED-1', 1)),
      settle(hold('BED-1', 1)),
    ]);
    expect(results.map((result) => result.ok)).toEqual([false, false, false]);
    expect(Number((await partition('SOFA-1')).reserved)).toBe(0);
    expect(hub.storage.sqlite?.inTransaction).toBe(false);
    expect((await settle(hold('SOFA-1', 2))).ok).toBe(true);
    expect(Number((await partition('SOFA-1')).reserved)).toBe(2);
  });

  it('waits for an open Kysely transaction on the shared connection instead of joining it', async () => {
    let pending: Promise<unknown> | undefined;
    let answered = false;
    await hub.storage.db
      .transaction()
      .execute(async (trx) => {
        await trx.updateTable('stock_partitions').set({ on_hand: 0 }).where('sku', '=', 'BED-1').execute();
        pending = hold('SOFA-1', 3).then(() => {
          answered = true;
        });
        await new Promise((resolve) => setTimeout(resolve, 30));
        expect(answered).toBe(false);
        expect(batches).toEqual([]);
        throw new Error('roll the Kysely transaction back');
      })
      .catch(() => undefined);
    await pending;
    expect(answered).toBe(true);
    // The hold committed on its own; the rolled-back transaction took nothing of it with it, nor it of the transaction.
    expect(Number((await partition('SOFA-1')).reserved)).toBe(3);
    expect(
      Number(
        (
          await hub.storage.db
            .selectFrom('stock_partitions')
            .select('on_hand')
            .where('sku', '=', 'BED-1')
            .executeTakeFirstOrThrow()
        ).on_hand,
      ),
    ).toBe(10);
  });

  it('keeps every answered hold across a restart (each 201 was committed before it was sent)', async () => {
    const results = await Promise.all(Array.from({ length: 25 }, () => settle(hold('SOFA-1', 1))));
    const taken = results.filter((result) => result.ok).length;
    expect(taken).toBe(10);
    await writer.close();
    await hub.close();
    await open();
    expect(Number((await partition('SOFA-1')).reserved)).toBe(taken);
    expect(
      await hub.storage.db.selectFrom('hold_lines').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow(),
    ).toEqual({ n: taken });
  });

  it('refuses new holds once closed, after answering the queued ones', async () => {
    const queued = hold('SOFA-1', 1);
    const closing = writer.close();
    await expect(queued).resolves.toMatchObject({ status: 'active' });
    await closing;
    await expect(
      writer.submit({ lines: [{ sku: 'SOFA-1', quantity: 1 }] }, { clientId: 'admin', nowMs: clock }),
    ).rejects.toThrow(/closed/);
  });

  it('stays exact with holds, releases, orders and payments interleaved', async () => {
    const customer = { email: 'ines@example.com', name: 'Inès Laurent' };
    const shippingAddress = { line1: 'Keizersgracht 1', city: 'Amsterdam', postalCode: '1015 CJ', country: 'NL' };
    const reserveAndMaybeRelease = async (i: number) => {
      const held = await call(hub, 'POST', '/api/v1/inventory/reserve', {
        token,
        body: {
          lines: [
            { sku: 'SOFA-1', quantity: 1 },
            { sku: 'BED-1', quantity: 1 },
          ],
        },
      });
      if (held.status === 201 && i % 2 === 0) {
        expect(
          (await call(hub, 'POST', '/api/v1/inventory/release', { token, body: { holdId: held.body.id } })).status,
        ).toBe(200);
        return 'released';
      }
      return held.status === 201 ? 'held' : held.body.error.code;
    };
    const orderAndMaybePay = async (i: number) => {
      const placed = await call(hub, 'POST', '/api/v1/orders', {
        token,
        body: { customer, shippingAddress, lines: [{ sku: 'SOFA-1', quantity: 1 }] },
      });
      if (placed.status !== 201) return placed.body.error.code;
      if (i % 3 === 0) return 'placed';
      expect(
        (
          await call(hub, 'POST', `/api/v1/orders/${placed.body.id}/payment`, {
            token,
            body: { reference: `psp_${i}` },
          })
        ).status,
      ).toBe(200);
      return 'paid';
    };
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? reserveAndMaybeRelease(i) : orderAndMaybePay(i))),
    );
    const count = (outcome: string) => outcomes.filter((value) => value === outcome).length;
    const sofa = await partition('SOFA-1');
    const bed = await partition('BED-1');
    // Every unit is accounted for exactly once: held (hold or unpaid order), committed (paid), or free.
    expect(Number(sofa.reserved)).toBe(count('held') + count('placed'));
    expect(Number(sofa.committed)).toBe(count('paid'));
    expect(Number(bed.reserved)).toBe(count('held'));
    expect(Number(sofa.reserved) + Number(sofa.committed)).toBeLessThanOrEqual(10);
    expect(count('held') + count('placed') + count('paid') + count('insufficient_stock') + count('released')).toBe(60);
    const counted = await hub.storage.db
      .selectFrom('hold_lines')
      .select(sql<number>`coalesce(sum(quantity), 0)`.as('units'))
      .where('sku', '=', 'SOFA-1')
      .where('counted', '=', 1)
      .executeTakeFirstOrThrow();
    expect(Number(counted.units)).toBe(Number(sofa.reserved));
  }, 60_000);
});
