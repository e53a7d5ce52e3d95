// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import { type Kysely, sql, PostgresAdapter } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * On PostgreSQL a hold is taken by one server-side function call: it locks each partition row in a
 * fixed order, settles that partition's expired lines, proves `available ≥ quantity` and bumps the
 * counter, all in one round trip, so a hot SKU's row lock is held for microseconds rather than across
 * the client's network round trips (the lock-per-request pattern). A line that does not fit raises
 * SQLSTATE DT409 with the line's index and the whole statement rolls back: all lines or none.
 */
const reserveFunction = sql`
CREATE OR REPLACE FUNCTION dovetail_reserve(
  p_hold_id text, p_client_id text, p_now bigint, p_expires_at bigint,
  p_warehouses text[], p_skus text[], p_quantities bigint[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  i integer;
  settled bigint;
  free bigint;
BEGIN
  INSERT INTO holds (id, client_id, status, expires_at, created_at) VALUES (p_hold_id, p_client_id, 'active', p_expires_at, p_now);
  FOR i IN 1 .. coalesce(array_length(p_skus, 1), 0) LOOP
    PERFORM 1 FROM stock_partitions WHERE warehouse_id = p_warehouses[i] AND sku = p_skus[i] FOR UPDATE;
    IF NOT FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'DT409', MESSAGE = (i - 1)::text;
    END IF;
    WITH expired AS (
      UPDATE hold_lines SET counted = 0
      WHERE warehouse_id = p_warehouses[i] AND sku = p_skus[i] AND counted = 1 AND expires_at <= p_now
      RETURNING quantity
    ) SELECT coalesce(sum(quantity), 0) INTO settled FROM expired;
    UPDATE stock_partitions SET reserved = reserved - settled
      WHERE warehouse_id = p_warehouses[i] AND sku = p_skus[i]
      RETURNING on_hand - committed - reserved - damaged - quality_control - safety_stock - edge_quota INTO free;
    IF free < p_quantities[i] THEN
      RAISE EXCEPTION USING ERRCODE = 'DT409', MESSAGE = (i - 1)::text;
    END IF;
    UPDATE stock_partitions SET reserved = reserved + p_quantities[i] WHERE warehouse_id = p_warehouses[i] AND sku = p_skus[i];
    INSERT INTO hold_lines (hold_id, line_no, warehouse_id, sku, quantity, expires_at, counted)
      VALUES (p_hold_id, i - 1, p_warehouses[i], p_skus[i], p_quantities[i], p_expires_at, 1);
  END LOOP;
END
$$`;

export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('holds')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('released_at', 'bigint')
      .execute();
    await db.schema
      .createTable('hold_lines')
      .addColumn('hold_id', 'text', (c) => c.notNull().references('holds.id'))
      .addColumn('line_no', 'integer', (c) => c.notNull())
      .addColumn('warehouse_id', 'text', (c) => c.notNull())
      .addColumn('sku', 'text', (c) => c.notNull())
      .addColumn('quantity', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('counted', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('hold_lines_pk', ['hold_id', 'line_no'])
      .execute();
    await db.schema
      .createIndex('hold_lines_counted')
      .on('hold_lines')
      .columns(['warehouse_id', 'sku', 'counted', 'expires_at'])
      .execute();
    await db.schema.createIndex('hold_lines_expiry').on('hold_lines').columns(['counted', 'expires_at']).execute();
    if (db.getExecutor().adapter instanceof PostgresAdapter) await reserveFunction.execute(db);
  },
};
