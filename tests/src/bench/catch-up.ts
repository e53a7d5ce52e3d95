import { Cleanup } from '../support/cleanup.ts';
import { bootstrapStaff, type EdgeProcess, processCpuMs, residentSetBytes } from '../support/edge-process.ts';
import { signIn } from '../support/http.ts';
import type { HubProcess } from '../support/hub-process.ts';
import { hubStorageAdapters } from '../support/postgres.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { createTempDir, removeTempDir } from '../support/temp-dirs.ts';
import { edgeSyncStatus, prepareHub, startEdge, startHub } from '../sync/world.ts';
import { type Bench, type BenchFigure, type BenchResult, formatMiB, formatNumber } from './bench.ts';
import { receiveScans } from './scans.ts';

/** Targets for draining an outage's backlog: events/s from reconnect to the last ack. */
const targetPerSecond = { sqlite: 50_000, postgres: 20_000 } as const;
const skus = Array.from({ length: 50 }, (_, n) => `CATCHUP-${String(n).padStart(2, '0')}`);

/** BENCH_CATCHUP_EVENTS sizes the backlog (default 100,000). */
function backlogSize(): number {
  const raw = process.env.BENCH_CATCHUP_EVENTS;
  const count = raw === undefined ? 100_000 : Number(raw);
  if (!Number.isInteger(count) || count < 1_000 || count > 1_000_000)
    throw new Error(`BENCH_CATCHUP_EVENTS=${raw}: 1,000..1,000,000 events`);
  return count;
}

/** Events the edge syncs online before the link drops: both sides have run the push path. */
const onlineEvents = 5_000;

/**
 * Catch-up after an outage, with real processes: an edge syncs online with a running hub, its link
 * drops (a test proxy cuts it and holds new connections, so reconnect backoff does not decide the
 * figure), it takes a backlog of durable scans while cut off, then the link comes back and the edge
 * drains the backlog to the hub, which ran all along. Measured from the link's return to the
 * last ack, with the rate of each half of the backlog (a flat cost per event keeps them alike) and the
 * peak RSS of both processes sampled during the drain. SQLite always; PostgreSQL where the tests have
 * one. BENCH_PROFILE=1 writes V8 CPU profiles of both processes to the working directory.
 */
export const catchUpBench: Bench = {
  name: 'catch-up after an outage (real edge + hub processes)',
  async run(): Promise<BenchResult> {
    const events = backlogSize();
    const figures: BenchFigure[] = [];
    const notes = [
      'drain time runs from the link coming back to the hub acknowledging the last seq',
      'the backlog is written through the edge HTTP API first (not timed)',
      `before the outage the edge synced ${formatNumber(onlineEvents)} events online: the hub ran all along, as in production`,
    ];
    for (const adapter of hubStorageAdapters('bench_catchup')) {
      const measured = await drainOnce(adapter, events);
      const target = targetPerSecond[adapter.name];
      figures.push(
        {
          metric: `${adapter.name}: ${formatNumber(events)} events drained, events/s`,
          value: formatNumber(measured.perSecond),
          target: `>= ${formatNumber(target)}`,
          meets: measured.perSecond >= target,
          whereTimeGoes: `the hub used ${formatNumber(measured.hubCpuMsPerThousand)} ms of CPU per 1,000 events and the edge ${formatNumber(measured.edgeCpuMsPerThousand)}: with two pushes in flight the drain runs at the slower side's pace, about ${formatNumber(1e6 / Math.max(measured.hubCpuMsPerThousand, measured.edgeCpuMsPerThousand))} events/s for one core; on the hub about half is SQLite (the stock_events insert, the commit's WAL write and fsync)${adapter.name === 'postgres' ? ' or the round trips to PostgreSQL' : ''}, a seventh decoding and validating frames, a tenth folding events (docs/architecture.md, "Catch-up, measured")`,
        },
        { metric: '  drain time', value: `${formatNumber(measured.seconds, 2)} s` },
        {
          metric: '  first half / second half events/s',
          value: `${formatNumber(measured.firstHalfPerSecond)} / ${formatNumber(measured.secondHalfPerSecond)}`,
        },
        {
          metric: '  CPU per 1,000 events: hub / edge',
          value: `${formatNumber(measured.hubCpuMsPerThousand)} / ${formatNumber(measured.edgeCpuMsPerThousand)} ms`,
        },
        {
          metric: '  peak RSS during drain: hub / edge',
          value: `${formatMiB(measured.hubPeakRss)} / ${formatMiB(measured.edgePeakRss)}`,
        },
      );
    }
    return { name: this.name, figures, notes };
  },
};

