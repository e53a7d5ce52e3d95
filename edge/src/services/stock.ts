import {
  type FulfillmentFact,
  type FulfillmentFactBody,
  type ReturnFact,
  type ReturnFactBody,
  type ErrorKind,
  type Hlc,
  committingFulfillmentStatuses,
  fulfillmentFactSchema,
  returnFactSchema,
  type IdSource,
  type PartitionState,
  type StockEvent,
  type StockEventBody,
  type StockRejectionReason,
  applyStockEvent,
  assert,
  countDelta,
  emptyPartition,
  hlcDecode,
  hlcEncode,
  hlcInitial,
  hlcTick,
  noNonOwnerQuantities,
  partitionStateSchema,
  stockEventSchema,
  stockQuantities,
} from '@dovetail/shared';
import type { EdgeDatabase } from '../db/open.ts';

/** A scanner's request, before the owner turns it into an event (a count becomes a delta here). */
export type StockCommand =
  | Exclude<StockEventBody, { type: 'count' | 'reconcile' }>
  | Omit<Extract<StockEventBody, { type: 'count' }>, 'delta'>
  | { type: 'reconcile'; sku: string; note?: string };

export type StockView = ReturnType<typeof stockView>;

type PartitionRow = { sku: string; state: string; verified: number; events: number; updated_ms: number };

/** Reason codes that are business-rule violations of the request itself, not conflicts with the stock. */
const unprocessableReasons: ReadonlySet<StockRejectionReason> = new Set([
  'serial_count_mismatch',
  'write_off_must_remove',
  'partition_limit_exceeded',
]);

export function rejectionKind(reason: StockRejectionReason): Extract<ErrorKind, 'conflict' | 'unprocessable'> {
  return unprocessableReasons.has(reason) ? 'unprocessable' : 'conflict';
}

/**
 * The partition as staff see it. `committed` is what this warehouse's open fulfillment orders (the
 * hub's allocations, replicated here) still need; holds and safety stock live at the hub.
 */
export function stockView(
  warehouseId: string,
  sku: string,
  state: PartitionState,
  verified: boolean,
  updatedMs: number | null,
  committed = 0,
) {
  return {
    sku,
    warehouseId,
    ...stockQuantities(state, { ...noNonOwnerQuantities, committed }),
    verified,
    bins: state.bins.map(([bin, quantity]) => ({ bin, quantity })),
    lots: state.lots.map(([lot, quantity]) => ({ lot, quantity })),
    serials: state.serials,
    updatedAt: updatedMs === null ? null : new Date(updatedMs).toISOString(),
  };
}

export type ApplyOutcome =
  | { ok: true; event: StockEvent; stock: StockView }
  | { ok: false; reason: StockRejectionReason; message: string; stock: StockView };

/**
 * The edge's stock book: partitions, ledger and upstream outbox in one SQLite file. `apply` must be
 * called inside a transaction (the writer batches many into one); every accepted event writes the
 * partition, a ledger row and an outbox row with the next gap-free upstream seq, or nothing.
 */
export class StockBook {
  readonly #db: EdgeDatabase;
  readonly #warehouseId: string;
  readonly #newId: IdSource;
  #hlc: Hlc;
  readonly #statements;

