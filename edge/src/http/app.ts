import { randomUUID } from 'node:crypto';
import { commonErrorCodes, DomainError, limits, RateLimiter } from '@dovetail/shared';
import { Hono } from 'hono';
import type { EdgeDatabase } from '../db/open.ts';
import type { Logger } from '../logger.ts';
import type { EdgeMetrics } from '../metrics.ts';
import { CatalogReader } from '../services/catalog.ts';
import type { FulfillmentDesk } from '../services/fulfillments.ts';
import type { ReturnDesk } from '../services/returns.ts';
import type { StaffDirectory } from '../services/staff.ts';
import type { StockBook } from '../services/stock.ts';
import type { StockQueries } from '../services/stock-queries.ts';
import type { StockWriter } from '../services/stock-writer.ts';
import type { EdgeSyncClient } from '../sync/client.ts';
import { type AuthVariables, requireSession } from './auth.ts';
import { docsAsset, docsPage } from './docs.ts';
import { errorResponse, internalErrorResponse } from './errors.ts';
import { limitBody } from './limit-body.ts';
import { edgeOpenApiDocument } from './openapi.ts';
import { catalogRoutes } from './routes/catalog.ts';
import { fulfillmentRoutes } from './routes/fulfillments.ts';
import { returnRoutes } from './routes/returns.ts';
import { loginRoute, sessionRoutes } from './routes/session.ts';
import { stockRoutes } from './routes/stock.ts';
import { SupplyDesk } from '../services/supply.ts';
import { supplyRoutes } from './routes/supply.ts';
import { syncRoutes } from './routes/sync.ts';
import { scannerRoutes } from './scanner.ts';

export type EdgeAppDeps = {
  db: EdgeDatabase;
  book: StockBook;
  writer: StockWriter;
  queries: StockQueries;
  desk: FulfillmentDesk;
  returns: ReturnDesk;
  staff: StaffDirectory;
  metrics: EdgeMetrics;
  logger: Logger;
  edgeId: string;
  hubUrl: string | undefined;
  sync: EdgeSyncClient | undefined;
  nowMs: () => number;
  /** Each signed-in account's request budget (`sessionBudgetFromEnv`). */
  sessionBudget: { perSecond: number; burst: number };
};

/** The edge's HTTP surface: `/api/v1` for scanners, `/healthz` for operations (metrics: metrics-app.ts). */
export function createEdgeApp(deps: EdgeAppDeps) {
  const { book, staff, metrics, logger } = deps;
  const warehouseId = book.warehouseId;
  const app = new Hono<{ Variables: AuthVariables }>();

  app.use('*', async function observe(c, next) {
    const startedMs = performance.now();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && /^[\x21-\x7e]{1,128}$/.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    await next();
    const seconds = (performance.now() - startedMs) / 1000;
    const route =
      c.res.status === 404 || c.res.status === 405 || c.req.routePath.endsWith('*') ? 'unmatched' : c.req.routePath;
    metrics.requestDuration.observe({ method: c.req.method, route, status: String(c.res.status) }, seconds);
    logger.info(
      { requestId, method: c.req.method, route, status: c.res.status, ms: Math.round(seconds * 1e4) / 10 },
      'request',
    );
  });

  // Every answer: nosniff. API answers carry tokens or warehouse data: never cached unless a route says so.
  app.use('*', async function securityHeaders(c, next) {
    await next();
    c.res.headers.set('X-Content-Type-Options', 'nosniff');
    if (c.req.path.startsWith('/api/') && !c.res.headers.has('Cache-Control'))
      c.res.headers.set('Cache-Control', 'no-store');
  });
  app.use('/api/*', limitBody({ maxBytes: limits.requestBodyBytesMax }));

  app.route('/', scannerRoutes());
  app.get('/healthz', (c) => c.json({ status: 'ok', warehouseId, edgeId: deps.edgeId }));
  const documentText = JSON.stringify(edgeOpenApiDocument());
  app.get('/api/v1/openapi.json', (c) => c.body(documentText, 200, { 'content-type': 'application/json' }));
  app.get('/docs', docsPage('Dovetail edge API'));
  app.get('/docs/:asset', (c) =>
    docsAsset(c, () => {
      throw new DomainError('not_found', commonErrorCodes.notFound, `no such file ${c.req.path}`);
    }),
  );

  const api = new Hono<{ Variables: AuthVariables }>();
  api.route('/', loginRoute({ staff }));
  const budget = new RateLimiter(deps.sessionBudget.perSecond, deps.sessionBudget.burst, deps.nowMs);
  api.use('*', requireSession({ staff, budget }));
  api.route('/', sessionRoutes({ staff, warehouseId }));
  api.route('/', stockRoutes(deps));
  api.route('/', catalogRoutes({ catalog: new CatalogReader(deps.db), warehouseId }));
  api.route('/', supplyRoutes({ supply: new SupplyDesk(deps.db), writer: deps.writer, warehouseId }));
  api.route(
    '/',
    fulfillmentRoutes({ desk: deps.desk, warehouseId, nowMs: deps.nowMs, onRecorded: () => deps.sync?.notifyOutbox() }),
  );
  api.route(
    '/',
    returnRoutes({
      returns: deps.returns,
      warehouseId,
      nowMs: deps.nowMs,
      onRecorded: () => deps.sync?.notifyOutbox(),
    }),
  );
  api.route(
    '/',
    syncRoutes({
      db: deps.db,
      queries: deps.queries,
      warehouseId,
      edgeId: deps.edgeId,
      hubUrl: deps.hubUrl,
      sync: deps.sync,
    }),
  );
  app.route('/api/v1', api);

  const known = app.routes
    .filter((route) => route.method !== 'ALL')
    .map((route) => ({ method: route.method, pattern: new RegExp(`^${route.path.replace(/:[^/]+/g, '[^/]+')}$`) }));

  app.notFound((c) => {
    const allowed = known.filter((route) => route.pattern.test(c.req.path)).map((route) => route.method);
    if (allowed.length > 0) {
      c.header('Allow', [...new Set(allowed)].join(', '));
      const message = `${c.req.method} is not supported here; use ${allowed.join(' or ')}`;
      return errorResponse(c, new DomainError('method_not_allowed', commonErrorCodes.methodNotAllowed, message));
    }
    const message = `no route ${c.req.method} ${c.req.path}`;
    return errorResponse(c, new DomainError('not_found', commonErrorCodes.notFound, message));
  });

  app.onError((error, c) => {
    if (error instanceof DomainError) return errorResponse(c, error);
    logger.error({ err: error, requestId: c.get('requestId'), path: c.req.path }, 'unhandled error');
    return internalErrorResponse(c);
  });

  return app;
}
export type EdgeApp = ReturnType<typeof createEdgeApp>;
