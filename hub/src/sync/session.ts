import {
  type Channel,
  type DownstreamMessage,
  type HelloMessage,
  PROTOCOL_VERSION,
  PROTOCOL_VERSION_MIN,
  type UpstreamMessage,
  changeForPeer,
  closeCodes,
  limits,
  warehouseChannel,
} from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database } from '../database.ts';
import { readDownstream } from '../downstream/outbox.ts';
import { divergedEntry, heldThrough } from './held-seqs.ts';
import {
  type PushOptions,
  EnrollmentReplaced,
  StreamSuperseded,
  type UncatalogedStockPolicy,
  applyPush,
  applyPushIn,
  storedRejections,
} from './apply-push.ts';
import type { GroupCommitter } from './group-commit.ts';

export type SyncPrincipal = { clientId: string; warehouseId: string; epoch: number };

export type SessionTransport = {
  send(message: DownstreamMessage): void;
  close(code: number, reason: string): void;
};

/**
 * A channel's cursor and its checkpoint in flight: sent at `sentAtMs`, `answered` once its
 * `changes_ack` arrived (marked on arrival: the ack may wait in the queue behind a slow push).
 */
type ChannelState = { cursor: number; inFlightThrough: number | null; sentAtMs: number; answered: boolean };

/**
 * The hub's side of one edge connection, without I/O of its own (the WebSocket server and the
 * simulation both drive it). Upstream frames are handled strictly in order; acks go out only after
 * the push's transaction committed. Downstream, each channel has one checkpoint in flight: the next
 * page is read from the durable log by cursor once the edge acked the previous one.
 * Liveness: the hello (awaited from the upgrade) and each checkpoint's `changes_ack` are awaited at
 * most `answerTimeoutMs` by `nowMs`; past that `overdue()` says so and the transport drops the
 * socket (an edge behind a middlebox that swallows frames still answers pings).
 */
export class HubSyncSession {
  readonly #db: Kysely<Database>;
  readonly #dialect: 'sqlite' | 'postgres';
  readonly #principal: SyncPrincipal;
  readonly #transport: SessionTransport;
  readonly #nowMs: () => number;
  readonly #logger: Logger;
  readonly #answerTimeoutMs: number;
  readonly #uncatalogedStock: UncatalogedStockPolicy;
  readonly #commits: GroupCommitter | undefined;
  readonly #openedAtMs: number;
  #helloArrived = false;
  #edgeId: string | undefined;
  /**
   * The highest seq the hub holds from this edge database when its stream starts below it, else 0:
   * a push at or below it must not put another event at a seq the hub holds (held-seqs.ts).
   */
  #heldThrough = 0;
  /** The protocol the edge's hello spoke: changes are sent in the shape it decodes. */
  #peerProtocol: number = PROTOCOL_VERSION;
  #connectedAtMs: number | undefined;
  #closed = false;
  #queue: Promise<void> = Promise.resolve();
  readonly #channels = new Map<Channel, ChannelState>();

  constructor(options: {
    db: Kysely<Database>;
    dialect: 'sqlite' | 'postgres';
    principal: SyncPrincipal;
    transport: SessionTransport;
    nowMs: () => number;
    logger: Logger;
    /** How long the hello and each checkpoint's `changes_ack` may take (default `limits.syncAnswerTimeoutMs`). */
    answerTimeoutMs?: number;
    /** Stock events for SKUs the catalog does not list: folded (`accept`, default) or refused. */
    uncatalogedStock?: UncatalogedStockPolicy;
    /**
     * SQLite: the sync server's group commit, shared by every session, so many edges' pushes and
     * bookkeeping writes share one commit's fsync. Without it each write is its own transaction.
     */
    commits?: GroupCommitter;
  }) {
    this.#db = options.db;
    this.#dialect = options.dialect;
    this.#principal = options.principal;
    this.#transport = options.transport;
    this.#nowMs = options.nowMs;
    this.#logger = options.logger;
    this.#answerTimeoutMs = options.answerTimeoutMs ?? limits.syncAnswerTimeoutMs;
    this.#uncatalogedStock = options.uncatalogedStock ?? 'accept';
    this.#commits = options.commits;
    this.#openedAtMs = this.#nowMs();
  }

  get warehouseId(): string {
    return this.#principal.warehouseId;
  }

  /** Frames are processed one at a time, in arrival order; the promise settles when this one is done. */
  receive(message: UpstreamMessage): Promise<void> {
    if (message.type === 'hello') this.#helloArrived = true;
    if (message.type === 'changes_ack') {
      const state = this.#channels.get(message.channel);
      if (state && state.inFlightThrough === message.seq) state.answered = true;
    }
    this.#queue = this.#queue.then(() => (this.#closed ? undefined : this.#handle(message)));
    return this.#queue;
  }

