import { WebhookWorker, createHub, emitWebhookEvent } from '@dovetail/hub';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { type Bench, type BenchResult, benchSeconds, formatNumber } from './bench.ts';

const adminSecret = 'bench-admin-secret-0123456789abcdef';
const burstEvents = 10_000;
const targetDeliveriesPerSecond = 1_000;
const targetP99Ms = 100;
/** Paced phase: one event committed every this many ms (its own transaction), for BENCH_SECONDS. */
const pacedIntervalMs = 10;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

type Received = { receivedAtMs: number; sku: string; id: string };

/** The receiver process (webhook-receiver-process.ts): its URL, what it received, and how to wait for it. */
async function startReceiverProcess() {
  const script = fileURLToPath(new URL('./webhook-receiver-process.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const received: Received[] = [];
  let buffered = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`receiver exited (${code})`)));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [first, second, third] = line.split(' ');
        if (first === 'port') resolve(Number(second));
        else received.push({ receivedAtMs: Number(first), sku: second ?? '', id: third ?? '' });
      }
    });
  });
  return {
    received,
    url: () => `http://127.0.0.1:${port}/hook`,
    async waitFor(predicate: (entries: Received[]) => boolean, timeoutMs: number): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline)
          throw new Error(`receiver: not within ${timeoutMs} ms (${received.length} received)`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async close(): Promise<void> {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Webhook delivery on SQLite (WAL, synchronous=FULL): the hub's own delivery worker sending signed
 * requests to a local receiver on loopback (a process of its own that answers 200 at once and
 * verifies nothing, to measure the hub). A burst of 10,000 committed events drained (deliveries/s), then events committed one at a
 * time at a steady pace, each timed from its commit to its arrival at the receiver (p50/p99).
 */
export const hubWebhooksBench: Bench = {
  name: 'hub webhooks (deliveries to a local receiver, SQLite)',
  async run(): Promise<BenchResult> {
    const directory = createTempDir('dovetail-bench-webhooks-');
    const hub = await createHub({
      storage: { kind: 'sqlite', file: `${directory}/hub.db` },
      adminSecret,
      webhooks: { allowPrivate: true },
    });
    const receiver = await startReceiverProcess();
    try {
      const tokenResponse = await hub.app.request('/oauth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&client_id=admin&client_secret=${adminSecret}`,
      });
      const token = ((await tokenResponse.json()) as { access_token: string }).access_token;
      const created = await hub.app.request('/api/v1/webhooks', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: receiver.url(), events: ['inventory.low'] }),
      });
      if (created.status !== 201) throw new Error(`POST /webhooks: ${created.status} ${await created.text()}`);
      const emit = (sku: string) =>
        emitWebhookEvent(hub.storage.db, {
          type: 'inventory.low',
          data: { warehouseId: 'BENCH', sku, available: 0, safetyStock: 1, occurredAt: new Date().toISOString() },
          warehouseId: 'BENCH',
          nowMs: Date.now(),
        });

      // Backlog: the hub's worker is stopped while the events are committed (100 to a transaction), then
      // a fresh worker drains them: deliveries per second, claims and records included.
      await hub.webhookWorker.stop();
      const commitStartedMs = performance.now();
      for (let batch = 0; batch < burstEvents / 100; batch++) {
        await hub.storage.db.transaction().execute(async (trx) => {
          for (let n = 0; n < 100; n++) {
            await emitWebhookEvent(trx, {
              type: 'inventory.low',
              data: {
                warehouseId: 'BENCH',
                sku: `BURST-${batch * 100 + n}`,
                available: 0,
                safetyStock: 1,
                occurredAt: new Date().toISOString(),
              },
              warehouseId: 'BENCH',
              nowMs: Date.now(),
            });
          }
        });
      }
      const committedSeconds = (performance.now() - commitStartedMs) / 1000;
      const worker = new WebhookWorker({
        db: hub.storage.db,
        dialect: hub.storage.dialect,
        settings: hub.deps.webhooks,
        logger: hub.deps.logger,
      });
      const drainStartedMs = performance.now();
      worker.start();
      await receiver.waitFor((received) => received.length >= burstEvents, 300_000);
      const burstSeconds = (performance.now() - drainStartedMs) / 1000;
      const deliveriesPerSecond = burstEvents / burstSeconds;

      // Paced: commit-to-delivery latency under a steady load.
      const committedAt = new Map<string, number>();
      const pacedEvents = Math.floor((benchSeconds() * 1000) / pacedIntervalMs);
      const before = receiver.received.length;
      const pacedStartedMs = performance.now();
      for (let n = 0; n < pacedEvents; n++) {
        const dueMs = pacedStartedMs + n * pacedIntervalMs;
        const waitMs = dueMs - performance.now();
        if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
        await emit(`PACED-${n}`);
        committedAt.set(`PACED-${n}`, Date.now());
      }
      await receiver.waitFor((received) => received.length >= before + pacedEvents, 120_000);
      const latencies = receiver.received
        .slice(before)
        .map((entry) => entry.receivedAtMs - (committedAt.get(entry.sku) ?? Number.NaN))
        .filter((latency) => Number.isFinite(latency))
        .sort((a, b) => a - b);
      const p50 = percentile(latencies, 50);
      const p99 = percentile(latencies, 99);
      await worker.stop();
      return {
        name: 'hub webhooks',
        figures: [
          {
            metric: `deliveries/s draining ${formatNumber(burstEvents)} events`,
            value: formatNumber(deliveriesPerSecond),
            target: `>= ${formatNumber(targetDeliveriesPerSecond)}`,
            meets: deliveriesPerSecond >= targetDeliveriesPerSecond,
          },
          { metric: 'commit-to-delivery p50 (paced)', value: `${formatNumber(p50, 1)} ms` },
          {
            metric: 'commit-to-delivery p99 (paced)',
            value: `${formatNumber(p99, 1)} ms`,
            target: `<= ${targetP99Ms} ms`,
            meets: p99 <= targetP99Ms,
          },
        ],
        notes: [
          `backlog committed in ${formatNumber(committedSeconds, 1)} s (100 events a transaction, worker stopped), drained in ${formatNumber(burstSeconds, 1)} s`,
          `paced: ${formatNumber(pacedEvents)} events, one every ${pacedIntervalMs} ms, each its own transaction`,
          'one endpoint; the receiver is a separate process on loopback that answers 200 at once',
        ],
      };
    } finally {
      await receiver.close();
      await hub.close();
      removeTempDir(directory);
    }
  },
};
