import {
  type DownstreamMessage,
  decodeDownstream,
  limits,
  PROTOCOL_VERSION,
  type UpstreamMessage,
} from '@dovetail/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestEdge, stopTestEdge, type TestEdge } from '../test-support/node.ts';
import { createChangeApplier } from './apply-changes.ts';
import { answerTimeoutFromEnv } from './client.ts';
import { EdgeSyncSession } from './session.ts';

let edge: TestEdge;
let sent: UpstreamMessage[];
let session: EdgeSyncSession;

const receive = (sku: string, quantity = 1) =>
  edge.writer.submit({ command: { type: 'receive', sku, quantity }, actor: 'lead' });
const upstreamRow = () =>
  edge.db.prepare('SELECT last_seq, acked_seq FROM upstream').get() as { last_seq: number; acked_seq: number };
const outboxSeqs = () =>
  (edge.db.prepare('SELECT seq FROM outbox ORDER BY seq').all() as Array<{ seq: number }>).map((row) => row.seq);
const lastPush = () => {
  const push = sent.filter((message) => message.type === 'push').at(-1);
  if (push?.type !== 'push') throw new Error('no push sent');
  return push.events.map((entry) => entry.seq);
};
/** The seqs of every push sent so far, one list per push. */
const pushes = () =>
  sent.flatMap((message) => (message.type === 'push' ? [message.events.map((entry) => entry.seq)] : []));
const seqs = (from: number, through: number) => Array.from({ length: through - from + 1 }, (_, i) => from + i);

/** A frame as the edge's client hands it over: decoded, every payload checked against its kind. */
const wire = (message: DownstreamMessage): DownstreamMessage => {
  const decoded = decodeDownstream(JSON.stringify(message));
  if (!decoded.ok) throw new Error(`the hub would never send this frame: ${decoded.detail}`);
  return decoded.message;
};

/** A session on the test edge whose frames land in `sent`. */
const newSession = (onDrift?: (sku: string) => void) =>
  new EdgeSyncSession(edge.db, {
    warehouseId: 'W1',
    edgeId: edge.edgeId,
    epoch: 3,
    nowMs: () => 1_000,
    applyChange: createChangeApplier(edge.db, edge.desk, edge.book),
    send: (message) => sent.push(message),
    ...(onDrift ? { onDrift } : {}),
  });

beforeEach(async () => {
  edge = await startTestEdge();
  sent = [];
  session = newSession();
});
afterEach(() => stopTestEdge(edge));

