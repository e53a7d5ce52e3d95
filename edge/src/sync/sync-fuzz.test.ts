import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeCodes, downstreamMessageSchema, limits, PROTOCOL_VERSION } from '@dovetail/shared';
import { payloadFor } from '@dovetail/shared/openapi-fuzz';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { startTestEdge, stopTestEdge, type TestEdge } from '../test-support/node.ts';
import { edgeStateDigest } from '../test-support/state-digest.ts';

/**
 * Every downstream frame type (welcome, ack, changes, checkpoint_complete, must_reset, error) drawn
 * from its zod schema, valid ones, ones aimed at this edge (its cursors, its acks) and mutated or
 * plain garbage ones, sent by a WebSocket server playing the hub to a real edge node's sync client,
 * as the first frame or after a welcome. The edge must never fail (no unhandled rejection, the node
 * keeps serving); a frame it refuses closes the link with a protocol code and a reason without
 * internals, and changes nothing in its database; and it reconnects and syncs afterwards: every run
 * starts on its next connection with a catalog change it must apply and acknowledge. Bounded:
 * `DOVETAIL_FUZZ_RUNS` per frame type (each run waits out the edge's reconnect backoff).
 */
const runs = Number(process.env['DOVETAIL_FUZZ_RUNS'] ?? 6);
/** A channel no generated frame names: a checkpoint on it at seq 0 is answered and changes nothing. */
const probeChannel = 'warehouse:PROBE';
/** How the edge may close on a frame it refuses: a protocol violation, or the socket library's "too big". */
const refusalCodes: number[] = [closeCodes.malformed, 1009];

type Frame = { value: unknown } | { text: string } | { binary: Uint8Array };
type Hello = { type: 'hello'; ackedSeq: number; lastSeq: number; cursors: Record<string, number> };
type Connection = {
  socket: WebSocket;
  hello: Hello;
  next(type: string): Promise<Record<string, unknown> | undefined>;
  send(frame: Frame): void;
  closed: Promise<{ code: number; reason: string }>;
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The fake hub: a token endpoint and /sync, handing each edge connection to the test. */
function fakeHub() {
  const connections: Connection[] = [];
  const waiters: Array<() => void> = [];
  const server = http.createServer((request, response) => {
    if (request.url === '/oauth/token') {
      const claims = Buffer.from(JSON.stringify({ epoch: 1, exp: Math.floor(Date.now() / 1000) + 3600 })).toString(
        'base64url',
      );
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ access_token: `e30.${claims}.sig`, token_type: 'Bearer', expires_in: 3600 }));
      return;
    }
    response.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server, path: '/sync' });
  wss.on('connection', (socket) => {
    const inbox: Array<Record<string, unknown>> = [];
    const wakes: Array<() => void> = [];
    const wake = () => {
      for (const one of wakes.splice(0)) one();
    };
    let isClosed = false;
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.on('close', (code, reason) => {
        isClosed = true;
        resolve({ code, reason: reason.toString() });
        wake();
      }),
    );
    const connection: Omit<Connection, 'hello'> = {
      socket,
      closed,
      send(frame) {
        if ('binary' in frame) socket.send(frame.binary, { binary: true });
        else socket.send('text' in frame ? frame.text : JSON.stringify(frame.value));
      },
      async next(type) {
        for (;;) {
          const index = inbox.findIndex((message) => message['type'] === type);
          if (index >= 0) return inbox.splice(index, 1)[0];
          if (isClosed) return undefined;
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`no ${type} from the edge within 10 s: ${JSON.stringify(inbox)}`)),
              10_000,
            );
            wakes.push(() => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
      },
    };
    socket.on('message', (data) => {
      inbox.push(JSON.parse(data.toString()) as Record<string, unknown>);
      wake();
    });
    void connection.next('hello').then((hello) => {
      if (!hello) return;
      connections.push({ ...connection, hello: hello as Hello });
      for (const one of waiters.splice(0)) one();
    });
  });
  return {
    server,
    wss,
    /** The edge's next connection, once its hello arrived. */
    async nextConnection(): Promise<Connection> {
      for (;;) {
        const connection = connections.shift();
        if (connection) return connection;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('the edge did not reconnect within 20 s')), 20_000);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}

