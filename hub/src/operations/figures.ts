import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { listEdges } from '../warehouses/edges.ts';

/**
 * What the hub's operational metrics report (docs/operations.md, "Metrics and alerts"), read from
 * the database at scrape time: every instance answers for edges and workers of every other one, and
 * the figures survive restarts. Each query is one aggregate over an indexed or pruned table.
 */
export type OperationalFigures = {
  edges: Array<{ warehouseId: string; connected: boolean; lagEvents: number; lagSeconds: number | null }>;
  /** Events the hub durably refused, per warehouse (kept: a count that only grows). */
  syncRejections: Array<{ warehouseId: string; count: number }>;
  /** `inventory.shortage` events recorded, per warehouse (kept: a count that only grows). */
  shortages: Array<{ warehouseId: string; count: number }>;
  /** Webhook deliveries by status (pending, succeeded, failed) among those not yet pruned. */
  webhookDeliveries: Array<{ status: string; count: number }>;
  /** Enabled endpoints whose last attempts failed (`failing_since` set). */
  webhookEndpointsFailing: number;
};

export async function readOperationalFigures(db: Kysely<Database>, nowMs: number): Promise<OperationalFigures> {
  const edges = await listEdges(db, '*', nowMs);
  const rejections = await db
    .selectFrom('sync_rejections')
    .select(['warehouse_id', db.fn.countAll<number | string>().as('n')])
    .groupBy('warehouse_id')
    .execute();
  const shortages = await db
    .selectFrom('inventory_events')
    .select(['warehouse_id', db.fn.countAll<number | string>().as('n')])
    .where('type', '=', 'inventory.shortage')
    .groupBy('warehouse_id')
    .execute();
  const deliveries = await db
    .selectFrom('webhook_deliveries')
    .select(['status', db.fn.countAll<number | string>().as('n')])
    .groupBy('status')
    .execute();
  const failing = await db
    .selectFrom('webhook_endpoints')
    .select(db.fn.countAll<number | string>().as('n'))
    .where('failing_since', 'is not', null)
    .where('disabled_at', 'is', null)
    .executeTakeFirst();
  return {
    edges: edges.map((edge) => ({
      warehouseId: edge.warehouseId,
      connected: edge.connected,
      lagEvents: edge.upstream.lagEvents,
      lagSeconds: edge.upstream.lagSeconds,
    })),
    syncRejections: rejections.map((row) => ({ warehouseId: row.warehouse_id, count: Number(row.n) })),
    shortages: shortages.map((row) => ({ warehouseId: row.warehouse_id, count: Number(row.n) })),
    webhookDeliveries: deliveries.map((row) => ({ status: row.status, count: Number(row.n) })),
    webhookEndpointsFailing: Number(failing?.n ?? 0),
  };
}
