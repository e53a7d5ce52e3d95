import { type Kysely, PostgresAdapter, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/** A checkout hold: units set aside for one client until `expires_at` (DESIGN §4, TTL bounded). */
export interface HoldsTable {
  id: string;
  client_id: string;
  /** active | released | converted (to an order's allocation) */
  status: string;
  expires_at: number;
  created_at: number;
  released_at: number | null;
}

/**
 * One line of a hold at one warehouse. While `counted = 1` its quantity is inside the partition's
 * `reserved` counter; the line stops counting at `expires_at` for readers at once (they subtract
 * expired counted lines), and leaves the counter when a write on its partition or the sweeper
 * settles it (`counted = 0`).
 */
export interface HoldLinesTable {
  hold_id: string;
  line_no: number;
  warehouse_id: string;
  sku: string;
  quantity: number;
  expires_at: number;
  counted: number;
}

export interface HoldTables {
  holds: HoldsTable;
  hold_lines: HoldLinesTable;
}

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

export const holdsMigration: Migration = {
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

/**
 * One round trip for a hold with nothing to choose (issue 5): `dovetail_reserve_fast` checks the
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
export const holdsFastMigration: Migration = {
  async up(db: Kysely<unknown>) {
    if (db.getExecutor().adapter instanceof PostgresAdapter) await reserveFastFunction.execute(db);
  },
};

/**
 * Superseded by `dovetail_reserve_many` (0012), which the hub calls instead; kept because migrations
 * never change once written. Group commit on PostgreSQL (issue 5): `dovetail_reserve_batch` takes a batch of holds in ONE
 * statement, so one transaction, one WAL flush and one round trip serve them all, and the hot
 * partition's row lock is taken once per batch instead of once per hold. It first locks every
 * partition of every SKU in the batch in (warehouse, sku) `COLLATE "C"` order — the order every writer
 * uses — so two batches (two hubs) never wait on each other in a cycle. Each hold then runs
 * `dovetail_reserve_fast` in its own subtransaction (BEGIN … EXCEPTION): a refused hold (DT404,
 * DT409) rolls back alone and its answer is `{code, message}`; a taken one answers `{warehouse}`;
 * one with a choice to make answers `{warehouse: null}` and takes nothing. Any other error fails the
 * whole statement: no hold of the batch exists. Input: `[{id, client, now, expires, skus, quantities,
 * lineNos, warehouse?}]`; output: one object per hold, in order.
 */
const reserveBatchFunction = sql`
CREATE OR REPLACE FUNCTION dovetail_reserve_batch(p_holds jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  h jsonb;
  w text;
  results jsonb := '[]'::jsonb;
BEGIN
  PERFORM 1 FROM stock_partitions
    WHERE sku IN (SELECT jsonb_array_elements_text(x.value -> 'skus') FROM jsonb_array_elements(p_holds) AS x)
    ORDER BY warehouse_id COLLATE "C", sku COLLATE "C" FOR UPDATE;
  FOR h IN SELECT x.value FROM jsonb_array_elements(p_holds) WITH ORDINALITY AS x(value, n) ORDER BY x.n LOOP
    BEGIN
      w := dovetail_reserve_fast(h ->> 'id', h ->> 'client', (h ->> 'now')::bigint, (h ->> 'expires')::bigint,
        ARRAY(SELECT e.value FROM jsonb_array_elements_text(h -> 'skus') WITH ORDINALITY AS e(value, n) ORDER BY e.n),
        ARRAY(SELECT e.value::bigint FROM jsonb_array_elements_text(h -> 'quantities') WITH ORDINALITY AS e(value, n) ORDER BY e.n),
        ARRAY(SELECT e.value::int FROM jsonb_array_elements_text(h -> 'lineNos') WITH ORDINALITY AS e(value, n) ORDER BY e.n),
        h ->> 'warehouse');
      results := results || jsonb_build_array(jsonb_build_object('warehouse', w));
    EXCEPTION WHEN SQLSTATE 'DT404' OR SQLSTATE 'DT409' THEN
      results := results || jsonb_build_array(jsonb_build_object('code', SQLSTATE, 'message', SQLERRM));
    END;
  END LOOP;
  RETURN results;
END
$$`;

/** `0010_holds_batch`: adds `dovetail_reserve_batch` on PostgreSQL; nothing changes on SQLite. */
export const holdsBatchMigration: Migration = {
  async up(db: Kysely<unknown>) {
    if (db.getExecutor().adapter instanceof PostgresAdapter) await reserveBatchFunction.execute(db);
  },
};

/**
 * Group commit on PostgreSQL, without subtransactions (0012, replacing `dovetail_reserve_batch` in
 * use). Measured: the per-hold subtransactions of `dovetail_reserve_batch` made each hold lock and
 * update a row its parent transaction had already locked, which PostgreSQL records with a
 * MultiXact per update; a batch of 32 took ~100 ms and holds/s fell to a third of the one-by-one
 * path. Here nothing is written before a hold is known to fit, so a refused hold needs no rollback:
 *
 * 1. lock every partition of every SKU in the batch in (warehouse, sku) `COLLATE "C"` order (the
 *    order every writer uses), and settle their expired lines once;
 * 2. for each hold in arrival order: the catalog check (DT404) and the single candidate warehouse
 *    (NULL when the caller must plan), asked once per distinct SKU set in the batch, then every
 *    line's availability under the lock, less what earlier holds of this batch took (DT409 with
 *    `index:available`);
 * 3. the accepted holds' rows in one insert each, and one `reserved` update per partition.
 *
 * Same input and output as `dovetail_reserve_batch`.
 */
const reserveManyFunction = sql`
CREATE OR REPLACE FUNCTION dovetail_reserve_many(p_holds jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  h jsonb;
  i integer;
  n integer;
  skus text[];
  quantities bigint[];
  line_nos int[];
  missing text;
  candidates text[];
  w text;
  free bigint;
  short_index integer;
  short_free bigint;
  key text;
  plan_key text;
  plan jsonb;
  plans jsonb := '{}'::jsonb;
  taken jsonb := '{}'::jsonb;
  results jsonb := '[]'::jsonb;
  all_skus text[];
  hold_ids text[] := '{}';
  hold_clients text[] := '{}';
  hold_expires bigint[] := '{}';
  hold_nows bigint[] := '{}';
  line_holds text[] := '{}';
  line_numbers int[] := '{}';
  line_warehouses text[] := '{}';
  line_skus text[] := '{}';
  line_quantities bigint[] := '{}';
  line_expires bigint[] := '{}';
BEGIN
  all_skus := ARRAY(SELECT DISTINCT jsonb_array_elements_text(x.value -> 'skus') FROM jsonb_array_elements(p_holds) AS x);
  PERFORM 1 FROM stock_partitions WHERE sku = ANY (all_skus) ORDER BY warehouse_id COLLATE "C", sku COLLATE "C" FOR UPDATE;
  WITH expired AS (
    UPDATE hold_lines SET counted = 0
    WHERE sku = ANY (all_skus) AND counted = 1 AND expires_at <= (p_holds -> 0 ->> 'now')::bigint
    RETURNING warehouse_id, sku, quantity
  ), settled AS (SELECT e.warehouse_id, e.sku, sum(e.quantity) AS units FROM expired e GROUP BY e.warehouse_id, e.sku)
  UPDATE stock_partitions p SET reserved = p.reserved - s.units FROM settled s WHERE p.warehouse_id = s.warehouse_id AND p.sku = s.sku;

  FOR h IN SELECT x.value FROM jsonb_array_elements(p_holds) WITH ORDINALITY AS x(value, n) ORDER BY x.n LOOP
    skus := ARRAY(SELECT e.value FROM jsonb_array_elements_text(h -> 'skus') WITH ORDINALITY AS e(value, n) ORDER BY e.n);
    quantities := ARRAY(SELECT e.value::bigint FROM jsonb_array_elements_text(h -> 'quantities') WITH ORDINALITY AS e(value, n) ORDER BY e.n);
    line_nos := ARRAY(SELECT e.value::int FROM jsonb_array_elements_text(h -> 'lineNos') WITH ORDINALITY AS e(value, n) ORDER BY e.n);
    n := array_length(skus, 1);
    -- The catalog check and the candidate warehouses depend only on the SKUs and the pinned
    -- warehouse: on a hot SKU every hold of the batch asks the same, so it is asked once.
    plan_key := array_to_string(skus, ',') || '@' || coalesce(h ->> 'warehouse', '');
    plan := plans -> plan_key;
    IF plan IS NULL THEN
      SELECT u.sku INTO missing FROM unnest(skus) WITH ORDINALITY AS u(sku, ord)
        WHERE NOT EXISTS (SELECT 1 FROM variants v WHERE v.sku = u.sku) ORDER BY u.ord LIMIT 1;
      SELECT array_agg(DISTINCT p.warehouse_id) INTO candidates FROM stock_partitions p
        WHERE p.sku = ANY (skus) AND (h ->> 'warehouse' IS NULL OR p.warehouse_id = h ->> 'warehouse');
      plan := jsonb_build_object('missing', missing, 'candidates', to_jsonb(candidates));
      plans := jsonb_set(plans, ARRAY[plan_key], plan);
    END IF;
    IF plan ->> 'missing' IS NOT NULL THEN
      results := results || jsonb_build_array(jsonb_build_object('code', 'DT404', 'message', plan ->> 'missing'));
      CONTINUE;
    END IF;
    IF jsonb_typeof(plan -> 'candidates') <> 'array' THEN
      results := results || jsonb_build_array(jsonb_build_object('code', 'DT409', 'message', '0:0'));
      CONTINUE;
    END IF;
    IF jsonb_array_length(plan -> 'candidates') > 1 THEN
      results := results || jsonb_build_array(jsonb_build_object('warehouse', NULL));
      CONTINUE;
    END IF;
    w := plan -> 'candidates' ->> 0;
    short_index := NULL;
    FOR i IN 1 .. n LOOP
      SELECT p.on_hand - p.committed - p.reserved - p.damaged - p.quality_control - p.safety_stock - p.edge_quota INTO free
        FROM stock_partitions p WHERE p.warehouse_id = w AND p.sku = skus[i];
      free := coalesce(free, 0) - coalesce((taken ->> (w || '/' || skus[i]))::bigint, 0);
      IF free < quantities[i] THEN
        short_index := i - 1;
        short_free := free;
        EXIT;
      END IF;
    END LOOP;
    IF short_index IS NOT NULL THEN
      results := results || jsonb_build_array(jsonb_build_object('code', 'DT409', 'message', short_index::text || ':' || short_free::text));
      CONTINUE;
    END IF;
    hold_ids := hold_ids || (h ->> 'id');
    hold_clients := hold_clients || (h ->> 'client');
    hold_expires := hold_expires || (h ->> 'expires')::bigint;
    hold_nows := hold_nows || (h ->> 'now')::bigint;
    FOR i IN 1 .. n LOOP
      key := w || '/' || skus[i];
      taken := jsonb_set(taken, ARRAY[key], to_jsonb(coalesce((taken ->> key)::bigint, 0) + quantities[i]));
      line_holds := line_holds || (h ->> 'id');
      line_numbers := line_numbers || line_nos[i];
      line_warehouses := line_warehouses || w;
      line_skus := line_skus || skus[i];
      line_quantities := line_quantities || quantities[i];
      line_expires := line_expires || (h ->> 'expires')::bigint;
    END LOOP;
    results := results || jsonb_build_array(jsonb_build_object('warehouse', w));
  END LOOP;

  -- The batch's rows in three statements, whatever its size.
  INSERT INTO holds (id, client_id, status, expires_at, created_at)
    SELECT u.id, u.client, 'active', u.expires, u.now FROM unnest(hold_ids, hold_clients, hold_expires, hold_nows) AS u(id, client, expires, now);
  INSERT INTO hold_lines (hold_id, line_no, warehouse_id, sku, quantity, expires_at, counted)
    SELECT u.hold, u.line_no, u.warehouse, u.sku, u.quantity, u.expires, 1
    FROM unnest(line_holds, line_numbers, line_warehouses, line_skus, line_quantities, line_expires) AS u(hold, line_no, warehouse, sku, quantity, expires);
  UPDATE stock_partitions p SET reserved = p.reserved + t.value::bigint
    FROM jsonb_each_text(taken) AS t
    WHERE p.warehouse_id = split_part(t.key, '/', 1) AND p.sku = substr(t.key, length(split_part(t.key, '/', 1)) + 2);
  RETURN results;
END
$$`;

/** `0012_holds_many`: adds `dovetail_reserve_many` on PostgreSQL; nothing changes on SQLite. */
export const holdsManyMigration: Migration = {
  async up(db: Kysely<unknown>) {
    if (db.getExecutor().adapter instanceof PostgresAdapter) await reserveManyFunction.execute(db);
  },
};
