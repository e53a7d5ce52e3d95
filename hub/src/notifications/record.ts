import { randomBytes } from 'node:crypto';
import {
  type Customer,
  type NotificationChannel,
  type NotificationData,
  type NotificationKind,
  type NotificationStatus,
  type OrderStatus,
  limits,
  newId,
  notificationChannelsOf,
  notificationDataSchema,
  notificationDedupeKey,
  notificationsForOrderTransition,
  recipientKey,
  smsNumber,
} from '@dovetail/shared';
import type { Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { erased, vaultOf } from '../db/personal-data.ts';
import { wakeNotificationWorkers } from './notifier.ts';

/**
 * Recording customer notifications: the outbox side. Each function runs in the caller's transaction,
 * so a notification commits with the change it reports or not at all, and is recorded at most once
 * per event and channel (the `dedupe_key` is unique; a repeat is a no-op). Sending is the worker's.
 */

/** An unguessable token for a link (unsubscribe, feedback): 192 random bits, base64url. */
export function newLinkToken(): string {
  return randomBytes(limits.notificationTokenBytes).toString('base64url');
}

/**
 * Called with every order status transition (orders' appendHistory): payment confirmed, shipped and
 * delivered are told to the customer; delivery also opens the order's feedback request, its e-mail
 * held back by the worker until `HUB_FEEDBACK_DELAY_MS` has passed.
 */
export async function recordOrderNotifications(
  trx: Transaction<Database>,
  transition: { orderId: string; event: string; from: OrderStatus | null; to: OrderStatus },
  nowMs: number,
): Promise<void> {
  const kinds = notificationsForOrderTransition(transition.event, transition.from, transition.to);
  if (kinds.length === 0) return;
  await recordNotifications(trx, transition.orderId, kinds, undefined, nowMs);
}

/** A shipment's first out-for-delivery scan (carrier tracking): told once per shipment. */
export async function recordOutForDelivery(
  trx: Transaction<Database>,
  shipment: { id: string; orderId: string },
  nowMs: number,
): Promise<void> {
  await recordNotifications(trx, shipment.orderId, ['out_for_delivery'], shipment.id, nowMs);
}

async function recordNotifications(
  trx: Transaction<Database>,
  orderId: string,
  kinds: readonly NotificationKind[],
  shipmentId: string | undefined,
  nowMs: number,
): Promise<void> {
  const order = await trx
    .selectFrom('orders')
    .select(['id', 'number', 'customer_json'])
    .where('id', '=', orderId)
    .executeTakeFirstOrThrow();
  const vault = vaultOf(trx);
  const customer = await vault.open<Customer>(trx, order.customer_json);
  if (!customer || customer.email === erased) return; // erased: nobody to tell (docs/operations.md, "Personal data")
  const data = notificationDataSchema.parse(await snapshot(trx, order, customer, shipmentId));
  // The message's data (a first name) and its address are stored sealed under the customer's key, opened at send time.
  const seal = await vault.sealer(trx, customer.email);
  const dataJson = seal(data);
  let recorded = false;
  for (const kind of kinds) {
    if (kind === 'feedback_request') {
      await trx
        .insertInto('feedback')
        .values({
          order_id: orderId,
          token: newLinkToken(),
          requested_at: nowMs,
          rating: null,
          comment: null,
          answered_at: null,
        })
        .onConflict((oc) => oc.column('order_id').doNothing())
        .execute();
    }
    for (const channel of notificationChannelsOf[kind]) {
      const address = addressOf(customer, channel);
      if (address === undefined) continue; // no phone given: no text messages
      const recipient = await ensureRecipient(trx, channel, address, nowMs);
      const status: NotificationStatus = recipient.optedOut ? 'suppressed' : 'pending';
      const inserted = await trx
        .insertInto('notifications')
        .values({
          id: `ntf_${newId().replaceAll('-', '')}`,
          dedupe_key: notificationDedupeKey(orderId, kind, channel, shipmentId),
          order_id: orderId,
          shipment_id: shipmentId ?? null,
          kind,
          channel,
          recipient: seal(address),
          recipient_token: recipient.token,
          data_json: dataJson,
          status,
          attempts: 0,
          next_attempt_at: nowMs,
          lease_until: 0,
          lease_owner: null,
          last_error: status === 'suppressed' ? 'the recipient opted out of this channel' : null,
          provider_reference: null,
          created_at: nowMs,
          completed_at: status === 'suppressed' ? nowMs : null,
        })
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0 && status === 'pending') recorded = true;
    }
  }
  if (recorded) await wakeNotificationWorkers(trx);
}

function addressOf(customer: Customer, channel: NotificationChannel): string | undefined {
  if (channel === 'email') return customer.email.trim();
  return customer.phone ? smsNumber(customer.phone) : undefined;
}

/** The recipient's row on this channel (created on first use, with its unsubscribe token). */
async function ensureRecipient(
  trx: Transaction<Database>,
  channel: NotificationChannel,
  address: string,
  nowMs: number,
): Promise<{ token: string; optedOut: boolean }> {
  // Found by a keyed hash of the address, never the address itself (docs/operations.md, "Personal data").
  const key = `h:${vaultOf(trx).emailKey(recipientKey(channel, address))}`;
  await trx
    .insertInto('notification_recipients')
    .values({ token: newLinkToken(), channel, address_key: key, created_at: nowMs, opted_out_at: null })
    .onConflict((oc) => oc.columns(['channel', 'address_key']).doNothing())
    .execute();
  const row = await trx
    .selectFrom('notification_recipients')
    .select(['token', 'opted_out_at'])
    .where('channel', '=', channel)
    .where('address_key', '=', key)
    .executeTakeFirstOrThrow();
  return { token: row.token, optedOut: row.opted_out_at !== null };
}

/** What the message will say, as the order stands in this transaction: no street, no e-mail in it. */
async function snapshot(
  trx: Transaction<Database>,
  order: { id: string; number: string },
  customer: Customer,
  shipmentId: string | undefined,
): Promise<NotificationData> {
  const [lines, shipments] = await Promise.all([
    trx
      .selectFrom('order_lines as l')
      .leftJoin('variants as v', 'v.sku', 'l.sku')
      .leftJoin('products as p', 'p.id', 'v.product_id')
      .select(['l.sku', 'p.name', 'v.options_json', 'l.quantity'])
      .where('l.order_id', '=', order.id)
      .orderBy('l.line_no')
      .execute(),
    (() => {
      let query = trx
        .selectFrom('shipments')
        .select(['carrier', 'tracking_number'])
        .where('order_id', '=', order.id)
        .orderBy('shipped_at')
        .orderBy('id');
      if (shipmentId !== undefined) query = query.where('id', '=', shipmentId);
      return query.execute();
    })(),
  ]);
  return {
    orderNumber: order.number,
    firstName: (customer.name ?? '').trim().split(/\s+/)[0]?.slice(0, limits.customerNameLengthMax) ?? '',
    items: lines.map((line) => {
      const options = line.options_json
        ? Object.values(JSON.parse(line.options_json) as Record<string, string>).join(', ')
        : '';
      const name = line.name ?? line.sku;
      return { name: (options ? `${name} (${options})` : name).slice(0, 500), quantity: Number(line.quantity) };
    }),
    shipments: shipments.map((shipment) => ({
      carrier: shipment.carrier,
      trackingNumber: shipment.tracking_number.slice(0, 100),
    })),
  };
}
