import fs from 'node:fs';
import path from 'node:path';
import { type EdgeDatabase, openEdgeDatabase } from '@dovetail/edge';
import {
  createChangeApplier,
  EdgeSyncSession,
  ensureNodeIdentity,
  FulfillmentDesk,
  ReturnDesk,
  StockBook,
  type StockCommand,
  StockWriter,
} from '@dovetail/edge/testing';
import {
  createProduct,
  type Database,
  HubSyncSession,
  openStorage,
  SqliteHoldWriter,
  type Storage,
  updateProduct,
} from '@dovetail/hub/testing';
import {
  createIdSource,
  type DownstreamChange,
  type DownstreamMessage,
  decodeDownstream,
  decodeUpstream,
  limits,
  type StockEvent,
  type UpstreamMessage,
} from '@dovetail/shared';
import { sql } from 'kysely';
import { pino } from 'pino';
import type { Prng } from './prng.ts';
import { simEpoch, simWarehouseId, type Templates, templateProducts } from './templates.ts';

const silent = pino({ level: 'silent' });

/** Where a frame is going and what it is, as JSON text exactly like the real transport carries it. */
type Frame = { text: string; type: string };

/**
 * One WebSocket between the edge and the hub. Each side closes on its own (a crash, a fault it
 * detected, or noticing the peer went away); a cut network drops everything in flight and each
 * side notices later (the ping timeout). Frames towards a side that has closed are lost.
 * A swallowed connection (a middlebox that eats frames, a hub wedged on a lock) loses every frame
 * while both sockets stay open and pings are still answered: neither side can notice anything but
 * its own frames going unanswered (the sessions' answer bound), until frames pass again.
 */
export type Connection = {
  id: number;
  edge: EdgeSyncSession | undefined;
  hub: HubSyncSession | undefined;
  up: Frame[];
  down: Frame[];
  cut: boolean;
  swallowed: boolean;
  /** Frames were lost inside this connection while both sides held it open (a swallow). */
  lossy: boolean;
};

/**
 * The edge's sync-relevant core, wired as `createEdgeNode` wires it (database, stock book, group-commit
 * writer) without the HTTP app, staff and metrics: `createEdgeNode` registers prom-client default
 * metrics per node, whose GC and event-loop observers are never released, and a simulation restarts
 * the edge thousands of times in one process.
 */
export type SimEdge = {
  db: EdgeDatabase;
  book: StockBook;
  writer: StockWriter;
  desk: FulfillmentDesk;
  /** Returns the hub authorized for the warehouse, received here (restock, damaged, missing). */
  returns: ReturnDesk;
  edgeId: string;
  close(): Promise<void>;
};

async function openSimEdge(dataDir: string, nowMs: () => number, newId: () => string): Promise<SimEdge> {
  const db = openEdgeDatabase(dataDir);
  const identity = ensureNodeIdentity(db, simWarehouseId, nowMs());
  const book = new StockBook(db, { warehouseId: identity.warehouseId, edgeId: identity.edgeId, newId });
  const writer = new StockWriter(db, book, { nowMs });
  const desk = new FulfillmentDesk(db, book, { newId });
  return {
    db,
    book,
    writer,
    desk,
    returns: new ReturnDesk(db, book),
    edgeId: identity.edgeId,
    async close() {
      await writer.close();
      db.close();
    },
  };
}

/** Named crash points and how likely each fires when reached, per schedule. */
export type CrashPoints = {
  afterOutboxWrite: number;
  afterPushSent: number;
  afterHubCommitBeforeAck: number;
  afterEdgeAppliedAck: number;
  afterCatalogCommitBeforeWake: number;
};

export const noCrashPoints: CrashPoints = {
  afterOutboxWrite: 0,
  afterPushSent: 0,
  afterHubCommitBeforeAck: 0,
  afterEdgeAppliedAck: 0,
  afterCatalogCommitBeforeWake: 0,
};

export type CatalogProductModel = { id: string; name: string; version: number; archived: boolean; skus: string[] };

/**
 * The simulated world: one real edge node and one real hub database in temporary SQLite files,
 * the real `EdgeSyncSession` and `HubSyncSession`, and a network the scheduler controls. It knows
 * nothing of schedules; `schedule.ts` decides which action runs next.
 */
