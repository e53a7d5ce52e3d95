import {
  applyStockEvent,
  assert,
  emptyPartition,
  isReturnFact,
  isStockEvent,
  limits,
  type PartitionState,
  type PushMessage,
  type PushRejectionReason,
  partitionChecksum,
  partitionStateSchema,
  parseSupplyReference,
  pushRejectionReasons,
  type StockEvent,
  stockQuantities,
  type UpstreamEvent,
} from '@dovetail/shared';
import { type Insertable, type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { applyFulfillmentFact, type FactRefusal, noteShipping } from '../fulfillment/facts.ts';
import { detectShortage } from '../fulfillment/shortage.ts';
import { noteLowStock, type PartitionFigures, partitionFigureColumns } from '../inventory/low-stock.ts';
import { answerQuotaMove } from '../quotas/service.ts';
import { applyReturnFact, type ReturnFactRefusal } from '../returns/receive.ts';
import { applySupplyReceipt } from '../supply/receipts.ts';
import type { SyncRejectionsTable } from './tables.ts';

/** `HUB_UNCATALOGED_STOCK`: whether the replica takes stock events for SKUs the catalog does not list. */
export type UncatalogedStockPolicy = 'accept' | 'refuse';

export type PushRejection = { seq: number; reason: PushRejectionReason; message: string };
export type PushResult = {
  upstreamAck: number;
  rejected: PushRejection[];
  applied: number;
  duplicates: number;
  gap: boolean;
  /** `partitionChecksum` of each replica partition this push changed, as of `upstreamAck`. */
  checksums: Map<string, string>;
};

/** Rows per multi-row INSERT: well inside SQLite's and PostgreSQL's bound on bound parameters. */
const insertRowsMax = 500;

/**
 * Applies one pushed batch of an edge's upstream stream in one transaction, exactly once per
 * `(warehouse, seq)`: seqs at or below the stream's applied seq are duplicates and ignored; the next
 * seq is applied (or durably rejected with a reason, which also advances the stream); a gap stops
 * the batch and the caller re-acks what was applied. The hub's replica of a partition changes only
 * here, by folding the edge's event with the same `applyStockEvent` the edge used.
 * On PostgreSQL the stream row is locked (`FOR UPDATE`), so two hub instances holding sockets of
 * the same edge (a reconnect racing the old socket) still apply each seq once.
 *
 * The work is per batch, not per event: one statement finds which event ids the hub already holds,
 * one reads the catalog and one the partitions the stock events touch; the events fold in memory in
 * seq order, and each run of stock events is written with one multi-row insert per table and one
 * write per touched partition. A fulfillment or return fact first flushes the run before it (facts
 * read the tables the run writes), then applies on its own. Shortage detection and the low-stock
 * webhook look at each touched partition once per run, as of the run's end: the same transaction,
 * so no reader ever saw the states in between.
 */
export function applyPush(db: Kysely<Database>, options: PushOptions): Promise<PushResult> {
  return db.transaction().execute((trx) => applyPushIn(trx, options));
}

export type PushOptions = {
  dialect: 'sqlite' | 'postgres';
  warehouseId: string;
  edgeId: string;
  events: PushMessage['events'];
  nowMs: number;
  /**
   * The enrollment epoch the pushing connection authenticated with: when given, a push after the
   * warehouse was enrolled again (a newer epoch) is refused with `EnrollmentReplaced`.
   */
  epoch?: number;
  /**
   * What a stock event for a SKU the catalog does not list becomes (docs/architecture.md,
   * "Uncataloged stock"): `accept` (default) folds it into the replica, since the partition is the
   * edge's to write and the units are on its shelf; `refuse` rejects it durably with `unknown_sku`.
   */
  uncatalogedStock?: UncatalogedStockPolicy;
};

/**
 * `applyPush` inside a transaction the caller opened and commits: the sync server's SQLite group
 * commit (group-commit.ts) runs many edges' pushes in one transaction, each in its own savepoint.
 */
export async function applyPushIn(trx: Transaction<Database>, options: PushOptions): Promise<PushResult> {
  const { warehouseId, edgeId, events, nowMs } = options;
  for (const entry of events)
    assert(entry.event.warehouseId === warehouseId, 'caller checked the warehouse of every event');
  // The stream row, and the warehouse's enrollment epoch in the same statement: a push from an
  // enrollment that was replaced meanwhile is fenced here, not by a query of its own per push.
  let stream = trx
    .selectFrom('edge_streams')
    .innerJoin('warehouses', 'warehouses.id', 'edge_streams.warehouse_id')
    .selectAll('edge_streams')
    .select('warehouses.edge_epoch')
    .where('edge_streams.warehouse_id', '=', warehouseId);
  if (options.dialect === 'postgres') stream = stream.forUpdate('edge_streams');
  const row = await stream.executeTakeFirst();
  assert(row, 'the stream row exists once hello was accepted');
  if (options.epoch !== undefined && Number(row.edge_epoch) !== options.epoch) throw new EnrollmentReplaced();
  if (row.edge_id !== edgeId) throw new StreamSuperseded(warehouseId);
  let applied = Number(row.applied_seq);
  const result: PushResult = {
    upstreamAck: applied,
    rejected: [],
    applied: 0,
    duplicates: 0,
    gap: false,
    checksums: new Map(),
  };
  // The run of new seqs: below it duplicates, after a hole nothing (the caller re-acks).
  const fresh: PushMessage['events'] = [];
  for (const entry of events) {
    if (entry.seq <= applied + fresh.length) {
      result.duplicates++;
      continue;
    }
    if (entry.seq !== applied + fresh.length + 1) {
      result.gap = true;
      break;
    }
    fresh.push(entry);
  }
  // A new incarnation replays events the hub may already hold (a restored backup), and a stream
  // moved back by a race replays ones it refused: ids decide, never seqs.
  const known = await knownEventIds(
    trx,
    options.dialect,
    fresh.map(({ event }) => event.id),
  );
  const run = new StockRun(trx, options.dialect, warehouseId, edgeId, nowMs, options.uncatalogedStock ?? 'accept');
  await run.load(fresh.flatMap(({ event }) => (isStockEvent(event) ? [event.sku] : [])));
  let lastEventAtMs: number | null = null;
  for (const { seq, event } of fresh) {
    if (known.has(event.id)) {
      result.duplicates++;
      applied = seq;
      continue;
    }
    known.add(event.id);
    if (isStockEvent(event)) {
      const rejection = await run.apply(seq, event);
      if (rejection) result.rejected.push({ seq, ...rejection });
      else {
        result.applied++;
        // A receipt against a purchase order or a production request (docs/catalog.md, "Pre-orders and made-to-order").
        if (event.type === 'receive' && parseSupplyReference(event.reference)) {
          await run.flush();
          await applySupplyReceipt(trx, options.dialect, warehouseId, event, nowMs);
        }
      }
    } else {
      await run.flush();
      const refusal = await applyFact(trx, options.dialect, warehouseId, edgeId, seq, event, nowMs);
      if (refusal) {
        result.rejected.push({ seq, ...refusal });
        run.reject(seq, event, '', refusal);
      } else result.applied++;
    }
    lastEventAtMs = event.atMs;
    applied = seq;
  }
  await run.flush();
  for (const [sku, checksum] of run.checksums()) result.checksums.set(sku, checksum);
  if (applied !== Number(row.applied_seq)) {
    await trx
      .updateTable('edge_streams')
      .set({
        applied_seq: applied,
        last_applied_at: nowMs,
        last_seen_at: nowMs,
        ...(lastEventAtMs === null ? {} : { last_event_at: lastEventAtMs }),
      })
      .where('warehouse_id', '=', warehouseId)
      .execute();
  }
  result.upstreamAck = applied;
  return result;
}

/**
 * Which of `ids` the hub already holds as an applied stock event, an applied fact or a refusal: one
 * statement for the whole push, the ids bound as one JSON array (a constant SQL text, prepared once,
 * instead of a statement per 500 ids built and bound parameter by parameter).
 */
async function knownEventIds(
  trx: Transaction<Database>,
  dialect: 'sqlite' | 'postgres',
  ids: readonly string[],
): Promise<Set<string>> {
  const known = new Set<string>();
  if (ids.length === 0) return known;
  const list = JSON.stringify(ids);
  const pushed =
    dialect === 'sqlite'
      ? sql`SELECT value AS id FROM json_each(${list})`
      : sql`SELECT json_array_elements_text(${list}::json) AS id`;
  const { rows } = await sql<{ event_id: string }>`
    WITH pushed (id) AS (${pushed})
    SELECT event_id FROM stock_events WHERE event_id IN (SELECT id FROM pushed)
    UNION ALL SELECT event_id FROM edge_facts WHERE event_id IN (SELECT id FROM pushed)
    UNION ALL SELECT event_id FROM sync_rejections WHERE event_id IN (SELECT id FROM pushed)`.execute(trx);
  for (const { event_id } of rows) known.add(event_id);
  return known;
}

/**
 * Inserts a run's applied stock events in one statement: the rows travel as one JSON array, which
 * the database takes apart itself. Kysely building a multi-row insert bound value by value cost more
 * hub CPU than SQLite writing the rows (catch-up profile, docs/architecture.md).
 */
async function insertStockEvents(
  trx: Transaction<Database>,
  dialect: 'sqlite' | 'postgres',
  head: { warehouseId: string; edgeId: string; appliedAt: number },
  events: ReadonlyArray<{ seq: number; event: StockEvent }>,
): Promise<void> {
  if (events.length === 0) return;
  const rows = JSON.stringify(events.map(({ seq, event }) => [seq, event]));
  const { warehouseId, edgeId, appliedAt } = head;
  if (dialect === 'sqlite') {
    await sql`
      INSERT INTO stock_events (warehouse_id, edge_id, edge_seq, event_id, sku, type, hlc, at_ms, event_json, applied_at)
      SELECT ${warehouseId}, ${edgeId}, r.value ->> 0, r.value ->> '$[1].id', r.value ->> '$[1].sku',
        r.value ->> '$[1].type', r.value ->> '$[1].hlc', r.value ->> '$[1].atMs', r.value -> '$[1]', ${appliedAt}
      FROM json_each(${rows}) AS r ORDER BY r.key`.execute(trx);
    return;
  }
  await sql`
    INSERT INTO stock_events (warehouse_id, edge_id, edge_seq, event_id, sku, type, hlc, at_ms, event_json, applied_at)
    SELECT ${warehouseId}, ${edgeId}, (r.value ->> 0)::bigint, r.value -> 1 ->> 'id', r.value -> 1 ->> 'sku',
      r.value -> 1 ->> 'type', r.value -> 1 ->> 'hlc', (r.value -> 1 ->> 'atMs')::bigint, (r.value -> 1)::text, ${appliedAt}::bigint
    FROM json_array_elements(${rows}::json) WITH ORDINALITY AS r (value, n) ORDER BY r.n`.execute(trx);
}

type PartitionRow = PartitionFigures & { state_json: string | null };

/** One touched partition of a run: the fold state and what the run owes the table. */
type TouchedPartition = {
  state: PartitionState;
  /** The row as read (or as last written by this run); undefined until the partition exists. */
  row: PartitionRow | undefined;
  /** Selling rights the edge spent or gave back since the last flush (leaves `edge_quota`). */
  spent: number;
  dirty: boolean;
};

/**
 * The stock events of one push, folded in memory in seq order and written in bulk: the replica's
 * state per partition, the `stock_events` and `sync_rejections` rows, and the hub-owned side effects
 * that cannot wait (allocations a ship moves, quota moves the edge answered) as they come.
 */
class StockRun {
  readonly #trx: Transaction<Database>;
  readonly #dialect: 'sqlite' | 'postgres';
  readonly #warehouseId: string;
  readonly #edgeId: string;
  readonly #nowMs: number;
  readonly #catalog = new Set<string>();
  readonly #partitions = new Map<string, TouchedPartition>();
  #events: Array<{ seq: number; event: StockEvent }> = [];
  #rejections: Insertable<SyncRejectionsTable>[] = [];

  constructor(
    trx: Transaction<Database>,
    dialect: 'sqlite' | 'postgres',
    warehouseId: string,
    edgeId: string,
    nowMs: number,
    readonly uncataloged: UncatalogedStockPolicy,
  ) {
    this.#trx = trx;
    this.#dialect = dialect;
    this.#warehouseId = warehouseId;
    this.#edgeId = edgeId;
    this.#nowMs = nowMs;
  }

  /** Reads the catalog entries and the partitions of `skus` in two statements. */
  async load(skus: readonly string[]): Promise<void> {
    const distinct = [...new Set(skus)];
    for (let from = 0; from < distinct.length; from += insertRowsMax) {
      const chunk = distinct.slice(from, from + insertRowsMax);
      if (this.uncataloged === 'refuse') {
        const variants = await this.#trx.selectFrom('variants').select('sku').where('sku', 'in', chunk).execute();
        for (const { sku } of variants) this.#catalog.add(sku);
      }
      const rows = await this.#trx
        .selectFrom('stock_partitions')
        .select(['sku', 'state_json', ...partitionFigureColumns])
        .where('warehouse_id', '=', this.#warehouseId)
        .where('sku', 'in', chunk)
        .execute();
      for (const { sku, ...row } of rows) {
        const state = row.state_json ? partitionStateSchema.parse(JSON.parse(row.state_json)) : emptyPartition();
        this.#partitions.set(sku, { state, row, spent: 0, dirty: false });
      }
    }
  }

  /** Folds one stock event into its partition; the reason when the hub refuses it. */
  async apply(seq: number, event: StockEvent): Promise<{ reason: PushRejectionReason; message: string } | undefined> {
    if (this.uncataloged === 'refuse' && !this.#catalog.has(event.sku)) {
      const refusal = {
        reason: 'unknown_sku' as const,
        message: `${event.sku} is not in the hub's catalog; correct the scan at the edge`,
      };
      this.reject(seq, event, event.sku, refusal);
      return refusal;
    }
    let partition = this.#partitions.get(event.sku);
    if (!partition) {
      partition = { state: emptyPartition(), row: undefined, spent: 0, dirty: false };
      this.#partitions.set(event.sku, partition);
    }
    const folded = applyStockEvent(partition.state, event);
    if (!folded.ok) {
      // The edge applied this event to the same state with the same function: a refusal here means
      // the replica drifted. Record it; the checksum in the ack lets the edge see the drift at once
      // and restate the partition.
      const refusal = { reason: folded.reason, message: `replica refused ${event.type}: ${folded.message}` };
      this.reject(seq, event, event.sku, refusal);
      return refusal;
    }
    partition.state = folded.state;
    partition.dirty = true;
    // The `edge_quota` column is the hub's count of selling rights out at the edge (granted, not yet
    // sold or returned), raised when the hub grants, before the edge even hears of it: so it moves
    // here only by what the edge spent or gave back, never to the replica's figure (which lags).
    if (event.type === 'instore_sale' || event.type === 'quota_return') partition.spent += event.quantity;
    this.#events.push({ seq, event });
    if (event.type === 'ship') {
      // Moves `committed` of the partition: the row must exist first (it does whenever anything was
      // allocated from it, but a first-ever event creates it).
      if (partition.row === undefined) await this.flush();
      await noteShipping(this.#trx, this.#warehouseId, event.sku, event.fulfillmentId, event.quantity);
    }
    // The edge's answer to a grant or a return request names it: that move is settled.
    if (event.type === 'quota_grant' || event.type === 'quota_return')
      await answerQuotaMove(this.#trx, event.reference, event.quantity, this.#nowMs);
    return undefined;
  }

  /** A refused event, stored with its reason (the stream still advances past it). */
  reject(seq: number, event: UpstreamEvent, sku: string, refusal: { reason: string; message: string }): void {
    this.#rejections.push({
      warehouse_id: this.#warehouseId,
      edge_id: this.#edgeId,
      edge_seq: seq,
      event_id: event.id,
      sku,
      reason: refusal.reason,
      message: refusal.message,
      event_json: JSON.stringify(event),
      created_at: this.#nowMs,
    });
  }

  /**
   * Writes what the run holds: events and refusals in multi-row inserts, each changed partition once
   * (in SKU order, the order every partition writer locks in), then the checks that read them.
   */
  async flush(): Promise<void> {
    await insertStockEvents(
      this.#trx,
      this.#dialect,
      { warehouseId: this.#warehouseId, edgeId: this.#edgeId, appliedAt: this.#nowMs },
      this.#events,
    );
    for (let from = 0; from < this.#rejections.length; from += insertRowsMax)
      await this.#trx
        .insertInto('sync_rejections')
        .values(this.#rejections.slice(from, from + insertRowsMax))
        .execute();
    this.#events = [];
    this.#rejections = [];
    const changed = [...this.#partitions]
      .filter(([, partition]) => partition.dirty)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    const written = new Map<string, PartitionRow>();
    for (const [sku, partition] of changed) written.set(sku, await this.#write(sku, partition));
    for (const [sku, partition] of changed) await this.#check(sku, partition, written.get(sku) as PartitionRow);
  }

  /** `partitionChecksum` of each partition the push touched, as of its last event. */
  *checksums(): Iterable<[string, string]> {
    for (const [sku, partition] of this.#partitions) yield [sku, partitionChecksum(partition.state)];
  }

  /** Writes the partition's row and returns it as written (the figures the checks then read). */
  async #write(sku: string, partition: TouchedPartition): Promise<PartitionRow> {
    const quantities = stockQuantities(partition.state);
    const values = {
      on_hand: quantities.onHand,
      damaged: quantities.damaged,
      quality_control: quantities.qualityControl,
      picked: quantities.picked,
      state_json: JSON.stringify(partition.state),
      updated_at: this.#nowMs,
    };
    const spent = partition.spent;
    const returned = ['state_json', ...partitionFigureColumns] as const;
    let written: PartitionRow;
    if (partition.row) {
      written = await this.#trx
        .updateTable('stock_partitions')
        .set((eb) => ({ ...values, ...(spent === 0 ? {} : { edge_quota: eb('edge_quota', '-', spent) }) }))
        .where('warehouse_id', '=', this.#warehouseId)
        .where('sku', '=', sku)
        .returning(returned)
        .executeTakeFirstOrThrow();
    } else {
      written = await this.#trx
        .insertInto('stock_partitions')
        .values({
          warehouse_id: this.#warehouseId,
          sku,
          committed: 0,
          reserved: 0,
          safety_stock: 0,
          incoming: 0,
          edge_quota: -spent,
          ...values,
        })
        .returning(returned)
        .executeTakeFirstOrThrow();
    }
    partition.spent = 0;
    partition.dirty = false;
    return written;
  }

  /**
   * The reroute of allocations a drop below `committed` strands, and `inventory.low` when the run
   * took `available` below the safety stock. `after` is the row as the flush wrote it (`RETURNING`:
   * a ship or a quota move earlier in the run changed hub-owned columns too, and a shortage request
   * changes no column of the row).
   */
  async #check(sku: string, partition: TouchedPartition, after: PartitionRow): Promise<void> {
    await detectShortage(this.#trx, this.#warehouseId, sku, this.#nowMs, after);
    const before = partition.row;
    if (before && Number(before.safety_stock) > 0)
      await noteLowStock(this.#trx, this.#warehouseId, sku, before, after, this.#nowMs);
    partition.row = after;
  }
}

/** The warehouse was enrolled again since this connection authenticated: a newer edge owns it. */
export class EnrollmentReplaced extends Error {
  constructor() {
    super('this warehouse was re-enrolled: a newer edge owns it now');
  }
}

/** A newer connection of another incarnation took the warehouse's stream over: this socket is stale. */
export class StreamSuperseded extends Error {
  constructor(warehouseId: string) {
    super(`another edge database now speaks for warehouse ${warehouseId}; this connection is stale`);
  }
}

/** Stored refusals of one incarnation's stream with seqs in [fromSeq, toSeq], oldest first, bounded. */
export async function storedRejections(
  db: Kysely<Database>,
  warehouseId: string,
  edgeId: string,
  fromSeq: number,
  toSeq: number,
) {
  if (toSeq < fromSeq) return [];
  const rows = await db
    .selectFrom('sync_rejections')
    .select(['edge_seq', 'reason', 'message'])
    .where('warehouse_id', '=', warehouseId)
    .where('edge_id', '=', edgeId)
    .where('edge_seq', '>=', fromSeq)
    .where('edge_seq', '<=', toSeq)
    .orderBy('edge_seq')
    .limit(limits.pushBatchEventsMax)
    .execute();
  return rows.map((row) => {
    assert(isPushRejectionReason(row.reason), `stored rejection reason ${row.reason} is one the protocol names`);
    return { seq: Number(row.edge_seq), reason: row.reason, message: row.message.slice(0, 500) };
  });
}

function isPushRejectionReason(reason: string): reason is PushRejectionReason {
  return (pushRejectionReasons as readonly string[]).includes(reason);
}

/** Applies a fulfillment or return fact and records it (the record is what makes a replay a duplicate). */
async function applyFact(
  trx: Transaction<Database>,
  dialect: 'sqlite' | 'postgres',
  warehouseId: string,
  edgeId: string,
  seq: number,
  fact: Exclude<UpstreamEvent, StockEvent>,
  nowMs: number,
): Promise<FactRefusal | ReturnFactRefusal | undefined> {
  const refusal = isReturnFact(fact)
    ? await applyReturnFact(trx, dialect, warehouseId, fact, nowMs)
    : await applyFulfillmentFact(trx, dialect, warehouseId, fact, nowMs);
  if (refusal) return refusal;
  await trx
    .insertInto('edge_facts')
    .values({
      event_id: fact.id,
      warehouse_id: warehouseId,
      edge_id: edgeId,
      edge_seq: seq,
      type: fact.type,
      // The record the fact is about: a fulfillment order, or a return.
      fulfillment_id: isReturnFact(fact) ? fact.returnId : fact.fulfillmentId,
      event_json: JSON.stringify(fact),
      applied_at: nowMs,
    })
    .execute();
  return undefined;
}
