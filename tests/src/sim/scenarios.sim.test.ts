import {
  decodeDownstream,
  emptyPartition,
  type PushMessage,
  partitionStateSchema,
  partitionsEqual,
} from '@dovetail/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Commerce, type EdgeFulfillmentRow, type OrderModel } from './commerce.ts';
import { checkPromises, checkReturns } from './commerce-invariants.ts';
import { Prng } from './prng.ts';
import { type HealResult, healAndCheck, runSchedule } from './schedule.ts';
import { createTemplates, removeTemplates, simWarehouseId, type Templates, worldDir } from './templates.ts';
import { type Connection, noCrashPoints, World } from './world.ts';

/**
 * Directed schedules of the simulation: each forces one classic sync failure (a duplicate push after
 * a lost ack, a gap, a crash between the hub's commit and its ack, …) step by step, then heals and
 * checks every invariant. Each would fail on the textbook bug it names.
 */
let templates: Templates;
let world: World | undefined;

beforeAll(async () => {
  templates = await createTemplates();
});
afterAll(() => removeTemplates(templates));
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function open(seed = 1): Promise<World> {
  world = await World.create(templates, new Prng(seed), worldDir(templates));
  return world;
}

const receive = (sku: string, quantity = 1) => ({ type: 'receive' as const, sku, quantity });

function only(world: World): Connection {
  const connection = world.edgeConnection();
  if (!connection) throw new Error('no open connection');
  return connection;
}

/** Delivers frames in order in both directions until nothing is in flight. */
async function settle(world: World): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    const connection = world.connections.find((c) => (c.hub && c.up.length > 0) || (c.edge && c.down.length > 0));
    if (!connection) return;
    if (connection.hub && connection.up.length > 0) await world.deliverUp(connection);
    else await world.deliverDown(connection);
  }
  throw new Error('frames kept flowing');
}

/** Delivers upstream frames until (and including) the first one of `type`; returns its JSON text. */
async function deliverUpThrough(world: World, connection: Connection, type: string): Promise<string> {
  for (;;) {
    const frame = connection.up[0];
    if (!frame) throw new Error(`no ${type} frame in flight (${world.trace.slice(-5).join(' | ')})`);
    await world.deliverUp(connection);
    if (frame.type.startsWith(type)) return frame.text;
  }
}

async function deliverDownThrough(world: World, connection: Connection, type: string): Promise<void> {
  for (;;) {
    const frame = connection.down[0];
    if (!frame) throw new Error(`no ${type} frame in flight (${world.trace.slice(-5).join(' | ')})`);
    await world.deliverDown(connection);
    if (frame.type.startsWith(type)) return;
  }
}