  constructor(db: EdgeDatabase, options: { warehouseId: string; edgeId: string; newId: IdSource }) {
    this.#db = db;
    this.#warehouseId = options.warehouseId;
    this.#newId = options.newId;
    this.#statements = {
      partition: db.prepare<[string], PartitionRow>(
        'SELECT sku, state, verified, events, updated_ms FROM partition WHERE sku = ?',
      ),
      catalogKnows: db.prepare<[string], { one: number }>(
        'SELECT 1 AS one FROM catalog_variant WHERE sku = ? AND archived = 0',
      ),
      upsertPartition: db.prepare(
        `INSERT INTO partition (sku, state, on_hand, verified, events, updated_ms) VALUES (@sku, @state, @onHand, @verified, 1, @nowMs)
         ON CONFLICT (sku) DO UPDATE SET state = @state, on_hand = @onHand, verified = @verified, events = events + 1, updated_ms = @nowMs`,
      ),
      insertLedger: db.prepare(
        `INSERT INTO ledger (id, sku, type, hlc, at_ms, actor, unverified, upstream_seq, event)
         VALUES (@id, @sku, @type, @hlc, @atMs, @actor, @unverified, @upstreamSeq, @event)`,
      ),
      nextUpstreamSeq: db.prepare<[], { last_seq: number }>(
        'UPDATE upstream SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq',
      ),
      insertOutbox: db.prepare('INSERT INTO outbox (seq, event_id, event) VALUES (?, ?, ?)'),
      lastHlc: db.prepare<[], { hlc: string }>('SELECT hlc FROM ledger ORDER BY position DESC LIMIT 1'),
      committed: db.prepare<[string], { units: number | null }>(
        `SELECT sum(l.quantity) AS units FROM fulfillment_line l JOIN fulfillment_order o ON o.id = l.fulfillment_id
         WHERE l.sku = ? AND o.status IN (${committingFulfillmentStatuses.map((status) => `'${status}'`).join(', ')})`,
      ),
      insertFact: db.prepare(
        `INSERT INTO fulfillment_event (id, fulfillment_id, type, at_ms, actor, upstream_seq, event)
         VALUES (@id, @fulfillmentId, @type, @atMs, @actor, @upstreamSeq, @event)`,
      ),
      lastFactHlc: db.prepare<[], { event: string }>(
        'SELECT event FROM fulfillment_event ORDER BY position DESC LIMIT 1',
      ),
    };
    // The clock never runs behind what this node already recorded, even if the wall clock did.
    const lastStock = this.#statements.lastHlc.get()?.hlc;
    const lastFactRow = this.#statements.lastFactHlc.get();
    const lastFact = lastFactRow ? (JSON.parse(lastFactRow.event) as { hlc: string }).hlc : undefined;
    const last = [lastStock, lastFact]
      .filter((hlc): hlc is string => hlc !== undefined)
      .sort()
      .at(-1);
    this.#hlc = last ? { ...hlcDecode(last), node: options.edgeId } : hlcInitial(options.edgeId);
  }

  get warehouseId(): string {
    return this.#warehouseId;
  }

  read(sku: string): { state: PartitionState; verified: boolean; updatedMs: number | null; exists: boolean } {
    const row = this.#statements.partition.get(sku);
    if (!row) {
      return {
        state: emptyPartition(),
        verified: this.#statements.catalogKnows.get(sku) !== undefined,
        updatedMs: null,
        exists: false,
      };
    }
    const state = partitionStateSchema.parse(JSON.parse(row.state));
    return { state, verified: row.verified === 1, updatedMs: row.updated_ms, exists: true };
  }

  view(sku: string): StockView {
    const { state, verified, updatedMs } = this.read(sku);
    return stockView(this.#warehouseId, sku, state, verified, updatedMs, this.committed(sku));
  }

  /** Units this warehouse's replicated fulfillment orders still need of a SKU. */
  committed(sku: string): number {
    return this.#statements.committed.get(sku)?.units ?? 0;
  }

  /** Decides and records one command. Call inside a transaction. */
  apply(command: StockCommand, actor: string, nowMs: number): ApplyOutcome {
    assert(this.#db.inTransaction, 'StockBook.apply runs inside a transaction');
    const current = this.read(command.sku);
    // The owner completes what only it knows: a count's delta, a restatement's state.
    const body: StockEventBody =
      command.type === 'count'
        ? { ...command, delta: countDelta(current.state, command.countedQuantity, command.bin) }
        : command.type === 'reconcile'
          ? { ...command, state: current.state }
          : command;
    const result = applyStockEvent(current.state, body);
    if (!result.ok) {
      return {
        ok: false,
        reason: result.reason,
        message: result.message,
        stock: stockView(
          this.#warehouseId,
          command.sku,
          current.state,
          current.verified,
          current.updatedMs,
          this.committed(command.sku),
        ),
      };
    }
    this.#hlc = hlcTick(this.#hlc, nowMs);
    const event = stockEventSchema.parse({
      ...body,
      id: this.#newId(),
      warehouseId: this.#warehouseId,
      hlc: hlcEncode(this.#hlc),
      atMs: nowMs,
      actor,
    });
    const eventJson = JSON.stringify(event);
    const seq = this.#nextSeq();
    this.#statements.insertLedger.run({
      id: event.id,
      sku: event.sku,
      type: event.type,
      hlc: event.hlc,
      atMs: nowMs,
      actor,
      unverified: current.verified ? 0 : 1,
      upstreamSeq: seq,
      event: eventJson,
    });
    this.#statements.insertOutbox.run(seq, event.id, eventJson);
    this.#statements.upsertPartition.run({
      sku: event.sku,
      state: JSON.stringify(result.state),
      onHand: result.state.onHand,
      verified: current.verified ? 1 : 0,
      nowMs,
    });
    return {
      ok: true,
      event,
      stock: stockView(this.#warehouseId, event.sku, result.state, current.verified, nowMs, this.committed(event.sku)),
    };
  }

  /**
   * Records a fact about a fulfillment order this warehouse owns and queues it upstream with the next
   * seq, in the caller's transaction (the same stream as stock events, so order is kept).
   */
  recordFact(body: FulfillmentFactBody, actor: string, nowMs: number): FulfillmentFact {
    const fact = fulfillmentFactSchema.parse(this.#header(body, actor, nowMs));
    this.#queueFact(fact, fact.fulfillmentId, actor, nowMs);
    return fact;
  }

  /**
   * A fact about a return this edge received, queued upstream like a fulfillment fact (after the
   * `return_restock` events the caller recorded in the same transaction).
   */
  recordReturnFact(body: ReturnFactBody, actor: string, nowMs: number): ReturnFact {
    const fact = returnFactSchema.parse(this.#header(body, actor, nowMs));
    this.#queueFact(fact, fact.returnId, actor, nowMs);
    return fact;
  }

  #header(body: object, actor: string, nowMs: number) {
    assert(this.#db.inTransaction, 'StockBook facts are recorded inside a transaction');
    this.#hlc = hlcTick(this.#hlc, nowMs);
    return {
      ...body,
      id: this.#newId(),
      warehouseId: this.#warehouseId,
      hlc: hlcEncode(this.#hlc),
      atMs: nowMs,
      actor,
    };
  }

  /** Stores a fact in the facts ledger (`fulfillment_id` names the record it is about) and the outbox. */
  #queueFact(fact: FulfillmentFact | ReturnFact, recordId: string, actor: string, nowMs: number): void {
    const json = JSON.stringify(fact);
    const seq = this.#nextSeq();
    this.#statements.insertFact.run({
      id: fact.id,
      fulfillmentId: recordId,
      type: fact.type,
      atMs: nowMs,
      actor,
      upstreamSeq: seq,
      event: json,
    });
    this.#statements.insertOutbox.run(seq, fact.id, json);
  }

  #nextSeq(): number {
    const seq = this.#statements.nextUpstreamSeq.get()?.last_seq;
    assert(seq !== undefined && seq > 0, 'upstream seq allocated');
    return seq;
  }
}
