import { DomainError, conflict, notFound } from '@dovetail/shared';
import {
  type QuotaPolicy,
  limits,
  newId,
  quotaPolicySchema,
  quotaTarget,
  rebalanceStep,
  warehouseChannel,
} from '@dovetail/shared';
import type { Kysely, Transaction } from 'kysely';
import { freeUnitsSql } from '../db/available.ts';
import type { Database } from '../database.ts';
import { lockPartition } from '../inventory/lock.ts';
import { appendDownstream } from '../downstream/outbox.ts';

type Dialect = 'sqlite' | 'postgres';

export type QuotaView = {
  warehouseId: string;
  sku: string;
  /** Rights out at the edge as the hub counts them (grants in flight included). */
  granted: number;
  /** Returns asked for and not yet answered. */
  returnRequested: number;
  target: number;
};

export type QuotaMoveView = {
  id: string;
  warehouseId: string;
  sku: string;
  kind: 'grant' | 'return_request';
  quantity: number;
  status: string;
};

async function edgeWarehouse(db: Kysely<Database> | Transaction<Database>, warehouseId: string) {
  const warehouse = await db
    .selectFrom('warehouses')
    .select(['id', 'edge_epoch'])
    .where('id', '=', warehouseId)
    .executeTakeFirst();
  if (!warehouse) throw notFound('warehouse');
  if (Number(warehouse.edge_epoch) === 0) {
    throw new DomainError(
      'unprocessable',
      'no_edge',
      `warehouse ${warehouseId} has no edge: in-store quotas are for warehouses that sell offline`,
    );
  }
}

