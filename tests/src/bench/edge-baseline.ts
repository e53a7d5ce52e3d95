import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { Hono } from 'hono';
import { type ServerProcess, startServerProcess } from '../support/server-process.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';

const thisFile = fileURLToPath(import.meta.url);

export type BaselineRun = { perSecond: number; p99AtFixedRateMs: number };

/**
 * The edge scan bench's yardsticks, run in the same invocation so a reader sees ratios on their own
 * machine: a bare Hono route on @hono/node-server that parses the JSON body and answers 201, and the
 * same route committing one bare SQLite transaction per request (WAL, synchronous=FULL, one insert:
 * what a durable scan costs with no domain rules, no auth, no idempotency and no group commit).
 * Each serves from its own process, like the edge.
 */
export async function runEdgeBaselines(options: {
  seconds: number;
  connections: number;
  fixedRatePerSecond: number;
  fixedRateConnections: number;
}): Promise<{ bareRoute: BaselineRun; sqliteTransaction: BaselineRun }> {
  return {
    bareRoute: await measure('route', options),
    sqliteTransaction: await measure('sqlite', options),
  };
}

async function measure(
  mode: 'route' | 'sqlite',
  options: { seconds: number; connections: number; fixedRatePerSecond: number; fixedRateConnections: number },
): Promise<BaselineRun> {
  const dataDir = createTempDir('bench-edge-baseline');
  let server: ServerProcess | undefined;
  try {
    server = await startServerProcess({
      name: `edge baseline (${mode})`,
      script: thisFile,
      args: ['--serve', mode, '--file', path.join(dataDir, 'baseline.db')],
      startTimeoutMs: 60_000,
    });
    const load = (extra: { connections: number; duration: number; overallRate?: number }) =>
      autocannon({
        url: `${server?.baseUrl}/scan`,
        ...extra,
        timeout: 10,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sku: 'SOFA-OAK-3S', quantity: 1, reference: 'baseline' }),
      });
    await load({ connections: 16, duration: 1 }); // warm-up, not reported
    const throughput = await load({ connections: options.connections, duration: options.seconds });
    const fixed = await load({
      connections: options.fixedRateConnections,
      duration: options.seconds,
      overallRate: options.fixedRatePerSecond,
    });
    return { perSecond: throughput['2xx'] / throughput.duration, p99AtFixedRateMs: fixed.latency.p99 };
  } finally {
    await server?.stop().catch(() => {});
    removeTempDir(dataDir);
  }
}

// ---- Server mode: `node --import tsx tests/src/bench/edge-baseline.ts --port P --serve route|sqlite --file F` ----

function serveMain(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, serve: { type: 'string' }, file: { type: 'string' } },
    strict: true,
  });
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  let close = () => {};
  if (values.serve === 'route') {
    app.post('/scan', async (c) => c.json({ received: await c.req.json() }, 201));
  } else if (values.serve === 'sqlite') {
    if (values.file === undefined) throw new Error('--file is required');
    fs.mkdirSync(path.dirname(values.file), { recursive: true });
    const db = new Database(values.file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(
      'CREATE TABLE scan (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, quantity INTEGER NOT NULL, body TEXT NOT NULL)',
    );
    const insert = db.prepare('INSERT INTO scan (sku, quantity, body) VALUES (?, ?, ?)');
    const record = db.transaction((sku: string, quantity: number, body: string) => insert.run(sku, quantity, body));
    app.post('/scan', async (c) => {
      const body = await c.req.json<{ sku: string; quantity: number }>();
      const { lastInsertRowid } = record(body.sku, body.quantity, JSON.stringify(body));
      return c.json({ id: Number(lastInsertRowid) }, 201);
    });
    close = () => db.close();
  } else {
    throw new Error(`--serve ${values.serve}: route or sqlite`);
  }
  const server = serve({ fetch: app.fetch, port: Number(values.port), hostname: '127.0.0.1' });
  const shutdown = () => {
    setTimeout(() => process.exit(1), 5_000).unref();
    server.close(() => {
      close();
      process.exit(0);
    });
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === thisFile) {
  try {
    serveMain(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`baseline server failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
