import path from 'node:path';
import { dropPostgresSchema } from '@dovetail/hub';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Cleanup } from '../support/cleanup.ts';
import { bootstrapStaff } from '../support/edge-process.ts';
import { requestJson, signIn } from '../support/http.ts';
import { freshSchemaName, postgresAnswers, testPostgresUrl } from '../support/postgres.ts';
import { payOrder, placeOrder, storefrontToken } from '../support/storefront.ts';
import { hubPartition } from '../fulfillment/world.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { prepareHub, startEdge, startHub, warehouseId } from '../sync/world.ts';
import { type Bench, type BenchFigure, type BenchResult, benchSeconds, formatNumber } from './bench.ts';

/** Issue 17, item 5: both directions, online. */
const targetP50Ms = 5;
const targetP99Ms = 20;
/** The pace the issue measures at: a scanner's rate, far below what either side takes. */
const samplesPerSecond = 20;
const warmUpSamples = 10;
/** A sample not visible after this long is counted as lost, not waited for (the bench stays bounded). */
const sampleTimeoutMs = 5_000;
const sku = 'PROP-SOFA';
/** The PostgreSQL `npm run bench` started or was given (DOVETAIL_TEST_DATABASE_URL), unless DOVETAIL_BENCH_DATABASE_URL names another. */
const postgresUrl =
  process.env['DOVETAIL_BENCH_DATABASE_URL'] || testPostgresUrl || 'postgres://postgres@127.0.0.1:5432/test';

type Direction = {
  /** From the start to the end of the read that showed the change: an upper bound of the system's latency. */
  latenciesMs: number[];
  /** From the start to the start of the last read that did not show it (0 when the first one did): a lower bound. */
  lowerBoundsMs: number[];
  lost: number;
};

/**
 * Propagation online, with a real hub and a real enrolled edge process syncing over the real socket,
 * one sample at a time at ~20 a second:
 * - edge → hub: a receive at the edge (`POST /api/v1/stock/receive`, timed from its 201) until the
 *   hub has committed the new on-hand, the row its inventory view (`GET /api/v1/inventory/{sku}`) reads;
 * - hub → edge: a storefront order paid at the hub (timed from the payment's 200) until the edge has
 *   committed its fulfillment order, the row its pick list (`GET /api/v1/fulfillments`) reads.
 * Neither process announces a commit to an outside observer, and an HTTP poll of the views takes
 * milliseconds on a loaded machine (as long as what it measures), so the bench reads the committed
 * row itself, back to back: the SQLite files read-only beside the processes (WAL readers never block
 * the writer), the hub's PostgreSQL over one connection. Each sample is bracketed by the last read
 * that missed the change and the first that saw it: the bracket's width is the resolution;
 * once seen, the view is asked once over HTTP (not timed) to check that it shows the change. SQLite,
 * and PostgreSQL where one answers (DOVETAIL_BENCH_DATABASE_URL).
 */
export const propagationBench: Bench = {
  name: 'propagation online (real edge + hub processes, ~20 samples/s)',
  async run(): Promise<BenchResult> {
    const samples = benchSeconds() * samplesPerSecond;
    const figures: BenchFigure[] = [];
    const notes = [
      `${formatNumber(samples)} samples per direction (BENCH_SECONDS × ${samplesPerSecond}) after ${warmUpSamples} not counted, one at a time, ${1000 / samplesPerSecond} ms apart`,
      "edge → hub: from the edge's 201 to the hub's committed on-hand (the row GET /api/v1/inventory/{sku} reads); hub → edge: from the payment's 200 to the edge's committed fulfillment order (the row its pick list reads); each view then asked once over HTTP to check it shows the change",
      'the committed rows are read back to back (SQLite files read-only, PostgreSQL over one connection): p50/p99 are upper bounds (the end of the first read that saw the change), the lower bound is the start of the last read that did not; their difference is the resolution (one read and one event-loop turn of this process, longer when the machine is loaded)',
      `a sample not seen within ${formatNumber(sampleTimeoutMs)} ms is counted lost; client, hub, edge and PostgreSQL share the machine's cores`,
    ];
    const storages: Array<{ name: string; env: Record<string, string>; schema?: string }> = [
      { name: 'sqlite', env: {} },
    ];
    if (await postgresAnswers(postgresUrl)) {
      const schema = freshSchemaName('bench_propagation');
      storages.push({ name: 'postgres', env: { DATABASE_URL: postgresUrl, DATABASE_SCHEMA: schema }, schema });
    } else notes.push(`no PostgreSQL answers at ${postgresUrl}: its half skipped`);
    for (const storage of storages) {
      const measured = await measure(storage, samples);
      figures.push(
        ...directionFigures(`${storage.name}: edge 201 → hub inventory`, measured.upstream),
        ...directionFigures(`${storage.name}: hub payment → edge pick list`, measured.downstream),
      );
    }
    return { name: this.name, figures, notes };
  },
};

