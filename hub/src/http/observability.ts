import { newId } from '@dovetail/shared';
import { Hono, type MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { OperationalFigures } from '../operations/figures.ts';

export type HubMetrics = {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  latency: Histogram<'method' | 'route'>;
};

/**
 * prom-client's default metrics name three gauges `_total` (`nodejs_active_handles_total`, …),
 * which Prometheus reserves for counters (`promtool check metrics` refuses them): they are dropped.
 */
const misnamedDefaultGauges = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * The hub's metrics, every one named `dovetail_hub_…` (docs/operations.md, "Metrics and alerts"),
 * plus the standard `process_…`/`nodejs_…` process metrics when `defaultMetrics` is on. `figures`
 * reads the operational gauges (sync lag, rejections, shortages, webhooks) from the database at
 * scrape time; a failed read drops those series from that scrape rather than failing it.
 */
export function createMetrics(
  options: { defaultMetrics?: boolean; figures?: () => Promise<OperationalFigures>; logger?: Logger } = {},
): HubMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) {
    collectDefaultMetrics({ register: registry });
    for (const name of misnamedDefaultGauges) registry.removeSingleMetric(name);
  }
  const requests = new Counter({
    name: 'dovetail_hub_http_requests_total',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'dovetail_hub_http_request_duration_seconds',
    help: 'HTTP request latency by method and route template',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  if (options.figures) registerOperationalMetrics(registry, options.figures, options.logger);
  return { registry, requests, latency };
}

/** One database read per scrape, shared by the gauges that report it. */
function registerOperationalMetrics(
  registry: Registry,
  read: () => Promise<OperationalFigures>,
  logger: Logger | undefined,
): void {
  let pending: Promise<OperationalFigures | undefined> | undefined;
  const figures = (): Promise<OperationalFigures | undefined> => {
    pending ??= read()
      .catch((error: unknown) => {
        logger?.warn({ err: error }, 'operational metrics: database read failed');
        return undefined;
      })
      .finally(() => {
        setImmediate(() => {
          pending = undefined;
        });
      });
    return pending;
  };
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (metric: Gauge<L>, figures: OperationalFigures) => void,
  ) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        const read = await figures();
        if (read) fill(this, read);
      },
    });
  gauge(
    'dovetail_hub_edge_connected',
    '1 while the edge of a warehouse is connected (heard from within 45 s)',
    ['warehouse'],
    (m, f) => {
      for (const edge of f.edges) m.set({ warehouse: edge.warehouseId }, edge.connected ? 1 : 0);
    },
  );
  gauge(
    'dovetail_hub_edge_sync_lag_events',
    "Events an edge recorded that the hub has not applied yet (as of the edge's last hello)",
    ['warehouse'],
    (m, f) => {
      for (const edge of f.edges) m.set({ warehouse: edge.warehouseId }, edge.lagEvents);
    },
  );
  gauge(
    'dovetail_hub_edge_sync_lag_seconds',
    'Age of the newest applied edge event while events are pending (0 when caught up)',
    ['warehouse'],
    (m, f) => {
      for (const edge of f.edges) if (edge.lagSeconds !== null) m.set({ warehouse: edge.warehouseId }, edge.lagSeconds);
    },
  );
  gauge(
    'dovetail_hub_webhook_deliveries',
    'Webhook deliveries not yet pruned, by status (pending, succeeded, failed)',
    ['status'],
    (m, f) => {
      for (const row of f.webhookDeliveries) m.set({ status: row.status }, row.count);
    },
  );
  gauge(
    'dovetail_hub_webhook_endpoints_failing',
    'Enabled webhook endpoints whose recent attempts failed',
    [],
    (m, f) => {
      m.set(f.webhookEndpointsFailing);
    },
  );
  // Counts that only grow, kept in the database: counters, set from the stored count at each scrape.
  const storedCount = (
    name: string,
    help: string,
    rows: (f: OperationalFigures) => Array<{ warehouseId: string; count: number }>,
  ) =>
    new Counter({
      name,
      help,
      labelNames: ['warehouse'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        const read = await figures();
        if (read) for (const row of rows(read)) this.inc({ warehouse: row.warehouseId }, row.count);
      },
    });
  storedCount(
    'dovetail_hub_sync_rejections_total',
    'Edge events the hub durably refused (unknown SKU, …)',
    (f) => f.syncRejections,
  );
  storedCount(
    'dovetail_hub_inventory_shortages_total',
    'inventory.shortage events: a warehouse could not supply committed units',
    (f) => f.shortages,
  );
}

/** The separate metrics listener's app (docs/operations.md): `GET /metrics` and nothing else. */
export function createMetricsApp(metrics: HubMetrics): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) =>
    c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  );
  return app;
}

/** Where the observe middleware leaves the request id for handlers (`requestIdOf(c)`). */
const requestIdKey = 'requestId';

export function requestIdOf(c: { get: (key: never) => unknown }): string | undefined {
  const value = c.get(requestIdKey as never);
  return typeof value === 'string' ? value : undefined;
}

const requestIdPattern = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Request ids (taken from `x-request-id` when well-formed, else minted), one JSON log line per
 * request, and metrics labelled by route template (bounded cardinality: never the raw path).
 */
export function observe(options: {
  logger: Logger;
  metrics: HubMetrics;
  routeOf: (method: string, path: string) => string;
}): MiddlewareHandler {
  const { logger, metrics, routeOf } = options;
  return async function observeRequest(c, next) {
    const started = performance.now();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && requestIdPattern.test(incoming) ? incoming : newId();
    c.header('x-request-id', requestId);
    c.set(requestIdKey as never, requestId as never);
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routeOf(c.req.method, c.req.path);
    const status = c.res.status;
    metrics.requests.inc({ method: c.req.method, route, status: String(status) });
    metrics.latency.observe({ method: c.req.method, route }, seconds);
    logger.info(
      {
        reqId: requestId,
        method: c.req.method,
        route,
        path: c.req.path,
        status,
        ms: Math.round(seconds * 10_000) / 10,
      },
      'request',
    );
  };
}
