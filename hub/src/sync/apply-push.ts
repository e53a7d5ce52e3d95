import {
  type PartitionState,
  type PushMessage,
  type PushRejectionReason,
  pushRejectionReasons,
  limits,
  type StockEvent,
  type UpstreamEvent,
  applyStockEvent,
  isReturnFact,
  isStockEvent,
  assert,
  emptyPartition,
  partitionChecksum,
  partitionStateSchema,
  stockQuantities,
} from '@dovetail/shared';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { type FactRefusal, applyFulfillmentFact, noteShipping } from '../fulfillment/facts.ts';
import { type ReturnFactRefusal, applyReturnFact } from '../returns/receive.ts';
import { detectShortage } from '../fulfillment/shortage.ts';
import { answerQuotaMove } from '../quotas/service.ts';
import { noteLowStock, partitionFigureColumns } from '../inventory/low-stock.ts';

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

/**
 * Applies one pushed batch of an edge's upstream stream in one transaction, exactly once per
 * `(warehouse, seq)`: seqs at or below the stream's applied seq are duplicates and ignored; the next
 * seq is applied (or durably rejected with a reason, which also advances the stream); a gap stops
 * the batch and the caller re-acks what was applied. The hub's replica of a partition changes only
 * here, by folding the edge's event with the same `applyStockEvent` the edge used.
 * On PostgreSQL the stream row is locked (`FOR UPDATE`), so two hub instances holding sockets of
 * the same edge (a reconnect racing the old socket) still apply each seq once.
 */
export async function applyPush(
  db: Kysely<Database>,
  options: {
    dialect: 'sqlite' | 'postgres';
    warehouseId: string;
    edgeId: string;
    events: PushMessage['events'];
    nowMs: number;
  },
): Promise<PushResult> {
  const { warehouseId, edgeId, events, nowMs } = options;
  for (const entry of events)
    assert(entry.event.warehouseId === warehouseId, 'caller checked the warehouse of every event');
  return db.transaction().execute(async (trx) => {
    let stream = trx.selectFrom('edge_streams').selectAll().where('warehouse_id', '=', warehouseId);
    if (options.dialect === 'postgres') stream = stream.forUpdate();
    const row = await stream.executeTakeFirst();
    assert(row, 'the stream row exists once hello was accepted');
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
    let lastEventAtMs: number | null = null;
    for (const { seq, event } of events) {
      if (seq <= applied) {
        result.duplicates++;
        continue;
      }
      if (seq !== applied + 1) {
        result.gap = true;
        break;
      }
      // A new incarnation replays events the hub may already hold (a restored backup), and a stream
      // moved back by a race replays ones it refused: ids decide, never seqs.
      // One statement for the three places an event id can already be (every new event asks).
      const known = await trx
        .selectFrom('stock_events')
        .select('event_id')
        .where('event_id', '=', event.id)
        .unionAll((eb) => eb.selectFrom('edge_facts').select('event_id').where('event_id', '=', event.id))
        .unionAll((eb) => eb.selectFrom('sync_rejections').select('event_id').where('event_id', '=', event.id))
        .executeTakeFirst();
      if (known) {
        result.duplicates++;
        applied = seq;
        continue;
      }
      const outcome = isStockEvent(event)
        ? await applyOne(trx, warehouseId, event, nowMs)
        : await applyFact(trx, options.dialect, warehouseId, edgeId, seq, event, nowMs);
      const rejection = 'reason' in outcome ? outcome : undefined;
      const sku = isStockEvent(event) ? event.sku : '';
      if (outcome.checksum !== undefined) result.checksums.set(sku, outcome.checksum);
      if (rejection) {
        result.rejected.push({ seq, ...rejection });
        await trx
          .insertInto('sync_rejections')
          .values({
            warehouse_id: warehouseId,
            edge_id: edgeId,
            edge_seq: seq,
            event_id: event.id,
            sku,
            reason: rejection.reason,
            message: rejection.message,
            event_json: JSON.stringify(event),
            created_at: nowMs,
          })
          .execute();
      } else if (isStockEvent(event)) {
        await trx
          .insertInto('stock_events')
          .values({
            warehouse_id: warehouseId,
            edge_id: edgeId,
            edge_seq: seq,
            event_id: event.id,
            sku: event.sku,
            type: event.type,
            hlc: event.hlc,
            at_ms: event.atMs,
            event_json: JSON.stringify(event),
            applied_at: nowMs,
          })
          .execute();
        await detectShortage(trx, warehouseId, event.sku, nowMs);
        result.applied++;
      } else result.applied++;
      lastEventAtMs = event.atMs;
      applied = seq;
    }
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
  });
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
): Promise<((FactRefusal | ReturnFactRefusal) & { checksum?: undefined }) | { checksum?: undefined }> {
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
  return {};
}

