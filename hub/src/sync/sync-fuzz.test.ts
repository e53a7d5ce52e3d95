import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import {
  closeCodes,
  decodeDownstream,
  type DownstreamMessage,
  limits,
  newId,
  PROTOCOL_VERSION,
  type StockEvent,
  upstreamMessageSchema,
} from '@dovetail/shared';
import { payloadFor } from '@dovetail/shared/openapi-fuzz';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { adminToken, call, clientToken, sofa, startTestHub, type TestHub } from '../testing/harness.ts';
import { hubStateDigest } from '../testing/state-digest.ts';

/**
 * Every upstream frame type (hello, push, changes_ack) drawn from its zod schema, valid ones,
 * ones aimed at this hub (its warehouse, epoch and next seq) and mutated or plain garbage ones, sent
 * over a real WebSocket to a real hub's /sync, as the first frame or after a welcomed hello. The
 * hub must never fail (no close 1011, no unhandled rejection); a frame it refuses gets an `error`
 * frame without internals and a protocol close, and changes nothing in its database; and afterwards
 * a fresh connection still gets a valid push applied. On SQLite and PostgreSQL; bounded:
 * `DOVETAIL_FUZZ_RUNS` × 3 runs per kind.
 */
const runs = Number(process.env['DOVETAIL_FUZZ_RUNS'] ?? 6) * 3;
const edgeId = '4324181b-6492-4e8d-9cb2-d994c810dd59';
/** What a refusal may close with: the protocol's codes, and the socket library's own "too big". */
const refusalCodes: number[] = [
  closeCodes.malformed,
  closeCodes.forbidden,
  closeCodes.fenced,
  closeCodes.protocolUnsupported,
  1009,
];

