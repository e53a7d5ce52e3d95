// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import { type Kysely, PostgresAdapter, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The hold cap (docs/operations.md, "Hold cap"): units one client holds of one SKU at once.
 *
 * - `api_clients.hold_units_per_sku_max`: the client's own cap; null takes the hub's default, which
 *   applies to `storefront` clients (the caller passes it, from `HUB_HOLD_UNITS_PER_SKU_MAX`).
 * - `hold_lines.client_id` (the hold's client, copied so the check reads one index) and the index
 *   `hold_lines_client` on (client_id, sku, counted, expires_at): what a client holds of a SKU now is
 *   one index range, whatever else is held.
 * - PostgreSQL: `dovetail_reserve_many` and `dovetail_reserve` check the cap in the statement that
 *   takes the hold, under locks every other hold of the SKU needs (the batch locks all the SKU's
 *   partitions; the planned path its partitions and then a transaction-scoped advisory lock per
 *   (client, sku)), so two holds of one client never both pass the check (no check-then-act across
 *   round trips). A hold past the cap is refused with DT429 (`held:cap:sku`) before it writes anything.
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
  caps jsonb := '{}'::jsonb;
  held_by jsonb := '{}'::jsonb;
  cap bigint;
  held bigint;
  wanted bigint;
  over_sku text;
  over_held bigint;
  client text;
  results jsonb := '[]'::jsonb;
  all_skus text[];
  hold_ids text[] := '{}';
  hold_clients text[] := '{}';
  hold_expires bigint[] := '{}';
  hold_nows bigint[] := '{}';
  line_holds text[] := '{}';
  line_clients text[] := '{}';
  line_numbers int[] := '{}';
  line_warehouses text[] := '{}';
  line_skus text[] := '{}';
  line_quantities bigint[] := '{}';
  line_expires bigint[] := '{}';
BEGIN
  all_skus := ARRAY(SELECT DISTINCT jsonb_array_elements_text(x.value -> 'skus') FROM jsonb_array_elements(p_holds) AS x);
  PERFORM 1 FROM stock_partitions WHERE sku = ANY (all_skus) ORDER BY warehouse_id COLLATE "C", sku COLLATE "C" FOR UPDATE;
  -- Every partition of every SKU in the batch is now locked: any other hold of these SKUs (a batch,
  -- or dovetail_reserve on some of their partitions) waits, so what a client holds is read stably below.
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
    client := h ->> 'client';
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
    -- The cap: the client's own, else the default for its role (the caller's 'capDefault', storefront only).
    IF NOT caps ? client THEN
      SELECT coalesce(c.hold_units_per_sku_max, CASE WHEN c.role = 'storefront' THEN (h ->> 'capDefault')::bigint END)
        INTO cap FROM api_clients c WHERE c.id = client;
      caps := jsonb_set(caps, ARRAY[client], coalesce(to_jsonb(cap), 'null'::jsonb));
    END IF;
    cap := (caps ->> client)::bigint;
    over_sku := NULL;
    IF cap IS NOT NULL THEN
      FOR i IN 1 .. n LOOP
        key := client || chr(31) || skus[i];
        IF NOT held_by ? key THEN
          SELECT coalesce(sum(l.quantity), 0) INTO held FROM hold_lines l
            WHERE l.client_id = client AND l.sku = skus[i] AND l.counted = 1 AND l.expires_at > (h ->> 'now')::bigint;
          held_by := jsonb_set(held_by, ARRAY[key], to_jsonb(held));
        END IF;
        held := (held_by ->> key)::bigint;
        SELECT coalesce(sum(q), 0) INTO wanted FROM unnest(skus, quantities) AS u(s, q) WHERE u.s = skus[i];
        IF held + wanted > cap THEN
          over_sku := skus[i];
          over_held := held;
          EXIT;
        END IF;
      END LOOP;
    END IF;
    IF over_sku IS NOT NULL THEN
      results := results || jsonb_build_array(jsonb_build_object('code', 'DT429', 'message', over_held::text || ':' || cap::text || ':' || over_sku));
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
    hold_clients := hold_clients || client;
    hold_expires := hold_expires || (h ->> 'expires')::bigint;
    hold_nows := hold_nows || (h ->> 'now')::bigint;
    FOR i IN 1 .. n LOOP
      key := w || '/' || skus[i];
      taken := jsonb_set(taken, ARRAY[key], to_jsonb(coalesce((taken ->> key)::bigint, 0) + quantities[i]));
      key := client || chr(31) || skus[i];
      IF held_by ? key THEN
        held_by := jsonb_set(held_by, ARRAY[key], to_jsonb((held_by ->> key)::bigint + quantities[i]));
      END IF;
      line_holds := line_holds || (h ->> 'id');
      line_clients := line_clients || client;
      line_numbers := line_numbers || line_nos[i];
      line_warehouses := line_warehouses || w;
      line_skus := line_skus || skus[i];
      line_quantities := line_quantities || quantities[i];
      line_expires := line_expires || (h ->> 'expires')::bigint;
    END LOOP;
    results := results || jsonb_build_array(jsonb_build_object('warehouse', w));
  END LOOP;

  INSERT INTO holds (id, client_id, status, expires_at, created_at)
    SELECT u.id, u.client, 'active', u.expires, u.now FROM unnest(hold_ids, hold_clients, hold_expires, hold_nows) AS u(id, client, expires, now);
  INSERT INTO hold_lines (hold_id, client_id, line_no, warehouse_id, sku, quantity, expires_at, counted)
    SELECT u.hold, u.client, u.line_no, u.warehouse, u.sku, u.quantity, u.expires, 1
    FROM unnest(line_holds, line_clients, line_numbers, line_warehouses, line_skus, line_quantities, line_expires)
      AS u(hold, client, line_no, warehouse, sku, quantity, expires);
  UPDATE stock_partitions p SET reserved = p.reserved + t.value::bigint
    FROM jsonb_each_text(taken) AS t
    WHERE p.warehouse_id = split_part(t.key, '/', 1) AND p.sku = substr(t.key, length(split_part(t.key, '/', 1)) + 2);
  RETURN results;