/** Folds one event into the replica; a reason when the hub refuses it (the stream still advances). */
async function applyOne(
  trx: Transaction<Database>,
  warehouseId: string,
  event: StockEvent,
  nowMs: number,
): Promise<{ reason: PushRejectionReason; message: string; checksum?: string } | { checksum: string }> {
  const variant = await trx.selectFrom('variants').select('sku').where('sku', '=', event.sku).executeTakeFirst();
  if (!variant)
    return { reason: 'unknown_sku', message: `${event.sku} is not in the hub's catalog; correct the scan at the edge` };
  const partition = await trx
    .selectFrom('stock_partitions')
    .select(['state_json', ...partitionFigureColumns])
    .where('warehouse_id', '=', warehouseId)
    .where('sku', '=', event.sku)
    .executeTakeFirst();
  const state: PartitionState = partition?.state_json
    ? partitionStateSchema.parse(JSON.parse(partition.state_json))
    : emptyPartition();
  const folded = applyStockEvent(state, event);
  if (!folded.ok) {
    // The edge applied this event to the same state with the same function: a refusal here means the
    // replica drifted. Record it; the checkpoint checksums repair the partition.
    // The checksum in the ack lets the edge see the drift at once and restate the partition.
    return {
      reason: folded.reason,
      message: `replica refused ${event.type}: ${folded.message}`,
      checksum: partitionChecksum(state),
    };
  }
  const quantities = stockQuantities(folded.state);
  const values = {
    on_hand: quantities.onHand,
    damaged: quantities.damaged,
    quality_control: quantities.qualityControl,
    picked: quantities.picked,
    state_json: JSON.stringify(folded.state),
    updated_at: nowMs,
  };
  // The `edge_quota` column is the hub's count of selling rights out at the edge (granted, not yet
  // sold or returned), raised when the hub grants, before the edge even hears of it: so it moves here
  // only by what the edge spent or gave back, never to the replica's figure (which lags the grants).
  const spent = event.type === 'instore_sale' || event.type === 'quota_return' ? event.quantity : 0;
  if (event.type === 'ship') await noteShipping(trx, warehouseId, event.sku, event.fulfillmentId, event.quantity);
  // The edge's answer to a grant or a return request names it: that move is settled.
  if (event.type === 'quota_grant' || event.type === 'quota_return')
    await answerQuotaMove(trx, event.reference, event.quantity, nowMs);
  if (partition) {
    await trx
      .updateTable('stock_partitions')
      .set((eb) => ({ ...values, ...(spent === 0 ? {} : { edge_quota: eb('edge_quota', '-', spent) }) }))
      .where('warehouse_id', '=', warehouseId)
      .where('sku', '=', event.sku)
      .execute();
  } else {
    await trx
      .insertInto('stock_partitions')
      .values({
        warehouse_id: warehouseId,
        sku: event.sku,
        committed: 0,
        reserved: 0,
        safety_stock: 0,
        incoming: 0,
        edge_quota: 0,
        ...values,
      })
      .execute();
  }
  // inventory.low: only a partition with a safety stock can fall below it (read back: a ship or a
  // quota move changed hub-owned columns too).
  if (partition && Number(partition.safety_stock) > 0) {
    const after = await trx
      .selectFrom('stock_partitions')
      .select(partitionFigureColumns)
      .where('warehouse_id', '=', warehouseId)
      .where('sku', '=', event.sku)
      .executeTakeFirstOrThrow();
    await noteLowStock(trx, warehouseId, event.sku, partition, after, nowMs);
  }
  return { checksum: partitionChecksum(folded.state) };
}
