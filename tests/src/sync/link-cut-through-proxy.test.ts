import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { byDepth } from '../support/depth.ts';
import { type EdgeProcess, bootstrapStaff, runEdgeVerify } from '../support/edge-process.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { readLedger, signIn } from '../support/http.ts';
import { type TcpProxy, startTcpProxy } from '../support/tcp-proxy.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { waitUntil } from '../support/wait.ts';
import {
  type ScanLog,
  acknowledgedOnHand,
  edgeOnHand,
  edgeSyncStatus,
  hubOnHandBySku,
  makeScans,
  newScanLog,
  prepareHub,
  sendScans,
  startEdge,
  startHub,
  waitForDrain,
} from './world.ts';

/**
 * The edge ↔ hub link runs through a loopback TCP proxy the test controls, and is cut again and
 * again while the edge pushes: plain cuts (the edge reconnects at once), cuts that refuse new
 * connections for a while, and blackholes that accept connections but forward nothing. Then, with a
 * backlog of 2,000 events, the link is cut three times right after a whole push frame reached the
 * hub and before its ack could come back: the hub applies the batch, the edge never hears of it,
 * and must not send it twice in a way that counts. Throughout, the hub's counts are exactly a prefix
 * of the edge's stream; at the end they are exactly the acknowledged scans, also a while later.
 */

/** Faults dealt while scanning: cut, cut and refuse, blackhole, in turn (twice each; three times deep). */
const faultCount = byDepth(6, 9);
/** Scanning stops here even if the faults have not all been dealt (the chaos loop then fails). */
const scanCap = 20_000;
/** Enough for the three cut pushes of the mid-apply case and more after them (pushes carry up to 2,048). */
const backlogCount = 8_000;
const skus = Array.from({ length: 6 }, (_, n) => `SYNC-LC-${n}`);

type StreamPrefix = { seq: number; onHand: Record<string, number> };

