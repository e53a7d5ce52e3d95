import {
  asExchangeStatus,
  conflict,
  type ExchangeEvent,
  type ExchangeRequest,
  type ExchangeStatus,
  exchangeDueAtMs,
  exchangeEventForReturn,
  exchangeHoldTtlSeconds,
  limits,
  newId,
  notFound,
  type OrderStatus,
  type ReturnPolicy,
  type ReturnStatus,
  transitionExchange,
  transitionOrder,
} from '@dovetail/shared';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { releaseHold, releaseHoldIn, reserveHold } from '../holds/service.ts';
import { appendHistory, confirmPaymentLocked, insertOrderOverHold, statusAt } from '../orders/service.ts';
import { openAddress, openCustomer } from '../orders/personal.ts';
import { emitWebhookEvent } from '../webhooks/emit.ts';
import {
  cancelReturnLocked,
  getReturn,
  lockOrder,
  lockReturn,
  type ReturnScope,
  type ReturnView,
  requestReturnLocked,
} from './service.ts';
import type { ExchangesTable } from './tables.ts';

type Dialect = 'sqlite' | 'postgres';
type ExchangeRow = Selectable<ExchangesTable>;

export type ExchangeView = {
  id: string;
  status: ExchangeStatus;
  returnId: string;
  returnNumber: string;
  orderId: string;
  orderNumber: string;
  replacementOrderId: string;
  replacementOrderNumber: string;
  advance: boolean;
  lines: Array<{ sku: string; quantity: number }>;
  dueAt: string;
  note: string | null;
  updatedAt: string;
};

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * `POST /orders/{id}/exchange`: the replacement's units are held first (a hold of
 * `exchangeHoldTtlSeconds`: the window plus a grace), then, under the order's lock and in one
 * transaction, the return is asked for like `POST /orders/{id}/return` (same checks, authorized by
 * policy or left to an agent), the replacement order is written over the hold (`pending_payment`, the
 * customer's addresses, catalog prices) and the exchange links them, `awaiting_return` until
 * `dueAt`. With advance exchange (`advance`, else the policy's `advanceExchange`) the replacement goes
 * to fulfillment at once. A refused request releases the hold it took.
 */
export async function createExchange(
  db: Kysely<Database>,
  dialect: Dialect,
  orderId: string,
  request: ExchangeRequest,
  scope: ReturnScope,
  policy: ReturnPolicy,
  advance: boolean,
  nowMs: number,
): Promise<{ exchange: ExchangeView; return: ReturnView }> {
  const order = await db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
  if (!order || (scope !== '*' && order.client_id !== scope)) throw notFound('order');
  const shipping = await openAddress(db, order.shipping_json);
  const hold = await reserveHold(
    db,
    dialect,
    { lines: request.newLines, ttlSeconds: exchangeHoldTtlSeconds(policy) },
    { clientId: order.client_id, nowMs, ...(shipping.location ? { destination: shipping.location } : {}) },
  );
  const id = newId();
  try {
    await db.transaction().execute(async (trx) => {
      const locked = await lockOrder(trx, dialect, orderId, scope);
      const returnId = await requestReturnLocked(
        trx,
        locked,
        { lines: request.returnLines, ...(request.note === undefined ? {} : { note: request.note }) },
        policy,
        nowMs,
      );
      const replacementOrderId = newId();
      await insertOrderOverHold(
        trx,
        {
          id: replacementOrderId,
          holdId: hold.id,
          clientId: locked.client_id,
          customer: await openCustomer(trx, locked.customer_json),
          shippingAddress: shipping,
          ...(locked.billing_json ? { billingAddress: await openAddress(trx, locked.billing_json) } : {}),
          note: `exchange for order ${locked.number}`,
        },
        nowMs,
      );
      await trx
        .insertInto('exchanges')
        .values({
          id,
          return_id: returnId,
          order_id: locked.id,
          replacement_order_id: replacementOrderId,
          client_id: locked.client_id,
          hold_id: hold.id,
          status: 'awaiting_return',
          advance: advance ? 1 : 0,
          note: request.note ?? null,
          due_at: exchangeDueAtMs(policy, nowMs),
          created_at: nowMs,
          updated_at: nowMs,
        })
        .execute();
      await emitExchange(trx, 'exchange.created', id, nowMs);
      if (advance) await moveExchangeLocked(trx, dialect, id, 'advance', nowMs);
    });
  } catch (error) {
    await releaseHold(db, dialect, hold.id, '*', nowMs).catch(() => undefined);
    throw error;
  }
  const exchange = await getExchange(db, id, '*');
  return { exchange, return: await getReturn(db, exchange.returnId, '*') };
}

/**
 * What a return's move means for its exchange, in the caller's transaction (under the original
 * order's lock): received units release the replacement to fulfillment; a rejected or canceled
 * return cancels the exchange with its replacement. Nothing when the return has no exchange or the
 * exchange already left `awaiting_return` (released in advance, or canceled).
 */
export async function followReturn(
  trx: Transaction<Database>,
  dialect: Dialect,
  returnId: string,
  status: ReturnStatus,
  nowMs: number,
): Promise<void> {
  const event = exchangeEventForReturn(status);
  if (!event) return;
  const exchange = await trx
    .selectFrom('exchanges')
    .select(['id', 'status'])
    .where('return_id', '=', returnId)
    .executeTakeFirst();
  if (!exchange || !transitionExchange(asExchangeStatus(exchange.status), event).ok) return;
  await moveExchangeLocked(trx, dialect, exchange.id, event, nowMs);
}

/**
 * Moves an exchange by the shared table, the original order locked by the caller: `released` confirms
 * the replacement like a payment (reference `exchange <return number>`: its hold becomes allocations
 * and fulfillment orders go out); `canceled` cancels the unpaid replacement and releases its hold.
 * A replacement someone canceled meanwhile turns a release into a cancel. Emits `exchange.released`
 * or `exchange.canceled`.
 */
async function moveExchangeLocked(
  trx: Transaction<Database>,
  dialect: Dialect,
  id: string,
  event: ExchangeEvent,
  nowMs: number,
): Promise<void> {
  const row = await trx.selectFrom('exchanges').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const replacement = await lockOrder(trx, dialect, row.replacement_order_id, '*');
  const replacementStatus = statusAt(replacement.status as OrderStatus, Number(replacement.expires_at), nowMs);
  let effective = event;
  if ((event === 'return_received' || event === 'advance') && replacementStatus !== 'pending_payment')
    effective = 'withdrawn';
  const next = transitionExchange(asExchangeStatus(row.status), effective);
  if (!next.ok) {
    throw conflict('transition_not_allowed', `a ${row.status} exchange cannot take ${effective}`, {
      status: row.status,
      event: effective,
    });
  }
  if (next.status === 'released') {
    const rma = await trx.selectFrom('returns').select('number').where('id', '=', row.return_id).executeTakeFirst();
    await confirmPaymentLocked(trx, dialect, replacement, `exchange ${rma?.number ?? row.return_id}`, nowMs);
  } else if (replacementStatus === 'pending_payment') {
    const canceled = transitionOrder(replacementStatus, 'cancel_requested');
    if (canceled.ok) {
      await trx
        .updateTable('orders')
        .set({ status: canceled.status, updated_at: nowMs })
        .where('id', '=', replacement.id)
        .execute();
      await appendHistory(
        trx,
        replacement.id,
        'cancel_requested',
        replacementStatus,
        canceled.status,
        nowMs,
        effective === 'window_lapsed' ? 'the return did not arrive in time' : 'the return was withdrawn',
      );
    }
  }
  if (next.status === 'canceled') {
    const hold = await trx.selectFrom('holds').select('status').where('id', '=', row.hold_id).executeTakeFirst();
    if (hold && hold.status !== 'converted') await releaseHoldIn(trx, dialect, row.hold_id, '*', nowMs);
  }
  await trx.updateTable('exchanges').set({ status: next.status, updated_at: nowMs }).where('id', '=', id).execute();
  await emitExchange(trx, next.status === 'released' ? 'exchange.released' : 'exchange.canceled', id, nowMs);
}

/**
 * The hub's pass (hub.ts): exchanges still awaiting their return at `dueAt` are canceled, a bounded
 * number per pass: the return is canceled too where the table allows it (`requested`, `authorized`:
 * its warehouse stops expecting it; one already in transit stays open and is refunded as a return),
 * the replacement order is canceled and its hold released. Returns how many it canceled.
 */
export async function expireExchanges(db: Kysely<Database>, dialect: Dialect, nowMs: number): Promise<number> {
  const due = await db
    .selectFrom('exchanges')
    .select(['id', 'return_id'])
    .where('status', '=', 'awaiting_return')
    .where('due_at', '<=', nowMs)
    .orderBy('due_at')
    .limit(limits.exchangeExpiryBatchMax)
    .execute();
  let canceled = 0;
  for (const exchange of due) {
    await db.transaction().execute(async (trx) => {
      const rma = await lockReturn(trx, dialect, exchange.return_id, '*');
      const row = await trx
        .selectFrom('exchanges')
        .select(['status', 'due_at'])
        .where('id', '=', exchange.id)
        .executeTakeFirstOrThrow();
      if (row.status !== 'awaiting_return' || Number(row.due_at) > nowMs) return;
      if (rma.status === 'requested' || rma.status === 'authorized') {
        // Cancels the exchange too (followReturn): one path for a withdrawn and a lapsed return.
        await cancelReturnLocked(trx, dialect, rma, 'the exchange window closed', nowMs);
        const after = await trx
          .selectFrom('exchanges')
          .select('status')
          .where('id', '=', exchange.id)
          .executeTakeFirstOrThrow();
        if (after.status === 'awaiting_return')
          await moveExchangeLocked(trx, dialect, exchange.id, 'window_lapsed', nowMs);
      } else {
        await moveExchangeLocked(trx, dialect, exchange.id, 'window_lapsed', nowMs);
      }
      canceled++;
    });
  }
  return canceled;
}

export async function getExchange(
  db: Kysely<Database> | Transaction<Database>,
  id: string,
  scope: ReturnScope,
): Promise<ExchangeView> {
  const row = await db
    .selectFrom('exchanges as x')
    .innerJoin('returns as r', 'r.id', 'x.return_id')
    .innerJoin('orders as o', 'o.id', 'x.order_id')
    .innerJoin('orders as n', 'n.id', 'x.replacement_order_id')
    .selectAll('x')
    .select(['r.number as return_number', 'o.number as order_number', 'n.number as replacement_number'])
    .where('x.id', '=', id)
    .executeTakeFirst();
  if (!row || (scope !== '*' && row.client_id !== scope)) throw notFound('exchange');
  const lines = await db
    .selectFrom('order_lines')
    .select(['sku', 'quantity'])
    .where('order_id', '=', row.replacement_order_id)
    .orderBy('line_no')
    .execute();
  return present(row, lines);
}

function present(
  row: ExchangeRow & { return_number: string; order_number: string; replacement_number: string },
  lines: Array<{ sku: string; quantity: number }>,
): ExchangeView {
  return {
    id: row.id,
    status: asExchangeStatus(row.status),
    returnId: row.return_id,
    returnNumber: row.return_number,
    orderId: row.order_id,
    orderNumber: row.order_number,
    replacementOrderId: row.replacement_order_id,
    replacementOrderNumber: row.replacement_number,
    advance: Number(row.advance) === 1,
    lines: lines.map((line) => ({ sku: line.sku, quantity: Number(line.quantity) })),
    dueAt: iso(Number(row.due_at)),
    note: row.note,
    updatedAt: iso(Number(row.updated_at)),
  };
}

async function emitExchange(
  trx: Transaction<Database>,
  type: 'exchange.created' | 'exchange.released' | 'exchange.canceled',
  id: string,
  nowMs: number,
): Promise<void> {
  const view = await getExchange(trx, id, '*');
  const row = await trx.selectFrom('exchanges').select('client_id').where('id', '=', id).executeTakeFirstOrThrow();
  await emitWebhookEvent(trx, { type, data: { ...view, updatedAt: iso(nowMs) }, clientId: row.client_id, nowMs });
}