async function hubEventCount(world: World): Promise<number> {
  const row = await world
    .hub!.db.selectFrom('stock_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function expectHealed(world: World, heal: HealResult): void {
  expect([...world.violations, ...heal.problems], world.trace.join('\n')).toEqual([]);
}

describe('directed sync scenarios', () => {
  it('applies a push delivered again after its ack was lost exactly once', async () => {
    const w = await open();
    await w.write([receive('SOFA-2S', 2), receive('BED-140'), receive('LAMP-1', 3)]);
    w.connect();
    const first = only(w);
    await deliverUpThrough(w, first, 'hello');
    await deliverDownThrough(w, first, 'welcome');
    const push = await deliverUpThrough(w, first, 'push');
    expect(await hubEventCount(w)).toBe(3);
    // The ack never arrives: the connection drops with it in flight.
    w.cut(first);
    w.noticeEdge(first);
    w.noticeHub(first);
    w.connect();
    const second = only(w);
    await deliverUpThrough(w, second, 'hello');
    // The old push arrives again (a retransmission from before the drop).
    second.up.unshift({ text: push, type: 'push(replayed)' });
    await deliverUpThrough(w, second, 'push');
    expect(await hubEventCount(w)).toBe(3);
    const acks = second.down
      .map((frame) => decodeDownstream(frame.text))
      .filter((decoded) => decoded.ok && decoded.message.type === 'ack');
    expect(acks.map((decoded) => decoded.ok && decoded.message.type === 'ack' && decoded.message.upstreamAck)).toEqual([
      3,
    ]);
    expectHealed(w, await healAndCheck(w, { chaos: false }));
  });

  it('does not apply past a gap: the hub re-acks what it has and the edge resends from there', async () => {
    const w = await open();
    await w.write([receive('SOFA-2S'), receive('SOFA-3S')]);
    w.connect();
    const connection = only(w);
    await settle(w);
    expect(await hubEventCount(w)).toBe(2);
    await w.write([receive('BED-140'), receive('BED-160'), receive('LAMP-1')]);
    // Seq 3 is lost on the way: the hub sees 4..5 right after 2.
    const frame = connection.up[0];
    expect(frame?.type).toBe('push(3..5)');
    const push = JSON.parse(frame!.text) as PushMessage;
    frame!.text = JSON.stringify({ ...push, events: push.events.slice(1) });
    await w.deliverUp(connection);
    expect(await hubEventCount(w)).toBe(2);
    expect(connection.down.map((f) => f.type)).toEqual(['ack(2)']);
    await w.deliverDown(connection);
    expect(connection.up.map((f) => f.type)).toEqual(['push(3..5)']);
    await settle(w);
    expect(await hubEventCount(w)).toBe(5);
    expectHealed(w, await healAndCheck(w, { chaos: true }));
  });

  it('recognizes every event after the hub crashed between its push commit and the ack', async () => {
    const w = await open();
    await w.write([receive('SOFA-2S', 5), { type: 'damage', sku: 'SOFA-2S', quantity: 1 }, receive('LAMP-1')]);
    w.connect();
    const connection = only(w);
    await deliverUpThrough(w, connection, 'hello');
    await deliverDownThrough(w, connection, 'welcome');
    w.crashPoints = { ...noCrashPoints, afterHubCommitBeforeAck: 1 };
    await deliverUpThrough(w, connection, 'push');
    expect(w.hub).toBeUndefined();
    expect(w.trace.some((line) => line.includes('dies before sending ack(3)'))).toBe(true);
    w.crashPoints = noCrashPoints;
    await w.startHub();
    expect(await hubEventCount(w)).toBe(3);
    expectHealed(w, await healAndCheck(w, { chaos: false }));
  });

  it('loses nothing when the edge crashes right after its outbox write, before any push', async () => {
    const w = await open();
    w.connect();
    await settle(w);
    w.crashPoints = { ...noCrashPoints, afterOutboxWrite: 1 };
    await w.write([receive('BED-160', 4), { type: 'count', sku: 'BED-160', countedQuantity: 2 }]);
    expect(w.edge).toBeUndefined();
    w.crashPoints = noCrashPoints;
    expectHealed(w, await healAndCheck(w, { chaos: false }));
    expect(await hubEventCount(w)).toBe(2);
  });

  it('resumes after the ack when the edge crashes right after applying it', async () => {
    const w = await open();
    await w.write([receive('SOFA-3S'), receive('SOFA-3S')]);
    w.connect();
    const connection = only(w);
    await deliverUpThrough(w, connection, 'hello');
    await deliverDownThrough(w, connection, 'welcome');
    await deliverUpThrough(w, connection, 'push');
    await w.write([receive('LAMP-1')]);
    w.crashPoints = { ...noCrashPoints, afterEdgeAppliedAck: 1 };
    await deliverDownThrough(w, connection, 'ack');
    expect(w.edge).toBeUndefined();
    w.crashPoints = noCrashPoints;
    expectHealed(w, await healAndCheck(w, { chaos: false }));
    expect(await hubEventCount(w)).toBe(3);
  });

  it('never stores a downstream cursor whose changes it did not apply (a checkpoint arriving without them)', async () => {
    const w = await open();
    w.connect();
    const connection = only(w);
    await deliverUpThrough(w, connection, 'hello');
    const catalogChanges = connection.down.findIndex((frame) => frame.type.startsWith('changes(catalog'));
    expect(catalogChanges).toBeGreaterThan(0);
    connection.down.splice(catalogChanges, 1);
    await settle(w);
    const cursor = w
      .edge!.db.prepare<[], { seq: number }>("SELECT seq FROM sync_cursor WHERE channel = 'catalog'")
      .get();
    expect(cursor?.seq ?? 0).toBe(0);
    expectHealed(w, await healAndCheck(w, { chaos: true }));
  });

  it('gives up on a push a swallowing link ate (pings still answered) and applies it once over the next connection', async () => {
    const w = await open();
    w.connect();
    const first = only(w);
    await settle(w);
    await w.write([receive('SOFA-2S', 2), receive('BED-140')]);
    expect(first.up.map((frame) => frame.type)).toEqual(['push(1..2)']);
    w.swallow(first);
    await settle(w);
    // Nobody closed anything: only the edge's own bound can tell the push is not coming back.
    expect(w.edgeMayNotice(first) || w.hubMayNotice(first)).toBe(false);
    w.nowMs += w.answerTimeoutMs - 1;
    expect(first.edge?.overdue()).toBeUndefined();
    w.nowMs += 1;
    w.edgeAnswerTimeout(first);
    expect(first.edge).toBeUndefined();
    expect(await hubEventCount(w)).toBe(0);
    w.connect();
    await settle(w);
    expect(await hubEventCount(w)).toBe(2);
    // The old socket's hub side is still held open by the swallowing link; it goes once frames pass.
    expect(w.hubMayNotice(first)).toBe(false);
    w.passFrames(first);
    expect(w.hubMayNotice(first)).toBe(true);
    expectHealed(w, await healAndCheck(w, { chaos: false }));
    expect(await hubEventCount(w)).toBe(2);
  });

  it("gives up on a checkpoint a swallowing link ate at the hub's bound, and sends it again on the next connection", async () => {
    const w = await open();
    w.connect();
    const first = only(w);
    await settle(w);
    w.swallow(first);
    await w.catalogChange();
    expect(first.down).toEqual([]);
    const deadline = first.hub?.answerDeadlineMs();
    expect(deadline).toBe(w.nowMs + w.answerTimeoutMs);
    w.nowMs = deadline as number;
    w.hubAnswerTimeout(first);
    expect(first.hub).toBeUndefined();
    expect(w.edgeMayNotice(first)).toBe(false);
    w.passFrames(first);
    w.noticeEdge(first);
    w.connect();
    await settle(w);
    expect(w.trace.filter((line) => line.includes('swallowed c1 checkpoint(catalog'))).toHaveLength(1);
    expectHealed(w, await healAndCheck(w, { chaos: false }));
  });

  it('finds a catalog change whose wake-up was lost by polling the log', async () => {
    const w = await open();
    w.connect();
    await settle(w);
    w.lostWakeRate = 1;
    await w.catalogChange();
    expect(only(w).down).toEqual([]);
    expectHealed(w, await healAndCheck(w, { chaos: false }));
  });

  it('sends a decodable ack when the drifted replica refuses an event, and the edge restates the partition', async () => {
    const w = await open();
    await w.write([receive('SOFA-2S', 3)]);
    w.connect();
    await settle(w);
    // The hub's replica drifts (an operator's manual fix, a restored hub): the edge's next event
    // does not fold there.
    await w
      .hub!.db.updateTable('stock_partitions')
      .set({ state_json: JSON.stringify(emptyPartition()), on_hand: 0 })
      .where('sku', '=', 'SOFA-2S')
      .execute();
    w.ghostSkus.add('SOFA-2S');
    await w.write([{ type: 'damage', sku: 'SOFA-2S', quantity: 2 }]);
    await settle(w);
    expect(w.violations).toEqual([]);
    const rejections = w
      .edge!.db.prepare<[], { seq: number; reason: string }>('SELECT seq, reason FROM sync_rejection')
      .all();
    expect(rejections).toEqual([{ seq: 2, reason: expect.stringMatching(/^insufficient_/) }]);
    expect(w.counters.reconciles).toBe(1);
    expectHealed(w, await healAndCheck(w, { chaos: false }));
    const atEdge = partitionStateSchema.parse(
      JSON.parse(
        w.edge!.db.prepare<[], { state: string }>("SELECT state FROM partition WHERE sku = 'SOFA-2S'").get()!.state,
      ),
    );
    const row = await w
      .hub!.db.selectFrom('stock_partitions')
      .select('state_json')
      .where('sku', '=', 'SOFA-2S')
      .executeTakeFirstOrThrow();
    expect(partitionsEqual(atEdge, partitionStateSchema.parse(JSON.parse(row.state_json!)))).toBe(true);
  });

  it('replays a seed exactly: the same seed gives the same schedule, step for step', async () => {
    const first = await runSchedule(templates, 7, { dir: worldDir(templates, 1) });
    const second = await runSchedule(templates, 7, { dir: worldDir(templates, 1) });
    expect(first.trace.length).toBeGreaterThan(20);
    expect(second.trace).toEqual(first.trace);
  });

  // Regression (hub/src/sync/session.ts #hello): the old socket's last push commits while the new
  // socket says hello (an edge that crashed right after sending it, the kernel flushing the frame).
  // A hello that wrote back the applied_seq it had read earlier moved it back; the resent rejected
  // event was then rejected again, its second sync_rejections row violated the key (1011), and the
  // edge resent the same batch for ever. The hello only ever raises applied_seq now.
  it('never moves the applied seq back when an old socket commits a push while the new one says hello', async () => {
    const w = await open(3);
    w.ghostSkus.add('NOT-IN-CATALOG');
    await w.write([receive('LAMP-1')]);
    w.connect();
    const first = only(w);
    await settle(w);
    await w.write([receive('NOT-IN-CATALOG'), receive('LAMP-1')]);
    expect(first.up.map((frame) => frame.type)).toEqual(['push(2..3)']);
    await w.crashEdge('right after sending push(2..3)', true);
    await w.startEdge();
    w.connect();
    const second = only(w);
    await w.deliverUpConcurrently([second, first], { drawOrder: false });
    const stream = await w.hub!.db.selectFrom('edge_streams').select('applied_seq').executeTakeFirstOrThrow();
    expect(Number(stream.applied_seq)).toBe(3);
    expectHealed(w, await healAndCheck(w, { chaos: false }));
  });

  // Regression (rejections must surface at the edge): when the ack that carried a rejection is
  // lost, the hub repeats the stored rejections after `hello.ackedSeq` (and for duplicate seqs), so
  // the edge still records it.
  it('surfaces a rejection at the edge even when the ack that carried it was lost', async () => {
    const w = await open();
    await w.write([receive('NOT-IN-CATALOG')]);
    w.ghostSkus.add('NOT-IN-CATALOG');
    w.connect();
    const connection = only(w);
    await deliverUpThrough(w, connection, 'hello');
    await deliverDownThrough(w, connection, 'welcome');
    await deliverUpThrough(w, connection, 'push');
    expect(connection.down.map((frame) => frame.type)).toContain('ack(1, 1 rejected)');
    w.cut(connection);
    const heal = await healAndCheck(w, { chaos: false });
    expectHealed(w, heal);
  });
});

/**
 * Issue 5's nastiest races, forced step by step: each ends with the heal and every invariant,
 * commerce ones included (commerce-invariants.ts).
 */
describe('directed commerce races', () => {
  const commerceOf = (w: World, skus = ['SOFA-2S', 'LAMP-1']) =>
    new Commerce(w, { skus, lossless: true, weight: 1, receiveWeight: 1 });

  async function orderStatus(w: World, order: OrderModel | undefined): Promise<string | undefined> {
    const row = await w.hub!.db.selectFrom('orders').select('status').where('id', '=', order!.id).executeTakeFirst();
    return row?.status;
  }

  async function partition(w: World, sku: string) {
    const row = await w
      .hub!.db.selectFrom('stock_partitions')
      .selectAll()
      .where('sku', '=', sku)
      .executeTakeFirstOrThrow();
    return {
      onHand: Number(row.on_hand),
      reserved: Number(row.reserved),
      committed: Number(row.committed),
      edgeQuota: Number(row.edge_quota),
    };
  }

  async function expectCommerceHealed(w: World, commerce: Commerce): Promise<void> {
    expect(await checkPromises(w, commerce, { healed: false })).toEqual([]);
    expectHealed(w, await healAndCheck(w, { chaos: false, commerce }));
  }

  function fulfillment(commerce: Commerce): EdgeFulfillmentRow {
    const [row] = commerce.edgeFulfillments();
    if (!row) throw new Error('the edge holds no fulfillment order');
    return row;
  }

  // Found by the simulation (seed 161): the hub folded the shipment's `ship` event, saw committed 3 >
  // on_hand 1 before the `fulfillment_shipped` fact right behind it released 2, and asked the edge to
  // release the second order's unit (then backordered). Ship events now leave `committed` themselves.
  it('does not take a shipment for a shortage: shipping one order leaves the next one committed', async () => {
    const w = await open();
    const c = commerceOf(w);
    await w.write([receive('SOFA-2S', 3)]);
    w.connect();
    await settle(w);
    const first = await c.orderFromLines([{ sku: 'SOFA-2S', quantity: 2 }]);
    const second = await c.orderFromLines([{ sku: 'SOFA-2S', quantity: 1 }]);
    await c.pay(first);
    await c.pay(second);
    await settle(w);
    const [a, b] = c.edgeFulfillments();
    expect((await c.pickAt(a!, 'SOFA-2S', 2))?.status).toBe(201);
    expect((await c.packAt(a!))?.status).toBe(201);
    await settle(w);
    expect((await c.shipAt(a!))?.status).toBe(201);
    await settle(w);
    await w.wakeAll();
    await settle(w);
    // Nothing was lost: the one unit left on the shelf is the second order's, and nobody asks for it.
    const released = w
      .edge!.db.prepare("SELECT fulfillment_id FROM fulfillment_event WHERE type = 'fulfillment_released'")
      .all();
    expect(released).toEqual([]);
    expect(c.edgeFulfillments().find((row) => row.id === b!.id)).toMatchObject({
      status: 'open',
      lines: [{ sku: 'SOFA-2S', quantity: 1, picked: 0 }],
    });
    expect(await partition(w, 'SOFA-2S')).toMatchObject({ onHand: 1, committed: 1 });
    expect(await orderStatus(w, second)).toBe('processing');
    await expectCommerceHealed(w, c);
  });

  it('refuses a cancel that reaches the edge after it shipped offline: the order asks for a return and the shipment counts once', async () => {
    const w = await open();
    const c = commerceOf(w);
    await w.write([receive('SOFA-2S', 5)]);
    w.connect();
    await settle(w);
    const order = await c.orderFromLines([{ sku: 'SOFA-2S', quantity: 2 }]);
    await c.pay(order);
    await settle(w);
    expect((await c.pickAt(fulfillment(c), 'SOFA-2S', 2))?.status).toBe(201);
    expect((await c.packAt(fulfillment(c)))?.status).toBe(201);
    await settle(w);
    // The link drops; the customer cancels; the warehouse, offline, hands the parcel to the carrier.
    const first = only(w);
    w.cut(first);
    w.noticeEdge(first);
    w.noticeHub(first);
    await c.cancel(order);
    expect(await orderStatus(w, order)).toBe('cancel_requested');
    expect((await c.shipAt(fulfillment(c)))?.status).toBe(201);
    expect(await checkPromises(w, c, { healed: false })).toEqual([]);
    // Back online, the cancel request reaches the edge before the edge's push reaches the hub.
    w.connect();
    const second = only(w);
    await deliverUpThrough(w, second, 'hello');
    await deliverDownThrough(w, second, `checkpoint(warehouse:${simWarehouseId}`);
    expect(fulfillment(c).status).toBe('shipped');
    await settle(w);
    expect(await orderStatus(w, order)).toBe('return_requested');
    expect(await partition(w, 'SOFA-2S')).toMatchObject({ onHand: 3, committed: 0, reserved: 0 });
    await expectCommerceHealed(w, c);
  });

  it('restocks a return received offline, sent twice and followed by a SIGKILL exactly once; refunds stay within payment', async () => {
    const w = await open();
    const c = commerceOf(w);
    await w.write([receive('SOFA-2S', 3)]);
    w.connect();
    await settle(w);
    const order = await c.orderFromLines([{ sku: 'SOFA-2S', quantity: 2 }]);
    await c.pay(order);
    await settle(w);
    expect((await c.pickAt(fulfillment(c), 'SOFA-2S', 2))?.status).toBe(201);
    expect((await c.packAt(fulfillment(c)))?.status).toBe(201);
    expect((await c.shipAt(fulfillment(c)))?.status).toBe(201);
    await settle(w);
    expect(await c.requestReturn({ order: order!, sku: 'SOFA-2S', quantity: 3 })).toBeUndefined();
    const rma = await c.requestReturn({ order: order!, sku: 'SOFA-2S', quantity: 2 });
    expect(rma).toBeDefined();
    await settle(w);
    // The link drops; the warehouse receives the parcel offline, the scan is sent twice with one key,
    // more than is still expected is refused, and the edge is SIGKILLed right after.
    const first = only(w);
    w.cut(first);
    w.noticeEdge(first);
    w.noticeHub(first);
    const lines = [
      { sku: 'SOFA-2S', quantity: 1, disposition: 'restock' as const },
      { sku: 'SOFA-2S', quantity: 1, disposition: 'damaged' as const },
    ];
    expect(await c.receiveReturn({ id: rma!, lines, times: 2 })).toBe(201);
    expect(c.oracle.returnReplays).toBe(1);
    expect(
      await c.receiveReturn({ id: rma!, lines: [{ sku: 'SOFA-2S', quantity: 1, disposition: 'missing' }], times: 1 }),
    ).toBe(409);
    await w.crashEdge('right after receiving the return', true);
    await w.startEdge();
    w.connect();
    await settle(w);
    expect(await checkReturns(w, c)).toEqual([]);
    const closed = await w
      .hub!.db.selectFrom('returns')
      .select('status')
      .where('id', '=', rma!)
      .executeTakeFirstOrThrow();
    expect(closed.status).toBe('closed');
    expect(await partition(w, 'SOFA-2S')).toMatchObject({ onHand: 3, committed: 0 });
    await c.refund(order, 1);
    await c.refund(order, 10_000_000);
    await expectCommerceHealed(w, c);
  });

  it('sells in store only once the grant arrived, and gives back only the rights it has left', async () => {
    const w = await open();
    const c = commerceOf(w, ['LAMP-1', 'SOFA-2S']);
    await w.write([receive('LAMP-1', 5)]);
    w.connect();
    await settle(w);
    await c.grant('LAMP-1', 3);
    expect(await partition(w, 'LAMP-1')).toMatchObject({ onHand: 5, edgeQuota: 3 });
    // A till rings before the grant arrived: refused (the edge sells only rights it holds).
    await w.write([{ type: 'instore_sale', sku: 'LAMP-1', quantity: 1 }]);
    expect(c.oracle.soldInStore.get('LAMP-1') ?? 0).toBe(0);
    // Online can promise only what the grant left: 2.
    await c.hold([{ sku: 'LAMP-1', quantity: 3 }], 900);
    await c.hold([{ sku: 'LAMP-1', quantity: 2 }], 900);
    expect(c.oracle.holds.map((hold) => hold.lines[0]?.quantity)).toEqual([2]);
    await settle(w);
    await w.write([{ type: 'instore_sale', sku: 'LAMP-1', quantity: 2 }]);
    expect(c.oracle.soldInStore.get('LAMP-1')).toBe(2);
    // The hub asks all 3 back while the sale is still on its way up: the edge returns the 1 left.
    await c.askBack('LAMP-1', 3);
    const connection = only(w);
    expect(connection.up.map((frame) => frame.type)).toEqual([expect.stringMatching(/^push/)]);
    await deliverDownThrough(w, connection, `checkpoint(warehouse:${simWarehouseId}`);
    expect(w.edge!.book.read('LAMP-1').state.edgeQuota).toBe(0);
    expect(await checkPromises(w, c, { healed: false })).toEqual([]);
    await settle(w);
    expect(await partition(w, 'LAMP-1')).toMatchObject({ onHand: 3, reserved: 2, edgeQuota: 0 });
    await expectCommerceHealed(w, c);
  });

  it('puts picked units back when a cancel reaches an edge that crashed between pick and ship, and ships nothing after', async () => {
    const w = await open();
    const c = commerceOf(w);
    await w.write([receive('SOFA-2S', 3)]);
    w.connect();
    await settle(w);
    const order = await c.orderFromLines([{ sku: 'SOFA-2S', quantity: 2 }]);
    await c.pay(order);
    await settle(w);
    // The picker scans both units; the edge dies right after the outbox write, before any push.
    w.crashPoints = { ...noCrashPoints, afterOutboxWrite: 1 };
    expect((await c.pickAt(fulfillment(c), 'SOFA-2S', 2))?.status).toBe(201);
    expect(w.edge).toBeUndefined();
    w.crashPoints = noCrashPoints;
    // While it is down the customer cancels.
    await c.cancel(order);
    await w.startEdge();
    expect(fulfillment(c)).toMatchObject({ status: 'picking', lines: [{ sku: 'SOFA-2S', quantity: 2, picked: 2 }] });
    w.connect();
    await settle(w);
    expect(fulfillment(c).status).toBe('canceled');
    expect(w.edge!.book.read('SOFA-2S').state).toMatchObject({ onHand: 3, picked: 0 });
    // The packer, unaware, scans the tote: nothing packs or ships.
    expect((await c.packAt(fulfillment(c)))?.status).toBe(409);
    expect((await c.shipAt(fulfillment(c)))?.status).toBe(409);
    await settle(w);
    expect(await orderStatus(w, order)).toBe('canceled');
    expect(await partition(w, 'SOFA-2S')).toMatchObject({ onHand: 3, committed: 0 });
    await expectCommerceHealed(w, c);
  });
});