  /** A downstream log grew: send what the edge has not seen, where nothing is in flight. */
  wake(channel?: string): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      if (this.#closed || this.#edgeId === undefined) return;
      for (const name of this.#channels.keys()) if (channel === undefined || channel === name) await this.#pump(name);
    });
    return this.#queue;
  }

  /**
   * Whether a channel of this session is behind its head (`heads`: each channel's last seq) with no
   * checkpoint in flight: the server's slow poll wakes only those sessions, not every one.
   */
  behind(heads: ReadonlyMap<string, number>): boolean {
    if (this.#closed || this.#edgeId === undefined) return false;
    for (const [name, state] of this.#channels)
      if (state.inFlightThrough === null && (heads.get(name) ?? 0) > state.cursor) return true;
    return false;
  }

  /** When the first frame still waiting for the edge's answer becomes overdue; undefined when none waits. */
  answerDeadlineMs(): number | undefined {
    if (this.#closed) return undefined;
    if (!this.#helloArrived) return this.#openedAtMs + this.#answerTimeoutMs;
    let deadline: number | undefined;
    for (const state of this.#channels.values()) {
      if (state.inFlightThrough === null || state.answered) continue;
      deadline = Math.min(deadline ?? Number.POSITIVE_INFINITY, state.sentAtMs + this.#answerTimeoutMs);
    }
    return deadline;
  }

  /**
   * What the edge left unanswered past the bound (no hello since the upgrade, a checkpoint without
   * its `changes_ack`), or undefined: the transport then drops the socket, and the edge's next
   * connection resumes from its stored cursor.
   */
  overdue(): string | undefined {
    const deadline = this.answerDeadlineMs();
    const nowMs = this.#nowMs();
    if (deadline === undefined || nowMs < deadline) return undefined;
    if (!this.#helloArrived)
      return `no hello within ${nowMs - this.#openedAtMs} ms (bound ${this.#answerTimeoutMs} ms)`;
    const late = [...this.#channels]
      .filter(([, state]) => state.inFlightThrough !== null && !state.answered)
      .map(([channel, state]) => `checkpoint ${channel} ${state.inFlightThrough} for ${nowMs - state.sentAtMs} ms`);
    return `no changes_ack: ${late.join(', ')} (bound ${this.#answerTimeoutMs} ms)`;
  }

  /** The socket closed: stop, and mark the link down unless a newer connection took over. */
  closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const connectedAtMs = this.#connectedAtMs;
    if (connectedAtMs === undefined) return;
    this.#write((db) =>
      db
        .updateTable('edge_streams')
        .set({ connected_at: null })
        .where('warehouse_id', '=', this.#principal.warehouseId)
        .where('connected_at', '=', connectedAtMs)
        .execute(),
    ).catch((error) => this.#logger.warn({ err: error }, 'could not record the disconnect'));
  }

  /** The edge answered a ping: it is alive (what `GET /edges` reports as last seen). */
  touch(): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      if (this.#closed || this.#edgeId === undefined) return;
      await this.#write((db) =>
        db
          .updateTable('edge_streams')
          .set({ last_seen_at: this.#nowMs() })
          .where('warehouse_id', '=', this.#principal.warehouseId)
          .execute(),
      );
    });
    return this.#queue;
  }

  /** A write of its own: through the group commit when there is one (SQLite), else its own transaction. */
  #write<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.#commits ? this.#commits.run(work) : work(this.#db);
  }

  #fail(code: number, errorCode: 'malformed' | 'forbidden' | 'protocol_unsupported' | 'fenced', message: string): void {
    this.#transport.send({ type: 'error', code: errorCode, message });
    this.#transport.close(code, errorCode);
    this.#closed = true;
  }

  async #handle(message: UpstreamMessage): Promise<void> {
    if (message.type === 'hello') return this.#hello(message);
    if (this.#edgeId === undefined)
      return this.#fail(closeCodes.malformed, 'malformed', `${message.type} before hello`);
    if (message.type === 'push') {
      const foreign = message.events.find((entry) => entry.event.warehouseId !== this.#principal.warehouseId);
      if (foreign) {
        this.#logger.warn(
          { warehouseId: this.#principal.warehouseId, foreign: foreign.event.warehouseId },
          'edge pushed an event for another warehouse',
        );
        return this.#fail(
          closeCodes.forbidden,
          'forbidden',
          `this edge writes warehouse ${this.#principal.warehouseId} only`,
        );
      }
      const diverged =
        this.#heldThrough > 0
          ? await divergedEntry(
              this.#db,
              this.#principal.warehouseId,
              this.#edgeId,
              message.events.filter((entry) => entry.seq <= this.#heldThrough),
            )
          : undefined;
      if (diverged) {
        return this.#fail(
          closeCodes.fenced,
          'fenced',
          `seq ${diverged.seq} of this edge database already holds another event at the hub: the database diverged from what the hub applied (restored from a backup and written to since); re-enroll the edge with a fresh data directory`,
        );
      }
      let result: Awaited<ReturnType<typeof applyPush>>;
      try {
        const push: PushOptions = {
          dialect: this.#dialect,
          warehouseId: this.#principal.warehouseId,
          edgeId: this.#edgeId,
          events: message.events,
          nowMs: this.#nowMs(),
          epoch: this.#principal.epoch,
          uncatalogedStock: this.#uncatalogedStock,
        };
        result = await (this.#commits ? this.#commits.run((trx) => applyPushIn(trx, push)) : applyPush(this.#db, push));
      } catch (error) {
        if (error instanceof StreamSuperseded || error instanceof EnrollmentReplaced)
          return this.#fail(closeCodes.fenced, 'fenced', error.message);
        throw error;
      }
      if (result.upstreamAck >= this.#heldThrough) this.#heldThrough = 0;
      // Every refusal in the pushed range, stored before or just now: a resent batch whose first ack
      // was lost carries its rejections again. With no event of the push seen before, the refusals
      // are exactly this push's own (in seq order), and the store is not asked.
      const firstSeq = message.events[0]?.seq ?? 1;
      const rejected =
        result.upstreamAck < firstSeq
          ? []
          : result.duplicates === 0
            ? result.rejected.map(({ seq, reason, message }) => ({ seq, reason, message: message.slice(0, 500) }))
            : await storedRejections(this.#db, this.#principal.warehouseId, this.#edgeId, firstSeq, result.upstreamAck);
      const checksums = [...result.checksums]
        .slice(0, limits.pushBatchEventsMax)
        .map(([sku, checksum]) => ({ sku, checksum }));
      this.#transport.send({
        type: 'ack',
        upstreamAck: result.upstreamAck,
        ...(rejected.length > 0 ? { rejected } : {}),
        ...(checksums.length > 0 ? { checksums } : {}),
      } as DownstreamMessage);
      return;
    }
    // changes_ack
    const state = this.#channels.get(message.channel);
    if (!state || state.inFlightThrough === null || message.seq !== state.inFlightThrough) return;
    state.cursor = message.seq;
    state.inFlightThrough = null;
    const cursors = JSON.stringify(Object.fromEntries([...this.#channels].map(([name, s]) => [name, s.cursor])));
    await this.#write((db) =>
      db
        .updateTable('edge_streams')
        .set({ cursors_json: cursors, last_seen_at: this.#nowMs() })
        .where('warehouse_id', '=', this.#principal.warehouseId)
        .execute(),
    );
    await this.#pump(message.channel);
  }

  async #stillEnrolled(): Promise<boolean> {
    const warehouse = await this.#db
      .selectFrom('warehouses')
      .select('edge_epoch')
      .where('id', '=', this.#principal.warehouseId)
      .executeTakeFirst();
    if (!warehouse || Number(warehouse.edge_epoch) !== this.#principal.epoch) {
      this.#fail(closeCodes.fenced, 'fenced', 'this warehouse was re-enrolled: a newer edge owns it now');
      return false;
    }
    return true;
  }

  async #hello(hello: HelloMessage): Promise<void> {
    if (this.#edgeId !== undefined) return this.#fail(closeCodes.malformed, 'malformed', 'hello sent twice');
    if (hello.protocol < PROTOCOL_VERSION_MIN) {
      return this.#fail(
        closeCodes.protocolUnsupported,
        'protocol_unsupported',
        `protocol ${hello.protocol} is older than this hub supports (${PROTOCOL_VERSION_MIN}..${PROTOCOL_VERSION}); upgrade the edge`,
      );
    }
    if (hello.warehouseId !== this.#principal.warehouseId) {
      return this.#fail(
        closeCodes.forbidden,
        'forbidden',
        `the token names warehouse ${this.#principal.warehouseId}, not ${hello.warehouseId}`,
      );
    }
    if (hello.epoch !== this.#principal.epoch || !(await this.#stillEnrolled())) {
      if (!this.#closed) this.#fail(closeCodes.fenced, 'fenced', 'this edge holds an old enrollment');
      return;
    }
    const nowMs = this.#nowMs();
    const stream = await this.#db
      .selectFrom('edge_streams')
      .selectAll()
      .where('warehouse_id', '=', hello.warehouseId)
      .executeTakeFirst();
    const edgeAcked = hello.ackedSeq ?? 0;
    let appliedSeq: number;
    if (!stream || stream.edge_id !== hello.edgeId || hello.epoch > Number(stream.epoch)) {
      // A new stream: a first connection, a new incarnation (fresh or restored database) or a new
      // enrollment. It starts where the edge's outbox starts; events the hub already holds are
      // recognised by id, never by seq.
      appliedSeq = edgeAcked;
      if (stream)
        this.#logger.warn(
          { from: stream.edge_id, to: hello.edgeId, epoch: hello.epoch },
          'new edge incarnation or enrollment',
        );
      const values = {
        edge_id: hello.edgeId,
        epoch: hello.epoch,
        applied_seq: appliedSeq,
        last_seq: hello.lastSeq,
        connected_at: nowMs,
        last_seen_at: nowMs,
      };
      if (stream)
        await this.#db.updateTable('edge_streams').set(values).where('warehouse_id', '=', hello.warehouseId).execute();
      else {
        // Two first hellos (a reconnect racing the first socket) may both get here: the second one
        // takes the row over instead of failing on its key.
        await this.#db
          .insertInto('edge_streams')
          .values({
            warehouse_id: hello.warehouseId,
            cursors_json: '{}',
            last_applied_at: null,
            last_event_at: null,
            ...values,
          })
          .onConflict((conflict) => conflict.column('warehouse_id').doUpdateSet(values))
          .execute();
      }
    } else {
      appliedSeq = Number(stream.applied_seq);
      if (hello.lastSeq < appliedSeq) {
        return this.#fail(
          closeCodes.fenced,
          'fenced',
          `this edge database is behind what the hub applied (seq ${hello.lastSeq} < ${appliedSeq}): it was restored from a backup; re-enroll the edge`,
        );
      }
      await this.#db
        .updateTable('edge_streams')
        .set({ last_seq: hello.lastSeq, connected_at: nowMs, last_seen_at: nowMs })
        .where('warehouse_id', '=', hello.warehouseId)
        .execute();
      if (edgeAcked > appliedSeq) {
        // The edge saw acks the hub no longer remembers (the hub's database was restored): those
        // events are gone from both sides. Resume after them rather than wait for ever, and say so.
        // Only ever raise applied_seq: an older socket's push may commit between the read above and
        // this write (the simulation found that race), and moving the stream back would replay it.
        this.#logger.error(
          { appliedSeq, edgeAcked },
          'hub is missing acknowledged upstream events: recount this warehouse',
        );
        await this.#db
          .updateTable('edge_streams')
          .set({ applied_seq: edgeAcked })
          .where('warehouse_id', '=', hello.warehouseId)
          .where('applied_seq', '<', edgeAcked)
          .execute();
        appliedSeq = edgeAcked;
      }
    }
    this.#edgeId = hello.edgeId;
    const held = await heldThrough(this.#db, hello.warehouseId, hello.edgeId);
    this.#heldThrough = held > appliedSeq ? held : 0;
    this.#peerProtocol = hello.protocol;
    this.#connectedAtMs = nowMs;
    // Rejections after what the edge saw acked: the ack that carried them may have died with a socket.
    const missed = await storedRejections(this.#db, hello.warehouseId, hello.edgeId, edgeAcked + 1, appliedSeq);
    this.#transport.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      upstreamAck: appliedSeq,
      serverTimeMs: nowMs,
      ...(missed.length > 0 ? { rejected: missed } : {}),
    });
    for (const channel of ['catalog', warehouseChannel(hello.warehouseId)] as Channel[]) {
      let cursor = hello.cursors[channel] ?? 0;
      const head = await this.#db
        .selectFrom('downstream_channels')
        .select('last_seq')
        .where('channel', '=', channel)
        .executeTakeFirst();
      if (cursor > Number(head?.last_seq ?? 0)) {
        this.#transport.send({ type: 'must_reset', channel, reason: 'cursor_ahead' });
        cursor = 0;
      }
      this.#channels.set(channel, { cursor, inFlightThrough: null, sentAtMs: nowMs, answered: false });
      await this.#pump(channel);
    }
  }

  /** Sends the next page of a channel after the edge's cursor, closed by a checkpoint. */
  async #pump(channel: Channel): Promise<void> {
    const state = this.#channels.get(channel);
    if (!state || state.inFlightThrough !== null || this.#closed) return;
    const page = await readDownstream(this.#db, channel, state.cursor, limits.downstreamBatchChangesMax);
    if (page.length === 0) return;
    const through = page.at(-1)?.seq ?? state.cursor;
    state.inFlightThrough = through;
    state.sentAtMs = this.#nowMs();
    state.answered = false;
    this.#transport.send({
      type: 'changes',
      channel,
      changes: page.map(({ channel: _channel, createdAt: _createdAt, ...change }) =>
        changeForPeer(change, this.#peerProtocol),
      ),
    });
    this.#transport.send({
      type: 'checkpoint_complete',
      channel,
      seq: through,
      live: page.length < limits.downstreamBatchChangesMax,
    });
  }
}
