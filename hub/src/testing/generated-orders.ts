import { formatOrderNumber } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { vaultOf } from '../db/personal-data.ts';

export const generatedOrderStatuses = ['processing', 'shipped', 'delivered', 'canceled'] as const;
export const generatedOrderWarehouses = ['AMS', 'PAR', 'BER'] as const;

export type GeneratedOrder = {
  id: string;
  clientId: string;
  status: (typeof generatedOrderStatuses)[number];
  email: string;
  warehouseId: string;
  createdAtMs: number;
};

/**
 * `count` orders written straight into the tables (holds, orders, fulfillments), for list tests and
 * the lookup bench: statuses, warehouses, e-mails (997 customers) and clients (every 7th `shop-x`)
 * cycle, and three orders share each creation minute so keyset pages must break ties by id.
 */
export async function insertGeneratedOrders(
  db: Kysely<Database>,
  count: number,
  baseMs = Date.parse('2026-01-01T00:00:00Z'),
): Promise<GeneratedOrder[]> {
  const orders = Array.from(
    { length: count },
    (_, i): GeneratedOrder => ({
      id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      clientId: i % 7 === 0 ? 'shop-x' : 'admin',
      status: generatedOrderStatuses[i % generatedOrderStatuses.length]!,
      email: `customer${i % 997}@example.com`,
      warehouseId: generatedOrderWarehouses[i % generatedOrderWarehouses.length]!,
      createdAtMs: baseMs + Math.floor(i / 3) * 60_000,
    }),
  );
  const shipping = JSON.stringify({
    line1: 'Keizersgracht 1',
    city: 'Amsterdam',
    postalCode: '1015 CJ',
    country: 'NL',
  });
  const batch = 1_000;
  await db.transaction().execute(async (trx) => {
    for (let start = 0; start < count; start += batch) {
      const slice = orders.slice(start, start + batch);
      const held = slice.map((order) => ({
        id: `hold-${order.id}`,
        client_id: order.clientId,
        status: 'converted',
        expires_at: order.createdAtMs + 3_600_000,
        created_at: order.createdAtMs,
        released_at: null,
      }));
      await trx.insertInto('holds').values(held).execute();
      await trx
        .insertInto('orders')
        .values(
          slice.map((order, offset) => ({
            id: order.id,
            number: formatOrderNumber(100_000 + start + offset),
            client_id: order.clientId,
            status: order.status,
            hold_id: `hold-${order.id}`,
            customer_json: JSON.stringify({ email: order.email, name: 'Generated' }),
            customer_email: vaultOf(db).emailKey(order.email),
            shipping_json: shipping,
            billing_json: null,
            note: null,
            payment_reference: null,
            currency: 'EUR',
            total: 1000,
            expires_at: order.createdAtMs + 3_600_000,
            created_at: order.createdAtMs,
            updated_at: order.createdAtMs,
          })),
        )
        .execute();
      await trx
        .insertInto('fulfillments')
        .values(
          slice.map((order) => ({
            id: `f-${order.id}`,
            order_id: order.id,
            warehouse_id: order.warehouseId,
            status: 'requested',
            created_at: order.createdAtMs,
            cancel_state: null,
            packages_json: null,
          })),
        )
        .execute();
    }
  });
  return orders;
}

/** The ids a newest-first list shows for these orders: created_at, then id, descending. */
export function newestFirst(orders: readonly GeneratedOrder[]): string[] {
  return [...orders]
    .sort((x, y) => y.createdAtMs - x.createdAtMs || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0))
    .map((order) => order.id);
}