/** What a change crosses on its way, for the summary's account of a missed target. */
function pathOf(label: string): string {
  const postgres = label.startsWith('postgres');
  return label.includes('edge 201')
    ? `the edge pushes on its commit; the hub applies the push in one transaction${postgres ? ', on PostgreSQL about eight statements in series from BEGIN to COMMIT (the stream row and its enrollment FOR UPDATE, known ids, partitions, the events insert, the partition write returning the row, the stream update), each a round trip' : ' (group-committed with other pushes)'} and commits before the row is visible`
    : `the payment commits the allocation and the fulfillment order's downstream change; the hub wakes the edge's session${postgres ? ' through LISTEN/NOTIFY' : ''}, sends the change, and the edge applies it in one transaction with its cursor`;
}

function directionFigures(label: string, direction: Direction): BenchFigure[] {
  const sorted = [...direction.latenciesMs].sort((a, b) => a - b);
  const p50 = quantile(sorted, 0.5);
  const p99 = quantile(sorted, 0.99);
  const widths = direction.latenciesMs
    .map((latency, n) => latency - (direction.lowerBoundsMs[n] ?? 0))
    .sort((a, b) => a - b);
  const lower = [...direction.lowerBoundsMs].sort((a, b) => a - b);
  return [
    {
      metric: `${label}: p50`,
      value: `${formatNumber(p50, 1)} ms`,
      target: `<= ${targetP50Ms} ms`,
      meets: p50 <= targetP50Ms,
      whereTimeGoes: `${pathOf(label)}; the lower bound of the p50 is ${formatNumber(quantile(lower, 0.5), 1)} ms and the reads' resolution p50 ${formatNumber(quantile(widths, 0.5), 1)} ms`,
    },
    {
      metric: `${label}: p99`,
      value: `${formatNumber(p99, 1)} ms`,
      target: `<= ${targetP99Ms} ms`,
      meets: p99 <= targetP99Ms,
      whereTimeGoes: `${pathOf(label)}; the tail is the fsyncs (edge and hub each commit with synchronous=FULL, or PostgreSQL's WAL flush) on a disk and two cores the client, both processes and PostgreSQL share`,
    },
    {
      metric: '  max / lost / samples',
      value: `${formatNumber(sorted.at(-1) ?? Number.NaN, 1)} ms / ${direction.lost} / ${sorted.length}`,
    },
    {
      metric: '  lower bound p50 / p99',
      value: `${formatNumber(quantile(lower, 0.5), 1)} / ${formatNumber(quantile(lower, 0.99), 1)} ms`,
    },
    {
      metric: '  resolution: upper - lower bound p50 / p99',
      value: `${formatNumber(quantile(widths, 0.5), 2)} / ${formatNumber(quantile(widths, 0.99), 2)} ms`,
    },
  ];
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

async function measure(storage: { name: string; env: Record<string, string>; schema?: string }, samples: number) {
  const cleanup = new Cleanup();
  const hubDir = createTempDir('bench-propagation-hub');
  const edgeDir = createTempDir('bench-propagation-edge');
  cleanup.add('remove temp dirs', () => {
    removeTempDir(hubDir);
    removeTempDir(edgeDir);
  });
  const { schema } = storage;
  if (schema) cleanup.add('drop the schema', () => dropPostgresSchema(postgresUrl, schema));
  try {
    const hub = await startHub(cleanup, { dataDir: hubDir, env: storage.env });
    const { admin, credentials } = await prepareHub(hub.baseUrl, [sku]);
    const edge = await startEdge(cleanup, { dataDir: edgeDir, hub: { url: hub.baseUrl, ...credentials } });
    const staff = await signIn(edge.baseUrl, bootstrapStaff);
    const storefront = await storefrontToken(hub.baseUrl, admin, 'Propagation storefront');
    const hubOnHand = await hubOnHandReader(cleanup, hubDir, storage.schema);
    const edgeDb = new Database(path.join(edgeDir, 'edge.sqlite'), { readonly: true, fileMustExist: true });
    cleanup.add('close the edge reader', () => edgeDb.close());
    const edgeHasFulfillment = edgeDb.prepare<[string], { found: number }>(
      'SELECT 1 AS found FROM fulfillment_order WHERE id = ?',
    );

    // Edge → hub: one unit received at a time; the hub's on-hand at W1 must reach the running total.
    const upstream: Direction = { latenciesMs: [], lowerBoundsMs: [], lost: 0 };
    let onHand = 0;
    await paced(warmUpSamples + samples, async (index) => {
      const received = await requestJson(edge.baseUrl, 'POST', '/api/v1/stock/receive', {
        token: staff,
        body: { sku, quantity: 1, bin: 'A-01' },
      });
      const committedMs = performance.now();
      if (received.status !== 201)
        throw new Error(`receive answered ${received.status}: ${JSON.stringify(received.body)}`);
      const expected = ++onHand;
      const seen = await watchUntil(committedMs, async () => (await hubOnHand()) >= expected);
      record(upstream, seen, index);
      // The view reads what was committed: checked once per sample, not timed.
      if (seen.latencyMs !== undefined) {
        const view = await hubPartition(hub.baseUrl, admin, sku);
        if (view.onHand < expected) throw new Error(`the hub's view shows ${view.onHand}, its database ${expected}`);
      }
    });

    // Hub → edge: a paid order of one unit; the edge must list its fulfillment order.
    const downstream: Direction = { latenciesMs: [], lowerBoundsMs: [], lost: 0 };
    await paced(warmUpSamples + samples, async (index) => {
      const placed = await placeOrder(hub.baseUrl, storefront, [{ sku, quantity: 1 }]);
      const paid = await payOrder(hub.baseUrl, storefront, placed.id);
      const paidMs = performance.now();
      const fulfillmentId = (paid.fulfillments as Array<{ id: string; warehouseId: string }>).find(
        (entry) => entry.warehouseId === warehouseId,
      )?.id;
      if (!fulfillmentId)
        throw new Error(`the paid order has no fulfillment at ${warehouseId}: ${JSON.stringify(paid)}`);
      const seen = await watchUntil(paidMs, () => edgeHasFulfillment.get(fulfillmentId) !== undefined);
      record(downstream, seen, index);
      if (seen.latencyMs !== undefined) {
        const view = await requestJson(edge.baseUrl, 'GET', `/api/v1/fulfillments/${fulfillmentId}`, { token: staff });
        if (view.status !== 200) throw new Error(`the edge's pick list answered ${view.status} for ${fulfillmentId}`);
      }
    });
    await edge.stop();
    await hub.stop();
    return { upstream, downstream };
  } finally {
    await cleanup.runAll();
  }
}

/**
 * Reads the hub's committed on-hand of the SKU at W1, the row its inventory view reads: from the
 * SQLite file (read-only, WAL) or over one PostgreSQL connection.
 */
async function hubOnHandReader(cleanup: Cleanup, hubDir: string, schema: string | undefined) {
  if (schema === undefined) {
    const db = new Database(path.join(hubDir, 'hub.db'), { readonly: true, fileMustExist: true });
    cleanup.add('close the hub reader', () => db.close());
    const row = db.prepare<[string, string], { on_hand: number }>(
      'SELECT on_hand FROM stock_partitions WHERE warehouse_id = ? AND sku = ?',
    );
    return async () => Number(row.get(warehouseId, sku)?.on_hand ?? 0);
  }
  const client = new pg.Client({ connectionString: postgresUrl, options: `-c search_path=${schema}` });
  await client.connect();
  cleanup.add('close the hub reader', () => client.end());
  return async () => {
    const result = await client.query<{ on_hand: string }>({
      name: 'bench_on_hand',
      text: 'SELECT on_hand FROM stock_partitions WHERE warehouse_id = $1 AND sku = $2',
      values: [warehouseId, sku],
    });
    return Number(result.rows[0]?.on_hand ?? 0);
  };
}

function record(direction: Direction, seen: Seen, index: number): void {
  if (index < warmUpSamples) return;
  if (seen.latencyMs === undefined) direction.lost++;
  else {
    direction.latenciesMs.push(seen.latencyMs);
    direction.lowerBoundsMs.push(seen.lowerBoundMs);
  }
}

type Seen = { latencyMs: number | undefined; lowerBoundMs: number };

/** Runs `count` samples one after the other, each starting on its own tick of the pace (or at once when late). */
async function paced(count: number, sample: (index: number) => Promise<void>): Promise<void> {
  const startedMs = performance.now();
  for (let index = 0; index < count; index++) {
    const dueMs = startedMs + (index * 1000) / samplesPerSecond;
    const waitMs = dueMs - performance.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    await sample(index);
  }
}

/**
 * Runs `check` back to back until it sees the change → the time from `sinceMs` to the check that saw
 * it and to the start of the last check that did not (undefined latency past the sample timeout). Between checks the event loop turns once, so the processes' own I/O is
 * not starved by the watcher.
 */
async function watchUntil(sinceMs: number, check: () => boolean | Promise<boolean>): Promise<Seen> {
  let lowerBoundMs = 0;
  for (;;) {
    const startedMs = performance.now();
    const seen = await check();
    const doneMs = performance.now();
    if (seen) return { latencyMs: doneMs - sinceMs, lowerBoundMs };
    if (doneMs - sinceMs > sampleTimeoutMs) return { latencyMs: undefined, lowerBoundMs };
    lowerBoundMs = startedMs - sinceMs;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
