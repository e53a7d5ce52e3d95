// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import { type Kysely, sql, PostgresAdapter } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Superseded by `dovetail_reserve_many` (0012), which the hub calls instead; kept because migrations
 * never change once written. Group commit on PostgreSQL: `dovetail_reserve_batch` takes a batch of holds in ONE
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
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    if (db.getExecutor().adapter instanceof PostgresAdapter) await reserveBatchFunction.execute(db);
  },
};
