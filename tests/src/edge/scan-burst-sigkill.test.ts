import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup, runPool } from '../support/cleanup.ts';
import { type EdgeProcess, bootstrapStaff, runEdgeVerify, startEdgeProcess } from '../support/edge-process.ts';
import { readLedger, requestJson, signIn } from '../support/http.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';

/**
 * The edge's durability promise, end to end on a real process: a burst of 1,000 concurrent scans is
 * cut by SIGKILL once ~300 have been acknowledged. After a restart on the same data directory every
 * acknowledged scan is in the ledger exactly once, the ledger folds to the partition state, the
 * upstream seqs are gap-free, and scanners re-sending with their Idempotency-Key never double-count.
 */

const scanCount = 1_000;
const skuCount = 20;
const concurrency = 100;
const killAfterAcks = 300;

type Scan = {
  index: number;
  sku: string;
  quantity: number;
  key: string;
  /** The exact bytes sent: a replay must hash the same, so the same string is sent again after restart. */
  body: string;
};
type ReceiveEvent = {
  id: string;
  sku: string;
  quantity: number;
  reference?: string;
  lot?: string;
  serials?: string[];
  type: string;
};
type Ack = { eventId: string; quantity: number };
type SyncStatus = { pendingUpstream: number; upstreamAck: number; upstreamLastSeq: number };

const runTag = randomUUID().slice(0, 8);
const skus = Array.from({ length: skuCount }, (_, n) => `SOFA-${String(n).padStart(2, '0')}`);

/** Receives spread over the SKUs with varied quantities; every third carries a lot, every tenth serials, some a bin. */
function makeScans(): Scan[] {
  return Array.from({ length: scanCount }, (_, index) => {
    const sku = skus[index % skuCount] as string;
    const serialized = index % 10 === 0;
    const quantity = serialized ? 1 + (index % 3) : 1 + ((index * 37) % 25);
    const body: Record<string, unknown> = { sku, quantity, reference: `burst-${index}` };
    if (index % 3 === 0) body.lot = `LOT-${runTag}-${index % 7}`;
    if (serialized) body.serials = Array.from({ length: quantity }, (_, unit) => `SN-${runTag}-${index}-${unit}`);
    if (index % 4 === 1) body.bin = `A-${index % 5}`;
    return { index, sku, quantity, key: `burst-${runTag}-${index}`, body: JSON.stringify(body) };
  });
}

function postScan(edge: EdgeProcess, token: string, scan: Scan) {
  return requestJson<{ event?: ReceiveEvent; stock?: { onHand: number } }>(
    edge.baseUrl,
    'POST',
    '/api/v1/stock/receive',
    {
      token,
      body: scan.body,
      headers: { 'idempotency-key': scan.key },
    },
  );
}