let edge: TestEdge;
let hub: ReturnType<typeof fakeHub>;
let productCount = 0;
let previousWentFirst = false;
/** How the frames fared: the generators must reach both outcomes. */
const outcomes = { refused: 0, taken: 0 };

const product = (sku: string) => ({
  id: `p-${sku}`,
  name: `Fuzz ${sku}`,
  category: 'sofa',
  basePrice: 1000,
  currency: 'EUR',
  variants: [{ sku, options: {} }],
  archived: false,
  version: 1,
  createdAt: 1,
  updatedAt: 1,
});

/**
 * The edge's next connection, welcomed, with a catalog change it must apply and acknowledge: it
 * reconnected and still syncs whatever the run before it sent.
 */
async function welcomedAndSyncing(): Promise<Connection> {
  const connection = await hub.nextConnection();
  connection.send({
    value: {
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      upstreamAck: connection.hello.ackedSeq,
      serverTimeMs: Date.now(),
    },
  });
  const seq = (connection.hello.cursors['catalog'] ?? 0) + 1;
  const sku = `FUZZ-${++productCount}`;
  connection.send({
    value: { type: 'changes', channel: 'catalog', changes: [{ seq, kind: 'product.upserted', payload: product(sku) }] },
  });
  connection.send({ value: { type: 'checkpoint_complete', channel: 'catalog', seq, live: true } });
  expect(await connection.next('changes_ack')).toEqual({ type: 'changes_ack', channel: 'catalog', seq });
  expect(edge.db.prepare('SELECT sku FROM catalog_variant WHERE sku = ?').get(sku)).toEqual({ sku });
  return connection;
}

/** Points a generated frame at this edge, so it gets past the cheap checks to the deeper ones. */
function aim(frame: unknown, hello: Hello): unknown[] {
  if (!isRecord(frame)) return [frame];
  switch (frame['type']) {
    case 'welcome':
      return [{ ...frame, protocol: PROTOCOL_VERSION, upstreamAck: hello.ackedSeq }];
    case 'ack':
      return [{ ...frame, upstreamAck: hello.ackedSeq }];
    case 'checkpoint_complete':
      return [{ ...frame, channel: 'catalog', seq: hello.cursors['catalog'] ?? 0 }];
    case 'changes': {
      if (!Array.isArray(frame['changes'])) return [frame];
      const channel = frame['channel'] === 'catalog' ? 'catalog' : 'warehouse:W1';
      const from = hello.cursors[channel] ?? 0;
      const changes = frame['changes'].map((change, index) =>
        isRecord(change) ? { ...change, seq: from + index + 1 } : change,
      );
      return [
        { ...frame, channel, changes },
        { type: 'checkpoint_complete', channel, seq: from + changes.length, live: true },
      ];
    }
    default:
      return [frame];
  }
}

function objectsIn(value: unknown, found: Array<Record<string, unknown>> = []): Array<Record<string, unknown>> {
  if (Array.isArray(value)) for (const item of value) objectsIn(item, found);
  else if (isRecord(value)) {
    found.push(value);
    for (const item of Object.values(value)) objectsIn(item, found);
  }
  return found;
}

type Mutation =
  | { kind: 'drop'; pick: number; field: number }
  | { kind: 'add'; pick: number; key: string; value: unknown }
  | { kind: 'replace'; pick: number; field: number; value: unknown };
