import type { Address, Customer } from '@dovetail/shared';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { erased, sealedPrefix, vaultOf } from '../db/personal-data.ts';
import { emailLookupKey, erasedAddress, erasedCustomer, openAddress, sealOrderFields } from '../orders/personal.ts';
import { getOrder, type OrderView } from '../orders/service.ts';
import { getReturn, type ReturnView } from '../returns/service.ts';

/**
 * Privacy requests and retention (docs/operations.md, "Personal data"): what the hub holds about a
 * customer (found by the keyed hash of their e-mail), their erasure by destroying their data keys
 * (crypto-shredding: orders keep their lines, totals and history; personal fields read "erased"),
 * and the sealing of rows written before personal data was encrypted.
 */

/** At most this many orders in one export (a customer with more is told `truncated`). */
export const exportOrdersMax = 1_000;

export type CustomerExport = {
  email: string;
  orders: OrderView[];
  returns: ReturnView[];
  notifications: Array<{
    id: string;
    orderId: string;
    kind: string;
    channel: string;
    recipient: string;
    status: string;
    createdAt: string;
  }>;
  truncated: boolean;
};

async function orderIdsOf(db: Kysely<Database>, email: string, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('orders')
    .select('id')
    .where('customer_email', '=', emailLookupKey(db, email))
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((row) => row.id);
}

/** `POST /customers/export`: every order, return and notification of the customer with this e-mail, opened. */
export async function exportCustomer(db: Kysely<Database>, email: string, nowMs: number): Promise<CustomerExport> {
  const address = email.trim();
  const ids = await orderIdsOf(db, address, exportOrdersMax + 1);
  const truncated = ids.length > exportOrdersMax;
  const orderIds = ids.slice(0, exportOrdersMax);
  const orders: OrderView[] = [];
  for (const id of orderIds) orders.push(await getOrder(db, id, '*', nowMs));
  if (orderIds.length === 0) return { email: address, orders, returns: [], notifications: [], truncated };
  const returnRows = await db
    .selectFrom('returns')
    .select('id')
    .where('order_id', 'in', orderIds)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const returns: ReturnView[] = [];
  for (const row of returnRows) returns.push(await getReturn(db, row.id, '*'));
  const notificationRows = await db
    .selectFrom('notifications')
    .select(['id', 'order_id', 'kind', 'channel', 'recipient', 'status', 'created_at'])
    .where('order_id', 'in', orderIds)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const vault = vaultOf(db);
  const notifications = await Promise.all(
    notificationRows.map(async (row) => ({
      id: row.id,
      orderId: row.order_id,
      kind: row.kind,
      channel: row.channel,
      recipient: (await vault.openText(db, row.recipient)) ?? 'erased',
      status: row.status,
      createdAt: new Date(Number(row.created_at)).toISOString(),
    })),
  );
  return { email: address, orders, returns, notifications, truncated };
}

/**
 * `POST /customers/erase`: destroys every data key of the customer with this e-mail and forgets the
 * keyed hash on their orders, so no lookup by that e-mail finds them again. Idempotent.
 */
export async function eraseCustomer(
  db: Kysely<Database>,
  email: string,
  nowMs: number,
): Promise<{ erased: boolean; orders: number }> {
  const address = email.trim();
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('orders')
      .select(['id', 'shipping_json', 'billing_json'])
      .where('customer_email', '=', emailLookupKey(trx, address))
      .execute();
    // Each order keeps its destination country (not personal on its own; a fulfillment still routes
    // and validates by it) and reads "erased" in every other personal field, in plain text.
    for (const row of rows) {
      const shipping = await openAddress(trx, row.shipping_json);
      const billing = row.billing_json ? await openAddress(trx, row.billing_json) : undefined;
      await trx
        .updateTable('orders')
        .set({
          customer_json: JSON.stringify(erasedCustomer),
          shipping_json: JSON.stringify({ ...erasedAddress, country: shipping.country }),
          billing_json: billing ? JSON.stringify({ ...erasedAddress, country: billing.country }) : null,
          customer_email: null,
          updated_at: nowMs,
        })
        .where('id', '=', row.id)
        .execute();
    }
    const keys = await vaultOf(trx).erase(trx, address);
    return { erased: keys > 0 || rows.length > 0, orders: rows.length };
  });
}

/** How often the retention pass runs (`HUB_PII_RETENTION_DAYS`): hourly, a batch at a time. */
export const retentionIntervalMs = 3_600_000;

/** Orders closed this long ago: delivered, canceled or returned (last change), or expired unpaid. */
const closedStatuses = ['delivered', 'canceled', 'returned'];

