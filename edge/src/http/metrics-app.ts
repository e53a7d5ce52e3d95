import { Hono } from 'hono';
import type { EdgeMetrics } from '../metrics.ts';

/**
 * `GET /metrics` on the edge's separate metrics listener (`EDGE_METRICS_PORT`, loopback by default;
 * docs/operations.md): scanners on the LAN reach the API port, never this one.
 */
export function createEdgeMetricsApp(metrics: EdgeMetrics): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) => {
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });
  return app;
}
