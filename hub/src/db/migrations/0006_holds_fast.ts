// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import { type Kysely, sql, PostgresAdapter } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * One round trip for a hold with nothing to choose: `dovetail_reserve_fast` checks the
 * catalog (SQLSTATE DT404, message = the first unknown SKU), finds the warehouses stocking the hold's
 * SKUs (only `p_warehouse` when given) and, when there is one, locks that warehouse's partitions in
 * sku order (`COLLATE "C"`, the order every writer uses), settles their expired lines and takes each
 * line by a conditional update. A line that does not fit raises DT409 with `index:available` (request
 * order, 0-based; available measured under the lock) and the whole call rolls back: all lines or
 * none. With no candidate the first line is short of everything (`0:0`). With several candidates it
 * takes nothing and returns NULL: the caller plans with the shared allocation strategy and calls
 * `dovetail_reserve`. `p_line_nos` numbers the lines in lock order, as on the planned path.
 */
const reserveFastFunction = sql`
CREATE OR REPLACE FUNCTION dovetail_reserve_fast(
  p_hold_id text, p_client_id text, p_now bigint, p_expires_at bigint,
  p_skus text[], p_quantities bigint[], p_line_nos int[], p_warehouse text
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  i integer;
  missing text;
  candidates text[];
  w text;
  settled bigint;
  free bigint;
BEGIN
  SELECT u.sku INTO missing FROM unnest(p_skus) WITH ORDINALITY AS u(sku, ord)
    WHERE NOT EXISTS (SELECT 1 FROM variants v WHERE v.sku = u.sku) ORDER BY u.ord LIMIT 1;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'DT404', MESSAGE = missing;
  END IF;
  SELECT array_agg(DISTINCT p.warehouse_id) INTO candidates FROM stock_partitions p
    WHERE p.sku = ANY (p_skus) AND (p_warehouse IS NULL OR p.warehouse_id = p_warehouse);
  IF candidates IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'DT409', MESSAGE = '0:0';
  END IF;
  IF array_length(candidates, 1) > 1 THEN
    RETURN NULL;
  END IF;
  w := candidates[1];
  PERFORM 1 FROM stock_partitions WHERE warehouse_id = w AND sku = ANY (p_skus) ORDER BY sku COLLATE "C" FOR UPDATE;
  INSERT INTO holds (id, client_id, status, expires_at, created_at) VALUES (p_hold_id, p_client_id, 'active', p_expires_at, p_now);
  FOR i IN 1 .. array_length(p_skus, 1) LOOP
    WITH expired AS (
      UPDATE hold_lines SET counted = 0
      WHERE warehouse_id = w AND sku = p_skus[i] AND counted = 1 AND expires_at <= p_now
      RETURNING quantity
    ) SELECT coalesce(sum(quantity), 0) INTO settled FROM expired;
    UPDATE stock_partitions SET reserved = reserved - settled + p_quantities[i]
      WHERE warehouse_id = w AND sku = p_skus[i]
        AND on_hand - committed - (reserved - settled) - damaged - quality_control - safety_stock - edge_quota >= p_quantities[i];
    IF NOT FOUND THEN
      SELECT on_hand - committed - (reserved - settled) - damaged - quality_control - safety_stock - edge_quota INTO free
        FROM stock_partitions WHERE warehouse_id = w AND sku = p_skus[i];
      RAISE EXCEPTION USING ERRCODE = 'DT409', MESSAGE = (i - 1)::text || ':' || coalesce(free, 0)::text;
    END IF;
    INSERT INTO hold_lines (hold_id, line_no, warehouse_id, sku, quantity, expires_at, counted)
      VALUES (p_hold_id, p_line_nos[i], w, p_skus[i], p_quantities[i], p_expires_at, 1);
  END LOOP;
  RETURN w;
END
$$`;

/** `0006_holds_fast`: adds `dovetail_reserve_fast` on PostgreSQL; nothing changes on SQLite. */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    if (db.getExecutor().adapter instanceof PostgresAdapter) await reserveFastFunction.execute(db);
  },
};