describe('upstream', () => {
  it('says hello with its last seq, epoch and downstream cursors', async () => {
    await receive('A');
    edge.db.prepare("INSERT INTO sync_cursor (channel, seq) VALUES ('catalog', 7)").run();
    session.start();
    expect(sent).toEqual([
      {
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        warehouseId: 'W1',
        edgeId: edge.edgeId,
        epoch: 3,
        lastSeq: 1,
        ackedSeq: 0,
        cursors: { catalog: 7 },
      },
    ]);
  });

  it('pushes the outbox in bounded batches, a window of them in flight, deleting rows only once acked (a version 5 hub: 256 a push)', async () => {
    expect(limits.pushWindowBatchesMax).toBe(2);
    const v5 = limits.pushBatchEventsMaxV5;
    for (let i = 0; i < v5 + 10; i++) await receive(`S-${i % 5}`);
    session.start();
    session.receive({ type: 'welcome', protocol: 5, upstreamAck: 0, serverTimeMs: 0 });
    expect(pushes()).toEqual([seqs(1, v5), seqs(v5 + 1, v5 + 10)]);
    expect(session.inFlight).toEqual([v5, v5 + 10]);
    await receive('LATE');
    session.notifyOutbox();
    expect(pushes()).toHaveLength(2); // the window is full
    expect(outboxSeqs()).toHaveLength(v5 + 11);

    session.receive({ type: 'ack', upstreamAck: v5 });
    expect(upstreamRow().acked_seq).toBe(v5);
    expect(outboxSeqs()[0]).toBe(v5 + 1);
    expect(lastPush()).toEqual([v5 + 11]);
    session.receive({ type: 'ack', upstreamAck: v5 + 10 });
    session.receive({ type: 'ack', upstreamAck: v5 + 11 });
    expect(outboxSeqs()).toEqual([]);
    expect(session.inFlight).toEqual([]);
    expect(upstreamRow()).toEqual({ last_seq: v5 + 11, acked_seq: v5 + 11 });
  });

  it('after an ack short of its batch, waits for the pushes still in flight, then resends from the ack', async () => {
    const v5 = limits.pushBatchEventsMaxV5;
    for (let i = 0; i < v5 + 3; i++) await receive('A');
    session.start();
    session.receive({ type: 'welcome', protocol: 5, upstreamAck: 0, serverTimeMs: 0 });
    expect(pushes()).toEqual([seqs(1, v5), seqs(v5 + 1, v5 + 3)]);
    // The hub applied only through 10 of the first batch (say it had seen a gap there).
    session.receive({ type: 'ack', upstreamAck: 10 });
    expect(pushes()).toHaveLength(2);
    expect(session.inFlight).toEqual([v5 + 3]);
    // The second batch cannot apply after a hole either: its answer is short too. Now resend.
    session.receive({ type: 'ack', upstreamAck: 10 });
    expect(pushes()).toEqual([seqs(1, v5), seqs(v5 + 1, v5 + 3), seqs(11, v5 + 3)]);
    session.receive({ type: 'ack', upstreamAck: v5 + 3 });
    expect(outboxSeqs()).toEqual([]);
  });

  it('pushes more events at once to a hub of protocol version 6', async () => {
    const backlog = limits.pushBatchEventsMaxV5 + 44;
    for (let i = 0; i < backlog; i++) await receive(`S-${i % 5}`);
    session.start();
    session.receive({ type: 'welcome', protocol: 6, upstreamAck: 0, serverTimeMs: 0 });
    expect(lastPush()).toEqual(Array.from({ length: backlog }, (_, i) => i + 1));
    expect(backlog).toBeLessThan(limits.pushBatchEventsMax);
  });

  it('resends from the ack when the hub re-acks lower (it saw a gap)', async () => {
    for (let i = 0; i < 5; i++) await receive('A');
    session.start();
    session.receive({ type: 'welcome', protocol: 1, upstreamAck: 0, serverTimeMs: 0 });
    expect(lastPush()).toEqual([1, 2, 3, 4, 5]);
    session.receive({ type: 'ack', upstreamAck: 2 });
    expect(lastPush()).toEqual([3, 4, 5]);
  });

  it('resumes after the ack the hub remembers, not what the edge last saw', async () => {
    for (let i = 0; i < 4; i++) await receive('A');
    session.start();
    session.receive({ type: 'welcome', protocol: 1, upstreamAck: 3, serverTimeMs: 0 });
    expect(lastPush()).toEqual([4]);
    expect(outboxSeqs()).toEqual([4]);
  });

  it("stores the hub's rejections so staff see them, and moves on", async () => {
    await receive('GHOST-SKU');
    await receive('A');
    session.start();
    session.receive({ type: 'welcome', protocol: 1, upstreamAck: 0, serverTimeMs: 0 });
    session.receive({
      type: 'ack',
      upstreamAck: 2,
      rejected: [{ seq: 1, reason: 'unknown_sku', message: 'GHOST-SKU is not in the catalog' }],
    });
    const token = await edge.login();
    const page = (await (await edge.call('GET', '/api/v1/sync/rejections', { token })).json()) as {
      items: Array<Record<string, unknown>>;
    };
    expect(page.items).toMatchObject([{ seq: 1, sku: 'GHOST-SKU', reason: 'unknown_sku' }]);
    const status = (await (await edge.call('GET', '/api/v1/sync/status', { token })).json()) as Record<string, unknown>;
    expect(status).toMatchObject({
      rejected: 1,
      pendingUpstream: 0,
      upstreamAck: 2,
      lastContactAt: new Date(1_000).toISOString(),
    });
  });

  it('treats an ack beyond its last seq as a fault (a database restored from backup), changing nothing', async () => {
    await receive('A');
    session.start();
    const fault = session.receive({ type: 'welcome', protocol: 1, upstreamAck: 9, serverTimeMs: 0 });
    expect(fault?.message).toMatch(/restored from a backup/);
    expect(upstreamRow()).toEqual({ last_seq: 1, acked_seq: 0 });
  });
});

