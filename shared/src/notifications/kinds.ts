import type { OrderStatus } from '../domain/orders/transitions.ts';

/**
 * Customer notifications: which events of an order reach its customer, on which channels.
 *
 * Invariants
 * 1. One event is told once per channel: a notification is keyed by (order, kind, channel, shipment
 *    for per-shipment kinds). Enforced by the hub's unique `dedupe_key`; tested with duplicated
 *    scans, repeated transitions and two workers.
 * 2. A kind is sent only on the channels listed for it here (feedback and the confirmation are
 *    e-mail only). Enforced by `notificationChannelsOf`, which the hub's recorder reads.
 * 3. A recipient who opted out of a channel gets nothing more on it: later notifications are recorded
 *    `suppressed`. Enforced by the recorder (at the change) and the worker (at the send); tested.
 */
export const notificationKinds = [
  'order_confirmed',
  'order_shipped',
  'out_for_delivery',
  'order_delivered',
  'feedback_request',
] as const;
export type NotificationKind = (typeof notificationKinds)[number];

/** Push is not here: customers have no device tokens in the data model. */
export const notificationChannels = ['email', 'sms'] as const;
export type NotificationChannel = (typeof notificationChannels)[number];

/**
 * pending: waiting for its (next) attempt; sent; failed (refused for good, or the retries ran out);
 * skipped (the channel is not configured on this hub); suppressed (the recipient opted out).
 */
export const notificationStatuses = ['pending', 'sent', 'failed', 'skipped', 'suppressed'] as const;
export type NotificationStatus = (typeof notificationStatuses)[number];

export const notificationChannelsOf: Record<NotificationKind, readonly NotificationChannel[]> = {
  order_confirmed: ['email'],
  order_shipped: ['email', 'sms'],
  out_for_delivery: ['email', 'sms'],
  order_delivered: ['email', 'sms'],
  feedback_request: ['email'],
};

/** Kinds told once per shipment (the rest once per order). */
export const perShipmentNotificationKinds: readonly NotificationKind[] = ['out_for_delivery'];

/**
 * The notifications an order status transition records (the hub calls this from the one place every
 * transition passes). Payment confirms the order; reaching `shipped` (every unit left) and
 * `delivered` are told once each; delivery also schedules the feedback request.
 */
export function notificationsForOrderTransition(
  event: string,
  from: OrderStatus | null,
  to: OrderStatus,
): NotificationKind[] {
  if (from === to) return [];
  if (event === 'payment_confirmed') return ['order_confirmed'];
  if (to === 'shipped') return ['order_shipped'];
  if (to === 'delivered') return ['order_delivered', 'feedback_request'];
  return [];
}

/** One dedupe key per event and channel: what makes a second recording of the same event a no-op. */
export function notificationDedupeKey(
  orderId: string,
  kind: NotificationKind,
  channel: NotificationChannel,
  shipmentId: string | undefined,
): string {
  return `${orderId}/${kind}/${channel}/${perShipmentNotificationKinds.includes(kind) ? (shipmentId ?? '') : ''}`;
}

/**
 * A phone number as an SMS provider takes it: the separators people type (spaces, dots, dashes,
 * parentheses) removed, a leading `+` kept. Numbers without a country code are passed on as they are.
 */
export function smsNumber(phone: string): string {
  const trimmed = phone.trim();
  const digits = trimmed.replace(/[^0-9]/g, '');
  return trimmed.startsWith('+') ? `+${digits}` : digits;
}

/** How an address is compared for opt-outs: e-mail case-insensitively, phones by their digits. */
export function recipientKey(channel: NotificationChannel, address: string): string {
  return channel === 'email' ? address.trim().toLowerCase() : smsNumber(address);
}
