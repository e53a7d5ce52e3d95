import { type RawBuilder, sql } from 'kysely';

/**
 * `available` (docs/architecture.md, "Quantities") as SQL over a `stock_partitions` row — the one place the hub writes the
 * formula for its queries (the shared `stockQuantities` computes the same from a row in TypeScript):
 *
 *   available = on_hand − committed − reserved − damaged − quality_control − safety_stock − edge_quota
 *
 * `reserved` still counts hold lines past their expiry until a writer or the sweeper settles them;
 * readers add those back (`expiredHeldSql`), so a hold stops counting at `expires_at` exactly. A
 * taking statement may use the bare `freeUnits` form: it is conservative (never more than
 * available), and writers settle the partition's expired lines under its lock first. The server-side
 * functions of migrations 0004/0006/0012 carry their own copy, as migrations must not change.
 */
export const freeUnits = (table: string): string =>
  ['on_hand', 'committed', 'reserved', 'damaged', 'quality_control', 'safety_stock', 'edge_quota']
    .map((column, index) => `${index === 0 ? '' : ' - '}${table ? `${table}.` : ''}${column}`)
    .join('');

/** Units of counted hold lines of the row's partition already past their expiry at `nowMs`. */
export function expiredHeldSql(table: string, nowMs: number): RawBuilder<number> {
  return sql<number>`coalesce((select sum(h.quantity) from hold_lines h where h.warehouse_id = ${sql.raw(table)}.warehouse_id
    and h.sku = ${sql.raw(table)}.sku and h.counted = 1 and h.expires_at <= ${nowMs}), 0)`;
}

/** `freeUnits` without the conservative bias: what a reader may promise at `nowMs`. */
export function availableSql(table: string, nowMs: number): RawBuilder<number> {
  return sql<number>`(${sql.raw(freeUnits(table))} + ${expiredHeldSql(table, nowMs)})`;
}

/** The bare form as a Kysely expression (for a taking statement's WHERE on an unaliased table). */
export const freeUnitsSql = (table = ''): RawBuilder<number> => sql<number>`(${sql.raw(freeUnits(table))})`;
