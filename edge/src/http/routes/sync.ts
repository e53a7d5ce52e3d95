import { Hono } from 'hono';
import type { StockQueries } from '../../services/stock-queries.ts';
import { type AuthVariables, permit } from '../auth.ts';

/** What a supervisor needs to know about the link to the hub. Sync itself arrives with its own issue. */
export function syncRoutes(deps: { queries: StockQueries; warehouseId: string; edgeId: string; hubUrl: string | undefined }) {
  const app = new Hono<{ Variables: AuthVariables }>();
  app.get('/sync/status', (c) => {
    permit(c.get('session').principal, 'sync.read', deps.warehouseId);
    const upstream = deps.queries.upstream();
    return c.json({
      warehouseId: deps.warehouseId,
      edgeId: deps.edgeId,
      hub: deps.hubUrl ?? null,
      connected: false,
      pendingUpstream: upstream.pending,
      upstreamAck: upstream.ackedSeq,
      upstreamLastSeq: upstream.lastSeq,
      oldestPendingSeq: upstream.oldestPendingSeq,
      cursors: {},
      lastContactAt: null,
      rejected: 0,
    });
  });
  return app;
}
