import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type DownstreamMessage, PROTOCOL_VERSION, type StockEvent, closeCodes, limits, newId } from '@dovetail/shared';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type TestHub, adminToken, call, clientToken, sofa, startTestHub } from '../testing/harness.ts';
import { answerTimeoutFromEnv } from './server.ts';

/**
 * The hub's /sync endpoint over a real socket, spoken to frame by frame: what a well-behaved edge
 * gets, and what every kind of misbehaviour gets.
 */
type Client = {
  socket: WebSocket;
  next(type?: DownstreamMessage['type']): Promise<DownstreamMessage>;
  send(message: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
};

let hub: TestHub;
let server: http.Server;
let port: number;
let admin: string;
let edgeCredentials: { clientId: string; clientSecret: string };
/** `HUB_UNCATALOGED_STOCK` of the hub the next test starts (a describe block may switch it). */
let uncatalogedStock: 'accept' | 'refuse' = 'accept';

async function connect(token: string | undefined): Promise<Client> {
  const socket = new WebSocket(
    `ws://127.0.0.1:${port}/sync`,
    token ? { headers: { authorization: `Bearer ${token}` } } : {},
  );
  const inbox: DownstreamMessage[] = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (data) => {
    inbox.push(JSON.parse(data.toString()) as DownstreamMessage);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_request, response) =>
      reject(new Error(`upgrade answered ${response.statusCode}`)),
    );
    socket.once('error', reject);
  });
  return {
    socket,
    closed,
    send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
    async next(type) {
      for (;;) {
        const index = inbox.findIndex((message) => type === undefined || message.type === type);
        if (index >= 0) return inbox.splice(index, 1)[0] as DownstreamMessage;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`no ${type ?? 'message'} within 5 s; inbox: ${JSON.stringify(inbox)}`)),
            5_000,
          );
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}

const event = (sku: string, quantity: number, warehouseId = 'W1'): StockEvent => ({
  type: 'receive',
  sku,
  quantity,
  id: newId(),
  warehouseId,
  hlc: `${String(Date.now()).padStart(13, '0')}-0000-edge`,
  atMs: Date.now(),
  actor: 'lead',
});
const hello = (edgeId: string, lastSeq: number, epoch = 1) => ({
  type: 'hello',
  protocol: PROTOCOL_VERSION,
  warehouseId: 'W1',
  edgeId,
  epoch,
  lastSeq,
  cursors: {},
});
const onHand = async (sku: string) => {
  const response = await call(hub, 'GET', `/api/v1/inventory/${sku}`, { token: admin });
  return response.status === 200 ? (response.body.onHand as number) : 0;
};
const edgeToken = () => clientToken(hub, edgeCredentials.clientId, edgeCredentials.clientSecret);

async function welcomed(lastSeq = 0, edgeId = '4324181b-6492-4e8d-9cb2-d994c810dd59'): Promise<Client> {
  const client = await connect(await edgeToken());
  client.send(hello(edgeId, lastSeq));
  await client.next('welcome');
  return client;
}

describe('HUB_SYNC_ANSWER_TIMEOUT_MS', () => {
  it('sets the answer bound in whole milliseconds within the limits, and refuses anything else', () => {
    expect(answerTimeoutFromEnv(undefined)).toBe(limits.syncAnswerTimeoutMs);
    expect(answerTimeoutFromEnv('')).toBe(limits.syncAnswerTimeoutMs);
    expect(answerTimeoutFromEnv('2000')).toBe(2_000);
    for (const bad of ['0', '-2000', '2000.5', 'soon', '99', String(limits.syncAnswerTimeoutMsMax + 1), 'Infinity'])
      expect(() => answerTimeoutFromEnv(bad), bad).toThrow(/HUB_SYNC_ANSWER_TIMEOUT_MS/);
  });
});

