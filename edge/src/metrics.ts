import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The edge's metrics, every one named `dovetail_edge_…` (docs/operations.md, "Metrics and alerts"),
 * plus the standard `process_…`/`nodejs_…` process metrics.
 *
 * One registry per node (tests run several nodes in one process). Process metrics (memory, GC,
 * event loop) are per process: only the process's own node collects them, since each collection
 * installs observers that live as long as the process.
 */
export function createEdgeMetrics(
  outbox: () => { pending: number; lastSeq: number; ackedSeq: number },
  options: { processMetrics?: boolean; link?: () => { connected: boolean; lastContactMs: number | null } } = {},
) {
  const registry = new Registry();
  if (options.processMetrics) {
    collectDefaultMetrics({ register: registry });
    // prom-client names three gauges `_total`, a suffix Prometheus keeps for counters: dropped.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      registry.removeSingleMetric(name);
  }
  const requestDuration = new Histogram({
    name: 'dovetail_edge_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const writeBatchSize = new Histogram({
    name: 'dovetail_edge_write_batch_size',
    help: 'Scans committed per SQLite transaction (group commit)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [registry],
  });
  const writeBatchSeconds = new Histogram({
    name: 'dovetail_edge_write_batch_duration_seconds',
    help: 'Time to apply and commit one batch, fsync included',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [registry],
  });
  const stockEvents = new Counter({
    name: 'dovetail_edge_stock_events_total',
    help: 'Stock events recorded at this edge',
    registers: [registry],
  });
  new Gauge({
    name: 'dovetail_edge_outbox_depth',
    help: 'Events recorded here and not yet acknowledged by the hub',
    registers: [registry],
    collect() {
      this.set(outbox().pending);
    },
  });
  new Gauge({
    name: 'dovetail_edge_upstream_last_seq',
    help: 'Highest upstream seq recorded at this edge',
    registers: [registry],
    collect() {
      this.set(outbox().lastSeq);
    },
  });
  new Gauge({
    name: 'dovetail_edge_upstream_acked_seq',
    help: 'Highest upstream seq the hub acknowledged',
    registers: [registry],
    collect() {
      this.set(outbox().ackedSeq);
    },
  });
  const link = options.link;
  if (link) {
    new Gauge({
      name: 'dovetail_edge_hub_connected',
      help: '1 while the sync link to the hub is up',
      registers: [registry],
      collect() {
        this.set(link().connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'dovetail_edge_hub_last_contact_timestamp_seconds',
      help: 'When the hub last answered this edge (Unix time); absent before the first contact',
      registers: [registry],
      collect() {
        this.reset();
        const last = link().lastContactMs;
        if (last !== null) this.set(last / 1000);
      },
    });
  }
  return { registry, requestDuration, writeBatchSize, writeBatchSeconds, stockEvents };
}
export type EdgeMetrics = ReturnType<typeof createEdgeMetrics>;
