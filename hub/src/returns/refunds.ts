import { conflict, newId, notFound, type RefundRecord, refundAllowed, unprocessable } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { emitWebhookEvent } from '../webhooks/emit.ts';
import { lockOrder, type ReturnScope } from './service.ts';

type Dialect = 'sqlite' | 'postgres';

export type RefundView = {
  id: string;
  orderId: string;
  returnId: string | null;
  amount: number;
  currency: string;
  reference: string;
  /** Every refund of the order so far, this one included, and what was paid. */
  refundedTotal: number;
  paid: number;
  createdAt: string;
};

/**
 * `POST /orders/{id}/refunds`: records a refund the payment system made (Dovetail moves no money).
 * Under the order's lock: a refund with the same reference is answered again, unchanged
 * (`created: false`; another amount or currency under it is 409 `refund_reference_reused`);
 * refunded stays ≤ paid, the order's total (409 `refund_exceeds_payment`, `refundAllowed` in
 * shared); an unpaid order has nothing to refund (409 `order_not_paid`); the currency is the order's
 * (422 `currency_mismatch`). `refund.recorded` commits with it.
 */
export async function recordRefund(
  db: Kysely<Database>,
  dialect: Dialect,
  orderId: string,
  input: RefundRecord,
  scope: ReturnScope,
  recordedBy: string,
  nowMs: number,
): Promise<{ refund: RefundView; created: boolean }> {
  return db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, dialect, orderId, scope);
    // An exchange's replacement is released to fulfillment like a payment, but nobody paid for it
    // (docs/returns.md): nothing to refund; the original order's payment is what a refund comes from.
    const replacement = await trx
      .selectFrom('exchanges')
      .select('id')
      .where('replacement_order_id', '=', order.id)
      .executeTakeFirst();
    const paid = order.payment_reference === null || replacement ? 0 : Number(order.total);
    const refunds = await trx
      .selectFrom('refunds')
      .selectAll()
      .where('order_id', '=', order.id)
      .orderBy('created_at')
      .execute();
    const refundedSoFar = refunds.reduce((sum, refund) => sum + Number(refund.amount), 0);
    const view = (row: (typeof refunds)[number], refundedTotal: number): RefundView => ({
      id: row.id,
      orderId: row.order_id,
      returnId: row.return_id,
      amount: Number(row.amount),
      currency: row.currency,
      reference: row.reference,
      refundedTotal,
      paid,
      createdAt: new Date(Number(row.created_at)).toISOString(),
    });
    const same = refunds.find((refund) => refund.reference === input.reference);
    if (same) {
      if (
        Number(same.amount) !== input.amount ||
        same.currency !== input.currency ||
        (same.return_id ?? undefined) !== input.returnId
      ) {
        throw conflict('refund_reference_reused', `refund ${input.reference} was recorded with other figures`, {
          amount: Number(same.amount),
          currency: same.currency,
        });
      }
      return { refund: view(same, refundedSoFar), created: false };
    }
    if (order.payment_reference === null) throw conflict('order_not_paid', 'the order was not paid: nothing to refund');
    if (replacement) {
      throw conflict('order_not_paid', 'this order replaced returned goods in an exchange: nothing was paid for it', {
        exchangeId: replacement.id,
      });
    }
    if (input.currency !== order.currency) {
      throw unprocessable('currency_mismatch', `the order was paid in ${order.currency}, not ${input.currency}`);
    }
    if (input.returnId !== undefined) {
      const ofOrder = await trx
        .selectFrom('returns')
        .select('id')
        .where('id', '=', input.returnId)
        .where('order_id', '=', order.id)
        .executeTakeFirst();
      if (!ofOrder) throw notFound('return');
    }
    if (!refundAllowed(paid, refundedSoFar, input.amount)) {
      throw conflict(
        'refund_exceeds_payment',
        `${input.amount} more would refund ${refundedSoFar + input.amount}, over the ${paid} paid`,
        { paid, refunded: refundedSoFar, amount: input.amount },
      );
    }
    const row = {
      id: newId(),
      order_id: order.id,
      return_id: input.returnId ?? null,
      amount: input.amount,
      currency: input.currency,
      reference: input.reference,
      recorded_by: recordedBy,
      created_at: nowMs,
    };
    await trx.insertInto('refunds').values(row).execute();
    const refund = view(row, refundedSoFar + input.amount);
    await emitWebhookEvent(trx, {
      type: 'refund.recorded',
      data: {
        id: refund.id,
        orderId: order.id,
        orderNumber: order.number,
        returnId: refund.returnId,
        amount: refund.amount,
        currency: refund.currency,
        reference: refund.reference,
        refundedTotal: refund.refundedTotal,
        paid,
        recordedAt: refund.createdAt,
      },
      clientId: order.client_id,
      nowMs,
    });
    return { refund, created: true };
  });
}
