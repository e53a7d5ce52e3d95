import {
  type AckMessage,
  assert,
  type Channel,
  type DownstreamChange,
  type DownstreamMessage,
  limits,
  PROTOCOL_VERSION,
  partitionChecksum,
  partitionStateSchema,
  type UpstreamMessage,
} from '@dovetail/shared';
import type { EdgeDatabase } from '../db/open.ts';
import type { ChangeApplier } from './apply-changes.ts';

export type SessionFault = { code: 'protocol_violation' | 'answer_timeout'; message: string };

/**
 * One connection's worth of the sync protocol at the edge, with no I/O of its own: the transport
 * hands it decoded frames and gives it a `send`. The simulation drives the same class.
 *
 * Upstream: after `welcome`, push the outbox in bounded batches, up to `limits.pushWindowBatchesMax`
 * in flight, so the edge reads and sends the next batch while the hub applies the one before; the
 * hub answers each push with one `ack`, in order. On `ack`, record rejections and delete acked rows
 * in one transaction, then fill the window again. An ack below the batch it answers (the hub saw a
 * gap, or the ack is a stale duplicate) stops sending until every push in flight is answered, then
 * resends from the acked seq: the hub ignores seqs it already applied, so resending is always safe.
 * Downstream: buffer `changes` per channel; on `checkpoint_complete` apply them and store the
 * cursor in one transaction, then `changes_ack`. The cursor is never written ahead of its changes.
 * Liveness: the hello waits for `welcome` and a push for its `ack` at most `answerTimeoutMs` by
 * `nowMs`; past that `overdue()` says so and the transport drops the socket (a hub wedged on a lock
 * or a middlebox swallowing frames still answers pings, so the keepalive alone never would).
 */
export class EdgeSyncSession {
  readonly #db: EdgeDatabase;
  readonly #send: (message: UpstreamMessage) => void;
  readonly #applyChange: ChangeApplier;
  readonly #nowMs: () => number;
  readonly #hello: { warehouseId: string; edgeId: string; epoch: number };
  readonly #sql;
  #welcomed = false;
  /** Events per push the hub takes: fewer for a hub older than protocol version 6 (from its welcome). */
  #pushEventsMax: number = limits.pushBatchEventsMaxV5;
  /** Pushes sent and not yet answered, oldest first: the first and last seq of each. */
  #inFlight: Array<{ from: number; through: number }> = [];
  /** An ack fell short of the batch it answered: send nothing until the window empties, then resend. */
  #resending = false;
  readonly #answerTimeoutMs: number;
  /**
   * The frame waiting for the hub's answer (the hello, then the oldest push in flight), and since
   * when: a push's wait starts when it becomes the oldest, since the hub answers them in order.
   */
  #awaiting: { what: string; sinceMs: number } | undefined;
  readonly #pending = new Map<Channel, DownstreamChange[]>();
  readonly #onDrift: ((sku: string) => void) | undefined;

