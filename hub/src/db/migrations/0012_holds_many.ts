// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import { type Kysely, sql, PostgresAdapter } from 'kysely';
import type { Migration } from 'kysely/migration';

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
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    if (db.getExecutor().adapter instanceof PostgresAdapter) await reserveManyFunction.execute(db);
  },
};