END
$$`;

/**
 * The planned path (several warehouses could serve): as 0004's `dovetail_reserve`, with the cap
 * (`p_cap_default`, the hub's default for storefront clients, may be NULL) checked after every
 * partition of the hold is locked and the (client, sku) advisory locks are taken. Past the cap it
 * raises DT429 with `held:cap:sku`.
 */
const reserveFunction = sql`
CREATE OR REPLACE FUNCTION dovetail_reserve(
  p_hold_id text, p_client_id text, p_now bigint, p_expires_at bigint,
  p_warehouses text[], p_skus text[], p_quantities bigint[], p_cap_default bigint
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  i integer;
  settled bigint;
  free bigint;
  cap bigint;
  held bigint;
  v_sku text;
  lock_key bigint;
BEGIN
  FOR i IN 1 .. coalesce(array_length(p_skus, 1), 0) LOOP
    PERFORM 1 FROM stock_partitions WHERE warehouse_id = p_warehouses[i] AND sku = p_skus[i] FOR UPDATE;
  END LOOP;
  -- Two planned holds of one client may lock different partitions of a SKU: the (client, sku) lock
  -- serializes them. Taken after every row lock, in one order, so it closes no cycle.
  FOR lock_key IN SELECT DISTINCT hashtextextended(p_client_id || chr(31) || u.sk, 7) FROM unnest(p_skus) AS u(sk) ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(lock_key);
  END LOOP;
  SELECT coalesce(c.hold_units_per_sku_max, CASE WHEN c.role = 'storefront' THEN p_cap_default END)
    INTO cap FROM api_clients c WHERE c.id = p_client_id;
  IF cap IS NOT NULL THEN
    FOR v_sku IN SELECT DISTINCT u.sk FROM unnest(p_skus) AS u(sk) LOOP
      SELECT coalesce(sum(l.quantity), 0) INTO held FROM hold_lines l
        WHERE l.client_id = p_client_id AND l.sku = v_sku AND l.counted = 1 AND l.expires_at > p_now;
      IF held + (SELECT sum(u.q) FROM unnest(p_skus, p_quantities) AS u(sk, q) WHERE u.sk = v_sku) > cap THEN
        RAISE EXCEPTION USING ERRCODE = 'DT429', MESSAGE = held::text || ':' || cap::text || ':' || v_sku;
      END IF;
    END LOOP;
  END IF;
  INSERT INTO holds (id, client_id, status, expires_at, created_at) VALUES (p_hold_id, p_client_id, 'active', p_expires_at, p_now);
  FOR i IN 1 .. coalesce(array_length(p_skus, 1), 0) LOOP
    PERFORM 1 FROM stock_partitions WHERE warehouse_id = p_warehouses[i] AND sku = p_skus[i];
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
    INSERT INTO hold_lines (hold_id, client_id, line_no, warehouse_id, sku, quantity, expires_at, counted)
      VALUES (p_hold_id, p_client_id, i - 1, p_warehouses[i], p_skus[i], p_quantities[i], p_expires_at, 1);
  END LOOP;
END
$$`;

export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('api_clients').addColumn('hold_units_per_sku_max', 'bigint').execute();
    await db.schema.alterTable('hold_lines').addColumn('client_id', 'text').execute();
    await sql`UPDATE hold_lines SET client_id = (SELECT h.client_id FROM holds h WHERE h.id = hold_lines.hold_id)`.execute(
      db,
    );
    await db.schema
      .createIndex('hold_lines_client')
      .on('hold_lines')
      .columns(['client_id', 'sku', 'counted', 'expires_at'])
      .execute();
    if (db.getExecutor().adapter instanceof PostgresAdapter) {
      // The old signature (0004) goes: no hub from this step on calls it, and an overload would.
      await sql`DROP FUNCTION IF EXISTS dovetail_reserve(text, text, bigint, bigint, text[], text[], bigint[])`.execute(
        db,
      );
      await reserveFunction.execute(db);
      await reserveManyFunction.execute(db);
      // 0006's fast path inserts lines without their client; nothing calls it since 0012.
      await sql`DROP FUNCTION IF EXISTS dovetail_reserve_fast(text, text, bigint, bigint, text[], bigint[], int[], text)`.execute(
        db,
      );
    }
  },
};
