import net from 'node:net';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup, runPool } from '../support/cleanup.ts';
import { type EdgeProcess, bootstrapStaff } from '../support/edge-process.ts';
import { type HubProcess, createHubProducts } from '../support/hub-process.ts';
import { requestJson, signIn } from '../support/http.ts';
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
  startEdge,
  startHub,
  waitForDrain,
  warehouseId,
} from './world.ts';

/**
 * The edge ↔ hub link runs through a proxy that, when told to, swallows every WebSocket data frame
 * in both directions and keeps both sockets open: what a broken middlebox or a hub wedged on a lock
 * looks like. Pings and pongs still pass (the ws library answers them whatever the process is stuck
 * on), so the keepalive sees a healthy link; only the protocol's bound on an unanswered push, hello
 * or checkpoint can notice. While it swallows, scanners keep scanning and the hub's catalog changes:
 * the edge must give the link up (status `connected: false`) and the hub must drop its side of the
 * checkpoint it never got an answer for. Once frames pass again, the edge reconnects by itself and
 * every acknowledged scan is at the hub exactly once, and the catalog change at the edge.
 *
 * Both bounds are shortened to seconds for the test (EDGE_SYNC_ANSWER_TIMEOUT_MS,
 * HUB_SYNC_ANSWER_TIMEOUT_MS); the waits below are generous, so a slow machine only makes it slower.
 */

const answerTimeoutMs = 1_500;
const warmupCount = 60;
/** Scanned while the link swallows (the outside review's edge had 161 pending). */
const swallowedCount = 161;
const skus = Array.from({ length: 4 }, (_, n) => `SYNC-SW-${n}`);
const lateSku = 'SYNC-SW-LATE';

type Direction = 'up' | 'down';

/**
 * A loopback TCP proxy that follows each connection's HTTP head and then its RFC 6455 frames, in
 * both directions. `swallow()` drops every data and close frame (ping and pong pass) on every
 * connection, new ones too, and stops relaying closes: a side that goes away leaves the other side
 * open. `pass()` forwards frames again (the swallowed ones stay lost) and relays the closes that
 * were held back.
 */
type SwallowingProxy = {
  url: string;
  /** WebSocket upgrades (`GET /sync`) seen. */
  readonly webSockets: number;
  /** Data frames dropped, per direction (up: edge → hub). */
  readonly swallowed: Record<Direction, number>;
  /** Sockets of WebSocket connections that closed while swallowing, per side. */
  readonly closedWhileSwallowing: { edge: number; hub: number };
  swallow(): void;
  pass(): void;
  close(): Promise<void>;
};

type Half = { socket: net.Socket; buffer: Buffer; phase: 'head' | 'frames' | 'plain'; closed: boolean };
type Pair = { edge: Half; hub: Half; webSocket: boolean };

