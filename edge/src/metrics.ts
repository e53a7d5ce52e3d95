import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per node (tests run several nodes in one process). Process metrics (memory, GC,
 * event loop) are per process: only the process's own node collects them, since each collection
 * installs observers that live as long as the process.
 */
export function createEdgeMetrics(
  outbox: () => { pending: number; lastSeq: number; ackedSeq: number },
  options: { processMetrics?: boolean } = {},
) {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const writeBatchSize = new Histogram({
    name: 'edge_write_batch_size',
    help: 'Scans committed per SQLite transaction (group commit)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [registry],
  });
  const writeBatchSeconds = new Histogram({
    name: 'edge_write_batch_duration_seconds',
    help: 'Time to apply and commit one batch, fsync included',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [registry],
  });
  const stockEvents = new Counter({
    name: 'edge_stock_events_total',
    help: 'Stock events recorded at this edge',
    registers: [registry],
  });
  new Gauge({
    name: 'edge_outbox_depth',
    help: 'Events recorded here and not yet acknowledged by the hub',
    registers: [registry],
    collect() {
      this.set(outbox().pending);
    },
  });
  new Gauge({
    name: 'edge_upstream_last_seq',
    help: 'Highest upstream seq recorded at this edge',
    registers: [registry],
    collect() {
      this.set(outbox().lastSeq);
    },
  });
  return { registry, requestDuration, writeBatchSize, writeBatchSeconds, stockEvents };
}
export type EdgeMetrics = ReturnType<typeof createEdgeMetrics>;