describe.each(['sqlite', 'postgres'] as const)('the /sync endpoint on %s', (adapter) => {
  beforeEach(async () => {
    hub = await startTestHub(adapter);
    server = serve({ fetch: hub.app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    port = (server.address() as AddressInfo).port;
    await hub.startSync(server, { pollIntervalMs: 100, uncatalogedStock });
    admin = await adminToken(hub);
    await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') });
    await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id: 'W1', name: 'Amsterdam', kind: 'warehouse', location: { lat: 52.4, lon: 4.9 } },
    });
    const enrolled = await call(hub, 'POST', '/api/v1/warehouses/W1/edges', { token: admin, body: {} });
    edgeCredentials = enrolled.body;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await hub.dispose();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('refuses upgrades without an edge token (401), with another role (403), and on other paths (404)', async () => {
    await expect(connect(undefined)).rejects.toThrow(/401/);
    await expect(connect('not-a-jwt')).rejects.toThrow(/401/);
    await expect(connect(admin)).rejects.toThrow(/403/);
    const other = new WebSocket(`ws://127.0.0.1:${port}/elsewhere`, {
      headers: { authorization: `Bearer ${await edgeToken()}` },
    });
    await expect(
      new Promise((resolve, reject) => {
        other.once('unexpected-response', (_request, response) =>
          reject(new Error(`upgrade answered ${response.statusCode}`)),
        );
        other.once('open', resolve);
      }),
    ).rejects.toThrow(/404/);
  });

  it('welcomes a new edge at seq 0 and streams the catalog as a checkpoint', async () => {
    const client = await connect(await edgeToken());
    client.send(hello('4324181b-6492-4e8d-9cb2-d994c810dd59', 0));
    expect(await client.next('welcome')).toMatchObject({ upstreamAck: 0, protocol: PROTOCOL_VERSION });
    const changes = await client.next('changes');
    expect(changes).toMatchObject({ channel: 'catalog', changes: [{ seq: 1, kind: 'product.upserted' }] });
    expect(await client.next('checkpoint_complete')).toMatchObject({ channel: 'catalog', seq: 1, live: true });
    client.send({ type: 'changes_ack', channel: 'catalog', seq: 1 });
    client.socket.close();
  });

  it('applies each seq once: duplicates are ignored and a gap is answered with the current ack', async () => {
    const client = await welcomed();
    const batch = [
      { seq: 1, event: event('SOFA-1', 5) },
      { seq: 2, event: event('SOFA-1', 3) },
    ];
    client.send({ type: 'push', events: batch });
    expect(await client.next('ack')).toMatchObject({ type: 'ack', upstreamAck: 2 });
    client.send({ type: 'push', events: batch });
    expect(await client.next('ack')).toEqual({ type: 'ack', upstreamAck: 2 });
    client.send({ type: 'push', events: [{ seq: 4, event: event('SOFA-1', 100) }] });
    expect(await client.next('ack')).toEqual({ type: 'ack', upstreamAck: 2 });
    expect(await onHand('SOFA-1')).toBe(8);
    client.socket.close();
  });

  it('acks with the replica checksum, and a reconcile event from the edge repairs a drifted replica', async () => {
    const { emptyPartition, partitionChecksum } = await import('@dovetail/shared');
    const client = await welcomed();
    client.send({ type: 'push', events: [{ seq: 1, event: event('SOFA-1', 5) }] });
    const edgeState = { ...emptyPartition(), onHand: 5, bins: [['UNASSIGNED', 5]] as Array<[string, number]> };
    expect(await client.next('ack')).toEqual({
      type: 'ack',
      upstreamAck: 1,
      checksums: [{ sku: 'SOFA-1', checksum: partitionChecksum(edgeState) }],
    });
    // The replica drifts (a restored hub backup, a bug): it believes there are 2.
    const driftedState = { ...emptyPartition(), onHand: 2, bins: [['UNASSIGNED', 2]] as Array<[string, number]> };
    await hub.storage.db
      .updateTable('stock_partitions')
      .set({ state_json: JSON.stringify(driftedState), on_hand: 2 })
      .where('sku', '=', 'SOFA-1')
      .execute();
    const transfer = {
      ...event('SOFA-1', 4),
      type: 'transfer_out',
      transferId: 'T1',
      toWarehouseId: 'W2',
    } as StockEvent;
    client.send({ type: 'push', events: [{ seq: 2, event: transfer }] });
    const refused = await client.next('ack');
    expect(refused).toMatchObject({
      upstreamAck: 2,
      rejected: [{ seq: 2, reason: 'insufficient_sellable' }],
      checksums: [{ sku: 'SOFA-1', checksum: partitionChecksum(driftedState) }],
    });
    // The edge (owner) holds 1 after its transfer and restates it.
    const owner = { ...emptyPartition(), onHand: 1, bins: [['UNASSIGNED', 1]] as Array<[string, number]> };
    const reconcile = { ...event('SOFA-1', 1), type: 'reconcile', state: owner } as unknown as StockEvent;
    delete (reconcile as { quantity?: number }).quantity;
    client.send({ type: 'push', events: [{ seq: 3, event: reconcile }] });
    expect(await client.next('ack')).toEqual({
      type: 'ack',
      upstreamAck: 3,
      checksums: [{ sku: 'SOFA-1', checksum: partitionChecksum(owner) }],
    });
    expect(await onHand('SOFA-1')).toBe(1);
    client.socket.close();
  });

  it('records stock of a SKU the catalog does not list, unsellable until a product lists it', async () => {
    const client = await welcomed();
    client.send({
      type: 'push',
      events: [
        { seq: 1, event: event('GHOST-9', 2) },
        { seq: 2, event: event('SOFA-1', 1) },
      ],
    });
    const ack = await client.next('ack');
    expect(ack).toMatchObject({ type: 'ack', upstreamAck: 2 });
    expect(ack.type === 'ack' && ack.rejected).toBeFalsy();
    // The partition is the edge's to write: the hub's replica of it is checked like any other.
    expect(ack.type === 'ack' && ack.checksums?.map((entry) => entry.sku).sort()).toEqual(['GHOST-9', 'SOFA-1']);
    const ghost = await call(hub, 'GET', '/api/v1/inventory/GHOST-9', { token: admin });
    expect(ghost.body).toMatchObject({ sku: 'GHOST-9', cataloged: false, onHand: 2, available: 2 });
    const refused = await call(hub, 'POST', '/api/v1/inventory/reserve', {
      token: admin,
      body: { lines: [{ sku: 'GHOST-9', quantity: 1 }] },
    });
    expect(refused.status, JSON.stringify(refused.body)).toBe(404);
    expect(refused.body.error.code).toBe('unknown_sku');
    await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('GHOST-9') });
    const listed = await call(hub, 'GET', '/api/v1/inventory/GHOST-9', { token: admin });
    expect(listed.body).toMatchObject({ cataloged: true, onHand: 2 });
    const held = await call(hub, 'POST', '/api/v1/inventory/reserve', {
      token: admin,
      body: { lines: [{ sku: 'GHOST-9', quantity: 2 }] },
    });
    expect(held.status).toBe(201);
    client.socket.close();
  });

  describe('with HUB_UNCATALOGED_STOCK=refuse', () => {
    beforeAll(() => {
      uncatalogedStock = 'refuse';
    });
    afterAll(() => {
      uncatalogedStock = 'accept';
    });

    it('durably rejects an unknown SKU with a reason and moves on', async () => {
      const client = await welcomed();
      client.send({
        type: 'push',
        events: [
          { seq: 1, event: event('GHOST-9', 2) },
          { seq: 2, event: event('SOFA-1', 1) },
        ],
      });
      const ack = await client.next('ack');
      expect(ack).toMatchObject({
        type: 'ack',
        upstreamAck: 2,
        rejected: [{ seq: 1, reason: 'unknown_sku', message: expect.stringContaining('GHOST-9') }],
      });
      // An unknown SKU has no replica to check; the applied one does.
      expect(ack.type === 'ack' && ack.checksums?.map((entry) => entry.sku)).toEqual(['SOFA-1']);
      expect(await onHand('SOFA-1')).toBe(1);
      expect(await onHand('GHOST-9')).toBe(0);
      client.socket.close();
    });
  });

  it('closes with 4403 and applies nothing when an edge pushes for another warehouse', async () => {
    const client = await welcomed();
    client.send({
      type: 'push',
      events: [
        { seq: 1, event: event('SOFA-1', 4) },
        { seq: 2, event: event('SOFA-1', 4, 'W2') },
      ],
    });
    expect((await client.closed).code).toBe(closeCodes.forbidden);
    expect(await onHand('SOFA-1')).toBe(0);
  });

  it('closes with 4400 on a malformed frame, an oversized batch or a frame before hello', async () => {
    const malformed = await welcomed();
    malformed.send('{"type":"push","events":[{"seq":1}]}');
    expect((await malformed.closed).code).toBe(closeCodes.malformed);
    const early = await connect(await edgeToken());
    early.send({ type: 'push', events: [{ seq: 1, event: event('SOFA-1', 4) }] });
    expect((await early.closed).code).toBe(closeCodes.malformed);
    expect(await onHand('SOFA-1')).toBe(0);
  });

  it('refuses a hello without a supported protocol version (4400) and one for another warehouse (4403)', async () => {
    const old = await connect(await edgeToken());
    old.send({ ...hello('4324181b-6492-4e8d-9cb2-d994c810dd59', 0), protocol: 0 });
    expect((await old.closed).code).toBe(closeCodes.malformed);
    const foreign = await connect(await edgeToken());
    foreign.send({ ...hello('4324181b-6492-4e8d-9cb2-d994c810dd59', 0), warehouseId: 'W2' });
    expect((await foreign.closed).code).toBe(closeCodes.forbidden);
  });

  it('fences the old edge with 4409 once the warehouse is re-enrolled', async () => {
    const client = await welcomed();
    await call(hub, 'POST', '/api/v1/warehouses/W1/edges', { token: admin, body: {} });
    client.send({ type: 'push', events: [{ seq: 1, event: event('SOFA-1', 4) }] });
    expect((await client.closed).code).toBe(closeCodes.fenced);
    expect(await onHand('SOFA-1')).toBe(0);
    await expect(edgeToken()).rejects.toThrow(/401/);
  });

  it('refuses an edge database that is behind what the hub applied (restored from a backup)', async () => {
    const client = await welcomed();
    client.send({
      type: 'push',
      events: [
        { seq: 1, event: event('SOFA-1', 1) },
        { seq: 2, event: event('SOFA-1', 1) },
      ],
    });
    await client.next('ack');
    client.socket.close();
    const restored = await connect(await edgeToken());
    restored.send(hello('4324181b-6492-4e8d-9cb2-d994c810dd59', 1));
    expect(await restored.next('error')).toMatchObject({
      code: 'fenced',
      message: expect.stringContaining('restored from a backup'),
    });
    expect((await restored.closed).code).toBe(closeCodes.fenced);
  });

  it('takes a restored edge back after re-enrollment: its stream restarts at its ack and known events count once', async () => {
    const first = await welcomed();
    const known = [
      { seq: 1, event: event('SOFA-1', 2) },
      { seq: 2, event: event('SOFA-1', 3) },
      { seq: 3, event: event('SOFA-1', 4) },
    ];
    first.send({ type: 'push', events: known });
    expect(await first.next('ack')).toMatchObject({ type: 'ack', upstreamAck: 3 });
    first.socket.close();
    // The backup was taken when seq 1 was acked and seqs 2..3 were still in its outbox.
    const enrolled = await call(hub, 'POST', '/api/v1/warehouses/W1/edges', { token: admin, body: {} });
    edgeCredentials = enrolled.body;
    const restored = await connect(await edgeToken());
    restored.send({ ...hello('4324181b-6492-4e8d-9cb2-d994c810dd59', 3, enrolled.body.epoch), ackedSeq: 1 });
    expect(await restored.next('welcome')).toMatchObject({ upstreamAck: 1 });
    restored.send({ type: 'push', events: [known[1], known[2], { seq: 4, event: event('SOFA-1', 10) }] });
    expect(await restored.next('ack')).toMatchObject({ type: 'ack', upstreamAck: 4 });
    expect(await onHand('SOFA-1')).toBe(19);
    restored.socket.close();
  });

  it('reports each edge with its link state and upstream lag at GET /api/v1/edges', async () => {
    const client = await welcomed(3);
    client.send({ type: 'push', events: [{ seq: 1, event: event('SOFA-1', 1) }] });
    await client.next('ack');
    const edges = await call(hub, 'GET', '/api/v1/edges', { token: admin });
    expect(edges.status).toBe(200);
    expect(edges.body.items).toMatchObject([
      { warehouseId: 'W1', connected: true, upstream: { appliedSeq: 1, lastSeq: 3, lagEvents: 2 } },
    ]);
    client.socket.close();
    await client.closed;
    for (let i = 0; i < 50; i++) {
      const after = await call(hub, 'GET', '/api/v1/edges', { token: admin });
      if (after.body.items[0].connected === false) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('the edge still shows as connected after its socket closed');
  });

  it('delivers a change appended without a wake-up (another instance, a lost notify) at the next poll', async () => {
    const client = await welcomed();
    let first = await client.next('changes');
    while (first.type === 'changes' && first.channel !== 'catalog') first = await client.next('changes');
    expect(first).toMatchObject({ channel: 'catalog', changes: [{ seq: 1 }] });
    client.send({ type: 'changes_ack', channel: 'catalog', seq: 1 });
    // Once the hub stored that ack (nothing in flight any more), a change written behind the
    // notifier's back can only be found by the server's slow poll.
    const db = hub.storage.db;
    for (let i = 0; i < 100; i++) {
      const stream = await db.selectFrom('edge_streams').select('cursors_json').executeTakeFirst();
      if (stream && JSON.parse(stream.cursors_json).catalog === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const logged = await db
      .selectFrom('downstream_log')
      .selectAll()
      .where('channel', '=', 'catalog')
      .executeTakeFirstOrThrow();
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('downstream_log')
        .values({ ...logged, seq: 2 })
        .execute();
      await trx.updateTable('downstream_channels').set({ last_seq: 2 }).where('channel', '=', 'catalog').execute();
    });
    // The next catalog page (the warehouse channel's own first page may come before it).
    let page = await client.next('changes');
    while (page.type === 'changes' && page.channel !== 'catalog') page = await client.next('changes');
    expect(page).toMatchObject({ channel: 'catalog', changes: [{ seq: 2 }] });
    client.socket.close();
  });

  it('acks each of many edges pushing at once on its own, and refuses only the push of a superseded stream', async () => {
    // On SQLite these pushes share commits (group-commit.ts): each must still get its own outcome.
    const others = ['W2', 'W3', 'W4'];
    const clients: Array<{ warehouseId: string; client: Client }> = [];
    for (const warehouseId of others) {
      await call(hub, 'POST', '/api/v1/warehouses', {
        token: admin,
        body: { id: warehouseId, name: warehouseId, kind: 'warehouse', location: { lat: 52, lon: 5 } },
      });
      const enrolled = await call(hub, 'POST', `/api/v1/warehouses/${warehouseId}/edges`, { token: admin, body: {} });
      const client = await connect(await clientToken(hub, enrolled.body.clientId, enrolled.body.clientSecret));
      client.send({ ...hello(newId(), 0), warehouseId });
      await client.next('welcome');
      clients.push({ warehouseId, client });
    }
    // W1's old socket, then a new incarnation of W1 takes the stream over.
    const old = await welcomed(0, '4324181b-6492-4e8d-9cb2-d994c810dd59');
    const current = await welcomed(0, 'a8f0c2de-64f1-4f43-9d7e-3f1b8e0c9a11');

    old.send({ type: 'push', events: [{ seq: 1, event: event('SOFA-1', 100) }] });
    for (const [index, { warehouseId, client }] of clients.entries())
      client.send({
        type: 'push',
        events: [
          { seq: 1, event: event('SOFA-1', index + 1, warehouseId) },
          { seq: 2, event: event('SOFA-1', 10, warehouseId) },
        ],
      });
    current.send({ type: 'push', events: [{ seq: 1, event: event('SOFA-1', 7) }] });

    expect((await old.closed).code).toBe(closeCodes.fenced);
    expect(await current.next('ack')).toMatchObject({ type: 'ack', upstreamAck: 1 });
    for (const { client } of clients) expect(await client.next('ack')).toMatchObject({ type: 'ack', upstreamAck: 2 });
    const inventory = await call(hub, 'GET', '/api/v1/inventory/SOFA-1', { token: admin });
    const byWarehouse = Object.fromEntries(
      (inventory.body.warehouses as Array<{ warehouseId: string; onHand: number }>).map((entry) => [
        entry.warehouseId,
        entry.onHand,
      ]),
    );
    expect(byWarehouse).toEqual({ W1: 7, W2: 11, W3: 12, W4: 13 });
    current.socket.close();
    for (const { client } of clients) client.socket.close();
  });

  describe('with a short answer bound (HUB_SYNC_ANSWER_TIMEOUT_MS)', () => {
    // Read when the sync server attaches, in the outer beforeEach, which runs after this.
    beforeAll(() => {
      process.env['HUB_SYNC_ANSWER_TIMEOUT_MS'] = '1000';
    });
    afterAll(() => {
      delete process.env['HUB_SYNC_ANSWER_TIMEOUT_MS'];
    });

    it('drops a socket whose checkpoint the edge never acks, and sends the checkpoint again on the next', async () => {
      const silent = await welcomed();
      expect(await silent.next('checkpoint_complete')).toMatchObject({ channel: 'catalog', seq: 1 });
      // The socket itself is healthy (a ws client answers pings by itself): only the changes_ack is missing.
      expect((await silent.closed).code).toBe(1006);
      const stream = await hub.storage.db.selectFrom('edge_streams').select('cursors_json').executeTakeFirstOrThrow();
      expect(JSON.parse(stream.cursors_json)).toEqual({});

      const next = await welcomed();
      expect(await next.next('changes')).toMatchObject({ channel: 'catalog', changes: [{ seq: 1 }] });
      expect(await next.next('checkpoint_complete')).toMatchObject({ channel: 'catalog', seq: 1 });
      next.send({ type: 'changes_ack', channel: 'catalog', seq: 1 });
      next.send({ type: 'push', events: [{ seq: 1, event: event('SOFA-1', 2) }] });
      expect(await next.next('ack')).toMatchObject({ type: 'ack', upstreamAck: 1 });
      expect(await onHand('SOFA-1')).toBe(2);
      next.socket.close();
    });

    it('drops a socket that never says hello', async () => {
      const mute = await connect(await edgeToken());
      expect((await mute.closed).code).toBe(1006);
      expect(await hub.storage.db.selectFrom('edge_streams').selectAll().execute()).toEqual([]);
    });
  });
});
