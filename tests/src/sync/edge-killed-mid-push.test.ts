import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup } from '../support/cleanup.ts';
import { byDepth } from '../support/depth.ts';
import { type EdgeProcess, bootstrapStaff, runEdgeVerify } from '../support/edge-process.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { signIn } from '../support/http.ts';
import { type TcpProxy, startTcpProxy } from '../support/tcp-proxy.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { waitUntil } from '../support/wait.ts';
import {
  type Scan,
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
 * The edge is SIGKILLed while it pushes to a live hub, twice: first in the middle of draining a
 * backlog (8,000 events; 12,000 under `npm run test:deep`), then while scanners are still writing and every write is pushed as it
 * commits. Each time it restarts on the same data directory and port and drains; the hub ends with
 * exactly the edge's counts. Scans cut off by the second kill are re-sent with their Idempotency-Key
 * (what a scanner does), so the final counts are exactly the sum of every scan, once each.
 *
 * The link goes through a test proxy only to hold it while the backlog is taken, so the edge has
 * not backed off when it is released.
 */

/** Several pushes' worth (a push carries up to 2,048), so the kill lands with part of it acked. */
const backlogCount = byDepth(8_000, 12_000);
const onlineCount = byDepth(1_000, 2_000);
const skus = Array.from({ length: 6 }, (_, n) => `SYNC-EK-${n}`);

describe('edge SIGKILLed mid-push', () => {
  const cleanup = new Cleanup();
  const log: ScanLog = newScanLog();
  const backlog = makeScans(backlogCount, skus);
  const online = makeScans(onlineCount, skus, backlogCount);
  let hub: HubProcess;
  let edge: EdgeProcess;
  let proxy: TcpProxy;
  let admin = '';
  let token = '';
  let hubLink = { url: '', clientId: '', clientSecret: '' };

  /** SIGKILL, then the same data directory on the same port, signed in again. */
  const restartEdge = async () => {
    await edge.kill();
    expect((await edge.exited).signal).toBe('SIGKILL');
    edge = await startEdge(cleanup, { dataDir: edge.dataDir, port: edge.port, hub: hubLink });
    token = await signIn(edge.baseUrl, bootstrapStaff);
  };

  beforeAll(async () => {
    const hubDir = createTempDir('sync-ek-hub');
    const edgeDir = createTempDir('sync-ek-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    hub = await startHub(cleanup, { dataDir: hubDir });
    const prepared = await prepareHub(hub.baseUrl, skus);
    admin = prepared.admin;
    proxy = await startTcpProxy({ port: hub.port });
    cleanup.add('close proxy', () => proxy.close());
    hubLink = { url: proxy.url, ...prepared.credentials };
    proxy.hold();
    edge = await startEdge(cleanup, { dataDir: edgeDir, hub: hubLink });
    token = await signIn(edge.baseUrl, bootstrapStaff);
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('is SIGKILLed while draining a backlog, restarts on the same data and drains it exactly once', async () => {
    await sendScans(edge, token, backlog, log);
    expect(log.failures).toEqual([]);
    expect(await edgeSyncStatus(edge, token)).toMatchObject({ pendingUpstream: backlogCount, upstreamAck: 0 });

    proxy.heal();
    const ackAtKill = await waitUntil(
      'the hub to acknowledge part of the backlog',
      async () => {
        const status = await edgeSyncStatus(edge, token);
        return status.upstreamAck >= 500 ? status.upstreamAck : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 10, describe: () => edge.output().slice(-2000) },
    );
    await restartEdge();
    expect(ackAtKill).toBeLessThan(backlogCount);
    const afterRestart = await edgeSyncStatus(edge, token);
    expect(afterRestart.upstreamAck).toBeGreaterThanOrEqual(ackAtKill); // acks are durable at the edge
    console.info(
      `edge SIGKILLed with ${ackAtKill} of ${backlogCount} acked; ${afterRestart.upstreamAck} acked when it answered again`,
    );

    await waitForDrain(edge, token, { timeoutMs: 60_000, lastSeq: backlogCount });
    const expected = acknowledgedOnHand(log, skus);
    expect(await edgeOnHand(edge, token, skus)).toEqual(expected);
    expect(await hubOnHandBySku(hub.baseUrl, admin, skus)).toEqual(expected);
  });

  it('is SIGKILLed while scanners write and every write is pushed; after a restart and retries every scan counts once', async () => {
    const killAfter = log.acknowledged.size + onlineCount / 3;
    const scanning = sendScans(edge, token, online, log);
    // Kill once a third of the burst is acknowledged and the hub has acked part of it: mid-push.
    const ackAtKill = await waitUntil(
      'the edge to push the burst as it comes in',
      async () => {
        if (log.acknowledged.size < killAfter) return undefined;
        const status = await edgeSyncStatus(edge, token);
        return status.upstreamAck > backlogCount ? status.upstreamAck : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 10 },
    );
    await edge.kill();
    await scanning;
    expect((await edge.exited).signal).toBe('SIGKILL');
    const cutOff = online.filter((scan) => !log.acknowledged.has(scan.index));
    expect(cutOff.length).toBeGreaterThan(0); // the kill came mid-burst

    await restartEdge();
    // The scanners whose requests died with the edge retry with the same key: replayed or new, once.
    const retries = newScanLog();
    await sendScans(edge, token, cutOff, retries, { concurrency: 20 });
    expect(retries.failures).toEqual([]);
    for (const scan of retries.acknowledged.values()) log.acknowledged.set(scan.index, scan as Scan);
    expect(log.acknowledged.size).toBe(backlogCount + onlineCount);

    const total = backlogCount + onlineCount;
    const drained = await waitForDrain(edge, token, { timeoutMs: 60_000, lastSeq: total });
    expect(drained).toMatchObject({ pendingUpstream: 0, upstreamAck: total, rejected: 0 });
    const expected = acknowledgedOnHand(log, skus);
    expect(await edgeOnHand(edge, token, skus)).toEqual(expected);
    expect(await hubOnHandBySku(hub.baseUrl, admin, skus)).toEqual(expected);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await hubOnHandBySku(hub.baseUrl, admin, skus)).toEqual(expected);
    console.info(
      `online kill: edge acked through ${ackAtKill}; ${cutOff.length} scans cut off and retried with their keys`,
    );
  });

  it('leaves an edge database that verify accepts once the edge is stopped', async () => {
    const total = backlogCount + onlineCount;
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