describe('sync link cut through a TCP proxy during pushes', () => {
  const cleanup = new Cleanup();
  const log: ScanLog = newScanLog();
  let hub: HubProcess;
  let edge: EdgeProcess;
  let proxy: TcpProxy;
  let admin = '';
  let token = '';
  let onlineCount = 0;

  /** The per-SKU on-hand after each seq of the edge's upstream stream (seq 0: nothing). */
  const streamPrefixes = async (): Promise<StreamPrefix[]> => {
    const events: Array<{ seq: number; sku: string; quantity: number }> = [];
    for (const sku of skus) {
      for (const entry of await readLedger<{ sku: string; quantity: number }>(edge.baseUrl, token, sku)) {
        events.push({ seq: entry.upstreamSeq as number, sku, quantity: entry.event.quantity });
      }
    }
    events.sort((a, b) => a.seq - b.seq);
    const onHand: Record<string, number> = Object.fromEntries(skus.map((sku) => [sku, 0]));
    const prefixes: StreamPrefix[] = [{ seq: 0, onHand: { ...onHand } }];
    for (const [index, event] of events.entries()) {
      expect(event.seq, 'upstream seqs are 1..n without gaps').toBe(index + 1);
      onHand[event.sku] = (onHand[event.sku] ?? 0) + event.quantity;
      prefixes.push({ seq: event.seq, onHand: { ...onHand } });
    }
    return prefixes;
  };

  /** The seq through which the hub's counts are exactly the edge's stream; fails if they are no prefix of it. */
  const hubAppliedThrough = async (prefixes: StreamPrefix[]): Promise<number> => {
    const atHub = await hubOnHandBySku(hub.baseUrl, admin, skus);
    const match = prefixes.find((prefix) => skus.every((sku) => prefix.onHand[sku] === atHub[sku]));
    if (!match)
      throw new Error(
        `the hub's counts ${JSON.stringify(atHub)} are no prefix of the edge's stream: an event lost or applied twice`,
      );
    return match.seq;
  };

  beforeAll(async () => {
    const hubDir = createTempDir('sync-lc-hub');
    const edgeDir = createTempDir('sync-lc-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    hub = await startHub(cleanup, { dataDir: hubDir });
    const prepared = await prepareHub(hub.baseUrl, skus);
    admin = prepared.admin;
    proxy = await startTcpProxy({ port: hub.port });
    cleanup.add('close proxy', () => proxy.close());
    edge = await startEdge(cleanup, { dataDir: edgeDir, hub: { url: proxy.url, ...prepared.credentials } });
    token = await signIn(edge.baseUrl, bootstrapStaff);
    await waitUntil(
      'the edge to connect through the proxy',
      async () => ((await edgeSyncStatus(edge, token)).connected ? true : undefined),
      {
        timeoutMs: 30_000,
        describe: () => edge.output().slice(-2000),
      },
    );
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('keeps counts exact through repeated cuts, refusals and blackholes while scans are pushed as they commit', async () => {
    const faults = ['cut', 'cut and refuse', 'blackhole'] as const;
    const done: Array<{ fault: (typeof faults)[number]; ackBefore: number; live: number }> = [];
    let scanned = 0;
    let chaosOver = false;

    // Each fault waits for the link to be up again through a new connection and to have carried an
    // ack over it, so every fault cuts a live, working link; a refusal or blackhole lasts for 100
    // more scans.
    const chaos = (async () => {
      try {
        let upgradesAtLastFault = 0;
        for (let n = 0; n < faultCount; n++) {
          await waitUntil(
            `a new sync connection before fault ${n + 1}`,
            () => (proxy.webSockets > upgradesAtLastFault && proxy.liveWebSockets > 0 ? true : undefined),
            {
              timeoutMs: 60_000,
              intervalMs: 5,
              describe: () => edge.output().slice(-2000),
            },
          );
          const ackOnArrival = (await edgeSyncStatus(edge, token)).upstreamAck;
          const status = await waitUntil(
            `the new link to carry an ack before fault ${n + 1}`,
            async () => {
              const current = await edgeSyncStatus(edge, token);
              return current.connected && current.upstreamAck > ackOnArrival ? current : undefined;
            },
            { timeoutMs: 60_000, intervalMs: 10, describe: () => edge.output().slice(-2000) },
          );
          const fault = faults[n % faults.length] as (typeof faults)[number];
          done.push({ fault, ackBefore: status.upstreamAck, live: proxy.liveWebSockets });
          upgradesAtLastFault = proxy.webSockets;
          if (fault === 'cut') proxy.cut();
          else if (fault === 'cut and refuse') proxy.cut({ refuse: true });
          else proxy.cut({ hold: true });
          if (fault !== 'cut') {
            const until = log.acknowledged.size + 100;
            await waitUntil(
              '100 more scans during the outage',
              () => (log.acknowledged.size >= until ? true : undefined),
              { timeoutMs: 60_000, intervalMs: 5 },
            );
            proxy.heal();
          }
        }
      } finally {
        proxy.heal();
        chaosOver = true;
      }
    })();
    // Scanners keep writing, 250 at a time, until every fault has been dealt.
    while (!chaosOver && scanned < scanCap) {
      await sendScans(edge, token, makeScans(250, skus, scanned), log);
      scanned += 250;
    }
    await chaos;
    onlineCount = scanned;
    expect(log.failures).toEqual([]);
    expect(log.acknowledged.size).toBe(onlineCount);
    expect(done.map((entry) => entry.fault)).toHaveLength(faultCount);
    expect(
      done.filter((entry) => entry.live === 0),
      'a fault that found no live connection',
    ).toEqual([]);

    const drained = await waitForDrain(edge, token, { timeoutMs: 60_000, lastSeq: onlineCount });
    expect(drained).toMatchObject({ pendingUpstream: 0, upstreamAck: onlineCount, rejected: 0 });
    const expected = acknowledgedOnHand(log, skus);
    expect(await edgeOnHand(edge, token, skus)).toEqual(expected);
    expect(await hubOnHandBySku(hub.baseUrl, admin, skus)).toEqual(expected);
    console.info(
      `online: ${onlineCount} scans, ${done.length} faults (${done.map((entry) => `${entry.fault} at ack ${entry.ackBefore}`).join(', ')}); ` +
        `${proxy.connections} connections through the proxy`,
    );
  });

  it('applies a push exactly once when the link is cut after the hub received it and before its ack returned', async () => {
    proxy.cut({ hold: true });
    await sendScans(edge, token, makeScans(backlogCount, skus, onlineCount), log);
    expect(log.failures).toEqual([]);
    const total = onlineCount + backlogCount;
    const prefixes = await streamPrefixes();
    expect(prefixes.at(-1)?.seq).toBe(total);
    expect(await hubAppliedThrough(prefixes)).toBe(onlineCount);

    const rounds: Array<{ frameBytes: number; edgeAck: number; hubApplied: number }> = [];
    for (let round = 0; round < 3; round++) {
      const fired = proxy.cutAfterNextFrame({ minBytes: 32 * 1024, hold: true, timeoutMs: 60_000 });
      proxy.heal();
      const { frameBytes } = await fired;
      // The link is held now, so the edge's ack stands still while the hub finishes its batch.
      const edgeAck = (await edgeSyncStatus(edge, token)).upstreamAck;
      const hubApplied = await waitUntil(
        `the hub to commit the push cut off after seq ${edgeAck}`,
        async () => {
          const applied = await hubAppliedThrough(prefixes);
          return applied > edgeAck ? applied : undefined;
        },
        {
          timeoutMs: 15_000,
          intervalMs: 25,
          describe: async () => `hub applied through ${await hubAppliedThrough(prefixes)}`,
        },
      );
      expect((await edgeSyncStatus(edge, token)).upstreamAck).toBe(edgeAck);
      rounds.push({ frameBytes, edgeAck, hubApplied });
    }
    proxy.heal();
    console.info(
      `cut mid-apply: ${rounds.map((r) => `edge acked ${r.edgeAck}, hub applied ${r.hubApplied} (${r.frameBytes} B push)`).join('; ')}`,
    );
    for (const [index, round] of rounds.entries()) {
      expect(round.hubApplied).toBeGreaterThan(round.edgeAck);
      if (index > 0) expect(round.edgeAck).toBeGreaterThanOrEqual(rounds[index - 1]?.hubApplied ?? 0); // the welcome re-acked it
    }

    const drained = await waitForDrain(edge, token, { timeoutMs: 60_000, lastSeq: total });
    expect(drained).toMatchObject({ pendingUpstream: 0, upstreamAck: total, rejected: 0 });
    const expected = acknowledgedOnHand(log, skus);
    expect(log.acknowledged.size).toBe(total);
    expect(await edgeOnHand(edge, token, skus)).toEqual(expected);
    expect(await hubOnHandBySku(hub.baseUrl, admin, skus)).toEqual(expected);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await hubOnHandBySku(hub.baseUrl, admin, skus)).toEqual(expected);
    expect(await edgeSyncStatus(edge, token)).toMatchObject({
      pendingUpstream: 0,
      upstreamAck: total,
      upstreamLastSeq: total,
    });
  });

  it('leaves an edge database that verify accepts once the edge is stopped', async () => {
    const total = onlineCount + backlogCount;
    expect((await edge.stop()).code).toBe(0);
    const run = await runEdgeVerify(edge.dataDir);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.report, run.stdout + run.stderr).toMatchObject({
      ok: true,
      events: total,
      upstream: { lastSeq: total, ackedSeq: total, problems: [] },
    });
  });
});
