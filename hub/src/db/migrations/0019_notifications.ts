// A shipped migration step: frozen. Never edit it; append a new step (see db/migrations.ts).
import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Customer notifications: the outbox (unique per event and channel by `dedupe_key`, found by the
 * worker by (status, next_attempt_at)), recipients with their unsubscribe token and opt-out, and
 * feedback after delivery (one row per order, found by token and listed by answer time).
 */
export const migration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('notification_recipients')
      .addColumn('token', 'text', (c) => c.primaryKey())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('address_key', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('opted_out_at', 'bigint')
      .addUniqueConstraint('notification_recipients_address', ['channel', 'address_key'])
      .execute();
    await db.schema
      .createTable('notifications')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('shipment_id', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('recipient', 'text', (c) => c.notNull())
      .addColumn('recipient_token', 'text', (c) => c.notNull().references('notification_recipients.token'))
      .addColumn('data_json', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('lease_until', 'bigint', (c) => c.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('last_error', 'text')
      .addColumn('provider_reference', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('completed_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('notifications_due')
      .on('notifications')
      .columns(['status', 'next_attempt_at'])
      .execute();
    await db.schema.createIndex('notifications_order').on('notifications').columns(['order_id']).execute();
    await db.schema
      .createTable('feedback')
      .addColumn('order_id', 'text', (c) => c.primaryKey().references('orders.id'))
      .addColumn('token', 'text', (c) => c.notNull().unique())
      .addColumn('requested_at', 'bigint', (c) => c.notNull())
      .addColumn('rating', 'integer')
      .addColumn('comment', 'text')
      .addColumn('answered_at', 'bigint')
      .execute();
    await db.schema.createIndex('feedback_answered').on('feedback').columns(['answered_at', 'order_id']).execute();
  },
};