const mutations: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), pick: fc.nat(), field: fc.nat() }),
  fc.record({
    kind: fc.constant('add' as const),
    pick: fc.nat(),
    key: fc.string({ minLength: 1, maxLength: 8 }),
    value: fc.jsonValue({ maxDepth: 1 }),
  }),
  fc.record({
    kind: fc.constant('replace' as const),
    pick: fc.nat(),
    field: fc.nat(),
    value: fc.jsonValue({ maxDepth: 2 }),
  }),
);

function mutate(frame: unknown, mutation: Mutation): unknown {
  const copy = structuredClone(frame);
  const target = objectsIn(copy)[mutation.pick % Math.max(1, objectsIn(copy).length)];
  if (!target) return copy;
  const keys = Object.keys(target);
  if (mutation.kind === 'add') target[mutation.key] = mutation.value;
  else if (keys.length > 0) {
    const key = keys[mutation.field % keys.length] as string;
    if (mutation.kind === 'drop') delete target[key];
    else target[key] = mutation.value;
  }
  return copy;
}

/** Valid frames of each type, for the mutations and the truncations to start from. */
const validFrames = (hello: Hello): unknown[] => [
  { type: 'welcome', protocol: PROTOCOL_VERSION, upstreamAck: hello.ackedSeq, serverTimeMs: 1 },
  { type: 'ack', upstreamAck: hello.ackedSeq },
  {
    type: 'changes',
    channel: 'catalog',
    changes: [{ seq: (hello.cursors['catalog'] ?? 0) + 1, kind: 'product.upserted', payload: product('MUTANT') }],
  },
  { type: 'checkpoint_complete', channel: 'catalog', seq: hello.cursors['catalog'] ?? 0, live: true },
  { type: 'must_reset', channel: 'catalog', reason: 'cursor_ahead' },
  { type: 'error', code: 'internal', message: 'hub trouble' },
];

/**
 * One run: on the edge's next connection (welcomed and syncing, unless the frames go first), the
 * frames and then the probe. The probe's answer means the frames were taken; a close means refused:
 * then a protocol code, a reason without internals, and no table changed.
 */
async function sendAndCheck(make: (hello: Hello) => Frame[], firstAsked: boolean): Promise<void> {
  // A link refused before any welcome backs off twice as long each time (up to 30 s): a run that
  // goes first follows a welcomed one, so the backoff never grows past its second step.
  const first = firstAsked && !previousWentFirst;
  previousWentFirst = first;
  const connection = first ? await hub.nextConnection() : await welcomedAndSyncing();
  const frames = make(connection.hello);
  const described = JSON.stringify(frames).slice(0, 400);
  const before = await edgeStateDigest(edge.db);
  for (const frame of frames) connection.send(frame);
  connection.send({ value: { type: 'checkpoint_complete', channel: probeChannel, seq: 0, live: true } });
  const probe = await connection.next('changes_ack');
  if (probe === undefined) {
    outcomes.refused++;
    const { code, reason } = await connection.closed;
    expect(refusalCodes, `closed ${code} ${reason} on ${described}`).toContain(code);
    expect(reason).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
    expect(await edgeStateDigest(edge.db), `refused ${described}`).toEqual(before);
  } else {
    outcomes.taken++;
    connection.socket.close(1001, 'next run');
  }
}

