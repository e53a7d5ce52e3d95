import { limits } from '@dovetail/shared';
import { trpcServer } from '@hono/trpc-server';
import type { TRPCError } from '@trpc/server';
import { type Context as HonoContext, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { migrationsApplied } from '../db/migrations.ts';
import { carrierWebhookBytesMax, createEasypostRoute } from './carriers.ts';
import { createReserveRoute } from './reserve-route.ts';
import { createTrackPageRoute } from './track-page.ts';
import { createNotificationPages } from './notification-pages.ts';
import { docsAsset, docsPage } from './docs.ts';
import { homePage } from './home-page.ts';
import { type OpsConsoleOptions, mountOpsConsole } from './ops-console.ts';
import { ApiError } from './errors.ts';
import { clientAddress } from './client-address.ts';
import { createTokenHandler } from './oauth.ts';
import { type HubMetrics, observe, requestIdOf } from './observability.ts';
import { openApiDocument, restBasePath, restRoutes } from './openapi.ts';
import { createRestHandler, errorHeaders, errorJson } from './rest.ts';
import { appRouter } from './root.ts';
import { createCatalogExportRoute, createCatalogImportRoutes, createStockExportRoute } from './catalog-transfer.ts';
import { securityHeaders } from './security-headers.ts';
import type { Context, HubDeps } from './trpc.ts';

export type AppOptions = {
  deps: HubDeps;
  metrics: HubMetrics;
  logger: Logger;
  schema: string | undefined;
  /** `HUB_EASYPOST_WEBHOOK_SECRET`: turns on the EasyPost tracking adapter. */
  easypostWebhookSecret?: string | undefined;
  /** The brand name customers see on the tracking page and in e-mails (`HUB_BRAND_NAME`). */
  brand?: string | undefined;
  /** The operations console at `/ops` (`HUB_OPS_*`). */
  ops?: OpsConsoleOptions | undefined;
};

const tooLarge = () =>
  new ApiError(413, 'payload_too_large', `request body exceeds ${limits.requestBodyBytesMax} bytes`);

/** Composes the hub's HTTP surface. Pure wiring: every rule lives in services/ or shared/. */
export function createApp(options: AppOptions): Hono {
  const { deps, metrics, logger } = options;
  const routes = restRoutes(appRouter);
  const document = openApiDocument(appRouter);
  const documentText = JSON.stringify(document);
  const app = new Hono();

  const routeOf = (method: string, path: string): string => {
    if (path.startsWith(`${restBasePath}/`)) {
      const sub = path.slice(restBasePath.length);
      const route = routes.find((candidate) => candidate.method === method && candidate.pattern.test(sub));
      return route ? `${restBasePath}${route.path}` : sub === '/openapi.json' ? path : `${restBasePath}/other`;
    }
    if (path.startsWith('/trpc/')) return '/trpc';
    if (path.startsWith('/track/')) return '/track/:token';
    if (path.startsWith('/unsubscribe/')) return '/unsubscribe/:token';
    if (path.startsWith('/feedback/')) return '/feedback/:token';
    return ['/healthz', '/readyz', '/docs', '/oauth/token', '/.well-known/jwks.json'].includes(path) ? path : 'other';
  };
  app.use('*', observe({ logger, metrics, routeOf }));
  app.use('*', securityHeaders({ htmlPages: ['/docs'] }));

  const methodNotAllowed = (allow: string) => (c: HonoContext) =>
    errorJson(c, new ApiError(405, 'method_not_allowed', `${c.req.method} is not allowed here`, { allow }, { allow }));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    try {
      const ready = await migrationsApplied(deps.db as never, options.schema);
      return c.json(
        // No storage description: the database's path or address is nobody's business outside.
        { status: ready ? 'ready' : 'migrations_pending' },
        ready ? 200 : 503,
      );
    } catch (error) {
      logger.warn({ err: error }, 'readiness check failed');
      return c.json({ status: 'database_unreachable' }, 503);
    }
  });
  app.get('/.well-known/jwks.json', (c) => c.json(deps.keys.jwks(), 200, { 'cache-control': 'public, max-age=300' }));
  app.get('/docs', docsPage('Dovetail hub API'));
  app.get('/docs/:asset', (c) =>
    docsAsset(c, (c) => errorJson(c, new ApiError(404, 'not_found', `no such file ${c.req.path}`))),
  );
  app.get('/track/:token', createTrackPageRoute(deps, options.brand ?? 'Dovetail'));
  // The links in customer notifications: opt-out per channel (RFC 8058) and feedback after delivery.
  const pages = createNotificationPages(deps, options.brand ?? 'Dovetail');
  const pageBodyLimit = bodyLimit({
    maxSize: limits.notificationPageBodyBytesMax,
    onError: (c) => c.text('request body too large', 413),
  });
  app.get('/unsubscribe/:token', pages.unsubscribeForm);
  app.post('/unsubscribe/:token', pageBodyLimit, pages.unsubscribe);
  app.get('/feedback/:token', pages.feedbackForm);
  app.post('/feedback/:token', pageBodyLimit, pages.feedbackAnswer);
  app.get(`${restBasePath}/openapi.json`, (c) => c.body(documentText, 200, { 'content-type': 'application/json' }));
  for (const path of ['/healthz', '/readyz', '/.well-known/jwks.json', '/docs', `${restBasePath}/openapi.json`]) {
    app.all(path, methodNotAllowed('GET'));
  }

  app.post(
    '/oauth/token',
    bodyLimit({ maxSize: limits.tokenRequestBytesMax, onError: (c) => errorJson(c, tooLarge()) }),
    createTokenHandler(deps),
  );
  app.all('/oauth/token', methodNotAllowed('POST'));

  // The checkout hot path skips the REST→tRPC bridge (same procedure, same policy, same body limit;
  // see http/reserve-route.ts). Before the body limit middleware: it passes the rest on to it.
  app.post(`${restBasePath}/inventory/reserve`, createReserveRoute(deps));
  // Bulk catalog and stock exports stream (http/catalog-transfer.ts): outside the JSON bridge.
  app.get(`${restBasePath}/catalog/export`, createCatalogExportRoute(deps));
  app.get(`${restBasePath}/stock/export`, createStockExportRoute(deps));
  const imports = createCatalogImportRoutes(deps);
  app.post(`${restBasePath}/catalog/import`, imports.catalogImport);
  app.get(`${restBasePath}/jobs/:id`, imports.job);
  // A carrier aggregator's webhook: signed, not bearer-authenticated; its own body bound.
  app.post(
    `${restBasePath}/carriers/easypost`,
    bodyLimit({ maxSize: carrierWebhookBytesMax, onError: (c) => errorJson(c, tooLarge()) }),
    createEasypostRoute(deps, options.easypostWebhookSecret),
  );
  app.use(
    `${restBasePath}/*`,
    bodyLimit({ maxSize: limits.requestBodyBytesMax, onError: (c) => errorJson(c, tooLarge()) }),
  );
  app.all(`${restBasePath}/*`, createRestHandler(appRouter, routes, deps));

  // tRPC speaks GET (queries) and POST (mutations) with JSON: any other verb is a 405 (not tRPC's
  // 415), and a body of another type (form data, which tRPC would try to parse) a 415, as on REST.
  app.use('/trpc/*', async (c, next) => {
    if (!['GET', 'HEAD', 'POST'].includes(c.req.method)) return methodNotAllowed('GET, POST')(c);
    const type = c.req.header('content-type');
    if (c.req.method === 'POST' && type !== undefined && !type.toLowerCase().startsWith('application/json'))
      return errorJson(c, new ApiError(415, 'unsupported_media_type', 'send content-type: application/json'));
    return next();
  });
  app.use('/trpc/*', bodyLimit({ maxSize: limits.requestBodyBytesMax, onError: (c) => errorJson(c, tooLarge()) }));
  app.use(
    '/trpc/*',
    trpcServer({
      router: appRouter,
      endpoint: '/trpc',
      maxBatchSize: 20,
      createContext: async (_options: unknown, c: HonoContext): Promise<Context> => ({
        deps,
        auth: await deps.authenticator.authenticate(c.req.header('authorization')),
        ifMatch: undefined,
        response: { headers: {} },
        requestId: requestIdOf(c),
        source: clientAddress(c),
      }),
      responseMeta: ({ errors }: { errors: TRPCError[] }) => ({ headers: errorHeaders(errors) }),
      onError: ({ error, ctx }: { error: TRPCError; ctx?: Context }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR')
          logger.error({ err: error.cause ?? error, reqId: ctx?.requestId }, 'unhandled error in a tRPC procedure');
      },
    } as never),
  );

  app.get('/', homePage);
  mountOpsConsole(app, deps, options.ops ?? { fulfillmentOverdueHours: 24 });

  app.notFound((c) => errorJson(c, new ApiError(404, 'not_found', `no route ${c.req.path}`)));
  app.onError((error, c) => {
    logger.error({ err: error, path: c.req.path, reqId: requestIdOf(c) }, 'unhandled error');
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  });
  return app;
}
