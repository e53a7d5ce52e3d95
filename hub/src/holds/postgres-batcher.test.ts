import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestHub, adminToken, call, sofa, startTestHub } from '../testing/harness.ts';
import { postgresHoldBatcherOf } from './postgres-batcher.ts';
import { reserveHold } from './service.ts';

/**
 * Group commit on PostgreSQL (the real server the test run provides): holds
 * submitted together share one `dovetail_reserve_many` call; a refused one writes nothing.
 */
let hub: TestHub;
let token: string;
const clock = Date.parse('2026-11-23T12:00:00Z');

const hold = (
  lines: Array<{ sku: string; quantity: number }>,
  warehouseId?: string,
  options: { nowMs?: number; ttlSeconds?: number } = {},
) =>
  reserveHold(
    hub.storage.db,
    'postgres',
    { lines, ttlSeconds: options.ttlSeconds ?? 600, ...(warehouseId ? { warehouseId } : {}) },
    { clientId: 'admin', nowMs: options.nowMs ?? clock },
  ).then(
    (view) => ({ ok: true as const, view }),
    (error: { kind?: string; code?: string; details?: unknown; message: string }) => ({
      ok: false as const,
      error,
    }),
  );
const reserved = async (warehouseId: string, sku: string) =>
  Number(
    (
      await hub.storage.db
        .selectFrom('stock_partitions')
        .select('reserved')
        .where('warehouse_id', '=', warehouseId)
        .where('sku', '=', sku)
        .executeTakeFirstOrThrow()
    ).reserved,
  );

async function stock(warehouseId: string, sku: string, onHand: number): Promise<void> {
  expect(
    (await call(hub, 'PUT', `/api/v1/warehouses/${warehouseId}/inventory/${sku}`, { token, body: { onHand } })).status,
  ).toBe(200);
}

beforeEach(async () => {
  hub = await startTestHub('postgres', { nowMs: () => clock });
  token = await adminToken(hub);
  for (const sku of ['SOFA-1', 'BED-1', 'LAMP-1', 'CURSED-1'])
    expect((await call(hub, 'POST', '/api/v1/products', { token, body: sofa(sku) })).status).toBe(201);
  for (const id of ['TPL-A', 'TPL-B'])
    await call(hub, 'POST', '/api/v1/warehouses', {
      token,
      body: { id, name: id, kind: '3pl', location: { lat: 51.9, lon: 4.5 } },
    });
  await stock('TPL-A', 'SOFA-1', 5);
  await stock('TPL-A', 'BED-1', 5);
  await stock('TPL-A', 'CURSED-1', 5);
  await stock('TPL-A', 'LAMP-1', 2);
  await stock('TPL-B', 'LAMP-1', 2);
});
afterEach(() => hub.dispose());

