import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';

export type EdgeView = {
  warehouseId: string;
  edgeId: string;
  epoch: number;
  connected: boolean;
  connectedAt: number | null;
  lastSeenAt: number | null;
  upstream: {
    appliedSeq: number;
    lastSeq: number;
    lagEvents: number;
    lagSeconds: number | null;
    lastAppliedAt: number | null;
  };
  cursors: Record<string, number>;
  rejected: number;
};

/** A link counts as up when the edge spoke within this window (the sockets ping every 15 s). */
export const edgeSilenceMs = 45_000;

/**
 * Per edge: whether it is connected, when it was last heard from, and how far behind its upstream
 * stream is, in events (its last seq at hello minus what the hub applied) and in seconds (age of
 * the newest applied event while events are pending). Read from the database, so any instance
 * answers for edges connected to any other.
 */
export async function listEdges(
  db: Kysely<Database>,
  scope: readonly string[] | '*',
  nowMs: number,
): Promise<EdgeView[]> {
  let query = db.selectFrom('edge_streams').selectAll().orderBy('warehouse_id');
  if (scope !== '*') {
    if (scope.length === 0) return [];
    query = query.where('warehouse_id', 'in', scope);
  }
  const rows = await query.execute();
  const rejections = await db
    .selectFrom('sync_rejections')
    .select(['warehouse_id', db.fn.countAll<number>().as('n')])
    .groupBy('warehouse_id')
    .execute();
  const rejectedBy = new Map(rejections.map((row) => [row.warehouse_id, Number(row.n)]));
  return rows.map((row) => {
    const appliedSeq = Number(row.applied_seq);
    const lastSeq = Math.max(Number(row.last_seq), appliedSeq);
    const lastSeenAt = row.last_seen_at === null ? null : Number(row.last_seen_at);
    const lastEventAt = row.last_event_at === null ? null : Number(row.last_event_at);
    const lagEvents = lastSeq - appliedSeq;
    return {
      warehouseId: row.warehouse_id,
      edgeId: row.edge_id,
      epoch: Number(row.epoch),
      connected: row.connected_at !== null && lastSeenAt !== null && nowMs - lastSeenAt < edgeSilenceMs,
      connectedAt: row.connected_at === null ? null : Number(row.connected_at),
      lastSeenAt,
      upstream: {
        appliedSeq,
        lastSeq,
        lagEvents,
        lagSeconds:
          lagEvents === 0 ? 0 : lastEventAt === null ? null : Math.max(0, Math.round((nowMs - lastEventAt) / 1000)),
        lastAppliedAt: row.last_applied_at === null ? null : Number(row.last_applied_at),
      },
      cursors: JSON.parse(row.cursors_json) as Record<string, number>,
      rejected: rejectedBy.get(row.warehouse_id) ?? 0,
    };
  });
}
