import { asReturnStatus, type ReturnFact, transitionReturn } from '@dovetail/shared';
import type { Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { emitWebhookEvent } from '../webhooks/emit.ts';
import { followReturn } from './exchanges.ts';
import { emitReturnEvent, getReturn, lockReturn, moveOrder, moveReturn, webhookReturn } from './service.ts';

type Dialect = 'sqlite' | 'postgres';
export type ReturnFactRefusal = { reason: 'unknown_return' | 'return_state_conflict'; message: string };

/**
 * Applies a `return_received` fact from the warehouse's edge, inside the push's transaction, so the
 * fact, the `return_restock` stock events before it (already folded into the hub's replica: the
 * units are on hand and, unless damaged, available) and the stream's ack commit together.
 *
 * Each line's units are added to the return's restocked, damaged or missing counts; the return
 * moves to `received`, or to `closed` once every authorized unit is accounted for (then the order
 * moves by its table's `return_received` when no other return of it is still open). Emits
 * `return.received` with what a payment system needs to refund (lines, unit prices, amount), and
 * `return.closed` when it closed; an exchange waiting on the return releases its replacement. A fact for a return not sent to this warehouse is refused as
 * `unknown_return`; one the table does not allow, or over what was authorized (the edge checked it
 * too), as `return_state_conflict`; a refusal is stored and reported back like any other.
 */
export async function applyReturnFact(
  trx: Transaction<Database>,
  dialect: Dialect,
  warehouseId: string,
  fact: ReturnFact,
  nowMs: number,
): Promise<ReturnFactRefusal | undefined> {
  const found = await trx
    .selectFrom('returns')
    .select(['id', 'warehouse_id'])
    .where('id', '=', fact.returnId)
    .executeTakeFirst();
  if (!found || found.warehouse_id !== warehouseId) {
    return { reason: 'unknown_return', message: `return ${fact.returnId} was not sent to warehouse ${warehouseId}` };
  }
  const row = await lockReturn(trx, dialect, fact.returnId, '*');
  const lines = await trx
    .selectFrom('return_lines')
    .selectAll()
    .where('return_id', '=', row.id)
    .orderBy('line_no')
    .execute();
  const counts = new Map(
    lines.map((line) => [
      line.sku,
      {
        lineNo: line.line_no,
        quantity: Number(line.quantity),
        restocked: Number(line.restocked),
        damaged: Number(line.damaged),
        missing: Number(line.missing),
        unitPrice: Number(line.unit_price),
      },
    ]),
  );
  for (const received of fact.lines) {
    const line = counts.get(received.sku);
    if (!line) return { reason: 'return_state_conflict', message: `${received.sku} is not on return ${row.number}` };
    if (received.disposition === 'restock') line.restocked += received.quantity;
    else if (received.disposition === 'damaged') line.damaged += received.quantity;
    else line.missing += received.quantity;
    if (line.restocked + line.damaged + line.missing > line.quantity) {
      return {
        reason: 'return_state_conflict',
        message: `more units of ${received.sku} accounted for than return ${row.number} authorized`,
      };
    }
  }
  const complete = [...counts.values()].every((line) => line.restocked + line.damaged + line.missing === line.quantity);
  const event = complete ? 'receive_all' : 'receive_some';
  if (!transitionReturn(asReturnStatus(row.status), event).ok) {
    return { reason: 'return_state_conflict', message: `the hub has return ${row.number} as ${row.status}` };
  }
  for (const line of counts.values()) {
    await trx
      .updateTable('return_lines')
      .set({ restocked: line.restocked, damaged: line.damaged, missing: line.missing })
      .where('return_id', '=', row.id)
      .where('line_no', '=', line.lineNo)
      .execute();
  }
  const status = await moveReturn(trx, row, event, nowMs);
  // An exchange waiting on this return sends its replacement now (returns/exchanges.ts).
  await followReturn(trx, dialect, row.id, status, nowMs);
  const view = await getReturn(trx, row.id, '*');
  const priceOf = new Map(view.lines.map((line) => [line.sku, line.unitPrice]));
  await emitWebhookEvent(trx, {
    type: 'return.received',
    data: {
      ...webhookReturn(view, nowMs),
      received: fact.lines.map((line) => ({
        sku: line.sku,
        quantity: line.quantity,
        disposition: line.disposition,
        unitPrice: priceOf.get(line.sku) ?? 0,
      })),
      receivedAmount: view.lines.reduce((sum, line) => sum + (line.restocked + line.damaged) * line.unitPrice, 0),
    },
    clientId: row.client_id,
    warehouseId,
    nowMs,
  });
  if (status === 'closed') {
    await emitReturnEvent(trx, 'return.closed', row.id, nowMs);
    const open = await trx
      .selectFrom('returns')
      .select('id')
      .where('order_id', '=', row.order_id)
      .where('status', 'in', ['requested', 'authorized', 'in_transit', 'received'])
      .executeTakeFirst();
    if (!open) {
      const order = await trx.selectFrom('orders').selectAll().where('id', '=', row.order_id).executeTakeFirstOrThrow();
      await moveOrder(trx, order, 'return_received', `return ${row.number} received at ${warehouseId}`, nowMs);
    }
  }
  return undefined;
}