async function drainOnce(adapter: ReturnType<typeof hubStorageAdapters>[number], events: number) {
  const cleanup = new Cleanup();
  const hubDir = createTempDir('bench-catchup-hub');
  const edgeDir = createTempDir('bench-catchup-edge');
  cleanup.add('remove temp dirs', () => {
    removeTempDir(hubDir);
    removeTempDir(edgeDir);
  });
  const profile = process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', `--cpu-prof-dir=${process.cwd()}`] : [];
  try {
    await adapter.prepare(cleanup);
    const hub: HubProcess = await startHub(cleanup, { dataDir: hubDir, env: adapter.env(), nodeArgs: profile });
    const prepared = await prepareHub(hub.baseUrl, skus);
    const proxy = await startTcpProxy({ port: hub.port });
    cleanup.add('close proxy', () => proxy.close());
    const edge: EdgeProcess = await startEdge(cleanup, {
      dataDir: edgeDir,
      hub: { url: proxy.url, ...prepared.credentials },
      nodeArgs: profile,
    });
    const token = await signIn(edge.baseUrl, bootstrapStaff);
    await writeBacklog(edge, token, onlineEvents);
    await waitForAck(edge, token, onlineEvents);

    proxy.cut({ hold: true });
    await writeBacklog(edge, token, events);
    const before = await edgeSyncStatus(edge, token);
    if (before.upstreamLastSeq !== onlineEvents + events || before.upstreamAck !== onlineEvents)
      throw new Error(`backlog not as expected: ${JSON.stringify(before)}`);

    let hubPeakRss = 0;
    let edgePeakRss = 0;
    const cpuAtStart = { hub: cpuMs(hub.pid), edge: cpuMs(edge.pid) };
    const startedMs = performance.now();
    proxy.heal();
    let halfMs = 0;
    for (;;) {
      const status = await edgeSyncStatus(edge, token);
      hubPeakRss = Math.max(hubPeakRss, residentSetBytes(hub.pid) ?? 0);
      edgePeakRss = Math.max(edgePeakRss, residentSetBytes(edge.pid) ?? 0);
      if (halfMs === 0 && status.upstreamAck >= onlineEvents + events / 2) halfMs = performance.now();
      if (status.upstreamAck === onlineEvents + events) break;
      if (performance.now() - startedMs > 600_000) throw new Error(`drain stalled: ${JSON.stringify(status)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const endedMs = performance.now();
    const cpu = { hub: cpuMs(hub.pid) - cpuAtStart.hub, edge: cpuMs(edge.pid) - cpuAtStart.edge };
    await edge.stop();
    await hub.stop();
    const seconds = (endedMs - startedMs) / 1000;
    return {
      seconds,
      perSecond: events / seconds,
      firstHalfPerSecond: events / 2 / ((halfMs - startedMs) / 1000),
      secondHalfPerSecond: events / 2 / ((endedMs - halfMs) / 1000),
      hubPeakRss,
      edgePeakRss,
      hubCpuMsPerThousand: (cpu.hub / events) * 1000,
      edgeCpuMsPerThousand: (cpu.edge / events) * 1000,
    };
  } finally {
    await cleanup.runAll();
  }
}

async function waitForAck(edge: EdgeProcess, token: string, seq: number): Promise<void> {
  const startedMs = performance.now();
  while ((await edgeSyncStatus(edge, token)).upstreamAck < seq) {
    if (performance.now() - startedMs > 60_000) throw new Error(`the hub did not ack seq ${seq} within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `events` distinct durable receives, spread over the SKUs, at full speed (not timed). */
async function writeBacklog(edge: EdgeProcess, token: string, events: number): Promise<void> {
  const result = await receiveScans(
    edge.baseUrl,
    token,
    skus,
    'catchup',
  )({ connections: 32, amount: events, timeout: 30 });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`writing the backlog: ${result.non2xx} non-2xx, ${result.errors} errors`);
}

/** CPU time a process has used so far, in ms (0 once it is gone). */
const cpuMs = (pid: number) => processCpuMs(pid) ?? 0;
