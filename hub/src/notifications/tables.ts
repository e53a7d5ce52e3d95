/**
 * Customer notifications: an outbox of messages to customers (one row per event and channel, written
 * in the transaction of the change it reports), each recipient's opt-out per channel, and the
 * feedback asked for after delivery.
 */
export interface NotificationsTable {
  /** `ntf_…`: also the left part of the e-mail's Message-ID, the same on every attempt. */
  id: string;
  /** `order/kind/channel/shipment`: unique, so an event recorded twice is one notification. */
  dedupe_key: string;
  order_id: string;
  /** The shipment a per-shipment kind (out_for_delivery) is about; null for the order's own. */
  shipment_id: string | null;
  /** A `notificationKinds` value. */
  kind: string;
  /** email | sms */
  channel: string;
  /** The address (an e-mail, or a phone number as the SMS provider takes it), sealed under the customer's key. */
  recipient: string;
  /** The recipient's row in notification_recipients: its opt-out and unsubscribe token. */
  recipient_token: string;
  /** What the message says (`notificationDataSchema`), fixed when the change committed; sealed like `recipient`. */
  data_json: string;
  /** A `notificationStatuses` value. */
  status: string;
  attempts: number;
  /** Not before then; a feedback request also waits `HUB_FEEDBACK_DELAY_MS` past `created_at`. */
  next_attempt_at: number;
  /** A worker holds it until then; 0 when free. */
  lease_until: number;
  lease_owner: string | null;
  last_error: string | null;
  /** What the provider answered on success (SMTP reply, SMS message id). */
  provider_reference: string | null;
  created_at: number;
  completed_at: number | null;
}

/**
 * One recipient on one channel: the unguessable token of its unsubscribe link and whether it opted
 * out. Keyed by token; unique by (channel, address_key).
 */
export interface NotificationRecipientsTable {
  token: string;
  channel: string;
  /** `h:` + the keyed hash of `recipientKey(channel, address)` (e-mail lower-cased, phone digits). */
  address_key: string;
  created_at: number;
  /** Set by `POST /unsubscribe/{token}`; null while subscribed. */
  opted_out_at: number | null;
}

/** One per delivered order: the feedback page's token, and the answer once given (once). */
export interface FeedbackTable {
  order_id: string;
  token: string;
  requested_at: number;
  rating: number | null;
  comment: string | null;
  answered_at: number | null;
}

export interface NotificationTables {
  notifications: NotificationsTable;
  notification_recipients: NotificationRecipientsTable;
  feedback: FeedbackTable;
}