describe('answers awaited from the hub', () => {
  let clockMs = 1_000;
  const bound = 5_000;
  /** A session on a clock the test moves, with a short answer bound. */
  const timedSession = () =>
    new EdgeSyncSession(edge.db, {
      warehouseId: 'W1',
      edgeId: edge.edgeId,
      epoch: 3,
      nowMs: () => clockMs,
      applyChange: createChangeApplier(edge.db, edge.desk, edge.book),
      send: (message) => sent.push(message),
      answerTimeoutMs: bound,
    });
  beforeEach(() => {
    clockMs = 1_000;
  });

  it('gives up on a push the hub never acks once the bound passed, and the next connection resends it once', async () => {
    for (let i = 0; i < 3; i++) await receive('A');
    session = timedSession();
    session.start();
    session.receive({ type: 'welcome', protocol: 1, upstreamAck: 0, serverTimeMs: 0 });
    expect(lastPush()).toEqual([1, 2, 3]);
    expect(session.answerDeadlineMs()).toBe(1_000 + bound);
    clockMs += bound - 1;
    expect(session.overdue()).toBeUndefined();
    clockMs += 1;
    expect(session.overdue()).toEqual({
      code: 'answer_timeout',
      message: expect.stringMatching(/push of seqs 1\.\.3 unanswered/),
    });
    // Giving up changed nothing durable: the outbox and the ack are where they were.
    expect(upstreamRow()).toEqual({ last_seq: 3, acked_seq: 0 });
    expect(outboxSeqs()).toEqual([1, 2, 3]);

    // The transport dropped the socket; on the next one the hub says what it holds (it had applied 1..2).
    sent = [];
    session = timedSession();
    session.start();
    session.receive({ type: 'welcome', protocol: 1, upstreamAck: 2, serverTimeMs: 0 });
    expect(sent.filter((message) => message.type === 'push')).toHaveLength(1);
    expect(lastPush()).toEqual([3]);
    session.receive({ type: 'ack', upstreamAck: 3 });
    expect(session.answerDeadlineMs()).toBeUndefined();
    clockMs += bound * 10;
    expect(session.overdue()).toBeUndefined();
    expect(upstreamRow()).toEqual({ last_seq: 3, acked_seq: 3 });
  });

  it('gives up on a hello the hub never welcomes', () => {
    session = timedSession();
    session.start();
    clockMs += bound;
    expect(session.overdue()?.message).toMatch(/hello unanswered/);
  });

  it('restarts the bound with each push: an ack that arrives in time keeps the link', async () => {
    await receive('A');
    session = timedSession();
    session.start();
    clockMs += bound - 1;
    session.receive({ type: 'welcome', protocol: 1, upstreamAck: 0, serverTimeMs: 0 });
    expect(session.answerDeadlineMs()).toBe(clockMs + bound);
    clockMs += bound - 1;
    await receive('A');
    session.receive({ type: 'ack', upstreamAck: 1 });
    expect(lastPush()).toEqual([2]);
    clockMs += bound - 1;
    expect(session.overdue()).toBeUndefined();
  });

  it('takes its bound from EDGE_SYNC_ANSWER_TIMEOUT_MS, refusing anything but whole milliseconds within the limits', () => {
    expect(answerTimeoutFromEnv(undefined)).toBe(limits.syncAnswerTimeoutMs);
    expect(answerTimeoutFromEnv('')).toBe(limits.syncAnswerTimeoutMs);
    expect(answerTimeoutFromEnv('1500')).toBe(1_500);
    for (const bad of ['0', '-1500', '1500.5', 'soon', '99', String(limits.syncAnswerTimeoutMsMax + 1), 'Infinity'])
      expect(() => answerTimeoutFromEnv(bad), bad).toThrow(/EDGE_SYNC_ANSWER_TIMEOUT_MS/);
  });

  it('waits for nothing once welcomed with nothing to push (the keepalive watches an idle link)', () => {
    session = timedSession();
    session.start();
    session.receive({ type: 'welcome', protocol: 1, upstreamAck: 0, serverTimeMs: 0 });
    clockMs += bound * 10;
    expect(session.answerDeadlineMs()).toBeUndefined();
    expect(session.overdue()).toBeUndefined();
  });
});