async function startSwallowingProxy(hubPort: number): Promise<SwallowingProxy> {
  const pairs = new Set<Pair>();
  let swallowing = false;
  let webSockets = 0;
  const swallowed: Record<Direction, number> = { up: 0, down: 0 };
  const closedWhileSwallowing = { edge: 0, hub: 0 };

  /** Whole frames at the front of `half.buffer`, removed from it; a partial frame stays. */
  const takeFrames = (half: Half): Array<{ opcode: number; bytes: Buffer }> => {
    const frames: Array<{ opcode: number; bytes: Buffer }> = [];
    for (;;) {
      const buffer = half.buffer;
      if (buffer.length < 2) return frames;
      const short = (buffer[1] as number) & 0x7f;
      const masked = ((buffer[1] as number) & 0x80) !== 0;
      const lengthBytes = short === 126 ? 2 : short === 127 ? 8 : 0;
      const headerBytes = 2 + lengthBytes + (masked ? 4 : 0);
      if (buffer.length < headerBytes) return frames;
      const payload =
        short === 126 ? buffer.readUInt16BE(2) : short === 127 ? Number(buffer.readBigUInt64BE(2)) : short;
      if (buffer.length < headerBytes + payload) return frames;
      frames.push({ opcode: (buffer[0] as number) & 0x0f, bytes: buffer.subarray(0, headerBytes + payload) });
      half.buffer = buffer.subarray(headerBytes + payload);
    }
  };

  const relay = (pair: Pair, from: Half, to: Half, direction: Direction, chunk: Buffer) => {
    from.buffer = Buffer.concat([from.buffer, chunk]);
    if (from.phase === 'head') {
      const end = from.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = from.buffer.subarray(0, end + 4);
      if (direction === 'up') {
        pair.webSocket = head.subarray(0, 9).toString('latin1') === 'GET /sync';
        if (pair.webSocket) webSockets++;
        pair.hub.phase = pair.webSocket ? 'head' : 'plain';
      }
      from.phase = pair.webSocket ? 'frames' : 'plain';
      from.buffer = from.buffer.subarray(end + 4);
      to.socket.write(head);
    }
    if (from.phase === 'plain') {
      if (from.buffer.length > 0) to.socket.write(from.buffer);
      from.buffer = Buffer.alloc(0);
      return;
    }
    for (const frame of takeFrames(from)) {
      const control = frame.opcode === 0x9 || frame.opcode === 0xa;
      if (swallowing && !control) swallowed[direction]++;
      else to.socket.write(frame.bytes);
    }
  };

  const server = net.createServer({ noDelay: true }, (edgeSocket) => {
    const hubSocket = net.connect({ host: '127.0.0.1', port: hubPort, noDelay: true });
    const half = (socket: net.Socket): Half => ({ socket, buffer: Buffer.alloc(0), phase: 'head', closed: false });
    const pair: Pair = { edge: half(edgeSocket), hub: half(hubSocket), webSocket: false };
    pairs.add(pair);
    const onClose = (side: 'edge' | 'hub') => () => {
      pair[side].closed = true;
      const other = pair[side === 'edge' ? 'hub' : 'edge'];
      if (other.closed) pairs.delete(pair);
      else if (swallowing && pair.webSocket)
        closedWhileSwallowing[side]++; // relayed by pass()
      else other.socket.destroy();
    };
    edgeSocket.on('error', () => edgeSocket.destroy());
    hubSocket.on('error', () => hubSocket.destroy());
    edgeSocket.on('close', onClose('edge'));
    hubSocket.on('close', onClose('hub'));
    edgeSocket.on('data', (chunk: Buffer) => relay(pair, pair.edge, pair.hub, 'up', chunk));
    hubSocket.on('data', (chunk: Buffer) => relay(pair, pair.hub, pair.edge, 'down', chunk));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');

  return {
    url: `http://127.0.0.1:${address.port}`,
    get webSockets() {
      return webSockets;
    },
    swallowed,
    closedWhileSwallowing,
    swallow() {
      swallowing = true;
    },
    pass() {
      swallowing = false;
      for (const pair of [...pairs]) {
        if (!pair.edge.closed && !pair.hub.closed) continue;
        pair.edge.socket.destroy();
        pair.hub.socket.destroy();
        pairs.delete(pair);
      }
    },
    async close() {
      swallowing = false;
      for (const pair of pairs) {
        pair.edge.socket.destroy();
        pair.hub.socket.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** pino's JSON lines in a process's output with `msg` matching. */
function logLines(output: string, msg: RegExp): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return {};
      }
    })
    .filter((line) => typeof line['msg'] === 'string' && msg.test(line['msg']));
}

describe('sync through a proxy that swallows frames without closing the connection', () => {
  const cleanup = new Cleanup();
  const log: ScanLog = newScanLog();
  /** The stock event id the edge answered 201 with, per acknowledged scan. */
  const eventIds = new Map<number, string>();
  let hub: HubProcess;
  let edge: EdgeProcess;
  let proxy: SwallowingProxy;
  let admin = '';
  let token = '';

  /** Scans at the edge, each with its Idempotency-Key; a 201 records the scan and its event id. */
  const scan = (scans: readonly Scan[]) =>
    runPool(scans, 20, async (one) => {
      const response = await requestJson<{ event?: { id?: string } }>(edge.baseUrl, 'POST', '/api/v1/stock/receive', {
        token,
        body: one.body,
        headers: { 'idempotency-key': one.key },
      });
      if (response.status === 201 && typeof response.body.event?.id === 'string') {
        log.acknowledged.set(one.index, one);
        eventIds.set(one.index, response.body.event.id);
      } else log.failures.push(`${one.key}: ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`);
    });

  beforeAll(async () => {
    const hubDir = createTempDir('sync-sw-hub');
    const edgeDir = createTempDir('sync-sw-edge');
    cleanup.add('remove temp dirs', () => {
      removeTempDir(hubDir);
      removeTempDir(edgeDir);
    });
    hub = await startHub(cleanup, {
      dataDir: hubDir,
      env: { HUB_SYNC_ANSWER_TIMEOUT_MS: String(answerTimeoutMs) },
    });
    const prepared = await prepareHub(hub.baseUrl, skus);
    admin = prepared.admin;
    proxy = await startSwallowingProxy(hub.port);
    cleanup.add('close proxy', () => proxy.close());
    edge = await startEdge(cleanup, {
      dataDir: edgeDir,
      hub: { url: proxy.url, ...prepared.credentials },
      env: { EDGE_SYNC_ANSWER_TIMEOUT_MS: String(answerTimeoutMs) },
    });
    token = await signIn(edge.baseUrl, bootstrapStaff);
    await waitUntil(
      'the edge to connect through the proxy',
      async () => ((await edgeSyncStatus(edge, token)).connected ? true : undefined),
      { timeoutMs: 30_000, describe: () => edge.output().slice(-2000) },
    );
  });

  afterAll(async () => {
    await cleanup.runAll();
  });

  it('gives the swallowed link up on both sides, reconnects once frames pass, and delivers every scan once', async () => {
    await scan(makeScans(warmupCount, skus));
    const warm = await waitForDrain(edge, token, { timeoutMs: 60_000, lastSeq: warmupCount });
    expect(warm).toMatchObject({ connected: true, pendingUpstream: 0 });
    const warmOnHand = acknowledgedOnHand(log, skus);
    expect(await hubOnHandBySku(hub.baseUrl, admin, skus)).toEqual(warmOnHand);
    const upgradesBefore = proxy.webSockets;

    proxy.swallow();
    // Downstream: a catalog change the hub sends as a checkpoint the edge will never see.
    await createHubProducts(hub.baseUrl, admin, [lateSku]);
    // Upstream: scans the edge acknowledges and pushes into the void.
    await scan(makeScans(swallowedCount, skus, warmupCount));
    expect(log.failures).toEqual([]);
    const total = warmupCount + swallowedCount;

    // The edge gives the link up on its own, though the hub's pongs keep coming.
    const down = await waitUntil(
      'the edge to drop the swallowing link',
      async () => {
        const status = await edgeSyncStatus(edge, token);
        return status.connected ? undefined : status;
      },
      { timeoutMs: 60_000, intervalMs: 100, describe: () => edge.output().slice(-2000) },
    );
    expect(down.lastError).toMatch(/unanswered/);
    expect(down.pendingUpstream).toBeGreaterThan(0);
    // The hub drops its side too: the checkpoint of the catalog change was never acked.
    await waitUntil(
      'the hub to drop its side of the swallowing link',
      () =>
        proxy.closedWhileSwallowing.hub > 0 &&
        logLines(hub.output(), /unanswered/).some((line) =>
          /no changes_ack: checkpoint catalog/.test(String(line['overdue'])),
        )
          ? true
          : undefined,
      { timeoutMs: 60_000, intervalMs: 50, describe: () => hub.output().slice(-2000) },
    );
    expect(logLines(edge.output(), /unanswered/).length).toBeGreaterThan(0);
    // Nothing got through meanwhile: the hub still has exactly the warm-up.
    expect(proxy.swallowed.up).toBeGreaterThan(0);
    expect(proxy.swallowed.down).toBeGreaterThan(0);
    expect(await hubOnHandBySku(hub.baseUrl, admin, skus)).toEqual(warmOnHand);

    proxy.pass();
    const drained = await waitForDrain(edge, token, { timeoutMs: 60_000, lastSeq: total });
    expect(drained).toMatchObject({ pendingUpstream: 0, upstreamAck: total, upstreamLastSeq: total, rejected: 0 });
    expect(proxy.webSockets).toBeGreaterThan(upgradesBefore);
    await waitUntil(
      'the edge to be connected again',
      async () => ((await edgeSyncStatus(edge, token)).connected ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 100, describe: () => edge.output().slice(-2000) },
    );

    // Exactly once: the counts, and each acknowledged event id at the hub once, nothing else.
    const expected = acknowledgedOnHand(log, skus);
    expect(log.acknowledged.size).toBe(total);
    expect(await edgeOnHand(edge, token, skus)).toEqual(expected);
    expect(await hubOnHandBySku(hub.baseUrl, admin, skus)).toEqual(expected);
    const hubDb = new BetterSqlite3(path.join(hub.dataDir, 'hub.db'), { readonly: true, fileMustExist: true });
    try {
      const atHub = hubDb
        .prepare<[string], { event_id: string; n: number }>(
          'SELECT event_id, count(*) AS n FROM stock_events WHERE warehouse_id = ? GROUP BY event_id',
        )
        .all(warehouseId);
      expect(atHub.filter((row) => row.n !== 1)).toEqual([]);
      expect(atHub.map((row) => row.event_id).sort()).toEqual([...eventIds.values()].sort());

      // The swallowed checkpoint was sent again and acked: the edge's catalog cursor is at the head.
      const head = await waitUntil(
        'the catalog change to reach the edge',
        () => {
          const stream = hubDb
            .prepare<[string], { cursors_json: string }>('SELECT cursors_json FROM edge_streams WHERE warehouse_id = ?')
            .get(warehouseId);
          const channel = hubDb
            .prepare<[], { last_seq: number }>("SELECT last_seq FROM downstream_channels WHERE channel = 'catalog'")
            .get();
          const cursor = (JSON.parse(stream?.cursors_json ?? '{}') as Record<string, number>)['catalog'];
          return channel && cursor === channel.last_seq ? cursor : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(head).toBeGreaterThan(skus.length);
    } finally {
      hubDb.close();
    }
  });
});
