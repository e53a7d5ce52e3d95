import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';

/**
 * Seq slots an edge database (`edgeId`) already filled at the hub: each stock event applied and each
 * event refused is stored once by (warehouse, edge id, seq). A stream that starts below them (a new
 * incarnation or enrollment starts at the edge's own ack, and a database restored from a backup
 * keeps its edge id) must never fill one of them again with another event: that event could not be
 * stored, and the link would fail on it at every reconnect.
 */

/** The highest seq the hub holds from this edge database, applied or refused; 0 when none. */
export async function heldThrough(db: Kysely<Database>, warehouseId: string, edgeId: string): Promise<number> {
  const [applied, refused] = await Promise.all([
    db
      .selectFrom('stock_events')
      .select((eb) => eb.fn.max('edge_seq').as('seq'))
      .where('warehouse_id', '=', warehouseId)
      .where('edge_id', '=', edgeId)
      .executeTakeFirst(),
    db
      .selectFrom('sync_rejections')
      .select((eb) => eb.fn.max('edge_seq').as('seq'))
      .where('warehouse_id', '=', warehouseId)
      .where('edge_id', '=', edgeId)
      .executeTakeFirst(),
  ]);
  return Math.max(Number(applied?.seq ?? 0), Number(refused?.seq ?? 0));
}

/** The first pushed entry whose seq the hub already holds with another event of this edge database. */
export async function divergedEntry(
  db: Kysely<Database>,
  warehouseId: string,
  edgeId: string,
  entries: ReadonlyArray<{ seq: number; event: { id: string } }>,
): Promise<{ seq: number } | undefined> {
  if (entries.length === 0) return undefined;
  const seqs = entries.map((entry) => entry.seq);
  const rows = await db
    .selectFrom('stock_events')
    .select(['edge_seq', 'event_id'])
    .where('warehouse_id', '=', warehouseId)
    .where('edge_id', '=', edgeId)
    .where('edge_seq', 'in', seqs)
    .unionAll((eb) =>
      eb
        .selectFrom('sync_rejections')
        .select(['edge_seq', 'event_id'])
        .where('warehouse_id', '=', warehouseId)
        .where('edge_id', '=', edgeId)
        .where('edge_seq', 'in', seqs),
    )
    .execute();
  const held = new Map(rows.map((row) => [Number(row.edge_seq), row.event_id]));
  return entries.find((entry) => held.has(entry.seq) && held.get(entry.seq) !== entry.event.id);
}