describe('generated and mutated hub frames against an edge', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    hub = fakeHub();
    await new Promise<void>((resolve) => hub.server.listen(0, '127.0.0.1', () => resolve()));
    const port = (hub.server.address() as AddressInfo).port;
    edge = await startTestEdge({
      hubUrl: `http://127.0.0.1:${port}`,
      hubCredentials: { clientId: 'edge-W1', clientSecret: 'fuzz-secret' },
    });
    // The probe channel's cursor exists from the start, so answering the probe changes nothing.
    const connection = await welcomedAndSyncing();
    connection.send({ value: { type: 'checkpoint_complete', channel: probeChannel, seq: 0, live: true } });
    expect(await connection.next('changes_ack')).toMatchObject({ channel: probeChannel, seq: 0 });
    connection.socket.close(1001, 'next run');
  }, 60_000);
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await stopTestEdge(edge);
    for (const client of hub.wss.clients) client.terminate();
    await new Promise<void>((resolve) => hub.wss.close(() => resolve()));
    hub.server.closeAllConnections();
    await new Promise<void>((resolve) => hub.server.close(() => resolve()));
  });

  for (const option of downstreamMessageSchema.options) {
    const type = option.shape.type.value;
    const values = payloadFor(
      z.toJSONSchema(option, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>,
    );
    it(`${type} frames from the schema, aimed or not, first or after a welcome`, async () => {
      await fc.assert(
        fc.asyncProperty(values, fc.boolean(), fc.boolean(), async (value, aimed, first) => {
          await sendAndCheck((hello) => (aimed ? aim(value, hello) : [value]).map((one) => ({ value: one })), first);
        }),
        { numRuns: runs, endOnFailure: true },
      );
    });
  }

  it('valid frames with a field dropped, added or replaced anywhere inside', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(5), mutations, fc.boolean(), async (which, mutation, first) => {
        await sendAndCheck((hello) => [{ value: mutate(validFrames(hello)[which], mutation) }], first);
      }),
      { numRuns: runs * 2, endOnFailure: true },
    );
  });

  it('garbage: text that is not JSON, JSON of any shape, truncated frames, binary frames, deep nesting', async () => {
    const garbage: fc.Arbitrary<(hello: Hello) => Frame[]> = fc.oneof(
      fc.string({ maxLength: 200 }).map((text) => () => [{ text }]),
      fc.jsonValue({ maxDepth: 3 }).map((value) => () => [{ value }]),
      fc.tuple(fc.nat(5), fc.nat()).map(([which, cut]) => (hello: Hello) => {
        const text = JSON.stringify(validFrames(hello)[which]);
        return [{ text: text.slice(0, cut % text.length) }];
      }),
      fc.uint8Array({ maxLength: 64 }).map((binary) => () => [{ binary }]),
      fc.integer({ min: 1, max: 20_000 }).map((depth) => () => [{ text: `${'['.repeat(depth)}${']'.repeat(depth)}` }]),
    );
    await fc.assert(
      fc.asyncProperty(garbage, fc.boolean(), async (make, first) => {
        await sendAndCheck(make, first);
      }),
      { numRuns: runs * 2, endOnFailure: true },
    );
  });

  it('a frame over the size bound', async () => {
    const padding = ' '.repeat(limits.syncFrameBytesMax);
    await sendAndCheck((hello) => [{ text: `${JSON.stringify(validFrames(hello)[1])}${padding}` }], false);
  });

  it('still syncs both ways afterwards, and the digest sees what a sync changes', async () => {
    const connection = await welcomedAndSyncing();
    const before = await edgeStateDigest(edge.db);
    const token = await edge.login();
    const received = await edge.call('POST', '/api/v1/stock/receive', { token, body: { sku: 'FUZZ-1', quantity: 2 } });
    expect(received.status).toBe(201);
    const push = (await connection.next('push')) as { events: Array<{ seq: number; event: { sku: string } }> };
    const last = push.events.at(-1);
    expect(last?.event.sku).toBe('FUZZ-1');
    connection.send({ value: { type: 'ack', upstreamAck: last?.seq } });
    for (let tries = 0; tries < 100; tries++) {
      const row = edge.db.prepare('SELECT acked_seq FROM upstream').get() as { acked_seq: number };
      if (row.acked_seq === last?.seq) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(edge.db.prepare('SELECT acked_seq FROM upstream').get()).toEqual({ acked_seq: last?.seq });
    expect(await edgeStateDigest(edge.db)).not.toEqual(before);
    connection.socket.close(1001, 'done');
  });

  it('reached both refused and accepted frames, and left no unhandled rejection behind', () => {
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.taken).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
  });
});