describe('drift', () => {
  it("compares the hub's checksums with its own partitions and restates only a drifted, settled one", async () => {
    const { partitionChecksum } = await import('@dovetail/shared');
    const drifted: string[] = [];
    session = newSession((sku) => drifted.push(sku));
    await receive('SAME', 2);
    await receive('DRIFTED', 2);
    await receive('MOVED-ON', 2);
    session.start();
    session.receive({ type: 'welcome', protocol: 2, upstreamAck: 0, serverTimeMs: 0 });
    await receive('MOVED-ON', 1); // seq 4: this partition is ahead of the hub's checksum
    const checksumOf = (sku: string) => partitionChecksum(edge.book.read(sku).state);
    session.receive({
      type: 'ack',
      upstreamAck: 3,
      checksums: [
        { sku: 'SAME', checksum: checksumOf('SAME') },
        { sku: 'DRIFTED', checksum: '0123456789abcdef' },
        { sku: 'MOVED-ON', checksum: '0123456789abcdef' },
      ],
    });
    expect(drifted).toEqual(['DRIFTED']);
  });
});

describe('downstream', () => {
  const product = (archived = false) => ({
    id: 'p-1',
    name: 'Linnea bed',
    category: 'bed' as const,
    basePrice: 89_900,
    currency: 'EUR',
    variants: [{ sku: 'BED-LINNEA-160', options: { width: '160' } }],
    archived,
    version: archived ? 2 : 1,
    createdAt: 1_000,
    updatedAt: 1_000,
  });

  it('applies a checkpoint and stores its cursor together, then acks it', async () => {
    await receive('BED-LINNEA-160');
    expect(edge.book.view('BED-LINNEA-160').verified).toBe(false);
    session.receive(
      wire({
        type: 'changes',
        channel: 'catalog',
        changes: [{ seq: 1, kind: 'product.upserted', payload: product() }],
      }),
    );
    expect(edge.db.prepare('SELECT count(*) AS n FROM catalog_variant').get()).toEqual({ n: 0 });
    session.receive({ type: 'checkpoint_complete', channel: 'catalog', seq: 1, live: true });
    expect(sent.at(-1)).toEqual({ type: 'changes_ack', channel: 'catalog', seq: 1 });
    expect(edge.db.prepare("SELECT seq FROM sync_cursor WHERE channel = 'catalog'").get()).toEqual({ seq: 1 });
    expect(edge.book.view('BED-LINNEA-160').verified).toBe(true);
  });

  it('skips changes it already applied when a checkpoint is delivered again', () => {
    const changes = [
      { seq: 1, kind: 'product.upserted', payload: product() },
      { seq: 2, kind: 'product.archived', payload: product(true) },
    ];
    session.receive(wire({ type: 'changes', channel: 'catalog', changes }));
    session.receive({ type: 'checkpoint_complete', channel: 'catalog', seq: 2, live: true });
    session.receive(wire({ type: 'changes', channel: 'catalog', changes }));
    session.receive({ type: 'checkpoint_complete', channel: 'catalog', seq: 2, live: true });
    expect(edge.db.prepare('SELECT sku, archived FROM catalog_variant').all()).toEqual([
      { sku: 'BED-LINNEA-160', archived: 1 },
    ]);
  });

  it('refuses a checkpoint with a gap, leaving the cursor where it was', () => {
    session.receive(
      wire({
        type: 'changes',
        channel: 'catalog',
        changes: [{ seq: 2, kind: 'product.upserted', payload: product() }],
      }),
    );
    expect(session.receive({ type: 'checkpoint_complete', channel: 'catalog', seq: 2, live: true })).toEqual({
      code: 'protocol_violation',
      message: 'gap on catalog: expected seq 1, got 2',
    });
    expect(session.receive({ type: 'checkpoint_complete', channel: 'catalog', seq: 3, live: true })).toEqual({
      code: 'protocol_violation',
      message: 'checkpoint 3 on catalog is missing changes',
    });
    expect(sent.filter((message) => message.type === 'changes_ack')).toEqual([]);
    expect(edge.db.prepare("SELECT seq FROM sync_cursor WHERE channel = 'catalog'").get()).toBeUndefined();
  });

  it('skips change kinds it does not know (a newer hub) but still advances', () => {
    session.receive(
      wire({
        type: 'changes',
        channel: 'warehouse:W1',
        changes: [{ seq: 1, kind: 'future.thing', payload: {} }],
      }),
    );
    session.receive({ type: 'checkpoint_complete', channel: 'warehouse:W1', seq: 1, live: true });
    expect(edge.db.prepare("SELECT seq FROM sync_cursor WHERE channel = 'warehouse:W1'").get()).toEqual({ seq: 1 });
  });

  it('resets a channel cursor on must_reset', () => {
    edge.db.prepare("INSERT INTO sync_cursor (channel, seq) VALUES ('catalog', 40)").run();
    session.receive({ type: 'must_reset', channel: 'catalog', reason: 'cursor_ahead' });
    expect(edge.db.prepare("SELECT seq FROM sync_cursor WHERE channel = 'catalog'").get()).toEqual({ seq: 0 });
  });
});