describe('a burst of 1,000 scans cut by SIGKILL', () => {
  const cleanup = new Cleanup();
  const scans = makeScans();
  const acks = new Map<number, Ack>();
  const burst = { started: 0, inFlightAtKill: -1, failures: 0, unexpected: [] as string[] };
  let dataDir = '';
  let edge: EdgeProcess;
  let token = '';
  let port = 0;

  beforeAll(async () => {
    dataDir = createTempDir('scan-burst');
    cleanup.add('remove data dir', () => removeTempDir(dataDir));
    edge = await startEdgeProcess({ dataDir });
    port = edge.port;
    cleanup.add('kill first edge', () => edge.kill());
    token = await signIn(edge.baseUrl, bootstrapStaff);
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('acknowledges scans until SIGKILL lands mid-burst', async () => {
    let killing: Promise<void> | undefined;
    let inFlight = 0;
    await runPool(scans, concurrency, async (scan) => {
      if (killing) return; // a scanner whose edge is gone stops sending
      burst.started++;
      inFlight++;
      try {
        const response = await postScan(edge, token, scan);
        if (response.status === 201 && response.body.event) {
          acks.set(scan.index, { eventId: response.body.event.id, quantity: scan.quantity });
        } else {
          burst.unexpected.push(`${scan.key}: ${response.status} ${JSON.stringify(response.body)}`);
        }
      } catch {
        burst.failures++; // the connection died with the process: not acknowledged
      } finally {
        inFlight--;
      }
      if (!killing && acks.size >= killAfterAcks) {
        // Everything started and not yet answered at this instant may or may not have committed.
        burst.inFlightAtKill = inFlight;
        killing = edge.kill();
      }
    });
    await killing;

    const exit = await edge.exited;
    expect(exit.signal, edge.output()).toBe('SIGKILL');
    expect(burst.unexpected).toEqual([]);
    expect(acks.size).toBeGreaterThanOrEqual(killAfterAcks);
    expect(burst.started).toBeLessThan(scanCount); // the kill really came mid-burst
    expect(burst.inFlightAtKill).toBeGreaterThanOrEqual(0);
    expect(acks.size + burst.failures).toBe(burst.started);
  });

  it('leaves a database that verify accepts straight after the crash', async () => {
    const run = await runEdgeVerify(dataDir);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.report?.ok, run.stdout + run.stderr).toBe(true);
    expect(run.report?.events).toBeGreaterThanOrEqual(acks.size);
  });

  it('restarts and holds every acknowledged scan exactly once, folded into on-hand', async () => {
    edge = await startEdgeProcess({ dataDir, port });
    cleanup.add('kill restarted edge', () => edge.kill());
    token = await signIn(edge.baseUrl, bootstrapStaff);

    const byReference = new Map<string, Scan>(scans.map((scan) => [`burst-${scan.index}`, scan]));
    const seenEventIds = new Set<string>();
    const upstreamSeqs: number[] = [];
    let committedUnacknowledged = 0;

    for (const sku of skus) {
      const ledger = await readLedger<ReceiveEvent>(edge.baseUrl, token, sku);
      const acknowledged = scans.filter((scan) => scan.sku === sku && acks.has(scan.index));
      const ledgerIds = ledger.map((entry) => entry.event.id);

      // Every acknowledged scan's event is in its SKU's ledger exactly once.
      for (const scan of acknowledged) {
        const eventId = (acks.get(scan.index) as Ack).eventId;
        expect(
          ledgerIds.filter((id) => id === eventId),
          `${scan.key} acknowledged as ${eventId}`,
        ).toHaveLength(1);
      }

      // Every ledger event is one scan that was sent, recorded once, with what was sent.
      for (const entry of ledger) {
        const scan = byReference.get(entry.event.reference ?? '');
        expect(scan, `ledger event ${entry.event.id} matches no scan`).toBeDefined();
        if (!scan) continue;
        expect(entry.event).toMatchObject({ type: 'receive', sku: scan.sku, quantity: scan.quantity });
        expect(scan.index).toBeLessThan(scans.length);
        expect(seenEventIds.has(entry.event.id)).toBe(false);
        seenEventIds.add(entry.event.id);
        const ack = acks.get(scan.index);
        if (ack) expect(entry.event.id).toBe(ack.eventId);
        else committedUnacknowledged++;
        expect(entry.upstreamSeq).not.toBeNull();
        upstreamSeqs.push(entry.upstreamSeq as number);
      }
      const references = ledger.map((entry) => entry.event.reference);
      expect(new Set(references).size, `${sku}: a scan recorded twice`).toBe(references.length);

      // on_hand is the fold of the ledger, and at least what was acknowledged.
      const stock = await requestJson<{ onHand: number }>(edge.baseUrl, 'GET', `/api/v1/stock/${sku}`, { token });
      const ledgerSum = ledger.reduce((sum, entry) => sum + entry.event.quantity, 0);
      const acknowledgedSum = acknowledged.reduce((sum, scan) => sum + scan.quantity, 0);
      if (ledger.length === 0) expect(stock.status).toBe(404);
      else {
        expect(stock.status).toBe(200);
        expect(stock.body.onHand, sku).toBe(ledgerSum);
      }
      expect(ledgerSum, sku).toBeGreaterThanOrEqual(acknowledgedSum);
    }

    // Committed but never acknowledged: only scans that were in flight when the process died.
    expect(committedUnacknowledged).toBeLessThanOrEqual(burst.inFlightAtKill);
    expect(seenEventIds.size).toBe(acks.size + committedUnacknowledged);
    console.info(
      `burst: ${burst.started} sent, ${acks.size} acknowledged, ${burst.inFlightAtKill} in flight at SIGKILL, ` +
        `${committedUnacknowledged} committed without an answer, ${burst.failures - committedUnacknowledged} lost unacknowledged`,
    );

    // The upstream outbox: seqs 1..N with no gap and no repeat, nothing acked (no hub).
    upstreamSeqs.sort((a, b) => a - b);
    expect(upstreamSeqs).toEqual(Array.from({ length: upstreamSeqs.length }, (_, n) => n + 1));
    const status = await requestJson<SyncStatus>(edge.baseUrl, 'GET', '/api/v1/sync/status', { token });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      upstreamLastSeq: seenEventIds.size,
      pendingUpstream: seenEventIds.size,
      upstreamAck: 0,
    });
  });

  it('replays every scan re-sent with its Idempotency-Key and never records one twice', async () => {
    const before = new Map<number, string>();
    for (const sku of skus) {
      for (const entry of await readLedger<ReceiveEvent>(edge.baseUrl, token, sku)) {
        before.set(Number((entry.event.reference ?? '').slice('burst-'.length)), entry.event.id);
      }
    }

    const answers = new Map<number, { eventId: string; replayed: boolean }>();
    const retried = new Set<number>();
    const problems: string[] = [];
    await runPool(scans, 32, async (scan) => {
      // A scanner retries on a dropped connection with the same key; bounded.
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          const response = await postScan(edge, token, scan);
          if (response.status !== 201 || !response.body.event) {
            problems.push(`${scan.key}: ${response.status} ${JSON.stringify(response.body)}`);
          } else {
            answers.set(scan.index, {
              eventId: response.body.event.id,
              replayed: response.headers.get('idempotent-replayed') === 'true',
            });
          }
          return;
        } catch (error) {
          retried.add(scan.index);
          if (attempt === 3) problems.push(`${scan.key}: ${(error as Error).message}`);
        }
      }
    });
    expect(problems).toEqual([]);
    expect(answers.size).toBe(scanCount);

    for (const scan of scans) {
      const answer = answers.get(scan.index) as { eventId: string; replayed: boolean };
      const committed = before.get(scan.index);
      if (committed !== undefined) {
        // Committed before the crash (acknowledged or not): the stored answer comes back, same event.
        expect(answer, scan.key).toEqual({ eventId: committed, replayed: true });
      } else if (!retried.has(scan.index)) {
        // Never recorded before: a new event (a retried one may replay its own lost first attempt).
        expect(answer.replayed, scan.key).toBe(false);
      }
      const ack = acks.get(scan.index);
      if (ack) expect(answer.eventId, scan.key).toBe(ack.eventId);
    }

    // The final ledger holds each key's event exactly once, and on_hand is the sum of every scan.
    const seenEventIds = new Set<string>();
    for (const sku of skus) {
      const ledger = await readLedger<ReceiveEvent>(edge.baseUrl, token, sku);
      const expected = scans.filter((scan) => scan.sku === sku);
      expect(ledger.map((entry) => entry.event.id).sort(), sku).toEqual(
        expected.map((scan) => answers.get(scan.index)?.eventId).sort(),
      );
      for (const entry of ledger) seenEventIds.add(entry.event.id);
      const stock = await requestJson<{ onHand: number }>(edge.baseUrl, 'GET', `/api/v1/stock/${sku}`, { token });
      expect(stock.body.onHand, sku).toBe(expected.reduce((sum, scan) => sum + scan.quantity, 0));
    }
    expect(seenEventIds.size).toBe(scanCount);
    const status = await requestJson<SyncStatus>(edge.baseUrl, 'GET', '/api/v1/sync/status', { token });
    expect(status.body).toMatchObject({ upstreamLastSeq: scanCount, pendingUpstream: scanCount, upstreamAck: 0 });
  });

  it('verifies: every partition folds from its ledger and upstream seqs are 1..1000 gap-free', async () => {
    await edge.kill(); // a second crash, after the replays, must leave the same database
    const run = await runEdgeVerify(dataDir);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.report, run.stdout + run.stderr).toMatchObject({
      ok: true,
      partitions: skuCount,
      events: scanCount,
      mismatches: [],
      upstream: { lastSeq: scanCount, ackedSeq: 0, problems: [] },
    });
  });
});