/**
 * Retention (`HUB_PII_RETENTION_DAYS`): the personal fields of orders closed longer than `days`
 * are overwritten with "erased", their notifications' addresses too; at most `batch` orders a pass.
 * The customer's data key stays for their other orders.
 */
export async function eraseExpiredPersonalData(
  db: Kysely<Database>,
  days: number,
  nowMs: number,
  batch = 500,
): Promise<number> {
  const cutoff = nowMs - days * 86_400_000;
  const rows = await db
    .selectFrom('orders')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('status', 'in', closedStatuses), eb('updated_at', '<', cutoff)]),
        eb.and([eb('status', '=', 'pending_payment'), eb('expires_at', '<', cutoff)]),
      ]),
    )
    .where('customer_email', 'is not', null)
    .limit(batch)
    .execute();
  if (rows.length === 0) return 0;
  const ids = rows.map((row) => row.id);
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('orders')
      .set({
        customer_json: JSON.stringify(erasedCustomer),
        shipping_json: JSON.stringify(erasedAddress),
        billing_json: null,
        customer_email: null,
      })
      .where('id', 'in', ids)
      .execute();
    await trx
      .updateTable('notifications')
      .set({ recipient: 'erased', data_json: 'null' })
      .where('order_id', 'in', ids)
      .execute();
  });
  return ids.length;
}

/**
 * Seals what was stored in plain text before personal data was encrypted (run at start-up, a batch
 * at a time): orders' customer and addresses (and `customer_email` becomes the keyed hash),
 * notifications' addresses and data, and recipients' address keys. Returns how many rows it sealed.
 */
export async function sealPlainPersonalData(db: Kysely<Database>, batch = 200): Promise<number> {
  const vault = vaultOf(db);
  let sealed = 0;
  for (;;) {
    const rows = await db
      .selectFrom('orders')
      .select(['id', 'customer_json', 'shipping_json', 'billing_json'])
      .where('customer_json', 'not like', `${sealedPrefix}%`)
      .where('customer_json', '!=', JSON.stringify(erasedCustomer))
      .limit(batch)
      .execute();
    if (rows.length === 0) break;
    await db.transaction().execute(async (trx) => {
      for (const row of rows) {
        const customer = JSON.parse(row.customer_json) as Customer;
        const fields = await sealOrderFields(
          trx,
          customer,
          JSON.parse(row.shipping_json) as Address,
          row.billing_json ? (JSON.parse(row.billing_json) as Address) : null,
        );
        await trx.updateTable('orders').set(fields).where('id', '=', row.id).execute();
      }
    });
    sealed += rows.length;
  }
  for (;;) {
    const rows = await db
      .selectFrom('notifications as n')
      .innerJoin('orders as o', 'o.id', 'n.order_id')
      .select(['n.id', 'n.recipient', 'n.data_json', 'o.customer_json'])
      .where('n.recipient', 'not like', `${sealedPrefix}%`)
      .where('n.recipient', '!=', 'erased')
      .limit(batch)
      .execute();
    if (rows.length === 0) break;
    await db.transaction().execute(async (trx) => {
      for (const row of rows) {
        const customer = await vault.open<Customer>(trx, row.customer_json);
        const set =
          customer && customer.email !== erased
            ? {
                recipient: await vault.seal(trx, customer.email, row.recipient),
                data_json: row.data_json.startsWith(sealedPrefix)
                  ? row.data_json
                  : await vault.seal(trx, customer.email, JSON.parse(row.data_json)),
              }
            : { recipient: 'erased', data_json: 'null' };
        await trx.updateTable('notifications').set(set).where('id', '=', row.id).execute();
      }
    });
    sealed += rows.length;
  }
  const recipients = await db
    .selectFrom('notification_recipients')
    .select(['token', 'channel', 'address_key'])
    .where('address_key', 'not like', 'h:%')
    .execute();
  for (const row of recipients) {
    const key = `h:${vault.emailKey(row.address_key)}`;
    await db.transaction().execute(async (trx) => {
      const taken = await trx
        .selectFrom('notification_recipients')
        .select('token')
        .where('channel', '=', row.channel)
        .where('address_key', '=', key)
        .executeTakeFirst();
      if (!taken) {
        await trx
          .updateTable('notification_recipients')
          .set({ address_key: key })
          .where('token', '=', row.token)
          .execute();
        return;
      }
      await trx
        .updateTable('notifications')
        .set({ recipient_token: taken.token })
        .where('recipient_token', '=', row.token)
        .execute();
      await trx.deleteFrom('notification_recipients').where('token', '=', row.token).execute();
    });
    sealed += 1;
  }
  return sealed;
}