describe('fulfillment orders from the hub', () => {
  const requested = (seq: number, fulfillmentId: string, lines: Array<{ sku: string; quantity: number }>) => ({
    seq,
    kind: 'fulfillment.requested',
    payload: {
      fulfillmentId,
      orderId: `o-${fulfillmentId}`,
      orderNumber: `DT-0000-00${seq}X`,
      lines,
      shipTo: {
        name: 'Inès Laurent',
        address: { line1: '12 rue de la Paix', city: 'Paris', postalCode: '75002', country: 'FR' },
      },
    },
  });

  it('become the pick list, with the bins to pick from, and count as committed', async () => {
    await edge.writer.submit({ command: { type: 'receive', sku: 'SOFA-1', quantity: 2, bin: 'A-01' }, actor: 'lead' });
    await edge.writer.submit({ command: { type: 'receive', sku: 'SOFA-1', quantity: 5, bin: 'B-02' }, actor: 'lead' });
    const changes = [requested(1, 'f-1', [{ sku: 'SOFA-1', quantity: 3 }])];
    session.receive(wire({ type: 'changes', channel: 'warehouse:W1', changes }));
    session.receive({ type: 'checkpoint_complete', channel: 'warehouse:W1', seq: 1, live: true });
    // Delivered again after a crash: still one fulfillment order.
    session.receive(wire({ type: 'changes', channel: 'warehouse:W1', changes }));
    session.receive({ type: 'checkpoint_complete', channel: 'warehouse:W1', seq: 1, live: true });
    const token = await edge.login();
    const list = (await (await edge.call('GET', '/api/v1/fulfillments', { token })).json()) as {
      items: Array<Record<string, unknown>>;
    };
    expect(list.items).toMatchObject([
      {
        id: 'f-1',
        orderNumber: 'DT-0000-001X',
        status: 'open',
        lines: [
          {
            sku: 'SOFA-1',
            quantity: 3,
            pickFrom: [
              { bin: 'B-02', quantity: 5 },
              { bin: 'A-01', quantity: 2 },
            ],
          },
        ],
      },
    ]);
    expect(edge.book.view('SOFA-1')).toMatchObject({ onHand: 7, committed: 3, available: 4 });
  });

  it('answer a cancel request from the hub at once: accepted before shipping, with a fact queued upstream', async () => {
    session.receive(
      wire({
        type: 'changes',
        channel: 'warehouse:W1',
        changes: [requested(1, 'f-2', [{ sku: 'BED-1', quantity: 1 }])],
      }),
    );
    session.receive({ type: 'checkpoint_complete', channel: 'warehouse:W1', seq: 1, live: true });
    session.receive(
      wire({
        type: 'changes',
        channel: 'warehouse:W1',
        changes: [
          {
            seq: 2,
            kind: 'fulfillment.cancel_requested',
            payload: { fulfillmentId: 'f-2', orderId: 'o-f-2', reason: null },
          },
        ],
      }),
    );
    session.receive({ type: 'checkpoint_complete', channel: 'warehouse:W1', seq: 2, live: true });
    const token = await edge.login();
    const open = (await (await edge.call('GET', '/api/v1/fulfillments', { token })).json()) as { items: unknown[] };
    expect(open.items).toEqual([]);
    const canceled = (await (
      await edge.call('GET', '/api/v1/fulfillments?status=canceled&cancelRequested=true', { token })
    ).json()) as {
      items: Array<{ id: string; cancelRequested: boolean }>;
    };
    expect(canceled.items.map((item) => [item.id, item.cancelRequested])).toEqual([['f-2', true]]);
    const facts = edge.db
      .prepare<[], { type: string; fulfillment_id: string }>('SELECT type, fulfillment_id FROM fulfillment_event')
      .all();
    expect(facts).toEqual([{ type: 'fulfillment_canceled', fulfillment_id: 'f-2' }]);
    expect((await edge.call('GET', '/api/v1/fulfillments?status=bogus', { token })).status).toBe(400);
  });

  it("lists the hub's refusal of a fact (here a cancel accepted too late) among the rejections", async () => {
    session.receive(
      wire({
        type: 'changes',
        channel: 'warehouse:W1',
        changes: [requested(1, 'f-3', [{ sku: 'BED-1', quantity: 1 }])],
      }),
    );
    session.receive({ type: 'checkpoint_complete', channel: 'warehouse:W1', seq: 1, live: true });
    session.receive(
      wire({
        type: 'changes',
        channel: 'warehouse:W1',
        changes: [
          {
            seq: 2,
            kind: 'fulfillment.cancel_requested',
            payload: { fulfillmentId: 'f-3', orderId: 'o-f-3', reason: null },
          },
        ],
      }),
    );
    session.receive({ type: 'checkpoint_complete', channel: 'warehouse:W1', seq: 2, live: true });
    const { last_seq: seq } = upstreamRow();
    expect(seq).toBeGreaterThan(0);
    session.start();
    session.receive({ type: 'welcome', protocol: 1, upstreamAck: 0, serverTimeMs: 0 });
    session.receive({
      type: 'ack',
      upstreamAck: seq,
      rejected: [{ seq, reason: 'fulfillment_state_conflict', message: 'order o-f-3 has already shipped' }],
    });
    const stored = edge.db.prepare('SELECT seq, event_id, sku, reason FROM sync_rejection').all();
    expect(stored).toEqual([{ seq, event_id: expect.any(String), sku: 'BED-1', reason: 'fulfillment_state_conflict' }]);
  });
});