  constructor(
    db: EdgeDatabase,
    options: {
      warehouseId: string;
      edgeId: string;
      epoch: number;
      send: (message: UpstreamMessage) => void;
      applyChange: ChangeApplier;
      nowMs: () => number;
      /** The hub's replica of this partition differs from the edge's: restate it (a reconcile event). */
      onDrift?: (sku: string) => void;
      /** How long a hello or a push may wait for its answer (default `limits.syncAnswerTimeoutMs`). */
      answerTimeoutMs?: number;
    },
  ) {
    this.#onDrift = options.onDrift;
    this.#answerTimeoutMs = options.answerTimeoutMs ?? limits.syncAnswerTimeoutMs;
    this.#db = db;
    this.#send = options.send;
    this.#applyChange = options.applyChange;
    this.#nowMs = options.nowMs;
    this.#hello = { warehouseId: options.warehouseId, edgeId: options.edgeId, epoch: options.epoch };
    this.#sql = {
      upstream: db.prepare<[], { last_seq: number; acked_seq: number }>(
        'SELECT last_seq, acked_seq FROM upstream WHERE id = 1',
      ),
      outbox: db.prepare<[number, number], { seq: number; event: string }>(
        'SELECT seq, event FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?',
      ),
      setAcked: db.prepare('UPDATE upstream SET acked_seq = ? WHERE id = 1 AND acked_seq < ?'),
      deleteAcked: db.prepare('DELETE FROM outbox WHERE seq <= ?'),
      eventAt: db.prepare<[number], { id: string; sku: string }>('SELECT id, sku FROM ledger WHERE upstream_seq = ?'),
      // Facts (packed, shipped, canceled, return received) are queued without a ledger row.
      factAt: db.prepare<[number], { event_id: string; event: string }>(
        'SELECT event_id, event FROM outbox WHERE seq = ?',
      ),
      reject: db.prepare(
        'INSERT INTO sync_rejection (seq, event_id, sku, reason, message, rejected_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING',
      ),
      cursors: db.prepare<[], { channel: string; seq: number }>('SELECT channel, seq FROM sync_cursor'),
      cursor: db.prepare<[string], { seq: number }>('SELECT seq FROM sync_cursor WHERE channel = ?'),
      setCursor: db.prepare(
        'INSERT INTO sync_cursor (channel, seq) VALUES (?, ?) ON CONFLICT (channel) DO UPDATE SET seq = excluded.seq',
      ),
      contact: db.prepare('UPDATE sync_link SET last_contact_ms = ? WHERE id = 1'),
      // Ledger positions and upstream seqs are handed out in the same write, so the last row of the
      // SKU that went upstream is its latest seq: a walk back along `ledger_by_sku` that stops at the
      // first such row, not a scan of every ledger row of the SKU (which made catch-up slow down as
      // the backlog grew).
      latestSeqOf: db.prepare<[string], { seq: number | null }>(
        'SELECT upstream_seq AS seq FROM ledger WHERE sku = ? AND upstream_seq IS NOT NULL ORDER BY position DESC LIMIT 1',
      ),
      partitionState: db.prepare<[string], { state: string }>('SELECT state FROM partition WHERE sku = ?'),
    };
  }

  /** The first frame on a fresh connection. */
  start(): void {
    const upstream = this.#sql.upstream.get();
    const cursors: Record<string, number> = {};
    for (const row of this.#sql.cursors.all()) cursors[row.channel] = row.seq;
    this.#awaiting = { what: 'hello', sinceMs: this.#nowMs() };
    this.#send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      ...this.#hello,
      lastSeq: upstream?.last_seq ?? 0,
      ackedSeq: upstream?.acked_seq ?? 0,
      cursors,
    });
  }

  /** When the frame waiting for the hub's answer becomes overdue; undefined when nothing waits. */
  answerDeadlineMs(): number | undefined {
    return this.#awaiting === undefined ? undefined : this.#awaiting.sinceMs + this.#answerTimeoutMs;
  }

  /**
   * A fault once the hello or the push in flight has waited `answerTimeoutMs` for its answer: the
   * transport drops the socket; the next connection's welcome says what the hub has, and the push
   * resumes from there.
   */
  overdue(): SessionFault | undefined {
    const awaiting = this.#awaiting;
    if (awaiting === undefined) return undefined;
    const waitedMs = this.#nowMs() - awaiting.sinceMs;
    if (waitedMs < this.#answerTimeoutMs) return undefined;
    return {
      code: 'answer_timeout',
      message: `the hub left the ${awaiting.what} unanswered for ${waitedMs} ms (bound ${this.#answerTimeoutMs} ms)`,
    };
  }

  /** Local writes committed: push them if nothing is in flight. */
  notifyOutbox(): void {
    if (this.#welcomed) this.#pushNext();
  }

  /** Handles one decoded frame; returns a fault if the hub broke the protocol (the transport closes). */
  receive(message: DownstreamMessage): SessionFault | undefined {
    this.#sql.contact.run(this.#nowMs());
    switch (message.type) {
      case 'welcome':
        this.#welcomed = true;
        this.#pushEventsMax = message.protocol >= 6 ? limits.pushBatchEventsMax : limits.pushBatchEventsMaxV5;
        this.#inFlight = [];
        this.#resending = false;
        this.#awaiting = undefined;
        return this.#acknowledge({
          type: 'ack',
          upstreamAck: message.upstreamAck,
          ...(message.rejected ? { rejected: message.rejected } : {}),
        });
      case 'ack':
        if (!this.#welcomed) return { code: 'protocol_violation', message: 'ack before welcome' };
        return this.#acknowledge(message);
      case 'changes': {
        const buffered = this.#pending.get(message.channel) ?? [];
        if (buffered.length + message.changes.length > limits.downstreamBatchChangesMax * 4) {
          return { code: 'protocol_violation', message: `checkpoint on ${message.channel} exceeds the buffer bound` };
        }
        buffered.push(...message.changes);
        this.#pending.set(message.channel, buffered);
        return undefined;
      }
      case 'checkpoint_complete':
        return this.#completeCheckpoint(message.channel, message.seq);
      case 'must_reset':
        // The hub will resend the channel from the start as a snapshot; upserts make it idempotent.
        this.#pending.delete(message.channel);
        this.#sql.setCursor.run(message.channel, 0);
        return undefined;
      case 'error':
        return undefined;
    }
  }

  #acknowledge(message: AckMessage): SessionFault | undefined {
    const upstream = this.#sql.upstream.get();
    assert(upstream, 'upstream row exists');
    if (message.upstreamAck > upstream.last_seq) {
      return {
        code: 'protocol_violation',
        message: `hub acked seq ${message.upstreamAck} beyond this edge's last seq ${upstream.last_seq}: was this database restored from a backup?`,
      };
    }
    this.#db.transaction(() => {
      const nowMs = this.#nowMs();
      for (const rejection of message.rejected ?? []) {
        const event = this.#sql.eventAt.get(rejection.seq) ?? this.#factAt(rejection.seq);
        if (event) this.#sql.reject.run(rejection.seq, event.id, event.sku, rejection.reason, rejection.message, nowMs);
      }
      this.#sql.setAcked.run(message.upstreamAck, message.upstreamAck);
      this.#sql.deleteAcked.run(message.upstreamAck);
    })();
    this.#compareChecksums(message);
    // The hub answers pushes one ack each, in order: this ack settles the oldest push in flight
    // (after a welcome, none is). Acked through it, done; acked lower, the hub saw a gap (or this
    // is a stale duplicate): what is still in flight after it cannot apply either, so wait for
    // those answers and resend from the acked seq.
    const answered = this.#inFlight.shift();
    if (answered !== undefined && message.upstreamAck < answered.through) this.#resending = true;
    if (this.#inFlight.length === 0) this.#resending = false;
    const oldest = this.#inFlight[0];
    this.#awaiting = oldest === undefined ? undefined : { what: pushName(oldest), sinceMs: this.#nowMs() };
    this.#pushNext();
    return undefined;
  }

  /**
   * The hub's checksums are as of the ack: compare only partitions with no later local event (a
   * partition that moved on since will be compared at a later ack).
   */
  /** A refused fact as staff see it: its id, and the SKU it names when it names exactly one ('' if not). */
  #factAt(seq: number): { id: string; sku: string } | undefined {
    const row = this.#sql.factAt.get(seq);
    if (!row) return undefined;
    const fact = JSON.parse(row.event) as { sku?: unknown; lines?: Array<{ sku?: unknown }> };
    const skus = new Set(
      [fact.sku, ...(fact.lines ?? []).map((line) => line.sku)].filter((sku) => typeof sku === 'string'),
    );
    return { id: row.event_id, sku: skus.size === 1 ? ([...skus][0] as string) : '' };
  }

  #compareChecksums(message: AckMessage): void {
    for (const { sku, checksum } of message.checksums ?? []) {
      const latest = this.#sql.latestSeqOf.get(sku)?.seq ?? 0;
      if (latest > message.upstreamAck) continue;
      const row = this.#sql.partitionState.get(sku);
      if (!row) continue;
      const local = partitionChecksum(partitionStateSchema.parse(JSON.parse(row.state)));
      if (local !== checksum) this.#onDrift?.(sku);
    }
  }

  /** Fills the push window from the outbox: each batch starts right after the last one sent. */
  #pushNext(): void {
    if (this.#resending) return;
    while (this.#inFlight.length < limits.pushWindowBatchesMax) {
      const upstream = this.#sql.upstream.get();
      if (!upstream) return;
      const after = this.#inFlight.at(-1)?.through ?? upstream.acked_seq;
      if (after >= upstream.last_seq) return;
      const rows = this.#sql.outbox.all(after, this.#pushEventsMax);
      const events = [];
      let bytes = 0;
      for (const row of rows) {
        bytes += row.event.length + 32;
        if (events.length > 0 && bytes > limits.pushBatchBytesMax) break;
        events.push({ seq: row.seq, event: JSON.parse(row.event) });
      }
      if (events.length === 0) return;
      assert(events[0]?.seq === after + 1, 'outbox holds the seq right after the last one sent');
      const push = { from: after + 1, through: events.at(-1)?.seq ?? after };
      if (this.#inFlight.length === 0) this.#awaiting = { what: pushName(push), sinceMs: this.#nowMs() };
      this.#inFlight.push(push);
      this.#send({ type: 'push', events });
    }
  }

  #completeCheckpoint(channel: Channel, seq: number): SessionFault | undefined {
    const changes = this.#pending.get(channel) ?? [];
    this.#pending.delete(channel);
    const current = this.#sql.cursor.get(channel)?.seq ?? 0;
    if (seq < current) return undefined; // an old checkpoint delivered again: already applied
    // The changes this checkpoint closes, checked before anything is applied: a gap or a missing
    // change is the hub breaking the protocol (closed 4400), not this edge failing to apply.
    const closing: DownstreamChange[] = [];
    let expected = current + 1;
    for (const change of changes) {
      if (change.seq < expected) continue; // applied before a crash: idempotent skip
      if (change.seq !== expected)
        return {
          code: 'protocol_violation',
          message: `gap on ${channel}: expected seq ${expected}, got ${change.seq}`,
        };
      if (change.seq > seq) break;
      closing.push(change);
      expected++;
    }
    if (expected - 1 !== seq)
      return { code: 'protocol_violation', message: `checkpoint ${seq} on ${channel} is missing changes` };
    this.#db.transaction(() => {
      for (const change of closing) this.#applyChange(change);
      this.#sql.setCursor.run(channel, seq);
    })();
    this.#send({ type: 'changes_ack', channel, seq });
    // Answers to the hub's requests (a cancel accepted, a release) were queued by that transaction.
    if (this.#welcomed) this.#pushNext();
    return undefined;
  }

  /** The last seq of each push in flight, oldest first. */
  get inFlight(): number[] {
    return this.#inFlight.map((push) => push.through);
  }
}

const pushName = (push: { from: number; through: number }) => `push of seqs ${push.from}..${push.through}`;