export class World {
  readonly dir: string;
  readonly edgeDir: string;
  readonly hubFile: string;
  readonly prng: Prng;
  readonly trace: string[] = [];
  /** Broken invariants seen while running (a malformed frame, a thrown hub error, …). */
  readonly violations: string[] = [];
  nowMs = 1_800_000_000_000;
  /**
   * How long a session waits for an answer before dropping its socket, in simulated time: scaled
   * down like the clock's steps (1-40 ms), so that "time passes" and a long silence reach it.
   */
  readonly answerTimeoutMs = 3_000;
  edge: SimEdge | undefined;
  hub: Storage<Database> | undefined;
  /** As createHub starts one: SQLite holds are taken by this group-commit writer (reserveHold finds it by db). */
  holdWriter: SqliteHoldWriter | undefined;
  /**
   * SKUs the commerce actions (commerce.ts) own: holds, orders, quotas and in-store sales race on
   * them. The generic scan mix leaves them alone so every unit that leaves them is accounted for.
   */
  commerceSkus: readonly string[] = [];
  /** Told of every stock event the edge accepted (201) from `write`: the commerce oracle counts losses. */
  onAccepted: ((event: StockEvent) => void) | undefined;
  readonly connections: Connection[] = [];
  #nextConnectionId = 1;
  /** Event ids the edge answered 201 for: each must reach the hub exactly once. */
  readonly acknowledged: string[] = [];
  /** Per channel, the seqs the edge committed (change applied + cursor stored), in order. */
  readonly appliedLog = new Map<string, number[]>();
  #uncommittedApplies: Array<{ channel: string; seq: number }> = [];
  /** The catalog as the hub committed it: SKUs to scan come from here, so the hub knows them all. */
  readonly products: CatalogProductModel[] = templateProducts.map((p) => ({
    id: p.id,
    name: p.name,
    version: 1,
    archived: false,
    skus: [...p.skus],
  }));
  crashPoints: CrashPoints = noCrashPoints;
  /**
   * How often a scan names a SKU the hub's catalog does not know (yet): the hub must reject it
   * durably with `unknown_sku`, and the rejection must reach the edge.
   */
  ghostRate = 0;
  /**
   * The hub's `HUB_UNCATALOGED_STOCK`: `refuse` sends ghost scans back as `unknown_sku`; `accept`
   * (the product's default) folds them into the replica like any other partition.
   */
  uncatalogedStock: 'accept' | 'refuse' = 'refuse';
  /** Share of catalog wake-ups that never arrive (the server's poll must find the change). */
  lostWakeRate = 0;
  /** SKUs that were unknown to the hub at some point: the only ones a rejection may name. */
  readonly ghostSkus = new Set<string>();
  /** Set inside a step by a crash point; the step's caller performs the crash once the call returned. */
  #crashEdgeAfterCall = false;
  #crashHubAfterCall = false;
  readonly counters = {
    writes: 0,
    accepted: 0,
    refused: 0,
    pushes: 0,
    acks: 0,
    edgeCrashes: 0,
    hubCrashes: 0,
    connections: 0,
    swallows: 0,
    answerTimeouts: 0,
    catalog: 0,
    reconciles: 0,
    // Commerce (commerce.ts): what the hub and the edge answered yes to.
    holds: 0,
    holdsRefused: 0,
    paid: 0,
    cancelRequests: 0,
    picks: 0,
    packs: 0,
    shipments: 0,
    grants: 0,
    grantsRefused: 0,
    instoreSales: 0,
    losses: 0,
    returns: 0,
    returnReceipts: 0,
  };
  #productCounter = 0;
  readonly #ids: () => string;

  private constructor(dir: string, prng: Prng) {
    this.dir = dir;
    this.edgeDir = path.join(dir, 'edge');
    this.hubFile = path.join(dir, 'hub.db');
    this.prng = prng;
    this.#ids = createIdSource({ nowMs: () => this.nowMs, randomBytes: () => this.prng.bytes(16) });
  }