type Frame = { value: unknown } | { text: string } | { binary: Uint8Array };
type Client = {
  socket: WebSocket;
  inbox: unknown[];
  next(type: DownstreamMessage['type']): Promise<DownstreamMessage | undefined>;
  send(frame: Frame): void;
  closed: Promise<number>;
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const receiveEvent = (quantity: number, sku = 'SOFA-1'): StockEvent => ({
  type: 'receive',
  sku,
  quantity,
  id: newId(),
  warehouseId: 'W1',
  hlc: `${String(Date.now()).padStart(13, '0')}-0000-edge`,
  atMs: Date.now(),
  actor: 'lead',
});

/** Points a generated frame at this hub, so it gets past the cheap checks to the deeper ones. */
function aim(frame: unknown, nextSeq: number): unknown {
  if (!isRecord(frame)) return frame;
  if (frame['type'] === 'hello') return { ...frame, warehouseId: 'W1', epoch: 1, protocol: PROTOCOL_VERSION };
  if (frame['type'] === 'changes_ack') return { ...frame, channel: 'catalog' };
  if (frame['type'] === 'push' && Array.isArray(frame['events']))
    return {
      ...frame,
      events: frame['events'].map((entry, index) =>
        isRecord(entry)
          ? {
              ...entry,
              seq: nextSeq + index,
              event: isRecord(entry['event']) ? { ...entry['event'], warehouseId: 'W1' } : entry['event'],
            }
          : entry,
      ),
    };
  return frame;
}

/** Every object inside a value, with a way to replace it: where a mutation may strike. */
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
  const objects = objectsIn(copy);
  const target = objects[mutation.pick % objects.length];
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
const validFrames = (nextSeq: number) => [
  { type: 'hello', protocol: PROTOCOL_VERSION, warehouseId: 'W1', edgeId, epoch: 1, lastSeq: nextSeq, cursors: {} },
  { type: 'push', events: [{ seq: nextSeq, event: receiveEvent(1) }] },
  { type: 'changes_ack', channel: 'catalog', seq: 1 },
];

let hub: TestHub;
/** How the frames fared: the generators must reach both outcomes. */
const outcomes = { refused: 0, taken: 0 };
let server: http.Server;
let port: number;
let admin: string;
let edgeToken: string;

async function connect(): Promise<Client> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/sync`, { headers: { authorization: `Bearer ${edgeToken}` } });
  const inbox: unknown[] = [];
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  socket.on('message', (data) => {
    inbox.push(JSON.parse(data.toString()));
    wake();
  });
  const closed = new Promise<number>((resolve) =>
    socket.on('close', (code) => {
      resolve(code);
      wake();
    }),
  );
  let isClosed = false;
  void closed.then(() => {
    isClosed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    inbox,
    closed,
    send(frame) {
      if ('binary' in frame) socket.send(frame.binary, { binary: true });
      else socket.send('text' in frame ? frame.text : JSON.stringify(frame.value));
    },
    /** The next frame of that type, or undefined once the socket closed without one. */
    async next(type) {
      for (;;) {
        const index = inbox.findIndex((message) => isRecord(message) && message['type'] === type);
        if (index >= 0) return inbox.splice(index, 1)[0] as DownstreamMessage;
        if (isClosed) return undefined;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`no ${type} within 10 s; inbox: ${JSON.stringify(inbox)}`)),
            10_000,
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

/** Where the hub's stream for W1 stands: what the next valid hello and push must say. */
async function stream(): Promise<{ edgeId: string; applied: number }> {
  const row = await hub.storage.db
    .selectFrom('edge_streams')
    .select(['edge_id', 'applied_seq'])
    .where('warehouse_id', '=', 'W1')
    .executeTakeFirst();
  return { edgeId: row?.edge_id ?? edgeId, applied: Number(row?.applied_seq ?? 0) };
}

/**
 * A welcomed connection of a new edge database (a fresh incarnation, nothing pushed yet): whatever
 * generated hellos did to the stream before, an honest edge starts here at seq 0.
 */
async function welcomed(): Promise<{ client: Client; applied: number }> {
  const client = await connect();
  client.send({
    value: {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      warehouseId: 'W1',
      edgeId: crypto.randomUUID(),
      epoch: 1,
      lastSeq: 0,
      ackedSeq: 0,
      cursors: {},
    },
  });
  const welcome = await client.next('welcome');
  expect(welcome, JSON.stringify(client.inbox)).toMatchObject({ type: 'welcome', upstreamAck: 0 });
  return { client, applied: 0 };
}

const onHand = async () => {
  const response = await call(hub, 'GET', '/api/v1/inventory/SOFA-1', { token: admin });
  return response.status === 200 ? (response.body.onHand as number) : 0;
};

/** Afterwards the hub still works: a fresh connection's valid push is applied and acked. */
async function stillApplies(): Promise<void> {
  const { client, applied } = await welcomed();
  const before = await onHand();
  client.send({ value: { type: 'push', events: [{ seq: applied + 1, event: receiveEvent(1) }] } });
  const ack = await client.next('ack');
  const told = client.inbox.filter((message) => isRecord(message) && message['type'] === 'error');
  const closedWith = ack
    ? undefined
    : [await client.closed, JSON.stringify(await hub.storage.db.selectFrom('edge_streams').selectAll().execute())];
  expect(ack, `closed ${closedWith} after ${JSON.stringify(told)}`).toMatchObject({
    type: 'ack',
    upstreamAck: applied + 1,
  });
  expect(ack && 'rejected' in ack ? ack.rejected : undefined).toBeUndefined();
  expect(await onHand()).toBe(before + 1);
  client.socket.close();
  await client.closed;
}

/**
 * Sends one frame, first on a fresh socket or after a welcomed hello, and checks the outcome: a
 * refusal is an error frame (no internals) and a protocol close, and changes no table; an accepted
 * frame leaves the socket open (a probe push is still answered).
 */
async function sendAndCheck(make: (nextSeq: number) => Frame, afterHello: boolean): Promise<void> {
  let client: Client;
  let nextSeq: number;
  if (afterHello) {
    const opened = await welcomed();
    client = opened.client;
    nextSeq = opened.applied + 1;
  } else {
    client = await connect();
    nextSeq = (await stream()).applied + 1;
  }
  const frame = make(nextSeq);
  const described = JSON.stringify(frame).slice(0, 400);
  const before = await hubStateDigest(hub.storage);
  client.send(frame);
  // After a hello, a push right behind the frame: answered only if the frame was taken.
  if (afterHello) client.send({ value: { type: 'push', events: [{ seq: nextSeq, event: receiveEvent(1, 'PROBE') }] } });
  const answer = await client.next(afterHello ? 'ack' : 'welcome');
  if (answer === undefined) {
    outcomes.refused++;
    const code = await client.closed;
    expect(refusalCodes, `closed ${code} on ${described}`).toContain(code);
    if (code !== 1009) {
      const error = client.inbox.find((message) => isRecord(message) && message['type'] === 'error');
      const decoded = decodeDownstream(JSON.stringify(error));
      expect(decoded.ok, `error frame ${JSON.stringify(error)}`).toBe(true);
      expect(JSON.stringify(error)).not.toMatch(/\n\s+at |stack|node_modules|\.ts:\d+/);
    }
    expect(await hubStateDigest(hub.storage), `refused ${described}`).toEqual(before);
  } else {
    outcomes.taken++;
    client.socket.close();
    await client.closed;
  }
  await stillApplies();
}

describe.each(['sqlite', 'postgres'] as const)('generated and mutated sync frames against the hub on %s', (adapter) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    outcomes.refused = 0;
    outcomes.taken = 0;
    hub = await startTestHub(adapter);
    server = serve({ fetch: hub.app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    port = (server.address() as AddressInfo).port;
    await hub.startSync(server, { pollIntervalMs: 100 });
    admin = await adminToken(hub);
    await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('SOFA-1') });
    await call(hub, 'POST', '/api/v1/products', { token: admin, body: sofa('PROBE') });
    await call(hub, 'POST', '/api/v1/warehouses', {
      token: admin,
      body: { id: 'W1', name: 'Amsterdam', kind: 'warehouse', location: { lat: 52.4, lon: 4.9 } },
    });
    const enrolled = await call(hub, 'POST', '/api/v1/warehouses/W1/edges', { token: admin, body: {} });
    edgeToken = await clientToken(hub, enrolled.body.clientId, enrolled.body.clientSecret);
  }, 60_000);
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    server?.closeAllConnections();
    await hub?.dispose();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  for (const option of upstreamMessageSchema.options) {
    const type = option.shape.type.value;
    const values = payloadFor(
      z.toJSONSchema(option, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>,
    );
    it(`${type} frames from the schema, aimed or not, first or after hello`, async () => {
      await fc.assert(
        fc.asyncProperty(values, fc.boolean(), fc.boolean(), async (value, aimed, afterHello) => {
          await sendAndCheck((nextSeq) => ({ value: aimed ? aim(value, nextSeq) : value }), afterHello);
        }),
        { numRuns: runs, endOnFailure: true },
      );
    });
  }

  it('valid frames with a field dropped, added or replaced anywhere inside', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(2), mutations, fc.boolean(), async (which, mutation, afterHello) => {
        await sendAndCheck((nextSeq) => ({ value: mutate(validFrames(nextSeq)[which], mutation) }), afterHello);
      }),
      { numRuns: runs * 2, endOnFailure: true },
    );
  });

  it('garbage: text that is not JSON, JSON of any shape, truncated frames, binary frames, deep nesting', async () => {
    const garbage: fc.Arbitrary<(nextSeq: number) => Frame> = fc.oneof(
      fc.string({ maxLength: 200 }).map((text) => () => ({ text })),
      fc.jsonValue({ maxDepth: 3 }).map((value) => () => ({ value })),
      fc.tuple(fc.nat(2), fc.nat()).map(([which, cut]) => (nextSeq: number) => {
        const text = JSON.stringify(validFrames(nextSeq)[which]);
        return { text: text.slice(0, cut % text.length) };
      }),
      fc.uint8Array({ maxLength: 64 }).map((binary) => () => ({ binary })),
      fc.integer({ min: 1, max: 20_000 }).map((depth) => () => ({ text: `${'['.repeat(depth)}${']'.repeat(depth)}` })),
    );
    await fc.assert(
      fc.asyncProperty(garbage, fc.boolean(), async (make, afterHello) => {
        await sendAndCheck(make, afterHello);
      }),
      { numRuns: runs * 2, endOnFailure: true },
    );
  });

  it('a frame over the size bound', async () => {
    const padding = ' '.repeat(limits.syncFrameBytesMax);
    await sendAndCheck((nextSeq) => ({ text: `${JSON.stringify(validFrames(nextSeq)[1])}${padding}` }), true);
    await sendAndCheck((nextSeq) => ({ text: `${JSON.stringify(validFrames(nextSeq)[0])}${padding}` }), false);
  });

  describe('an edge that comes back below the seqs the hub already holds from it (found by this fuzz)', () => {
    // Edge E pushed seqs 1..2; another incarnation took the stream over; E comes back with an ack
    // of 0 (as a database restored from a backup does: it keeps its edge id, and re-enrolled it
    // starts a new stream at its ack). Before, its push of another event at seq 1 or 2 failed the
    // insert and closed the link 1011 at every reconnect: the warehouse's link was wedged.
    const hello = (edgeId: string, lastSeq: number) => ({
      value: {
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        warehouseId: 'W1',
        edgeId,
        epoch: 1,
        lastSeq,
        ackedSeq: 0,
        cursors: {},
      },
    });
    async function pushedThenSuperseded(): Promise<{ edgeE: string; events: StockEvent[] }> {
      const edgeE = crypto.randomUUID();
      const events = [receiveEvent(1), receiveEvent(1)];
      const first = await connect();
      first.send(hello(edgeE, 2));
      expect(await first.next('welcome')).toMatchObject({ upstreamAck: 0 });
      first.send({ value: { type: 'push', events: events.map((event, index) => ({ seq: index + 1, event })) } });
      expect(await first.next('ack')).toMatchObject({ upstreamAck: 2 });
      first.socket.close();
      await first.closed;
      const other = await connect();
      other.send(hello(crypto.randomUUID(), 0));
      expect(await other.next('welcome')).toMatchObject({ upstreamAck: 0 });
      other.socket.close();
      await other.closed;
      return { edgeE, events };
    }

    it('is fenced, applying nothing, when it pushes another event at a seq the hub holds from it', async () => {
      const { edgeE } = await pushedThenSuperseded();
      const back = await connect();
      back.send(hello(edgeE, 1));
      expect(await back.next('welcome')).toMatchObject({ upstreamAck: 0 });
      const before = await hubStateDigest(hub.storage);
      back.send({ value: { type: 'push', events: [{ seq: 1, event: receiveEvent(5) }] } });
      expect(await back.next('error')).toMatchObject({ code: 'fenced', message: expect.stringContaining('seq 1 ') });
      expect(await back.closed).toBe(closeCodes.fenced);
      expect(await hubStateDigest(hub.storage)).toEqual(before);
      await stillApplies();
    });

    it('has the events it resends recognised, then is fenced at the first other event at a held seq', async () => {
      const { edgeE, events } = await pushedThenSuperseded();
      const back = await connect();
      back.send(hello(edgeE, 2));
      expect(await back.next('welcome')).toMatchObject({ upstreamAck: 0 });
      back.send({ value: { type: 'push', events: [{ seq: 1, event: events[0] }] } });
      expect(await back.next('ack')).toMatchObject({ upstreamAck: 1 });
      const before = await hubStateDigest(hub.storage);
      back.send({ value: { type: 'push', events: [{ seq: 2, event: receiveEvent(7) }] } });
      expect(await back.next('error')).toMatchObject({ code: 'fenced', message: expect.stringContaining('seq 2 ') });
      expect(await back.closed).toBe(closeCodes.fenced);
      expect(await hubStateDigest(hub.storage)).toEqual(before);
      await stillApplies();
    });
  });

  it('sees a change in the digest when a push is applied (the check can fail)', async () => {
    const before = await hubStateDigest(hub.storage);
    await stillApplies();
    expect(await hubStateDigest(hub.storage)).not.toEqual(before);
  });

  it('reached both refused and accepted frames, and left no unhandled rejection behind', () => {
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.taken).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
  });
});