describe('the staff roster from the hub', () => {
  it('lets hub staff sign in at the edge with their hub password, and stops them when disabled', async () => {
    const { hashPassword } = await import('../services/passwords.ts');
    const { testPasswordCost } = await import('../test-support/node.ts');
    const entry = {
      id: 'st-1',
      username: 'maria',
      role: 'warehouse_staff',
      passwordHash: await hashPassword('maria-password-1', testPasswordCost),
      disabled: false,
    };
    session.receive(
      wire({
        type: 'changes',
        channel: 'warehouse:W1',
        changes: [{ seq: 1, kind: 'staff.upserted', payload: entry }],
      }),
    );
    session.receive({ type: 'checkpoint_complete', channel: 'warehouse:W1', seq: 1, live: true });
    const token = await edge.login('maria', 'maria-password-1');
    expect((await edge.call('GET', '/api/v1/me', { token })).status).toBe(200);

    session.receive(
      wire({
        type: 'changes',
        channel: 'warehouse:W1',
        changes: [{ seq: 2, kind: 'staff.disabled', payload: { ...entry, disabled: true } }],
      }),
    );
    session.receive({ type: 'checkpoint_complete', channel: 'warehouse:W1', seq: 2, live: true });
    edge.staff.forgetCachedSessions();
    expect((await edge.call('GET', '/api/v1/me', { token })).status).toBe(401);
    expect(
      (await edge.call('POST', '/api/v1/login', { body: { username: 'maria', password: 'maria-password-1' } })).status,
    ).toBe(401);
  });

  it('refuses to re-enable at the edge an account the hub disabled; a local disable survives roster updates', async () => {
    const { hashPassword } = await import('../services/passwords.ts');
    const { testPasswordCost } = await import('../test-support/node.ts');
    const entry = {
      id: 'st-3',
      username: 'ines',
      role: 'warehouse_staff',
      passwordHash: await hashPassword('ines-password-1', testPasswordCost),
      disabled: false,
    };
    const deliver = (seq: number, kind: 'staff.upserted' | 'staff.disabled', payload: typeof entry) => {
      session.receive(wire({ type: 'changes', channel: 'warehouse:W1', changes: [{ seq, kind, payload }] }));
      session.receive({ type: 'checkpoint_complete', channel: 'warehouse:W1', seq, live: true });
    };
    const lead = await edge.login();
    const signIn = () =>
      edge.call('POST', '/api/v1/login', { body: { username: 'ines', password: 'ines-password-1' } });

    deliver(1, 'staff.disabled', { ...entry, disabled: true });
    const reenable = await edge.call('PATCH', '/api/v1/staff/ines', { token: lead, body: { disabled: false } });
    expect(reenable.status).toBe(409);
    expect(((await reenable.json()) as { error: { code: string } }).error.code).toBe('disabled_by_hub');
    expect((await signIn()).status).toBe(401);

    // The hub enables her again; the edge disables her locally, and the next roster update keeps that.
    deliver(2, 'staff.upserted', entry);
    expect((await signIn()).status).toBe(200);
    const local = await edge.call('PATCH', '/api/v1/staff/ines', { token: lead, body: { disabled: true } });
    expect(local.status).toBe(200);
    expect(((await local.json()) as { disabled: boolean }).disabled).toBe(true);
    deliver(3, 'staff.upserted', entry);
    expect((await signIn()).status).toBe(401);
    // What the edge disabled, the edge may enable.
    expect((await edge.call('PATCH', '/api/v1/staff/ines', { token: lead, body: { disabled: false } })).status).toBe(
      200,
    );
    expect((await signIn()).status).toBe(200);
  });

  it('keeps the break-glass bootstrap account when the roster names the same person', async () => {
    const { hashPassword } = await import('../services/passwords.ts');
    const { testPasswordCost } = await import('../test-support/node.ts');
    const entry = {
      id: 'st-9',
      username: 'lead',
      role: 'supervisor',
      passwordHash: await hashPassword('other-password-1', testPasswordCost),
      disabled: false,
    };
    session.receive(
      wire({
        type: 'changes',
        channel: 'warehouse:W1',
        changes: [{ seq: 1, kind: 'staff.upserted', payload: entry }],
      }),
    );
    session.receive({ type: 'checkpoint_complete', channel: 'warehouse:W1', seq: 1, live: true });
    expect(await edge.login()).toMatch(/^dvt_edge_/);
    expect(edge.staff.find('lead')?.source).toBe('bootstrap');
  });

  it('ignores roles that do not sign in at an edge', async () => {
    const entry = { id: 'st-2', username: 'ops', role: 'admin', passwordHash: 'scrypt$1$1$1$x$y', disabled: false };
    session.receive(
      wire({
        type: 'changes',
        channel: 'warehouse:W1',
        changes: [{ seq: 1, kind: 'staff.upserted', payload: entry }],
      }),
    );
    session.receive({ type: 'checkpoint_complete', channel: 'warehouse:W1', seq: 1, live: true });
    expect(edge.staff.find('ops')).toBeUndefined();
  });
});