  /**
   * A world in `dir` (created if missing, reused between schedules: overwriting two files is much
   * cheaper than creating and deleting directories), starting from the template databases.
   */
  static async create(templates: Templates, prng: Prng, dir: string): Promise<World> {
    fs.mkdirSync(path.join(dir, 'edge'), { recursive: true });
    const edgeFile = path.join(dir, 'edge', 'edge.sqlite');
    const hubFile = path.join(dir, 'hub.db');
    for (const file of [edgeFile, hubFile]) {
      // A clean close checkpoints and removes these; a world that crashed the test may leave them.
      fs.rmSync(`${file}-wal`, { force: true });
      fs.rmSync(`${file}-shm`, { force: true });
    }
    fs.copyFileSync(templates.hubFile, hubFile);
    fs.copyFileSync(templates.edgeFile, edgeFile);
    const world = new World(dir, prng);
    await world.startEdge();
    await world.startHub();
    return world;
  }

  log(line: string): void {
    this.trace.push(line);
  }

  violation(message: string): void {
    this.violations.push(message);
    this.log(`!! ${message}`);
  }

  tick(): void {
    this.nowMs += this.prng.int(1, 40);
  }

  // ---- processes ----------------------------------------------------------------------------

  async startEdge(): Promise<void> {
    this.edge = await openSimEdge(this.edgeDir, () => this.nowMs, this.#ids);
    // A crash is simulated by closing the database between awaited steps, so fsync buys nothing here.
    this.edge.db.pragma('synchronous = OFF');
  }

  async startHub(): Promise<void> {
    this.hub = await openStorage<Database>({ kind: 'sqlite', file: this.hubFile });
    await sql`pragma synchronous = off`.execute(this.hub.db);
    if (!this.hub.sqlite) throw new Error('the simulated hub runs on SQLite');
    this.holdWriter = new SqliteHoldWriter(this.hub.db, this.hub.sqlite).start();
  }

  /** SIGKILL the edge: every socket dies with it, in-memory state is gone, the file stays. */
  async crashEdge(why: string, flushSentFrames?: boolean): Promise<void> {
    const edge = this.edge;
    if (!edge) return;
    const flush = flushSentFrames ?? this.prng.chance(0.5);
    this.log(`crash edge (${why})${flush ? ', kernel flushes its sent frames' : ''}`);
    for (const connection of this.connections) {
      if (connection.edge) this.#closeEdgeSide(connection, flush);
    }
    this.edge = undefined;
    this.counters.edgeCrashes++;
    await edge.close();
  }

  async crashHub(why: string, flushSentFrames?: boolean): Promise<void> {
    const hub = this.hub;
    if (!hub) return;
    const flush = flushSentFrames ?? this.prng.chance(0.5);
    this.log(`crash hub (${why})${flush ? ', kernel flushes its sent frames' : ''}`);
    for (const connection of this.connections) {
      if (connection.hub) this.#closeHubSide(connection, flush);
    }
    this.hub = undefined;
    this.counters.hubCrashes++;
    await this.holdWriter?.close();
    this.holdWriter = undefined;
    await hub.close();
  }

  async close(): Promise<void> {
    for (const connection of this.connections) {
      connection.hub?.closed();
      connection.edge = undefined;
      connection.hub = undefined;
    }
    await this.edge?.close();
    await this.holdWriter?.close();
    this.holdWriter = undefined;
    await this.hub?.close();
    this.edge = undefined;
    this.hub = undefined;
  }

  // ---- connections --------------------------------------------------------------------------

  /** The connection whose edge side is open (the edge holds one socket at a time). */
  edgeConnection(): Connection | undefined {
    return this.connections.find((connection) => connection.edge !== undefined);
  }

  canConnect(): boolean {
    return this.edge !== undefined && this.hub !== undefined && this.edgeConnection() === undefined;
  }

  connect(): void {
    const edge = this.edge;
    const hub = this.hub;
    if (!edge || !hub) throw new Error('connect needs both processes up');
    const connection: Connection = {
      id: this.#nextConnectionId++,
      edge: undefined,
      hub: undefined,
      up: [],
      down: [],
      cut: false,
      swallowed: false,
      lossy: false,
    };
    connection.hub = new HubSyncSession({
      db: hub.db,
      dialect: 'sqlite',
      principal: { clientId: `edge-${simWarehouseId}`, warehouseId: simWarehouseId, epoch: simEpoch },
      nowMs: () => this.nowMs,
      logger: silent,
      answerTimeoutMs: this.answerTimeoutMs,
      uncatalogedStock: this.uncatalogedStock,
      transport: {
        send: (message) => this.#hubSend(connection, message),
        close: (code, reason) => {
          this.log(`  hub closes c${connection.id}: ${code} ${reason}`);
          // Frames the hub queued before closing (its error message) still reach the edge.
          this.#closeHubSide(connection, true);
        },
      },
    });
    const applier = createChangeApplier(edge.db, edge.desk, edge.book, () => this.nowMs);
    connection.edge = new EdgeSyncSession(edge.db, {
      warehouseId: simWarehouseId,
      edgeId: edge.edgeId,
      epoch: simEpoch,
      nowMs: () => this.nowMs,
      applyChange: (change: DownstreamChange) => {
        const result = applier(change);
        this.#uncommittedApplies.push({ channel: this.#applyingChannel ?? '?', seq: change.seq });
        return result;
      },
      send: (message) => this.#edgeSend(connection, message),
      // As createEdgeNode wires it: a drifted hub replica is restated by a reconcile event.
      onDrift: (sku) => this.#drifted.push(sku),
      answerTimeoutMs: this.answerTimeoutMs,
    });
    this.connections.push(connection);
    this.counters.connections++;
    this.log(`connect c${connection.id}`);
    connection.edge.start();
  }

  #applyingChannel: string | undefined;
  /** Partitions the hub's ack checksums said drifted, restated once the frame is handled. */
  #drifted: string[] = [];

  #edgeSend(connection: Connection, message: UpstreamMessage): void {
    if (message.type === 'push') {
      this.counters.pushes++;
      if (this.prng.chance(this.crashPoints.afterPushSent)) this.#crashEdgeAfterCall = true;
    }
    if (!connection.edge || connection.cut || !connection.hub) return;
    if (connection.swallowed) {
      this.log(`  swallowed c${connection.id} ${describeUp(message)}`);
      return;
    }
    connection.up.push({ text: JSON.stringify(message), type: describeUp(message) });
  }