export async function getQuotaPolicy(
  db: Kysely<Database>,
  warehouseId: string,
): Promise<QuotaPolicy & { warehouseId: string; updatedAt: string | null }> {
  const row = await db
    .selectFrom('quota_policies')
    .selectAll()
    .where('warehouse_id', '=', warehouseId)
    .executeTakeFirst();
  if (!row) {
    if (!(await db.selectFrom('warehouses').select('id').where('id', '=', warehouseId).executeTakeFirst()))
      throw notFound('warehouse');
    return { warehouseId, defaultUnits: 0, skus: {}, updatedAt: null };
  }
  return {
    warehouseId,
    ...quotaPolicySchema.parse(JSON.parse(row.policy_json)),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

export async function setQuotaPolicy(
  db: Kysely<Database>,
  warehouseId: string,
  policy: QuotaPolicy,
  actor: string,
  nowMs: number,
) {
  await edgeWarehouse(db, warehouseId);
  const values = { policy_json: JSON.stringify(policy), updated_at: nowMs, updated_by: actor };
  await db
    .insertInto('quota_policies')
    .values({ warehouse_id: warehouseId, ...values })
    .onConflict((oc) => oc.column('warehouse_id').doUpdateSet(values))
    .execute();
  return getQuotaPolicy(db, warehouseId);
}

type Move = { warehouseId: string; sku: string; quantity: number };

async function recordMove(
  trx: Transaction<Database>,
  id: string,
  kind: QuotaMoveView['kind'],
  move: Move,
  actor: string,
  nowMs: number,
) {
  await trx
    .insertInto('quota_moves')
    .values({
      id,
      warehouse_id: move.warehouseId,
      sku: move.sku,
      quantity: move.quantity,
      kind,
      status: 'open',
      answered_quantity: null,
      actor,
      created_at: nowMs,
      answered_at: null,
    })
    .execute();
}

/**
 * Grants `quantity` selling rights on a partition to its edge: in one transaction, under the
 * partition's lock, `edge_quota` rises only if online availability covers it (the same proof holds
 * use), and `quota.granted` goes on the warehouse's channel. From this commit on, online cannot
 * sell those units; the edge can once it applies the grant (as a `quota_grant` stock event).
 */
export async function grantQuota(
  db: Kysely<Database>,
  dialect: Dialect,
  move: Move,
  actor: string,
  nowMs: number,
  /**
   * The rights out that the caller's plan was made from (the rebalancer's): the grant happens only
   * if they are still that, so two passes at once (an admin's and the timer's, or two hub instances
   * on PostgreSQL) cannot both grant the same shortfall. A refused pass leaves it to the next.
   */
  expectedEdgeQuota?: number,
): Promise<QuotaMoveView> {
  const id = newId();
  await db.transaction().execute(async (trx) => {
    await edgeWarehouse(trx, move.warehouseId);
    await lockPartition(trx, dialect, move.warehouseId, move.sku);
    let update = trx
      .updateTable('stock_partitions')
      .set((eb) => ({ edge_quota: eb('edge_quota', '+', move.quantity) }))
      .where('warehouse_id', '=', move.warehouseId)
      .where('sku', '=', move.sku)
      .where(freeUnitsSql(), '>=', move.quantity);
    if (expectedEdgeQuota !== undefined) update = update.where('edge_quota', '=', expectedEdgeQuota);
    const taken = await update.executeTakeFirst();
    if (Number(taken.numUpdatedRows) !== 1) {
      if (expectedEdgeQuota !== undefined) {
        throw conflict(
          'quota_changed',
          `${move.sku} at ${move.warehouseId}: the rights out are no longer ${expectedEdgeQuota}, or online cannot sell ${move.quantity}`,
          move,
        );
      }
      throw conflict(
        'insufficient_stock',
        `${move.sku} at ${move.warehouseId} has fewer than ${move.quantity} units online could sell`,
        move,
      );
    }
    await recordMove(trx, id, 'grant', move, actor, nowMs);
    await appendDownstream(
      trx,
      warehouseChannel(move.warehouseId),
      'quota.granted',
      { grantId: id, sku: move.sku, quantity: move.quantity },
      nowMs,
    );
  });
  return { id, ...move, kind: 'grant', status: 'open' };
}

/**
 * Asks the edge to give back up to `quantity` rights. Nothing moves at the hub until the edge's
 * `quota_return` event arrives (the edge may have sold them meanwhile: it returns what it has).
 */
export async function requestQuotaReturn(
  db: Kysely<Database>,
  move: Move,
  actor: string,
  nowMs: number,
  /**
   * The rebalancer's plan: asked only if the returns already pending for the partition are still
   * what it read (under the partition's lock), so two passes at once do not both ask for the excess.
   */
  plan?: { dialect: Dialect; expectedPending: number },
): Promise<QuotaMoveView> {
  const id = newId();
  await db.transaction().execute(async (trx) => {
    await edgeWarehouse(trx, move.warehouseId);
    if (plan) {
      await lockPartition(trx, plan.dialect, move.warehouseId, move.sku);
      const pending = (await pendingReturns(trx, move.warehouseId, nowMs)).get(move.sku) ?? 0;
      if (pending !== plan.expectedPending) {
        throw conflict(
          'quota_changed',
          `${move.sku} at ${move.warehouseId}: returns pending are no longer ${plan.expectedPending}`,
          move,
        );
      }
    }
    await recordMove(trx, id, 'return_request', move, actor, nowMs);
    await appendDownstream(
      trx,
      warehouseChannel(move.warehouseId),
      'quota.return_requested',
      { requestId: id, sku: move.sku, quantity: move.quantity },
      nowMs,
    );
  });
  return { id, ...move, kind: 'return_request', status: 'open' };
}

/**
 * Called by the push that applies an edge's quota event (inside its transaction): the grant or return
 * request it answers (named by `reference`) is closed.
 */
export async function answerQuotaMove(
  trx: Transaction<Database>,
  reference: string | undefined,
  quantity: number,
  nowMs: number,
): Promise<void> {
  if (reference === undefined) return;
  await trx
    .updateTable('quota_moves')
    .set({ status: 'answered', answered_quantity: quantity, answered_at: nowMs })
    .where('id', '=', reference)
    .where('status', '=', 'open')
    .execute();
}

/**
 * Unanswered return requests still counting, per SKU of a warehouse. The edge answers every request
 * (with 0 when it has nothing left); the TTL only covers an edge that never comes back.
 */
async function pendingReturns(
  db: Kysely<Database> | Transaction<Database>,
  warehouseId: string,
  nowMs: number,
): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('quota_moves')
    .select(['sku', (eb) => eb.fn.sum<number>('quantity').as('units')])
    .where('warehouse_id', '=', warehouseId)
    .where('kind', '=', 'return_request')
    .where('status', '=', 'open')
    .where('created_at', '>', nowMs - limits.quotaReturnRequestTtlMs)
    .groupBy('sku')
    .execute();
  return new Map(rows.map((row) => [row.sku, Number(row.units)]));
}

/** The quotas of one warehouse as the hub counts them, with the policy's targets. */
export async function listQuotas(db: Kysely<Database>, warehouseId: string, nowMs: number): Promise<QuotaView[]> {
  const policy = await getQuotaPolicy(db, warehouseId);
  const pending = await pendingReturns(db, warehouseId, nowMs);
  const rows = await db
    .selectFrom('stock_partitions')
    .select(['sku', 'edge_quota'])
    .where('warehouse_id', '=', warehouseId)
    .orderBy('sku')
    .limit(limits.quotaRebalancePartitionsMax)
    .execute();
  return rows.map((row) => ({
    warehouseId,
    sku: row.sku,
    granted: Number(row.edge_quota),
    returnRequested: pending.get(row.sku) ?? 0,
    target: quotaTarget(policy, row.sku),
  }));
}

/**
 * One rebalancing pass over the warehouses that have a policy: each partition's rights move toward
 * the policy's target (shared `rebalanceStep`): grants only out of what online could sell, returns
 * asked once per TTL. Bounded per pass; a refused grant (a checkout took the units, or another pass granted
 * first) waits for the next.
 */
export async function rebalanceQuotas(
  db: Kysely<Database>,
  dialect: Dialect,
  nowMs: number,
  only?: string,
): Promise<{ granted: number; returnsRequested: number }> {
  let query = db
    .selectFrom('quota_policies')
    .innerJoin('warehouses', 'warehouses.id', 'quota_policies.warehouse_id')
    .select('warehouse_id')
    .where('warehouses.edge_epoch', '>', 0);
  if (only !== undefined) query = query.where('warehouse_id', '=', only);
  const warehouses = await query.execute();
  const totals = { granted: 0, returnsRequested: 0 };
  for (const { warehouse_id: warehouseId } of warehouses) {
    const pending = await pendingReturns(db, warehouseId, nowMs);
    const policy = await getQuotaPolicy(db, warehouseId);
    const partitions = await db
      .selectFrom('stock_partitions')
      .select(['sku', 'edge_quota', freeUnitsSql().as('available')])
      .where('warehouse_id', '=', warehouseId)
      .orderBy('sku')
      .limit(limits.quotaRebalancePartitionsMax)
      .execute();
    for (const partition of partitions) {
      const asked = pending.get(partition.sku) ?? 0;
      const step = rebalanceStep({
        target: quotaTarget(policy, partition.sku),
        // A request may ask for more than is out (an admin's, or one the edge's sales overtook): the
        // edge returns only what it holds, so the rights left after the returns are never below 0.
        // Unclamped, such a request looked like missing rights and a pass granted its excess.
        outstanding: Math.max(0, Number(partition.edge_quota) - asked),
        available: Number(partition.available),
      });
      if (step.action === 'grant') {
        try {
          await grantQuota(
            db,
            dialect,
            { warehouseId, sku: partition.sku, quantity: step.quantity },
            'rebalancer',
            nowMs,
            Number(partition.edge_quota),
          );
          totals.granted += step.quantity;
        } catch (error) {
          if (!(error instanceof DomainError && error.kind === 'conflict')) throw error;
        }
      } else if (step.action === 'return' && asked === 0) {
        try {
          await requestQuotaReturn(
            db,
            { warehouseId, sku: partition.sku, quantity: step.quantity },
            'rebalancer',
            nowMs,
            { dialect, expectedPending: 0 },
          );
          totals.returnsRequested += step.quantity;
        } catch (error) {
          if (!(error instanceof DomainError && error.kind === 'conflict')) throw error;
        }
      }
    }
  }
  return totals;
}