describe('PostgresHoldBatcher (group commit of checkout holds)', () => {
  it('answers each hold of a batch on its own: taken, refused, unknown, or planned across warehouses', async () => {
    const [taken, refused, unknown, alsoTaken, planned, pinned] = await Promise.all([
      hold([
        { sku: 'SOFA-1', quantity: 2 },
        { sku: 'BED-1', quantity: 1 },
      ]),
      hold([
        { sku: 'BED-1', quantity: 1 },
        { sku: 'SOFA-1', quantity: 4 },
      ]),
      hold([{ sku: 'NOPE-1', quantity: 1 }]),
      hold([{ sku: 'SOFA-1', quantity: 3 }]),
      hold([{ sku: 'LAMP-1', quantity: 3 }]),
      hold([{ sku: 'LAMP-1', quantity: 2 }], 'TPL-B'),
    ]);
    expect(taken.ok && taken.view.lines).toEqual([
      { sku: 'SOFA-1', quantity: 2, warehouseId: 'TPL-A' },
      { sku: 'BED-1', quantity: 1, warehouseId: 'TPL-A' },
    ]);
    // The refusal names the line short under the lock, counting the batch's earlier holds.
    expect(!refused.ok && refused.error).toMatchObject({
      kind: 'conflict',
      code: 'insufficient_stock',
      details: { sku: 'SOFA-1', quantity: 4, available: 3 },
    });
    expect(!unknown.ok && unknown.error).toMatchObject({
      kind: 'not_found',
      code: 'unknown_sku',
      details: { sku: 'NOPE-1' },
    });
    expect(alsoTaken.ok).toBe(true);
    // Two warehouses stock LAMP-1: the shared strategy planned that hold, the pinned one went to TPL-B.
    expect(pinned.ok && pinned.view.lines).toEqual([{ sku: 'LAMP-1', quantity: 2, warehouseId: 'TPL-B' }]);
    expect(!planned.ok && planned.error).toMatchObject({
      kind: 'conflict',
      details: { sku: 'LAMP-1', quantity: 3, available: 2 },
    });
    expect([
      await reserved('TPL-A', 'SOFA-1'),
      await reserved('TPL-A', 'BED-1'),
      await reserved('TPL-B', 'LAMP-1'),
    ]).toEqual([5, 1, 2]);
    // line_no follows the lock order (sku), as on every other path.
    const lines = await hub.storage.db
      .selectFrom('hold_lines')
      .select(['sku', 'line_no'])
      .where('hold_id', '=', taken.ok ? taken.view.id : '')
      .orderBy('line_no')
      .execute();
    expect(lines.map((line) => line.sku)).toEqual(['BED-1', 'SOFA-1']);
  });

  it('settles expired lines once per batch and counts their units free again; many holds on one partition update it once', async () => {
    expect((await hold([{ sku: 'SOFA-1', quantity: 5 }], undefined, { ttlSeconds: 10 })).ok).toBe(true);
    expect((await hold([{ sku: 'SOFA-1', quantity: 1 }])).ok).toBe(false);
    const later = clock + 11_000;
    const results = await Promise.all(
      Array.from({ length: 7 }, () => hold([{ sku: 'SOFA-1', quantity: 1 }], undefined, { nowMs: later })),
    );
    expect(results.filter((result) => result.ok)).toHaveLength(5);
    expect(results.filter((result) => !result.ok).map((result) => !result.ok && result.error.code)).toEqual([
      'insufficient_stock',
      'insufficient_stock',
    ]);
    expect(await reserved('TPL-A', 'SOFA-1')).toBe(5);
    const counted = await hub.storage.db
      .selectFrom('hold_lines')
      .select((eb) => eb.fn.sum<number>('quantity').as('units'))
      .where('sku', '=', 'SOFA-1')
      .where('counted', '=', 1)
      .executeTakeFirstOrThrow();
    expect(Number(counted.units)).toBe(5);
  });

  it('fails the whole batch when a statement error is not a refusal; the next batch works', async () => {
    await sql`CREATE FUNCTION cursed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$`.execute(
      hub.storage.db,
    );
    await sql`CREATE TRIGGER cursed BEFORE INSERT ON hold_lines FOR EACH ROW WHEN (NEW.sku = 'CURSED-1') EXECUTE FUNCTION cursed()`.execute(
      hub.storage.db,
    );
    const results = await Promise.all([
      hold([{ sku: 'SOFA-1', quantity: 1 }]),
      hold([{ sku: 'CURSED-1', quantity: 1 }]),
      hold([{ sku: 'BED-1', quantity: 1 }]),
    ]);
    expect(results.map((result) => result.ok)).toEqual([false, false, false]);
    expect(!results[1]?.ok && results[1]?.error.message).toMatch(/disk on fire/);
    expect([await reserved('TPL-A', 'SOFA-1'), await reserved('TPL-A', 'BED-1')]).toEqual([0, 0]);
    expect((await hold([{ sku: 'SOFA-1', quantity: 2 }])).ok).toBe(true);
    expect(await reserved('TPL-A', 'SOFA-1')).toBe(2);
  });

  it('refuses a hold once the batcher is closed (hub.close), taking nothing', async () => {
    await postgresHoldBatcherOf(hub.storage.db)?.close();
    const refused = await hold([{ sku: 'SOFA-1', quantity: 1 }], 'TPL-A');
    expect(refused.ok).toBe(false);
    expect(refused.ok ? undefined : refused.error.message).toMatch(/PostgresHoldBatcher/);
    expect(await reserved('TPL-A', 'SOFA-1')).toBe(0);
  });

  it('drops dovetail_reserve_batch (0021): dovetail_reserve_many superseded it', async () => {
    const functions = await sql<{ proname: string }>`select p.proname from pg_proc p
      join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = current_schema() and p.proname like 'dovetail_reserve%'`.execute(hub.storage.db);
    const names = functions.rows.map((row) => row.proname);
    expect(names).toContain('dovetail_reserve_many');
    expect(names).not.toContain('dovetail_reserve_batch');
  });
});
