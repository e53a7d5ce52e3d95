import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { byDepth } from '../support/depth.ts';
import { type EdgeProcess, bootstrapStaff, runEdgeVerify } from '../support/edge-process.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { signIn } from '../support/http.ts';
import { hubStorageAdapters } from '../support/postgres.ts';
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
 * An edge takes thousands of scans (5,000; 10,000 under `npm run test:deep`) while its hub is down.
 * The hub comes back, the edge starts pushing the backlog, and the hub is SIGKILLed once it has
 * applied some of it but not all (its last batch transaction dies with it). Restarted on the same
 * data, the hub ends with exactly the edge's counts: nothing lost, nothing applied twice, the outbox
 * drained and acked through the last seq, and the stopped edge's database passes `verify`. On
 * SQLite and on PostgreSQL.
 *
 * The edge reaches the hub through a test proxy that holds (blackholes) the link while the hub is
 * down, so the edge's reconnect backoff does not climb towards its 30 s cap while it scans: the
 * scenario measures recovery, not backoff.
 */

const scanCount = byDepth(5_000, 10_000);
/** The kill waits for a quarter of the backlog to be acked, so it lands in the middle of the push. */
const killAfterAck = scanCount / 4;
const skus = Array.from({ length: 8 }, (_, n) => `SYNC-HK-${n}`);

const adapters = hubStorageAdapters('sync_hk');

describe.each(adapters)(
  `hub SIGKILLed while an edge pushes a ${scanCount.toLocaleString('en')}-event backlog ($name)`,
  (adapter) => {
    const cleanup = new Cleanup();
    const log: ScanLog = newScanLog();
    let hubDir = '';
    let hubPort = 0;
    let hub: HubProcess;
    let edge: EdgeProcess;
    let proxy: TcpProxy;
    let admin = '';
    let token = '';
    let ackAtKill = -1;

    const startOurHub = async () => {
      const started = await startHub(cleanup, { dataDir: hubDir, port: hubPort || undefined, env: adapter.env() });
      hubPort = started.port;
      return started;
    };

    beforeAll(async () => {
      await adapter.prepare(cleanup);
      hubDir = createTempDir('sync-hk-hub');
      const edgeDir = createTempDir('sync-hk-edge');
      cleanup.add('remove temp dirs', () => {
        removeTempDir(hubDir);
        removeTempDir(edgeDir);
      });
      hub = await startOurHub();
      const prepared = await prepareHub(hub.baseUrl, skus);
      admin = prepared.admin;
      await hub.kill();

      proxy = await startTcpProxy({ port: hubPort });
      cleanup.add('close proxy', () => proxy.close());
      proxy.hold();
      edge = await startEdge(cleanup, { dataDir: edgeDir, hub: { url: proxy.url, ...prepared.credentials } });
      token = await signIn(edge.baseUrl, bootstrapStaff);
    });

    afterAll(async () => {
      await cleanup.runAll();
    });

    it(`takes ${scanCount.toLocaleString('en')} scans while the hub is down, each acknowledged and queued`, async () => {
      await sendScans(edge, token, makeScans(scanCount, skus), log);
      expect(log.failures).toEqual([]);
      expect(log.acknowledged.size).toBe(scanCount);
      expect(await edgeSyncStatus(edge, token)).toMatchObject({
        connected: false,
        pendingUpstream: scanCount,
        upstreamAck: 0,
        upstreamLastSeq: scanCount,
      });
    });

    it('pushes to the returning hub, which is SIGKILLed with some but not all of the backlog applied', async () => {
      hub = await startOurHub();
      proxy.heal();
      ackAtKill = await waitUntil(
        `the hub to acknowledge ${killAfterAck}+ of the backlog`,
        async () => {
          const status = await edgeSyncStatus(edge, token);
          return status.upstreamAck >= killAfterAck ? status.upstreamAck : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 10, describe: () => edge.output().slice(-2000) },
      );
      await hub.kill();
      expect((await hub.exited).signal).toBe('SIGKILL');
      expect(ackAtKill).toBeLessThan(scanCount);
      const status = await edgeSyncStatus(edge, token);
      expect(status.upstreamAck).toBeLessThan(scanCount); // the kill came mid-push, not after the drain
      expect(status.pendingUpstream).toBe(scanCount - status.upstreamAck);
      console.info(
        `hub (${adapter.name}) SIGKILLed with the edge acked through seq ${ackAtKill} (${status.upstreamAck} a moment later) of ${scanCount}`,
      );
    });

    it(`restarted on the same data, ends with exactly the edge counts and an outbox acked through ${scanCount.toLocaleString('en')}`, async () => {
      const restartedAt = Date.now();
      hub = await startOurHub();
      const drained = await waitForDrain(edge, token, { timeoutMs: 90_000, lastSeq: scanCount });
      console.info(`hub (${adapter.name}) restart to drained: ${Date.now() - restartedAt} ms`);
      expect(drained).toMatchObject({
        pendingUpstream: 0,
        upstreamAck: scanCount,
        upstreamLastSeq: scanCount,
        rejected: 0,
      });

      const expected = acknowledgedOnHand(log, skus);
      expect(await edgeOnHand(edge, token, skus)).toEqual(expected);
      expect(await hubOnHandBySku(hub.baseUrl, admin, skus)).toEqual(expected);
      // Still exact a little later: no duplicate arrives after the drain.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(await hubOnHandBySku(hub.baseUrl, admin, skus)).toEqual(expected);
      expect(await edgeSyncStatus(edge, token)).toMatchObject({
        pendingUpstream: 0,
        upstreamAck: scanCount,
        upstreamLastSeq: scanCount,
      });
    });

    it('leaves an edge database that verify accepts once the edge is stopped', async () => {
      expect((await edge.stop()).code).toBe(0);
      const run = await runEdgeVerify(edge.dataDir);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      expect(run.report, run.stdout + run.stderr).toMatchObject({
        ok: true,
        events: scanCount,
        mismatches: [],
        upstream: { lastSeq: scanCount, ackedSeq: scanCount, problems: [] },
      });
    });
  },
);
