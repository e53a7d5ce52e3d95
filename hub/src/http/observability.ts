import { newId } from '@dovetail/shared';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type HubMetrics = {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  latency: Histogram<'method' | 'route'>;
};

export function createMetrics(options: { defaultMetrics?: boolean } = {}): HubMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'hub_http_requests_total',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'hub_http_request_duration_seconds',
    help: 'HTTP request latency by method and route template',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { registry, requests, latency };
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
