import { limits } from '@dovetail/shared';
import { Hono } from 'hono';
import { z } from 'zod';
import type { EdgeDatabase } from '../../db/open.ts';
import type { StockQueries } from '../../services/stock-queries.ts';
import type { EdgeSyncClient } from '../../sync/client.ts';
import { type AuthVariables, permit } from '../auth.ts';
import { decodeCursor, encodeCursor, queryParams } from '../validate.ts';

const rejectionsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(limits.pageSizeMax).default(limits.pageSizeDefault),
  cursor: z.string().max(512).optional(),
});

/** What a supervisor needs to know about the link to the hub, and what the hub refused. */
export function syncRoutes(deps: {
  db: EdgeDatabase;
  queries: StockQueries;
  warehouseId: string;
  edgeId: string;
  hubUrl: string | undefined;
  sync: EdgeSyncClient | undefined;
}) {
  const app = new Hono<{ Variables: AuthVariables }>();
  const cursors = deps.db.prepare<[], { channel: string; seq: number }>(
    'SELECT channel, seq FROM sync_cursor ORDER BY channel',
  );
  const link = deps.db.prepare<[], { last_contact_ms: number | null }>(
    'SELECT last_contact_ms FROM sync_link WHERE id = 1',
  );
  const rejectedCount = deps.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM sync_rejection');
  const rejections = deps.db.prepare<
    [number, number],
    { seq: number; event_id: string; sku: string; reason: string; message: string; rejected_ms: number }
  >('SELECT * FROM sync_rejection WHERE seq > ? ORDER BY seq LIMIT ?');

  app.get('/sync/status', (c) => {
    permit(c.get('session').principal, 'sync.read', deps.warehouseId);
    const upstream = deps.queries.upstream();
    const status = deps.sync?.status;
    const lastContactMs = link.get()?.last_contact_ms ?? null;
    return c.json({
      warehouseId: deps.warehouseId,
      edgeId: deps.edgeId,
      hub: deps.hubUrl ?? null,
      connected: status?.connected ?? false,
      fenced: status?.fenced ?? false,
      lastError: status?.lastError ?? null,
      pendingUpstream: upstream.pending,
      upstreamAck: upstream.ackedSeq,
      upstreamLastSeq: upstream.lastSeq,
      oldestPendingSeq: upstream.oldestPendingSeq,
      cursors: Object.fromEntries(cursors.all().map((row) => [row.channel, row.seq])),
      lastContactAt: lastContactMs === null ? null : new Date(lastContactMs).toISOString(),
      rejected: rejectedCount.get()?.n ?? 0,
    });
  });

  app.get('/sync/rejections', (c) => {
    permit(c.get('session').principal, 'sync.read', deps.warehouseId);
    const query = queryParams(c, rejectionsQuerySchema);
    const after = decodeCursor(query.cursor, z.strictObject({ seq: z.int().min(0) }))?.seq ?? 0;
    const rows = rejections.all(after, query.limit + 1);
    const page = rows.slice(0, query.limit);
    return c.json({
      items: page.map((row) => ({
        seq: row.seq,
        eventId: row.event_id,
        sku: row.sku,
        reason: row.reason,
        message: row.message,
        rejectedAt: new Date(row.rejected_ms).toISOString(),
      })),
      nextCursor: rows.length > query.limit ? encodeCursor({ seq: page.at(-1)?.seq }) : null,
    });
  });
  return app;
}
