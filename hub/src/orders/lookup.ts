import { type OrderStatus, badRequest, notFound, orderIdSchema, parseOrderNumber } from '@dovetail/shared';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import { decodeCursor, encodeCursor } from '../db/cursor.ts';
import { emailLookupKey, erasedCustomer, openCustomer } from './personal.ts';
import { type OrderScope, statusAt } from './service.ts';

/** One line of `GET /orders`: enough to find the order, not the whole view. */
export type OrderSummary = {
  id: string;
  number: string;
  status: OrderStatus;
  customer: { email: string; name: string };
  currency: string;
  total: number;
  itemCount: number;
  warehouses: string[];
  createdAt: string;
  updatedAt: string;
};

export type OrderListFilter = {
  status?: OrderStatus | undefined;
  warehouseId?: string | undefined;
  createdFromMs?: number | undefined;
  createdToMs?: number | undefined;
  email?: string | undefined;
  cursor?: string | undefined;
  limit: number;
};

/**
 * `GET /orders`: newest first, keyset-paged on (created_at, id) so a page is one index range read
 * whatever the depth (each filter has an index ending in those columns; 0015_order_lookup).
 * `expired` is not stored: it is `pending_payment` past `expires_at`, read the way `getOrder` reads it.
 */
export async function listOrders(
  db: Kysely<Database>,
  filter: OrderListFilter,
  scope: OrderScope,
  nowMs: number,
): Promise<{ items: OrderSummary[]; nextCursor: string | null }> {
  let query = db
    .selectFrom('orders')
    .select(['id', 'number', 'status', 'customer_json', 'currency', 'total', 'expires_at', 'created_at', 'updated_at'])
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit + 1);
  if (scope !== '*') query = query.where('client_id', '=', scope);
  if (filter.status === 'expired') {
    query = query.where('status', '=', 'pending_payment').where('expires_at', '<=', nowMs);
  } else if (filter.status === 'pending_payment') {
    query = query.where('status', '=', 'pending_payment').where('expires_at', '>', nowMs);
  } else if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.email !== undefined) query = query.where('customer_email', '=', emailLookupKey(db, filter.email));
  if (filter.createdFromMs !== undefined) query = query.where('created_at', '>=', filter.createdFromMs);
  if (filter.createdToMs !== undefined) query = query.where('created_at', '<', filter.createdToMs);
  const { warehouseId } = filter;
  if (warehouseId !== undefined) {
    query = query.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('fulfillments')
          .select(sql`1`.as('one'))
          .where('fulfillments.warehouse_id', '=', warehouseId)
          .whereRef('fulfillments.order_id', '=', 'orders.id'),
      ),
    );
  }
  const after = readCursor(filter.cursor);
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', after.createdAtMs),
        eb.and([eb('created_at', '=', after.createdAtMs), eb('id', '<', after.id)]),
      ]),
    );
  }
  const rows = await query.execute();
  const page = rows.slice(0, filter.limit);
  const details = await pageDetails(
    db,
    page.map((row) => row.id),
  );
  const customers = await Promise.all(page.map((row) => openCustomer(db, row.customer_json)));
  const items = page.map((row, index): OrderSummary => {
    const customer = customers[index] ?? erasedCustomer;
    const detail = details.get(row.id);
    return {
      id: row.id,
      number: row.number,
      status: statusAt(row.status as OrderStatus, Number(row.expires_at), nowMs),
      customer: { email: customer.email, name: customer.name },
      currency: row.currency,
      total: Number(row.total),
      itemCount: detail?.itemCount ?? 0,
      warehouses: detail?.warehouses ?? [],
      createdAt: new Date(Number(row.created_at)).toISOString(),
      updatedAt: new Date(Number(row.updated_at)).toISOString(),
    };
  });
  const last = page.at(-1);
  const nextCursor = rows.length > filter.limit && last ? encodeCursor(`${Number(last.created_at)}:${last.id}`) : null;
  return { items, nextCursor };
}

/** Units and warehouses of a page's orders: two statements for the page, not two per order. */
async function pageDetails(
  db: Kysely<Database>,
  ids: string[],
): Promise<Map<string, { itemCount: number; warehouses: string[] }>> {
  const details = new Map<string, { itemCount: number; warehouses: string[] }>();
  if (ids.length === 0) return details;
  const [units, fulfillments] = await Promise.all([
    db
      .selectFrom('order_lines')
      .select(['order_id', (eb) => eb.fn.sum<number>('quantity').as('units')])
      .where('order_id', 'in', ids)
      .groupBy('order_id')
      .execute(),
    db
      .selectFrom('fulfillments')
      .select(['order_id', 'warehouse_id'])
      .where('order_id', 'in', ids)
      .orderBy('warehouse_id')
      .execute(),
  ]);
  for (const id of ids) details.set(id, { itemCount: 0, warehouses: [] });
  for (const row of units) {
    const detail = details.get(row.order_id);
    if (detail) detail.itemCount = Number(row.units);
  }
  for (const row of fulfillments) {
    const detail = details.get(row.order_id);
    if (detail && !detail.warehouses.includes(row.warehouse_id)) detail.warehouses.push(row.warehouse_id);
  }
  return details;
}

function readCursor(cursor: string | undefined): { createdAtMs: number; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const key = decodeCursor(cursor);
  const match = key ? /^(\d{1,16}):([0-9a-f-]{36})$/.exec(key) : null;
  if (!match?.[1] || !match[2]) throw badRequest('invalid_cursor', 'cursor is not one this list returned');
  return { createdAtMs: Number(match[1]), id: match[2] };
}

/**
 * An order's id from what a person or a system holds: its UUID or its number (`DT-0000-002W`, read
 * leniently: lower case, no hyphens, I/L for 1, O for 0). Unknown or malformed is a 404 like a
 * missing order; another client's order answers the same (ids are not a way to probe).
 */
export async function resolveOrderId(db: Kysely<Database>, idOrNumber: string): Promise<string> {
  if (orderIdSchema.safeParse(idOrNumber).success) return idOrNumber;
  const parsed = parseOrderNumber(idOrNumber);
  if (!parsed.ok) throw notFound('order');
  const row = await db.selectFrom('orders').select('id').where('number', '=', parsed.orderNumber).executeTakeFirst();
  if (!row) throw notFound('order');
  return row.id;
}