  #hubSend(connection: Connection, message: DownstreamMessage): void {
    if (message.type === 'ack' && this.prng.chance(this.crashPoints.afterHubCommitBeforeAck)) {
      // The push committed; the hub dies before the ack leaves it.
      this.#crashHubAfterCall = true;
      this.log(`  hub committed, dies before sending ${describeDown(message)}`);
      return;
    }
    if (this.#crashHubAfterCall) return;
    if (!connection.hub || connection.cut || !connection.edge) return;
    if (connection.swallowed) {
      this.log(`  swallowed c${connection.id} ${describeDown(message)}`);
      return;
    }
    connection.down.push({ text: JSON.stringify(message), type: describeDown(message) });
  }

  /** The edge side closes (crash, fault, or it noticed the peer went away). */
  #closeEdgeSide(connection: Connection, flush: boolean): void {
    connection.edge = undefined;
    connection.down = [];
    if (!flush) connection.up = [];
  }

  #closeHubSide(connection: Connection, flush: boolean): void {
    connection.hub?.closed();
    connection.hub = undefined;
    connection.up = [];
    if (!flush) connection.down = [];
  }

  /** The network between the two drops: in-flight frames are lost; both sides notice later. */
  cut(connection: Connection): void {
    connection.cut = true;
    connection.up = [];
    connection.down = [];
    this.log(`cut c${connection.id}`);
  }

  /**
   * Frames start disappearing inside the connection, in flight ones too, while both sockets stay
   * open: neither side hears of the other closing either, until `passFrames`.
   */
  swallow(connection: Connection): void {
    connection.swallowed = true;
    connection.lossy = true;
    connection.up = [];
    connection.down = [];
    this.counters.swallows++;
    this.log(`swallow c${connection.id}`);
  }

  /** Frames pass again (the swallowed ones stay lost); a close held back becomes noticeable. */
  passFrames(connection: Connection): void {
    connection.swallowed = false;
    this.log(`c${connection.id} passes frames again`);
  }

  /** A side may notice a close once the frames before the close were delivered to it. */
  edgeMayNotice(connection: Connection): boolean {
    return (
      connection.edge !== undefined &&
      (connection.cut || (connection.hub === undefined && !connection.swallowed)) &&
      connection.down.length === 0
    );
  }

  hubMayNotice(connection: Connection): boolean {
    return (
      connection.hub !== undefined &&
      (connection.cut || (connection.edge === undefined && !connection.swallowed)) &&
      connection.up.length === 0
    );
  }

  /** The earliest time a session of `connection` gives up waiting for an answer (undefined: none waits). */
  answerDeadlineMs(connection: Connection): number | undefined {
    const deadlines = [connection.edge?.answerDeadlineMs(), connection.hub?.answerDeadlineMs()].filter(
      (deadline): deadline is number => deadline !== undefined,
    );
    return deadlines.length === 0 ? undefined : Math.min(...deadlines);
  }

  /** The edge's answer timer fires: it left a hello or push unanswered past the bound, so it drops the socket. */
  edgeAnswerTimeout(connection: Connection): void {
    const fault = connection.edge?.overdue();
    if (!fault) return;
    this.counters.answerTimeouts++;
    this.log(`edge drops c${connection.id}: ${fault.message}`);
    this.#closeEdgeSide(connection, true);
    this.#prune();
  }

  /** The hub's answer timer fires: a hello or checkpoint went unanswered past the bound, so it drops the socket. */
  hubAnswerTimeout(connection: Connection): void {
    const overdue = connection.hub?.overdue();
    if (!overdue) return;
    this.counters.answerTimeouts++;
    this.log(`hub drops c${connection.id}: ${overdue}`);
    this.#closeHubSide(connection, true);
    this.#prune();
  }

  noticeEdge(connection: Connection): void {
    this.log(`edge notices c${connection.id} closed`);
    this.#closeEdgeSide(connection, true);
    this.#prune();
  }

  noticeHub(connection: Connection): void {
    this.log(`hub notices c${connection.id} closed`);
    this.#closeHubSide(connection, true);
    this.#prune();
  }

  #prune(): void {
    for (let i = this.connections.length - 1; i >= 0; i--) {
      const connection = this.connections[i] as Connection;
      if (!connection.edge && !connection.hub) this.connections.splice(i, 1);
    }
  }

  // ---- delivery -----------------------------------------------------------------------------

  /** Delivers frame `index` of the upstream queue to the hub session, decoded like the real server. */
  async deliverUp(connection: Connection, index = 0, options: { deferCrash?: boolean } = {}): Promise<void> {
    const [frame] = connection.up.splice(index, 1);
    const session = connection.hub;
    if (!frame || !session) return;
    this.log(`c${connection.id} → hub ${frame.type}${index > 0 ? ` (overtook ${index})` : ''}`);
    const decoded = decodeUpstream(frame.text);
    if (!decoded.ok) {
      this.violation(`edge sent a frame the hub cannot decode (${decoded.reason}: ${decoded.detail})`);
      this.#closeHubSide(connection, true);
      return;
    }
    try {
      await session.receive(decoded.message);
    } catch (error) {
      // The server closes with 1011; the simulation also counts it: nothing here should throw.
      this.violation(`hub session threw on ${frame.type}: ${(error as Error).message}`);
      this.#closeHubSide(connection, true);
    }
    if (!options.deferCrash) await this.settleHubCrash();
  }

  /**
   * Frames from two sockets reach the hub at once (a reconnect racing the old socket whose frames are
   * still arriving): the sessions' promises interleave at every await, as on the real server.
   */
  async deliverUpConcurrently(connections: Connection[], options: { drawOrder?: boolean } = {}): Promise<void> {
    // Either socket may win the first await: the order the promises start in is drawn too.
    if ((options.drawOrder ?? true) && this.prng.chance(0.5)) connections = [...connections].reverse();
    this.log(`concurrently: ${connections.map((connection) => `c${connection.id}`).join(' ')}`);
    await Promise.all(connections.map((connection) => this.deliverUp(connection, 0, { deferCrash: true })));
    await this.settleHubCrash();
  }

  async settleHubCrash(): Promise<void> {
    if (!this.#crashHubAfterCall) return;
    this.#crashHubAfterCall = false;
    await this.crashHub('after commit, before ack');
  }

  async deliverDown(connection: Connection, index = 0): Promise<void> {
    const [frame] = connection.down.splice(index, 1);
    const session = connection.edge;
    if (!frame || !session) return;
    this.log(`c${connection.id} → edge ${frame.type}${index > 0 ? ` (overtook ${index})` : ''}`);
    const decoded = decodeDownstream(frame.text);
    if (!decoded.ok) {
      this.violation(`hub sent a frame the edge cannot decode (${decoded.reason}: ${decoded.detail})`);
      this.#closeEdgeSide(connection, true);
      return;
    }
    const message = decoded.message;
    this.#uncommittedApplies = [];
    this.#applyingChannel = message.type === 'checkpoint_complete' ? message.channel : undefined;
    try {
      const fault = session.receive(message);
      if (fault) {
        this.log(`  edge fault: ${fault.message}; closes 4400`);
        this.#closeEdgeSide(connection, true);
      }
      if (message.type === 'must_reset') {
        this.violation(
          `hub sent must_reset (${message.reason}) on ${message.channel}: the edge's cursor was never ahead of the log`,
        );
      }
      for (const applied of this.#uncommittedApplies) {
        const log = this.appliedLog.get(applied.channel) ?? [];
        log.push(applied.seq);
        this.appliedLog.set(applied.channel, log);
      }
    } catch (error) {
      // The real client closes with 1011 when applying a frame throws; the transaction rolled back.
      this.log(`  edge threw: ${(error as Error).message}; closes 1011`);
      this.#closeEdgeSide(connection, true);
    } finally {
      this.#uncommittedApplies = [];
      this.#applyingChannel = undefined;
    }
    for (const sku of this.#drifted.splice(0)) {
      this.counters.reconciles++;
      await this.write([{ type: 'reconcile', sku, note: 'hub replica checksum differed' }], 'sync');
    }
    if (message.type === 'ack') {
      this.counters.acks++;
      if (this.prng.chance(this.crashPoints.afterEdgeAppliedAck)) this.#crashEdgeAfterCall = true;
    }
    await this.#afterEdgeCall(message.type === 'ack' ? 'after applying an ack' : 'after sending a push');
  }

  duplicate(queue: Frame[], index: number): void {
    const frame = queue[index];
    if (frame) queue.splice(this.prng.int(index, queue.length), 0, { ...frame });
  }

  // ---- edge and hub work --------------------------------------------------------------------

  /** A backlog larger than one push batch, committed as one group: pushes must page through it. */
  async edgeBurst(): Promise<void> {
    const edge = this.edge;
    if (!edge) return;
    const sku = this.prng.pick(this.products.flatMap((product) => product.skus));
    const count = this.prng.int(limits.pushBatchEventsMax + 1, limits.pushBatchEventsMax + 30);
    const responses = await Promise.all(
      Array.from({ length: count }, () =>
        edge.writer.submit({ command: { type: 'receive', sku, quantity: 1 }, actor: 'lead' }),
      ),
    );
    for (const response of responses) {
      this.counters.writes++;
      if (response.status !== 201) this.violation(`a burst receive answered ${response.status}`);
      else {
        this.counters.accepted++;
        this.acknowledged.push((response.body as { event: { id: string } }).event.id);
      }
    }
    this.log(`burst: ${count} receives of ${sku} in one group commit`);
    this.edgeConnection()?.edge?.notifyOutbox();
    await this.#afterEdgeCall('after sending a push');
  }

  /** Scanners submit 1-3 commands together (one group commit), through the real StockWriter. */
  async edgeWrite(): Promise<void> {
    await this.write(Array.from({ length: this.prng.int(1, 3) }, () => this.#command()));
  }

  /** Submits `commands` at once; every 201 is remembered as an event the hub must hold exactly once. */
  async write(commands: StockCommand[], actor = 'lead'): Promise<void> {
    const edge = this.edge;
    if (!edge) return;
    const responses = await Promise.all(commands.map((command) => edge.writer.submit({ command, actor })));
    const summary: string[] = [];
    responses.forEach((response, index) => {
      this.counters.writes++;
      const command = commands[index] as StockCommand;
      if (response.status === 201) {
        const body = response.body as { event: StockEvent };
        this.acknowledged.push(body.event.id);
        this.onAccepted?.(body.event);
        this.counters.accepted++;
        summary.push(`${command.type} ${command.sku} 201`);
      } else if (response.status === 409 || response.status === 422) {
        this.counters.refused++;
        summary.push(`${command.type} ${command.sku} ${response.status}`);
      } else {
        this.violation(`StockWriter answered ${response.status}: ${JSON.stringify(response.body).slice(0, 200)}`);
      }
    });
    this.log(`write ${summary.join(', ')}`);
    if (this.prng.chance(this.crashPoints.afterOutboxWrite)) {
      await this.crashEdge('after the outbox write, before the push');
      return;
    }
    this.edgeConnection()?.edge?.notifyOutbox();
    await this.#afterEdgeCall('after sending a push');
  }

  /**
   * After edge work that committed outbox rows outside `write` (the fulfillment desk): the same crash
   * point and wake-up as a scan.
   */
  async afterEdgeWork(): Promise<void> {
    if (this.prng.chance(this.crashPoints.afterOutboxWrite)) {
      await this.crashEdge('after the outbox write, before the push');
      return;
    }
    this.edgeConnection()?.edge?.notifyOutbox();
    await this.#afterEdgeCall('after sending a push');
  }

  async #afterEdgeCall(why: string): Promise<void> {
    if (!this.#crashEdgeAfterCall) return;
    this.#crashEdgeAfterCall = false;
    await this.crashEdge(why);
  }

  #command(): StockCommand {
    const skus = this.products.flatMap((product) => product.skus);
    const scanned = skus.filter((sku) => !this.commerceSkus.includes(sku));
    let sku = this.prng.pick(scanned.length > 0 ? scanned : skus);
    if (this.prng.chance(this.ghostRate)) {
      sku = `GHOST-${this.prng.int(1, 3)}`;
      if (!skus.includes(sku)) this.ghostSkus.add(sku);
    }
    const bin = this.prng.pick([undefined, 'A-1', 'B-2']);
    const quantity = this.prng.int(1, 4);
    const kind = this.prng.weighted([
      ['receive', 5],
      ['adjust', 2],
      ['count', 2],
      ['damage', 1],
      ['move', 1],
      ['transfer_out', 1],
      ['transfer_in', 1],
      ['pick', 1],
      ['ship', 1],
      ['serial', 1],
    ] as const);
    const at = bin === undefined ? {} : { bin };
    switch (kind) {
      case 'receive':
        return { type: 'receive', sku, quantity, ...at };
      case 'adjust':
        return {
          type: 'adjust',
          sku,
          delta: this.prng.chance(0.5) ? quantity : -quantity,
          reason: 'correction',
          ...at,
        };
      case 'count':
        return { type: 'count', sku, countedQuantity: this.prng.int(0, 8), ...at };
      case 'damage':
        return { type: 'damage', sku, quantity: 1, ...at };
      case 'move':
        return { type: 'move', sku, quantity: 1, fromBin: 'A-1', toBin: 'B-2' };
      case 'transfer_out':
        return {
          type: 'transfer_out',
          sku,
          quantity,
          transferId: `T-${this.prng.int(1, 3)}`,
          toWarehouseId: 'W2',
          ...at,
        };
      case 'transfer_in':
        return {
          type: 'transfer_in',
          sku,
          quantity,
          transferId: `T-${this.prng.int(1, 3)}`,
          fromWarehouseId: 'W2',
          ...at,
        };
      case 'pick':
        return { type: 'pick', sku, quantity: 1, fulfillmentId: 'F-1', ...at };
      case 'ship':
        return { type: 'ship', sku, quantity: 1, fulfillmentId: 'F-1' };
      case 'serial':
        return { type: 'receive', sku, quantity: 1, serials: [`SN-${this.prng.int(1, 6)}`] };
    }
  }

  /** The hub changes its catalog through the real service (the change and its log entry commit together). */
  async catalogChange(): Promise<void> {
    const hub = this.hub;
    if (!hub) return;
    const existing = this.prng.chance(0.6) ? this.prng.pick(this.products) : undefined;
    if (!existing) {
      const n = ++this.#productCounter;
      const id = `p-sim-${n}`;
      const known = new Set(this.products.flatMap((product) => product.skus));
      // The hub may learn a SKU the edge scanned before it existed: earlier scans stay rejected.
      const ghost = [...this.ghostSkus].find((sku) => !known.has(sku));
      const skus =
        ghost && this.prng.chance(0.5) ? [ghost] : [`SIM-${n}-A`, ...(this.prng.chance(0.5) ? [`SIM-${n}-B`] : [])];
      await createProduct(
        hub.db,
        {
          name: `Sim product ${n}`,
          category: 'chair',
          basePrice: 50_00,
          currency: 'EUR',
          variants: skus.map((sku) => ({ sku, options: { seat: sku } })),
        },
        this.nowMs,
        id,
      );
      this.products.push({ id, name: `Sim product ${n}`, version: 1, archived: false, skus });
      this.log(`catalog: create ${id} ${skus.join(' ')}`);
    } else {
      const change = this.prng.weighted([
        ['rename', 2],
        ['archive', 1],
        ['add_variant', 1],
      ] as const);
      const name =
        change === 'rename' ? `${existing.name.replace(/ v\d+$/, '')} v${existing.version + 1}` : existing.name;
      const archived = change === 'archive' ? !existing.archived : existing.archived;
      const skus =
        change === 'add_variant' ? [...existing.skus, `${existing.skus[0]}-X${existing.version + 1}`] : existing.skus;
      await updateProduct(
        hub.db,
        existing.id,
        existing.version,
        {
          name,
          category: 'chair',
          basePrice: 60_00,
          currency: 'EUR',
          archived,
          // Variants are only ever added: a SKU the edge may have scanned stays known to the hub.
          variants: skus.map((sku, index) => ({ sku, options: { size: String(index + 1) } })),
        },
        this.nowMs,
      );
      existing.version++;
      existing.name = name;
      existing.archived = archived;
      existing.skus = skus;
      this.log(`catalog: ${change} ${existing.id} → v${existing.version}`);
    }
    this.counters.catalog++;
    if (this.prng.chance(this.crashPoints.afterCatalogCommitBeforeWake)) {
      await this.crashHub('after a catalog commit, before waking the senders');
      return;
    }
    if (this.prng.chance(this.lostWakeRate)) {
      this.log('  the wake-up is lost: only the slow poll finds this change');
      return;
    }
    await this.wakeAll('catalog');
  }

  /** The in-process notifier (or the server's slow poll) wakes every session's sender. */
  async wakeAll(channel?: string): Promise<void> {
    for (const connection of [...this.connections]) {
      const session = connection.hub;
      if (!session) continue;
      try {
        await session.wake(channel);
      } catch (error) {
        this.violation(`hub session threw on wake: ${(error as Error).message}`);
        this.#closeHubSide(connection, true);
      }
    }
  }
}

function describeUp(message: UpstreamMessage): string {
  switch (message.type) {
    case 'hello':
      return `hello(lastSeq ${message.lastSeq}, cursors ${JSON.stringify(message.cursors)})`;
    case 'push':
      return `push(${message.events[0]?.seq}..${message.events.at(-1)?.seq})`;
    case 'changes_ack':
      return `changes_ack(${message.channel} ${message.seq})`;
  }
}

function describeDown(message: DownstreamMessage): string {
  switch (message.type) {
    case 'welcome':
      return `welcome(${message.upstreamAck})`;
    case 'ack':
      return `ack(${message.upstreamAck}${message.rejected ? `, ${message.rejected.length} rejected` : ''})`;
    case 'changes':
      return `changes(${message.channel} ${message.changes[0]?.seq}..${message.changes.at(-1)?.seq})`;
    case 'checkpoint_complete':
      return `checkpoint(${message.channel} ${message.seq})`;
    case 'must_reset':
      return `must_reset(${message.channel})`;
    case 'error':
      return `error(${message.code})`;
  }
}
